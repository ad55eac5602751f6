"""Access tokens for administrators: who holds one and with which role, a new token (shown once,
for the holder to sign in with), and revoking one, which also ends its console sessions."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length

from domain.errors import Conflict, NotFound, RuleViolation
from service.console.review import form_errors, show_rule_violation
from service.console.rounds import console_crumbs
from service.console.sign_in import ROLE_NAMES, signed_in, signed_in_principal
from service.extension import runtime
from service.principal import ROLES
from service.queries import tokens
from service.token_store import MAX_NAME_LENGTH, create_token, revoke_token

blp = Blueprint("console_tokens", __name__, url_prefix="/console")


class TokenForm(FlaskForm):
    name = StringField(_l("Name of the holder"), validators=[
        InputRequired(_l("Enter a name.")), Length(max=MAX_NAME_LENGTH)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_NAMES[r]) for r in ROLES])


def show_tokens(form: TokenForm, created: dict | None = None, status: int = 200):
    return render_template(
        "console/tokens.html", form=form, created=created, errors=form_errors(form),
        tokens=tokens.list_tokens(runtime(), signed_in_principal()),
        crumbs=console_crumbs((_("Access tokens"), None)),
    ), status


@blp.get("/tokens")
@signed_in("admin")
def tokens_page():
    return show_tokens(TokenForm())


@blp.post("/tokens")
@signed_in("admin")
def new_token():
    """Create a token; the page shows it this once."""
    form = TokenForm()
    if not form.validate():
        return show_tokens(form, status=422)
    try:
        created = create_token(runtime().engine, name=form.name.data.strip(),
                               role=form.role.data, created_by=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_tokens(form, status=422)
    return show_tokens(TokenForm(formdata=None), created)


@blp.post("/tokens/<id:token_id>/revoke")
@signed_in("admin")
def revoke(token_id: str):
    try:
        revoke_token(runtime().engine, token_id)
    except NotFound as error:
        flash(_("This was not done: %(reason)s", reason=error.message), "error")
    else:
        flash(_("The token is revoked; its holder is signed out."), "success")
    return redirect(url_for("console_tokens.tokens_page"), code=303)
