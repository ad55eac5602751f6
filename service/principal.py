"""Who is asking: the principal every query and command is made for, and the role checks on it.

The public has no credentials; a resident holds the voting code from their letter; officials,
auditors and admins hold bearer tokens. The HTTP layer finds the principal of a request, the query
layer decides what that principal may see; both import this module and nothing of each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from domain.errors import BudgetError, Forbidden

# Roles that bearer tokens carry; "public" and "resident" need no token.
ROLES = ("official", "auditor", "admin")
PUBLIC_ROLE = "public"
RESIDENT_ROLE = "resident"


class Unauthorized(BudgetError):
    """No valid credentials were given where they are needed."""


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    # A resident's voting code is a secret: never shown in a repr or a log line.
    voting_code: str | None = field(default=None, repr=False)

    @classmethod
    def resident(cls, voting_code: str) -> Principal:
        """A resident, known only by the voting code of their letter."""
        return cls("", RESIDENT_ROLE, voting_code)

    @property
    def actor(self) -> str:
        """How this person is named in events: role and token name, e.g. 'official:anna'."""
        return f"{self.role}:{self.name}"

    @property
    def has_token(self) -> bool:
        return self.role in ROLES

    def require(self, *roles: str) -> Principal:
        """This principal if it has one of `roles`: else 401 without credentials, 403 with them."""
        if self.role in roles:
            return self
        if RESIDENT_ROLE in roles:
            raise Unauthorized("this needs a voting code")
        if not self.has_token:
            raise Unauthorized(f"this needs a bearer token of an {' or '.join(roles)}")
        raise Forbidden(f"this needs the role {' or '.join(roles)}, not {self.role}")


PUBLIC = Principal("", PUBLIC_ROLE)
