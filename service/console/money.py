"""Money of a round in the console: payouts from the winners' reservations with four eyes,
payment from a bank statement, reversals, completion reports, closing, and the ledger as files.

Each button is one command of the application with the signed-in official as actor. Which
buttons an official sees follows the payout's state and who acted on it so far (a requester
is not offered the approval of their own payout); the domain still decides, and refuses
anything the four-eyes rule forbids.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import Field, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from domain.budget_round import PAYOUT_KINDS
from domain.errors import Conflict, RuleViolation
from service.camt_statement import MAX_STATEMENT_BYTES
from service.console.review import form_errors, show_rule_violation
from service.console.rounds import read_round, round_crumbs, show_domain_refusal
from service.console.sign_in import signed_in, signed_in_principal
from service.extension import runtime
from service.iban import InvalidIban, bank_name, compact_iban
from service.pages import wording
from service.pages.language import money
from service.pages.submit import EuroField
from service.queries import audit, ledger, payouts, proposals
from service.reconciliation import reconcile_statement

blp = Blueprint("console_money", __name__, url_prefix="/console")
KIND_NAMES = {"invoice": _l("Invoice"), "advance": _l("Advance")}
LEDGER_FORMAT_NAMES = {
    "csv": _l("CSV"), "csv-nl": _l("CSV for Dutch Excel"), "json": _l("JSON"),
    "xaf": _l("XML Auditfile Financieel 3.2"), "xaf-4.0": _l("XML Auditfile Financieel 4.0"),
    "beancount": _l("Beancount"),
}


def valid_iban(form: FlaskForm, field: Field) -> None:
    try:
        field.data = compact_iban(field.data or "")
    except InvalidIban as error:
        raise ValidationError(str(error)) from None


class PayoutForm(FlaskForm):
    proposal_id = SelectField(_l("Winning proposal"), validators=[
        InputRequired(_l("Choose the proposal."))])
    amount = EuroField(_l("Amount in euros"), validators=[InputRequired(_l("Enter the amount."))])
    payee_name = StringField(_l("Payee"), validators=[
        InputRequired(_l("Enter who is paid.")), Length(max=140)])
    iban = StringField(_l("IBAN of the payee"), validators=[
        InputRequired(_l("Enter the IBAN.")), valid_iban])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, KIND_NAMES[k]) for k in PAYOUT_KINDS])
    reference = StringField(_l("Invoice or voucher number"), validators=[
        InputRequired(_l("Enter the invoice or voucher number.")), Length(max=140)])
    description = StringField(_l("Description (optional)"), validators=[Length(max=140)])


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[
        InputRequired(_l("Give the reason.")), Length(max=2000)])


class PaidForm(FlaskForm):
    bank_reference = StringField(_l("Bank reference"), validators=[
        InputRequired(_l("Enter the bank's reference of the transfer.")), Length(max=140)])


class StatementForm(FlaskForm):
    statement = FileField(_l("Bank statement (CAMT.053 XML)"), validators=[
        FileRequired(_l("Choose the statement file."))])


class CompleteForm(FlaskForm):
    report = TextAreaField(_l("Completion report"), validators=[
        InputRequired(_l("Say what was done with the money.")), Length(max=5000)])


class CloseForm(FlaskForm):
    destination = StringField(_l("Where unspent money goes"), validators=[
        InputRequired(_l("Name where the unspent money returns, for example a budget line.")),
        Length(max=200)])


def winners(round_id: str) -> list[dict[str, Any]]:
    return [p for p in proposals.list_proposals(runtime(), signed_in_principal(), round_id)
            if p["status"] in ("funded", "completed")]


def show_money(round_id: str, *, payout_form: PayoutForm | None = None,
               close_form: CloseForm | None = None, report: dict[str, Any] | None = None,
               status: int = 200):
    principal = signed_in_principal()
    budget_round = read_round(round_id)
    funded = winners(round_id)
    payout_form = payout_form or PayoutForm(formdata=None)
    payout_form.proposal_id.choices = [
        SelectChoice(p["proposal_id"], p["title"]) for p in funded if p["status"] == "funded"]
    close_form = close_form or CloseForm(formdata=None)
    closing = next((e for e in audit.round_audit_trail(runtime(), principal, round_id)
                    if e["event_type"] == "Closed"), None) if budget_round["phase"] == "closed" \
        else None
    return render_template(
        "console/money.html", round=budget_round, winners=funded, wording=wording,
        payouts=payouts.list_payouts(runtime(), principal, round_id),
        payout_form=payout_form, close_form=close_form, statement_form=StatementForm(),
        reason_form=ReasonForm(formdata=None), paid_form=PaidForm(formdata=None),
        report=report, kind_names=KIND_NAMES, ledger_formats=LEDGER_FORMAT_NAMES,
        closing=closing,
        errors=form_errors(payout_form) + form_errors(close_form),
        crumbs=round_crumbs(budget_round, (_("Money"), None)),
    ), status


def back_to_money(round_id: str):
    return redirect(url_for("console_money.money_page", round_id=round_id), code=303)


@blp.get("/rounds/<id:round_id>/money")
@signed_in("official")
def money_page(round_id: str):
    return show_money(round_id)


@blp.post("/rounds/<id:round_id>/payouts")
@signed_in("official")
def request_payout(round_id: str):
    """Request a payout from a winner's reservation; a second official approves it."""
    form = PayoutForm()
    form.proposal_id.choices = [SelectChoice(p["proposal_id"], p["title"]) for p in winners(round_id)]
    if not form.validate():
        return show_money(round_id, payout_form=form, status=422)
    try:
        runtime().application.request_payout(
            UUID(round_id), actor=signed_in_principal().actor, proposal_id=form.proposal_id.data,
            amount=form.amount.cents, payee_name=form.payee_name.data.strip(),
            iban=form.iban.data, kind=form.kind.data, reference=form.reference.data.strip(),
            description=(form.description.data or "").strip())
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_money(round_id, payout_form=form, status=422)
    flash(_("Payout of %(amount)s requested. A second official approves it.",
            amount=money(form.amount.cents)), "success")
    return back_to_money(round_id)


