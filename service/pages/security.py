"""What keeps page forms and pages safe: CSRF tokens, cookie flags and the page CSP.

Every state-changing request outside the JSON API must carry the CSRF token of its form
(Flask-WTF); the JSON API authenticates with bearer tokens or voting codes in the body and is not
driven by a browser's cookies, so it is left out. HTML responses get a strict
Content-Security-Policy unless something else (a proxy-facing setting) already set one: pages
load scripts, styles and images only from the app itself and run no inline code.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect

from service.config import secret_key_of
from service.extension import EXTENSION

API_PREFIX = "/api/"
PAGE_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
))

csrf = CSRFProtect()


def protect_forms() -> None:
    """Check the CSRF token of every page form (the JSON API is exempt: see the module)."""
    if request.path.startswith(API_PREFIX):
        return
    sign_with_service_key()
    csrf.protect()


def sign_with_service_key() -> None:
    """Sign sessions with a key derived from the service key, read on first use, not at import."""
    if not current_app.secret_key:
        settings = current_app.extensions[EXTENSION].settings
        current_app.secret_key = hmac.new(
            secret_key_of(settings), b"buurtbudget page sessions", hashlib.sha256
        ).hexdigest()


def page_policy(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("SESSION_COOKIE_SECURE", True)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_NAME", "buurtbudget_session")
    # Checked by protect_forms, which leaves the JSON API out.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.before_request(protect_forms)
    app.after_request(page_policy)
