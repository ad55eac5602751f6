"""Bearer tokens for officials, auditors and admins; only a hash of each token is stored."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import g, request

from domain.errors import BudgetError, Conflict, Forbidden, NotFound, RuleViolation

ROLES = ("official", "auditor", "admin")
# Events name the actor "role:name"; read models keep actors in 100 characters.
MAX_NAME_LENGTH = 60
TOKEN_PREFIX = "bb_"

token_metadata = sa.MetaData()
api_tokens = sa.Table(
    "api_tokens",
    token_metadata,
    sa.Column("token_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("revoked_at", sa.String(40)),
)


class Unauthorized(BudgetError):
    """No valid bearer token was given where one is needed."""


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    @property
    def actor(self) -> str:
        """How this person is named in events: role and token name, e.g. 'official:anna'."""
        return f"{self.role}:{self.name}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: sa.Engine, *, name: str, role: str, created_by: str) -> dict[str, Any]:
    """Create a token; the returned `token` is shown once and only its hash is kept."""
    if role not in ROLES:
        raise RuleViolation(f"role must be one of {', '.join(ROLES)}", field="role")
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise RuleViolation("name must be letters, digits, '-', '_' or '.'", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise RuleViolation(f"name must be at most {MAX_NAME_LENGTH} characters", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = {
        "token_id": str(uuid.uuid4()),
        "name": name,
        "role": role,
        "token_hash": _hash(token),
        "created_at": datetime.now(UTC).isoformat(),
        "created_by": created_by,
    }
    with engine.begin() as conn:
        exists = conn.execute(sa.select(api_tokens.c.token_id).where(api_tokens.c.name == name)).first()
        if exists:
            raise Conflict(f"a token named {name!r} already exists", field="name")
        conn.execute(sa.insert(api_tokens).values(**row))
    return {**public_token(row), "token": token}


def public_token(row: dict[str, Any]) -> dict[str, Any]:
    """A token as shown to admins: everything but its hash."""
    return {
        k: row.get(k) for k in ("token_id", "name", "role", "created_at", "created_by", "revoked_at")
    }


def list_tokens(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(api_tokens).order_by(api_tokens.c.created_at)).mappings()
        return [public_token(dict(row)) for row in rows]


def revoke_token(engine: sa.Engine, token_id: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(api_tokens)
            .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC).isoformat())
        ).rowcount
    if not done:
        raise NotFound(f"no active token {token_id}")


def principal_for(engine: sa.Engine, token: str) -> Principal | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(api_tokens.c.name, api_tokens.c.role)
            .where(api_tokens.c.token_hash == _hash(token), api_tokens.c.revoked_at.is_(None))
        ).first()
    return Principal(row.name, row.role) if row else None


def current_principal() -> Principal | None:
    """The caller, from the Authorization header (None for the public)."""
    if "principal" not in g:
        from service.extension import runtime  # local: the runtime is built per process

        header = request.headers.get("Authorization", "")
        if not header:
            g.principal = None
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("use 'Authorization: Bearer <token>'")
            g.principal = principal_for(runtime().engine, token.strip())
            if g.principal is None:
                raise Unauthorized("the token is not valid (unknown or revoked)")
    return g.principal


def requires(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let only callers with one of `roles` in; 401 without a token, 403 with another role."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None:
                raise Unauthorized(f"this needs a bearer token of an {' or '.join(roles)}")
            if principal.role not in roles:
                raise Forbidden(f"this needs the role {' or '.join(roles)}, not {principal.role}")
            return view(*args, **kwargs)

        return guarded

    return decorate


def actor() -> str:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("this needs a bearer token")
    return principal.actor