def payout_step(round_id: str, command: str, done: str, **fields: Any):
    try:
        getattr(runtime().application, command)(
            UUID(round_id), request.view_args["payout_id"], actor=signed_in_principal().actor,
            **fields)
    except (RuleViolation, Conflict) as error:
        show_domain_refusal(error)
    else:
        flash(done, "success")
    return back_to_money(round_id)


def reason_or_refusal(round_id: str, form: FlaskForm, command: str, done: str):
    """A step that needs text typed in a small form: refused with the form's message if empty."""
    if not form.validate():
        flash(_("This was not done: %(reason)s",
                reason=" ".join(str(m) for f in form for m in f.errors)), "error")
        return back_to_money(round_id)
    fields = {f.name: f.data.strip() for f in form if f.name != "csrf_token"}
    return payout_step(round_id, command, done, **fields)


@blp.post("/rounds/<id:round_id>/payouts/<id:payout_id>/approve")
@signed_in("official")
def approve_payout(round_id: str, payout_id: str):
    return payout_step(round_id, "approve_payout", _("The payout is approved."))


@blp.post("/rounds/<id:round_id>/payouts/<id:payout_id>/reject")
@signed_in("official")
def reject_payout(round_id: str, payout_id: str):
    return reason_or_refusal(round_id, ReasonForm(), "reject_payout",
                             _("The payout is refused; its money is reserved again."))


@blp.post("/rounds/<id:round_id>/payouts/<id:payout_id>/paid")
@signed_in("official")
def mark_paid(round_id: str, payout_id: str):
    return reason_or_refusal(round_id, PaidForm(), "mark_payout_paid", _("The payout is paid."))


@blp.post("/rounds/<id:round_id>/payouts/<id:payout_id>/reverse")
@signed_in("official")
def reverse_payout(round_id: str, payout_id: str):
    return reason_or_refusal(round_id, ReasonForm(), "reverse_payout",
                             _("The payout is reversed; its money is reserved again."))


@blp.post("/rounds/<id:round_id>/bank-statement")
@signed_in("official")
def upload_statement(round_id: str):
    """Mark paid every approved payout the statement shows booked; a report per line."""
    form = StatementForm()
    if not form.validate():
        flash(_("This was not done: %(reason)s", reason=" ".join(form.statement.errors)), "error")
        return back_to_money(round_id)
    document = form.statement.data.read(MAX_STATEMENT_BYTES + 1)
    if len(document) > MAX_STATEMENT_BYTES:
        flash(_("This was not done: %(reason)s", reason=_("the statement is larger than 20 MB")),
              "error")
        return back_to_money(round_id)
    try:
        report = reconcile_statement(runtime(), document, actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_domain_refusal(error)
        return back_to_money(round_id)
    return show_money(round_id, report=report)


@blp.post("/proposals/<id:proposal_id>/complete")
@signed_in("official")
def complete(proposal_id: str):
    """Complete a funded proposal with its report; unspent money returns to the round."""
    form = CompleteForm()
    round_id = proposals.get_proposal(runtime(), signed_in_principal(), proposal_id)["round_id"]
    if not form.validate():
        flash(_("This was not done: %(reason)s", reason=" ".join(form.report.errors)), "error")
        return back_to_money(round_id)
    try:
        unspent = runtime().application.complete_proposal(
            UUID(proposal_id), report=form.report.data.strip(), actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_domain_refusal(error)
    else:
        flash(_("The proposal is completed; %(amount)s unspent returns to the round.",
                amount=money(unspent)), "success")
    return back_to_money(round_id)


@blp.post("/rounds/<id:round_id>/close")
@signed_in("official")
def close_round(round_id: str):
    """Close the round; every euro not paid out returns to the destination named."""
    form = CloseForm()
    if not form.validate():
        return show_money(round_id, close_form=form, status=422)
    try:
        returned = runtime().application.close_round(
            UUID(round_id), destination=form.destination.data.strip(),
            actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_money(round_id, close_form=form, status=422)
    flash(_("The round is closed; %(amount)s returned to %(destination)s.",
            amount=money(returned), destination=form.destination.data.strip()), "success")
    return back_to_money(round_id)


@blp.get("/iban")
@signed_in("official")
def check_iban():
    """Is this an IBAN, and of which bank: the same check as on submitting, for typing."""
    text = request.args.get("value", "")[:64]
    try:
        iban = compact_iban(text)
    except InvalidIban as error:
        return jsonify(valid=False, message=str(error))
    return jsonify(valid=True, iban=iban, bank=bank_name(iban))


@blp.get("/rounds/<id:round_id>/ledger/<fmt>")
@signed_in("official", "auditor")
def ledger_download(round_id: str, fmt: str):
    """The round's ledger lines as a file in one of the ledger's formats."""
    export = ledger.export_ledger(runtime(), signed_in_principal(), fmt,
                                  ledger.scope_for(round_id=round_id))
    return Response(
        stream_with_context(export.chunks), mimetype=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )

