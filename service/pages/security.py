"""What keeps page forms and pages safe: CSRF tokens, cookie flags and the page CSP.

Every state-changing request to a page must carry the CSRF token of its form (Flask-WTF); the
JSON API and the health check authenticate with bearer tokens or voting codes in the body and are
not driven by a browser's cookies, so they are left out. The page Content-Security-Policy and the
other security headers are `service.security_headers`'s, for pages and API alike.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from service.config import ConfigurationError, secret_key_of
from service.extension import EXTENSION

# Requests for JSON, not pages: no CSRF token, JSON errors.
JSON_PREFIXES = ("/api/", "/healthz")

csrf = CSRFProtect()


def protect_forms() -> None:
    """Check the CSRF token of every page form (the JSON API is exempt: see the module)."""
    if not request.path.startswith(JSON_PREFIXES):
        csrf.protect()


class ServiceKeySessions(SecureCookieSessionInterface):
    """Signed session cookies whose key derives from the service key, read on first use.

    create_app reads no file and touches no database, so the key is looked up when the first
    session is opened, in whichever process serves it.
    """

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            try:
                service_key = secret_key_of(app.extensions[EXTENSION].settings)
            except ConfigurationError:
                return None  # no sessions; the first read reports the missing key as a 503
            app.secret_key = hmac.new(
                service_key, b"buurtbudget page sessions", hashlib.sha256
            ).hexdigest()
        return super().get_signing_serializer(app)


def init_app(app: Flask) -> None:
    app.session_interface = ServiceKeySessions()
    app.config.update(
        SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="buurtbudget_session",
    )
    # Checked by protect_forms, which leaves the JSON API out.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.before_request(protect_forms)
