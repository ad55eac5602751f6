"""Single sign-on to the console with the municipality's OpenID Connect provider (Authlib).

When OIDC_ISSUER is set, the sign-in page offers "Sign in with your municipal account": the
provider authenticates the official, Authlib checks the ID token it returns (signature against
the provider's published keys, issuer, audience, expiry, nonce), and the verified identity is
mapped to a role. The role comes from one claim of the ID token (OIDC_ROLE_CLAIM, a text or a
list, e.g. the groups the provider manages): exactly one of the roles official, auditor and admin
must be in it, or the identity gets no session. The name in events is the verified e-mail address
(else the subject), so `official:anna@gemeente.nl`: such names contain '@', which token names
cannot, so a single sign-on identity never takes a token holder's name.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, render_template, request, session, url_for
from flask_babel import gettext as _

from service.console.sign_in import SINGLE_SIGN_ON, SignInForm, safe_next, start_session
from service.console_sessions import open_session_for
from service.extension import runtime
from service.principal import ROLES, Principal
from service.token_store import MAX_NAME_LENGTH

blp = Blueprint("console_single_sign_on", __name__, url_prefix="/console/sign-in/oidc")
EXTENSION = SINGLE_SIGN_ON
PROVIDER = "municipality"
NEXT_KEY = "console_next"


def principal_of_identity(claims: Mapping[str, Any], role_claim: str) -> Principal | None:
    """The console principal of verified ID-token claims; None without exactly one role."""
    values = claims.get(role_claim)
    values = [values] if isinstance(values, str) else list(values or [])
    roles = {value for value in values if value in ROLES}
    name = str(claims.get("email") if claims.get("email_verified", True) and claims.get("email")
               else claims.get("sub") or "")
    if len(roles) != 1 or not name or len(name) > MAX_NAME_LENGTH:
        return None
    return Principal(name, roles.pop())


def provider() -> Any:
    return current_app.extensions[EXTENSION].create_client(PROVIDER)


def refused(message: str):
    """Back to the sign-in page with why single sign-on gave no session (403, nothing kept)."""
    form = SignInForm()
    form.form_errors.append(message)
    return render_template("console/sign_in.html", form=form, sso=True), 403


@blp.get("")
def start():
    """Send the official to the provider, remembering where they were going."""
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    callback = url_for("console_single_sign_on.callback", _external=True)
    return provider().authorize_redirect(callback)


@blp.get("/callback")
def callback():
    """The provider's answer: a verified identity with one role gets a console session."""
    try:
        token = provider().authorize_access_token()
    except OAuthError as error:
        current_app.logger.info("single sign-on refused: %s", error.error)
        return refused(_("The municipal account did not sign you in. Please try again."))
    claims = token.get("userinfo") or {}
    principal = principal_of_identity(
        claims, current_app.extensions[EXTENSION].role_claim)
    if principal is None:
        return refused(_("Your municipal account has no role in the console. Ask your "
                         "administrator."))
    secret = open_session_for(runtime().engine, principal, signed_in_with="oidc")
    return start_session(secret, session.pop(NEXT_KEY, None))


def init_app(app: Flask, settings: Mapping[str, Any]) -> None:
    """Offer single sign-on when an issuer is configured; else the console takes tokens only."""
    issuer = settings.get("OIDC_ISSUER")
    if not issuer:
        return
    oauth = OAuth(app)
    oauth.register(
        PROVIDER, client_id=settings["OIDC_CLIENT_ID"],
        client_secret=settings.get("OIDC_CLIENT_SECRET"),
        server_metadata_url=f"{str(issuer).rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile"},
    )
    oauth.role_claim = settings["OIDC_ROLE_CLAIM"]
    app.extensions[EXTENSION] = oauth
    app.register_blueprint(blp)
