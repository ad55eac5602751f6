"""Erasure of a person's personal data by an administrator: by e-mail address (a proposer) or
IBAN (a payee), with a reason and a confirmation step; the same command as the API's and
`buurtbudget privacy erase` (service/erasure.py)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length, Optional

from domain.errors import NotFound, RuleViolation
from service.console.money import valid_iban
from service.console.review import form_errors, show_rule_violation
from service.console.rounds import console_crumbs
from service.console.sign_in import signed_in, signed_in_principal
from service.erasure import erase_personal_data
from service.extension import runtime


class ErasureForm(FlaskForm):
    email = StringField(_l("E-mail address of the proposer"), validators=[
        Optional(), Length(max=254)])
    iban = StringField(_l("IBAN of the payee"), validators=[Optional(), valid_iban])
    reason = StringField(_l("Reason"), validators=[
        InputRequired(_l("Give the reason, for example the request's case number.")),
        Length(max=1000)])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if not (self.email.data or "").strip() and not self.iban.data:
            self.email.errors = [*self.email.errors, _("Enter the e-mail address or the IBAN.")]
            return False
        return valid


blp = Blueprint("console_privacy", __name__, url_prefix="/console")


def show_erasure(form: ErasureForm, *, confirming: bool = False,
                 erased: dict[str, Any] | None = None, status: int = 200):
    return render_template(
        "console/erasure.html", form=form, confirming=confirming, erased=erased,
        errors=form_errors(form), crumbs=console_crumbs((_("Erase personal data"), None)),
    ), status


@blp.get("/privacy")
@signed_in("admin")
def erasure_page():
    return show_erasure(ErasureForm(formdata=None))


@blp.post("/privacy/erasures")
@signed_in("admin")
def erase():
    """First ask to confirm what is to be erased; with `confirm`, erase it."""
    form = ErasureForm()
    if not form.validate():
        return show_erasure(form, status=422)
    if "confirm" not in request.form:
        return show_erasure(form, confirming=True)
    try:
        erased = erase_personal_data(
            runtime(), email=(form.email.data or "").strip() or None, iban=form.iban.data or None,
            reason=form.reason.data.strip(), actor=signed_in_principal().actor)
    except (RuleViolation, NotFound) as error:
        show_rule_violation(form, error)
        return show_erasure(form, status=422)
    return show_erasure(ErasureForm(formdata=None), erased=erased)
