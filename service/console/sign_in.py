"""Signing in to the console: a bearer token exchanged once for a session cookie, and signing out.

The token is typed (or pasted) once; the answer sets a cookie that carries a session secret, kept
on the server as a hash (`service.console_sessions`): `Secure`, `HttpOnly`, `SameSite=Strict`,
limited to `/console` and ending after SESSION_LIFETIME. A wrong token answers 403 and counts
towards the secret-guessing rate limit of `service.rate_limits`, per client address.

`signed_in(*roles)` guards every console view: without a session it sends the visitor to the
sign-in page; a session without one of `roles` gets the 403 page, before any form is shown.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import InputRequired, Length

from service.console_sessions import (
    SESSION_LIFETIME,
    end_session,
    open_session_with_token,
    principal_of_session,
)
from service.extension import runtime
from service.principal import Principal
from service.rate_limits import guards_secret

blp = Blueprint("console_sign_in", __name__, url_prefix="/console")
COOKIE = "buurtbudget_console"
COOKIE_PATH = "/console"
ROLE_NAMES = {"official": _l("official"), "auditor": _l("auditor"), "admin": _l("administrator")}
# The app extension holding the OpenID Connect client, when single sign-on is configured.
SINGLE_SIGN_ON = "console_oidc"


class SignInForm(FlaskForm):
    token = PasswordField(_l("Your access token"), validators=[
        InputRequired(_l("Enter the access token you were given.")), Length(max=200)])
    next = HiddenField()


def console_principal() -> Principal | None:
    """Who is signed in to the console with this request's cookie (None: nobody)."""
    if "console_principal" not in g:
        secret = request.cookies.get(COOKIE)
        g.console_principal = principal_of_session(runtime().engine, secret) if secret else None
    return g.console_principal


def signed_in_principal() -> Principal:
    """The principal of a view guarded by `signed_in`."""
    principal = console_principal()
    if principal is None:
        raise RuntimeError("signed_in_principal() outside a view guarded by signed_in")
    return principal


def signed_in(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let in console sessions with one of `roles`: others see 403, strangers the sign-in page."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = console_principal()
            if principal is None:
                return redirect(url_for("console_sign_in.sign_in", next=request.full_path))
            principal.require(*roles)
            return view(*args, **kwargs)

        return guarded

    return decorate


def single_sign_on_offered() -> bool:
    """Whether the municipality's OpenID Connect provider is configured (single_sign_on)."""
    return SINGLE_SIGN_ON in current_app.extensions


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page of this site, never another site."""
    if target and target.startswith(COOKIE_PATH) and not target.startswith("//"):
        return target.rstrip("?")
    return url_for("console_rounds.home")


def start_session(secret: str, target: str | None):
    """Answer a successful sign-in: set the session cookie and go on to `target`."""
    response = redirect(safe_next(target), code=303)
    response.set_cookie(
        COOKIE, secret, max_age=int(SESSION_LIFETIME.total_seconds()), path=COOKIE_PATH,
        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Strict",
    )
    return response


class SignIn(MethodView):
    def get(self):
        if console_principal() is not None:
            return redirect(safe_next(request.args.get("next")))
        form = SignInForm(next=request.args.get("next", ""))
        return render_template("console/sign_in.html", form=form, sso=single_sign_on_offered())

    @guards_secret(None, kind="console-token", per="console", noun="access tokens")
    def post(self):
        form = SignInForm()
        if not form.validate():
            return render_template("console/sign_in.html", form=form,
                                   sso=single_sign_on_offered()), 422
        opened = open_session_with_token(runtime().engine, form.token.data.strip())
        if opened is None:
            form.token.errors = [str(_l("This access token is not valid: it is unknown, "
                                        "mistyped or revoked."))]
            # 403, as for every refused secret: the rate limit counts these answers.
            return render_template("console/sign_in.html", form=form,
                                   sso=single_sign_on_offered()), 403
        secret, _principal = opened
        return start_session(secret, form.next.data)


blp.add_url_rule("/sign-in", view_func=SignIn.as_view("sign_in"))


@blp.post("/sign-out")
def sign_out():
    """End the session on the server and forget the cookie."""
    secret = request.cookies.get(COOKIE)
    if secret:
        end_session(runtime().engine, secret)
    response = redirect(url_for("console_sign_in.sign_in", signed_out=1), code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH,
                           secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
                           samesite="Strict")
    return response
