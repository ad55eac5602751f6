"""Voting and the decision: who may vote (with a preview in plain words), a voter register
upload that answers with the letters, bare voting codes as a download, a new code for a lost
letter, turnout, the tally with the round's rule, and its confirmation by a second official
(four eyes, shown in the page)."""
from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from domain.budget_round import MAX_CODES_PER_BATCH
from domain.eligibility import MAX_MINIMUM_AGE, EligibilityRules
from domain.errors import Conflict, NotFound, RuleViolation
from service.api.register import MAX_REGISTER_BYTES, letters_response
from service.console.review import form_errors, show_rule_violation
from service.console.rounds import read_round, round_crumbs, show_domain_refusal
from service.console.sign_in import signed_in, signed_in_principal
from service.extension import runtime
from service.pages import wording
from service.queries import results, rounds, voting
from service.voter_register import import_register

blp = Blueprint("console_voting", __name__, url_prefix="/console")


class CodesForm(FlaskForm):
    count = IntegerField(_l("Number of voting codes"), validators=[
        InputRequired(_l("Enter how many codes to issue.")),
        NumberRange(min=1, max=MAX_CODES_PER_BATCH,
                    message=_l("Issue between %(min)d and %(max)d codes at a time."))])


class EligibilityForm(FlaskForm):
    minimum_age = IntegerField(_l("Minimum age"), validators=[
        InputRequired(_l("Enter the minimum age.")),
        NumberRange(min=0, max=MAX_MINIMUM_AGE,
                    message=_l("Enter an age from %(min)d to %(max)d."))])
    reference_date = DateField(_l("Age counted on"), validators=[
        InputRequired(_l("Enter the date on which age is counted, like 2026-05-01."))])
    postcodes = TextAreaField(_l("Postcodes of the area"), validators=[
        InputRequired(_l("Enter at least one postcode or range."))])

    def rules(self) -> dict[str, Any]:
        """The rules as the API takes them: one postcode or range per line or comma."""
        entries = self.postcodes.data.replace(",", "\n").splitlines()
        return {"minimum_age": self.minimum_age.data,
                "reference_date": self.reference_date.data.isoformat(),
                "postcodes": [entry.strip() for entry in entries if entry.strip()]}


class RegisterForm(FlaskForm):
    register = FileField(_l("Voter register (CSV)"), validators=[
        FileRequired(_l("Choose the register file."))])


class ReissueForm(FlaskForm):
    person_key = StringField(_l("Person key in the register"), validators=[
        InputRequired(_l("Enter the person key of the resident.")), Length(max=200)])
    reason = StringField(_l("Reason"), validators=[
        InputRequired(_l("Give the reason.")), Length(max=500)])


def current_eligibility(round_id: str) -> dict[str, Any] | None:
    try:
        return rounds.get_eligibility(runtime(), signed_in_principal(), round_id)
    except NotFound:
        return None


def show_voting(round_id: str, form: CodesForm | None = None, *,
                eligibility_form: EligibilityForm | None = None,
                register_form: RegisterForm | None = None,
                reissue_form: ReissueForm | None = None, preview: dict[str, Any] | None = None,
                register_errors: list[str] | None = None, reissued: str | None = None,
                status: int = 200):
    """The voting page; the forms given keep what was typed and their errors."""
    budget_round = read_round(round_id)
    eligibility = current_eligibility(round_id)
    if eligibility_form is None:
        eligibility_form = EligibilityForm(formdata=None, prefix="eligibility")
        if eligibility:
            eligibility_form.minimum_age.data = eligibility["minimum_age"]
            eligibility_form.reference_date.raw_data = [eligibility["reference_date"]]
            eligibility_form.postcodes.data = "\n".join(eligibility["postcodes"])
    forms = (form or CodesForm(formdata=None), eligibility_form,
             register_form or RegisterForm(formdata=None, prefix="register"),
             reissue_form or ReissueForm(formdata=None, prefix="reissue"))
    return render_template(
        "console/voting.html", round=budget_round, form=forms[0], eligibility_form=forms[1],
        register_form=forms[2], reissue_form=forms[3], eligibility=eligibility, preview=preview,
        register_errors=register_errors, reissued=reissued,
        turnout=voting.turnout(runtime(), signed_in_principal(), round_id),
        errors=[error for f in forms for error in form_errors(f)], wording=wording,
        crumbs=round_crumbs(budget_round, (_("Voting"), None)),
    ), status


@blp.url_value_preprocessor
def allow_a_register(endpoint: str | None, _values: Any) -> None:
    """A register may run to the API's upload limit, not the body limit of other forms. Set
    here because URL preprocessors run before the CSRF check, which reads the form first."""
    if endpoint == "console_voting.upload_register":
        request.max_content_length = MAX_REGISTER_BYTES


