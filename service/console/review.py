"""Review: the queue of submitted proposals, and admitting (at the requested or an adjusted cost,
with a note) or rejecting (with a reason) each one; decided proposals show who decided."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, TextAreaField
from wtforms.validators import InputRequired, Length

from domain.errors import Conflict, RuleViolation
from service.console.rounds import read_round, round_crumbs
from service.console.sign_in import signed_in, signed_in_principal
from service.extension import runtime
from service.pages import wording
from service.pages.submit import EuroField
from service.queries import audit, proposals

blp = Blueprint("console_review", __name__, url_prefix="/console")
REVIEW_EVENTS = ("Admitted", "Rejected", "Withdrawn")


class AdmitForm(FlaskForm):
    amount = EuroField(_l("Adjusted cost in euros (optional)"))
    note = TextAreaField(_l("Note to the proposer"), validators=[Length(max=2000)])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason for not admitting"), validators=[
        InputRequired(_l("Give the reason: residents see it with the proposal.")),
        Length(max=2000)])


def show_rule_violation(form: FlaskForm, error: RuleViolation | Conflict) -> None:
    """Put a refusal of the domain at the field it is about, or above the form."""
    field = getattr(form, getattr(error, "field", None) or "", None)
    if isinstance(field, Field):
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def form_errors(form: FlaskForm) -> list[tuple[str, str]]:
    return [("", m) for m in form.form_errors] + [
        (f.id, m) for f in form if f.errors for m in f.errors
    ]


def decisions(round_id: str) -> dict[str, dict[str, Any]]:
    """proposal id -> the review event that decided it (who, when, why), from the audit trail."""
    trail = audit.round_audit_trail(runtime(), signed_in_principal(), round_id)
    return {e["proposal_id"]: e for e in trail if e["event_type"] in REVIEW_EVENTS}


@blp.get("/rounds/<id:round_id>/review")
@signed_in("official", "auditor")
def queue(round_id: str):
    """Submitted proposals waiting for a decision, and those decided with who decided."""
    budget_round = read_round(round_id)
    items = proposals.list_proposals(runtime(), signed_in_principal(), round_id)
    return render_template(
        "console/review_queue.html", round=budget_round, wording=wording,
        waiting=[p for p in items if p["status"] == "submitted"],
        decided=[p for p in items if p["status"] != "submitted"], decisions=decisions(round_id),
        crumbs=round_crumbs(budget_round, (_("Review"), None)),
    )


def show_proposal(proposal_id: str, admit: AdmitForm, reject: RejectForm, status: int = 200):
    proposal = proposals.get_proposal(runtime(), signed_in_principal(), proposal_id)
    budget_round = read_round(proposal["round_id"])
    queue_link = url_for("console_review.queue", round_id=budget_round["round_id"])
    return render_template(
        "console/review_proposal.html", proposal=proposal, round=budget_round, wording=wording,
        admit=admit, reject=reject, errors=form_errors(admit) + form_errors(reject),
        decision=decisions(budget_round["round_id"]).get(proposal_id),
        crumbs=round_crumbs(budget_round, (_("Review"), queue_link), (proposal["title"], None)),
    ), status


@blp.get("/proposals/<id:proposal_id>/review")
@signed_in("official")
def review_proposal(proposal_id: str):
    return show_proposal(proposal_id, AdmitForm(prefix="admit"), RejectForm(prefix="reject"))


def decided(proposal_id: str, message: str):
    flash(message, "success")
    round_id = proposals.get_proposal(runtime(), signed_in_principal(), proposal_id)["round_id"]
    return redirect(url_for("console_review.queue", round_id=round_id), code=303)


@blp.post("/proposals/<id:proposal_id>/admit")
@signed_in("official")
def admit(proposal_id: str):
    """Admit to the ballot, at the requested cost or at an adjusted one explained in the note."""
    form, other = AdmitForm(prefix="admit"), RejectForm(prefix="reject", formdata=None)
    if not form.validate():
        return show_proposal(proposal_id, form, other, 422)
    try:
        runtime().application.admit_proposal(
            UUID(proposal_id), amount=form.amount.cents, note=(form.note.data or "").strip(),
            actor=signed_in_principal().actor,
        )
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_proposal(proposal_id, form, other, 422)
    return decided(proposal_id, _("The proposal is on the ballot."))


@blp.post("/proposals/<id:proposal_id>/reject")
@signed_in("official")
def reject(proposal_id: str):
    """Keep the proposal off the ballot, with the reason residents will read."""
    form, other = RejectForm(prefix="reject"), AdmitForm(prefix="admit", formdata=None)
    if not form.validate():
        return show_proposal(proposal_id, other, form, 422)
    try:
        runtime().application.reject_proposal(
            UUID(proposal_id), reason=form.reason.data.strip(), actor=signed_in_principal().actor
        )
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_proposal(proposal_id, other, form, 422)
    return decided(proposal_id, _("The proposal is not admitted; the reason is published."))
