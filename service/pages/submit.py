"""Submitting a proposal: a form whose cost lines are added and removed without JavaScript.

Buttons named `add_line` and `remove_line` (its value: the line's number) post the form back and
show it again with one more or one fewer line; only the `submit` button sends the proposal. The
form checks the form of the input; the domain checks its meaning, and a rule it reports about a
field is shown at that field.
"""
from __future__ import annotations

from decimal import InvalidOperation
from types import SimpleNamespace
from uuid import UUID

from babel.numbers import NumberFormatError, parse_decimal
from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, FieldList, Form, FormField, StringField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, ValidationError

from domain.errors import RuleViolation
from service.auth import caller
from service.extension import runtime
from service.pages import wording
from service.pages.browse import round_crumbs
from service.pages.language import FORMAT_LOCALES, current_language
from service.queries import rounds

blp = Blueprint("submit", __name__)
MAX_LINES = 50


class EuroField(StringField):
    """An amount in euros as residents write it (1.234,56 in Dutch), kept as whole cents."""

    cents: int | None = None

    def pre_validate(self, form: Form) -> None:
        self.cents = None
        text = (self.data or "").replace("€", "").strip()
        if not text:
            return
        try:
            amount = parse_decimal(text, locale=FORMAT_LOCALES[current_language()], strict=True)
        except (NumberFormatError, InvalidOperation):
            raise ValidationError(_("Write the amount in euros, for example %(example)s.",
                                    example=_("1250.50"))) from None
        cents = amount * 100
        if amount <= 0 or cents != cents.to_integral_value():
            raise ValidationError(_("The amount must be more than zero, in whole cents."))
        self.cents = int(cents)


def required_amount(form: Form, field: Field) -> None:
    if not (field.data or "").strip():
        raise ValidationError(_("Enter the amount of this cost line."))


class CostLineForm(Form):
    description = StringField(_l("What is it for"), validators=[
        InputRequired(_l("Say what this cost line is for.")), Length(max=200)])
    amount = EuroField(_l("Amount in euros"), validators=[required_amount])


class ProposalForm(FlaskForm):
    title = StringField(_l("Title"), validators=[
        InputRequired(_l("Enter a title.")), Length(max=200)])
    summary = StringField(_l("Summary in one sentence"), validators=[
        InputRequired(_l("Enter a summary.")), Length(max=500)])
    description = TextAreaField(_l("Description (optional)"), validators=[Length(max=10000)])
    cost_lines = FieldList(FormField(CostLineForm), min_entries=1, max_entries=MAX_LINES)
    proposer_name = StringField(_l("Your name"), validators=[
        InputRequired(_l("Enter your name.")), Length(max=200)])
    proposer_email = EmailField(_l("Your e-mail address"), validators=[
        InputRequired(_l("Enter your e-mail address.")),
        Email(_l("Enter an e-mail address like name@example.nl."), check_deliverability=False)])

    def proposal(self) -> dict:
        return {
            "title": self.title.data, "summary": self.summary.data,
            "description": self.description.data or "", "category": "",
            "cost_lines": [{"description": line.form.description.data, "amount": line.form.amount.cents}
                           for line in self.cost_lines],
            "proposer_name": self.proposer_name.data, "proposer_email": self.proposer_email.data,
        }

    def show_rule_violation(self, error: RuleViolation) -> None:
        """Put a domain rule at the field it is about (or above the form)."""
        field = getattr(self, (error.field or "").split(".")[0], None)
        if isinstance(field, Field) and not isinstance(field, FieldList):
            field.errors = [*field.errors, error.message]
        else:
            self.form_errors.append(error.message)


def error_summary(form: ProposalForm) -> list[tuple[str, str]]:
    """(field id, message) for every error, in the order of the form, for the summary on top."""
    found = [("", message) for message in form.form_errors]
    for field in form:
        if isinstance(field, FieldList):
            for line in field:
                found += [(sub.id, f"{_('Cost line %(n)d', n=int(line.id.rsplit('-', 1)[1]) + 1)}: "
                           f"{message}") for sub in line.form for message in sub.errors]
        else:
            found += [(field.id, message) for message in field.errors]
    return found


def show_form(round_id: str, form: ProposalForm, status: int = 200):
    budget_round = rounds.get_round(runtime(), caller(), round_id)
    return render_template(
        "pages/submit.html", round=budget_round, form=form, errors=error_summary(form),
        wording=wording, crumbs=[*round_crumbs(budget_round), (_("Submit a proposal"), None)],
    ), status


@blp.get("/rounds/<id:round_id>/proposals/new")
def proposal_form(round_id: str):
    return show_form(round_id, ProposalForm())


@blp.post("/rounds/<id:round_id>/proposals/new")
def submit_proposal(round_id: str):
    """Add or remove a cost line, or submit the proposal with one command."""
    form = ProposalForm()
    if "add_line" in request.form:
        if len(form.cost_lines) < MAX_LINES:
            form.cost_lines.append_entry()
        return show_form(round_id, form)
    if "remove_line" in request.form:
        remove_line(form, request.form["remove_line"])
        return show_form(round_id, form)
    if not form.validate():
        return show_form(round_id, form, 422)
    try:
        proposal_id, key = runtime().application.submit_proposal(UUID(round_id), **form.proposal())
    except RuleViolation as error:
        form.show_rule_violation(error)
        return show_form(round_id, form, 422)
    budget_round = rounds.get_round(runtime(), caller(), round_id)
    return render_template(
        "pages/submitted.html", round=budget_round, proposal_id=str(proposal_id),
        proposer_key=key, title=form.title.data, wording=wording,
        crumbs=[*round_crumbs(budget_round), (_("Proposal submitted"), None)],
    )


def remove_line(form: ProposalForm, number: str) -> None:
    """Drop line `number` (from 0), keeping at least one line."""
    kept = [line.data for i, line in enumerate(form.cost_lines) if str(i) != number]
    while len(form.cost_lines):
        form.cost_lines.pop_entry()
    for data in kept or [{"description": "", "amount": ""}]:
        form.cost_lines.append_entry(SimpleNamespace(**data))


