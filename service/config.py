"""Settings of the service: from the environment by default, or passed to create_app explicitly."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from service.storage import DEFAULT_DATABASE_URL, Storage

ENVIRONMENT_KEYS = {
    "DATABASE_URL": "BUURTBUDGET_DATABASE_URL",
    "DATABASE_SCHEMA": "BUURTBUDGET_DATABASE_SCHEMA",
    "SECRET_KEY": "BUURTBUDGET_SECRET_KEY",
    "KEY_FILE": "BUURTBUDGET_KEY_FILE",
    "MAX_BODY_BYTES": "BUURTBUDGET_MAX_BODY_BYTES",
    "REDIS_URL": "BUURTBUDGET_REDIS_URL",
    "WRONG_CODE_LIMIT": "BUURTBUDGET_WRONG_CODE_LIMIT",
    "CODE_ATTEMPT_LIMIT": "BUURTBUDGET_CODE_ATTEMPT_LIMIT",
    "TRUSTED_PROXIES": "BUURTBUDGET_TRUSTED_PROXIES",
    "API_CONTENT_SECURITY_POLICY": "BUURTBUDGET_API_CONTENT_SECURITY_POLICY",
    "PAGE_CONTENT_SECURITY_POLICY": "BUURTBUDGET_PAGE_CONTENT_SECURITY_POLICY",
    "AUDIT_KEY_FILE": "BUURTBUDGET_AUDIT_KEY_FILE",
    "AUDIT_LOG_NAME": "BUURTBUDGET_AUDIT_LOG_NAME",
    "OIDC_ISSUER": "BUURTBUDGET_OIDC_ISSUER",
    "OIDC_CLIENT_ID": "BUURTBUDGET_OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET": "BUURTBUDGET_OIDC_CLIENT_SECRET",
    "OIDC_ROLE_CLAIM": "BUURTBUDGET_OIDC_ROLE_CLAIM",
}
DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": DEFAULT_DATABASE_URL,
    "DATABASE_SCHEMA": None,
    "SECRET_KEY": None,
    "KEY_FILE": "buurtbudget.key",
    # A larger request body is refused with 413 before it is read.
    "MAX_BODY_BYTES": 1_000_000,
    # Rate limits on guessing voting codes and proposer keys (service/rate_limits.py).
    "REDIS_URL": None,
    "WRONG_CODE_LIMIT": "10 per 15 minutes",
    "CODE_ATTEMPT_LIMIT": "60 per minute",
    "TRUSTED_PROXIES": 0,
    # Content-Security-Policy of JSON and other non-HTML answers, and of HTML pages
    # (service/security_headers.py).
    "API_CONTENT_SECURITY_POLICY": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'",
    "PAGE_CONTENT_SECURITY_POLICY": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    # The Ed25519 key that signs checkpoints of the audit log; kept outside the database so that
    # someone who can rewrite the database still cannot sign a rewritten history.
    "AUDIT_KEY_FILE": "buurtbudget-audit.key",
    # The origin line of every checkpoint and the name of the signing key (C2SP tlog-checkpoint).
    "AUDIT_LOG_NAME": "buurtbudget.local/audit-log",
    # Single sign-on to the console (service/console/single_sign_on.py): off without an issuer.
    "OIDC_ISSUER": None,
    "OIDC_CLIENT_ID": None,
    "OIDC_CLIENT_SECRET": None,
    "OIDC_ROLE_CLAIM": "buurtbudget_role",
}


class ConfigurationError(RuntimeError):
    """The service cannot start with these settings; the message says what to do."""


def load_settings(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then BUURTBUDGET_* environment variables, then explicit overrides."""
    settings = dict(DEFAULTS)
    for key, variable in ENVIRONMENT_KEYS.items():
        if os.environ.get(variable):
            settings[key] = os.environ[variable]
    settings.update({k: v for k, v in (overrides or {}).items()})
    return settings


def storage_of(settings: Mapping[str, Any]) -> Storage:
    return Storage(settings["DATABASE_URL"], settings.get("DATABASE_SCHEMA"))


def secret_key_of(settings: Mapping[str, Any], *, create: bool = False) -> bytes:
    """The key of the keyed hashes of voting codes: set, or kept in a file that `init` creates."""
    if settings.get("SECRET_KEY"):
        key = settings["SECRET_KEY"]
        return key if isinstance(key, bytes) else str(key).encode()
    path = Path(settings["KEY_FILE"])
    if not path.exists():
        if not create:
            raise ConfigurationError(
                f"no secret key: set BUURTBUDGET_SECRET_KEY or run `buurtbudget init` to create {path}"
            )
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip().encode()
