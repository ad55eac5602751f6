"""Console sessions: a bearer token (or a verified single sign-on identity) exchanged for a cookie.

The cookie carries a random secret; only its hash is kept, with who signed in, their role and
when the session ends. A session made from a token ends with the token: revoking the token signs
its holder out of the console too. Signing out ends the session on the server, so a copied
cookie is worth nothing afterwards.
"""
from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from service.principal import Principal
from service.token_store import api_tokens, principal_for, secret_hash, token_metadata

SESSION_LIFETIME = timedelta(hours=8)

console_sessions = sa.Table(
    "console_sessions",
    token_metadata,
    sa.Column("session_id", sa.String(36), primary_key=True),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    # The token the session was exchanged for; None for a single sign-on identity.
    sa.Column("token_name", sa.String(100)),
    sa.Column("signed_in_with", sa.String(20), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("ended_at", sa.String(40)),
)


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    """A UTC moment as text that sorts as the moment does (always with microseconds)."""
    return moment.isoformat(timespec="microseconds")


def open_session_with_token(engine: sa.Engine, token: str) -> tuple[str, Principal] | None:
    """A new session for the holder of an active token: (cookie secret, principal); else None."""
    principal = principal_for(engine, token)
    if principal is None:
        return None
    return _open(engine, principal, token_name=principal.name, signed_in_with="token"), principal


def open_session_for(engine: sa.Engine, principal: Principal, *, signed_in_with: str) -> str:
    """A new session for an identity verified elsewhere (single sign-on); the cookie secret."""
    return _open(engine, principal, token_name=None, signed_in_with=signed_in_with)


def _open(
    engine: sa.Engine, principal: Principal, *, token_name: str | None, signed_in_with: str
) -> str:
    secret = secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as conn:
        conn.execute(sa.insert(console_sessions).values(
            session_id=str(uuid.uuid4()), secret_hash=secret_hash(secret), name=principal.name,
            role=principal.role, token_name=token_name, signed_in_with=signed_in_with,
            created_at=_stamp(now), expires_at=_stamp(now + SESSION_LIFETIME),
        ))
    return secret


def principal_of_session(engine: sa.Engine, secret: str) -> Principal | None:
    """Who holds this session, while it has not ended, expired, or lost its token."""
    token_active = sa.exists().where(
        api_tokens.c.name == console_sessions.c.token_name, api_tokens.c.revoked_at.is_(None)
    )
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(console_sessions.c.name, console_sessions.c.role)
            .where(
                console_sessions.c.secret_hash == secret_hash(secret),
                console_sessions.c.ended_at.is_(None),
                console_sessions.c.expires_at > _stamp(_now()),
                sa.or_(console_sessions.c.token_name.is_(None), token_active),
            )
        ).first()
    return Principal(row.name, row.role) if row else None


def end_session(engine: sa.Engine, secret: str) -> None:
    """End a session (sign-out); ending one that has ended already changes nothing."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(console_sessions)
            .where(console_sessions.c.secret_hash == secret_hash(secret),
                   console_sessions.c.ended_at.is_(None))
            .values(ended_at=_stamp(_now()))
        )