@blp.get("/rounds/<id:round_id>/voting")
@signed_in("official")
def voting_page(round_id: str):
    """Who may vote, the register and its letters, codes issued, turnout."""
    return show_voting(round_id)


@blp.post("/rounds/<id:round_id>/eligibility")
@signed_in("official")
def set_eligibility(round_id: str):
    """With `preview`, say in plain words who may vote; else set the rules."""
    form = EligibilityForm(prefix="eligibility")
    if not form.validate():
        return show_voting(round_id, eligibility_form=form, status=422)
    try:
        rules = EligibilityRules.from_dict(form.rules()).to_dict()
        if "preview" in request.form:
            return show_voting(round_id, eligibility_form=form, preview=rules)
        runtime().application.set_eligibility(
            UUID(round_id), rules=rules, actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_voting(round_id, eligibility_form=form, status=422)
    flash(_("Who may vote is set. Upload the voter register to make the letters."), "success")
    return redirect(url_for("console_voting.voting_page", round_id=round_id), code=303)


@blp.post("/rounds/<id:round_id>/register")
@signed_in("official")
def upload_register(round_id: str):
    """Check every line of the register; if all are valid, answer the letters as a zip."""
    form = RegisterForm(prefix="register")
    if not form.validate():
        return show_voting(round_id, register_form=form, status=422)
    try:
        done = import_register(runtime().application, UUID(round_id), form.register.data.stream,
                               actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_voting(round_id, register_form=form, status=422,
                           register_errors=error.details)
    return letters_response(round_id, done)


@blp.post("/rounds/<id:round_id>/reissue")
@signed_in("official")
def reissue_code(round_id: str):
    """A new code for a lost letter, shown once; the old code stops working."""
    form = ReissueForm(prefix="reissue")
    if not form.validate():
        return show_voting(round_id, reissue_form=form, status=422)
    try:
        code = runtime().application.reissue_code(
            UUID(round_id), person_key=form.person_key.data.strip(),
            reason=form.reason.data.strip(), actor=signed_in_principal().actor)
    except (RuleViolation, Conflict, NotFound) as error:
        show_rule_violation(form, error)
        return show_voting(round_id, reissue_form=form, status=422)
    return show_voting(round_id, reissued=code)


@blp.post("/rounds/<id:round_id>/voting-codes")
@signed_in("official")
def issue_codes(round_id: str):
    """Issue codes and answer them as a CSV file: they are shown this once and never stored."""
    form = CodesForm()
    if not form.validate():
        return show_voting(round_id, form, status=422)
    try:
        codes = runtime().application.issue_voting_codes(
            UUID(round_id), count=form.count.data, actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_voting(round_id, form, status=422)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(["voting_code"])
    writer.writerows([code] for code in codes)
    return Response(text.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="voting-codes-{round_id}.csv"',
        "Cache-Control": "no-store",
    })


@blp.get("/rounds/<id:round_id>/decision")
@signed_in("official")
def decision_page(round_id: str):
    """The tallies recorded, who recorded and who confirmed them, and the outcome residents see."""
    principal = signed_in_principal()
    budget_round = read_round(round_id)
    outcome = results.get_results(runtime(), principal, round_id)
    ranked = sorted(outcome["proposals"], key=lambda p: (not p["winner"], -(p["votes"] or 0)))
    return render_template(
        "console/decision.html", round=budget_round, outcome=outcome, ranked=ranked,
        tallies=results.list_tallies(runtime(), principal, round_id), wording=wording,
        crumbs=round_crumbs(budget_round, (_("Tally and decision"), None)),
    )


def back_to_decision(round_id: str):
    return redirect(url_for("console_voting.decision_page", round_id=round_id), code=303)


@blp.post("/rounds/<id:round_id>/tallies")
@signed_in("official")
def record_tally(round_id: str):
    """Count the final ballots with the round's rule; another official then confirms."""
    try:
        runtime().application.run_tally(UUID(round_id), actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_domain_refusal(error)
    else:
        flash(_("The tally is recorded. A second official must confirm it."), "success")
    return back_to_decision(round_id)


@blp.post("/rounds/<id:round_id>/tallies/<id:tally_id>/confirm")
@signed_in("official")
def confirm_tally(round_id: str, tally_id: str):
    """Confirm a tally recorded by another official: the winners' money is reserved."""
    try:
        runtime().application.confirm_tally(
            UUID(round_id), tally_id=tally_id, actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_domain_refusal(error)
    else:
        flash(_("The result is confirmed and the winners' money is reserved."), "success")
    return back_to_decision(round_id)
