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
