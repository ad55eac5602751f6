"""A municipality, with its CBS code where known."""
from __future__ import annotations

import re

from eventsourcing.domain import Aggregate, event

from domain.errors import RuleViolation
from domain.event_topics import keep_module_path_topics

# CBS (Statistics Netherlands) codes: GM + 4 digits for a municipality.
CBS_MUNICIPALITY = re.compile(r"^GM\d{4}$")


def check_name(name: str) -> str:
    """Return the trimmed name, or raise if it is empty."""
    if not isinstance(name, str) or not name.strip():
        raise RuleViolation("name must not be empty", field="name")
    return name.strip()


class Municipality(Aggregate):
    """A municipality that sets aside money for its neighbourhoods."""

    TOPIC = "buurtbudget/Municipality"

    class Created(Aggregate.Created):  # the library's; never stored, but it must have a topic
        TOPIC = "buurtbudget/Municipality.Created"

    @classmethod
    def register(cls, *, name: str, cbs_code: str | None, actor: str) -> Municipality:
        if cbs_code is not None and not CBS_MUNICIPALITY.match(cbs_code):
            raise RuleViolation("a municipality's CBS code looks like GM0363", field="cbs_code")
        return cls(name=check_name(name), cbs_code=cbs_code, actor=actor)

    @event("Registered", topic="buurtbudget/Municipality.Registered")
    def __init__(self, *, name: str, cbs_code: str | None, actor: str) -> None:
        self.name = name
        self.cbs_code = cbs_code
        self.paying_account: dict[str, str] | None = None

    def set_paying_account(self, *, name: str, iban: str, actor: str) -> bool:
        """Set the bank account payouts are paid from; the IBAN is checked where it comes in.

        False, and no event, if the account already is this one.
        """
        name = check_name(name)
        if len(name) > 70:  # the longest name a SEPA credit transfer carries
            raise RuleViolation("the paying account's name is at most 70 characters", field="name")
        if not isinstance(iban, str) or not iban.strip():
            raise RuleViolation("the paying account needs an IBAN", field="iban")
        account = {"name": name, "iban": iban.strip()}
        if getattr(self, "paying_account", None) == account:
            return False
        self._paying_account_set(**account, actor=actor)
        return True

    @event("PayingAccountSet", topic="buurtbudget/Municipality.PayingAccountSet")
    def _paying_account_set(self, *, name: str, iban: str, actor: str) -> None:
        self.paying_account = {"name": name, "iban": iban}


keep_module_path_topics(Municipality, "domain.municipality:Municipality", (
    "Registered",
))
