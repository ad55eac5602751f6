"""The token store: bearer tokens of officials, auditors and admins; only a hash of each is kept."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from domain.errors import Conflict, NotFound, RuleViolation
from service.principal import ROLES, Principal

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


def secret_hash(secret: str) -> str:
    """What is kept of a token or a console session's secret: its SHA-256, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


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
        "token_hash": secret_hash(token),
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
    """Every token, oldest first, without its hash."""
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
    """The holder of an active token; None for an unknown or revoked one."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(api_tokens.c.name, api_tokens.c.role)
            .where(api_tokens.c.token_hash == secret_hash(token), api_tokens.c.revoked_at.is_(None))
        ).first()
    return Principal(row.name, row.role) if row else None
