"""Paper ballots in the console: one official enters a batch, a second confirms it (four eyes,
shown in the page), or it is discarded with a reason. The same commands as the API's."""
from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import InputRequired, ValidationError

from domain.errors import Conflict, Forbidden, RuleViolation
from domain.paper_ballots import MAX_BATCH
from service.api.voting import choices_of
from service.console.money import ReasonForm
from service.console.review import form_errors, show_rule_violation
from service.console.rounds import read_round, round_crumbs, show_domain_refusal
from service.console.sign_in import signed_in, signed_in_principal
from service.extension import runtime
from service.pages import wording
from service.queries import proposals, voting

blp = Blueprint("console_paper_ballots", __name__, url_prefix="/console")
KIND_NAMES = {"code": _l("Voting codes from letters"), "serial": _l("Serials of ballot papers")}
CHOICE = re.compile(r"^([0-9]{1,4})(?:=([0-9]{1,6}))?$")


class PaperBatchForm(FlaskForm):
    kind = SelectField(_l("The ballots carry"),
                       choices=[SelectChoice(k, v) for k, v in KIND_NAMES.items()])
    ballots = TextAreaField(_l("Ballots, one per line"), validators=[
        InputRequired(_l("Enter at least one ballot."))])

    def lines(self) -> list[tuple[str, list[tuple[int, int | None]]]]:
        """(code or serial, [(proposal number, points)]) per non-empty line; raises on bad form."""
        read = []
        for text in (self.ballots.data or "").splitlines():
            if not text.strip():
                continue
            number = len(read) + 1
            key, colon, rest = text.partition(":")
            entries = [e for e in re.split(r"[,\s]+", rest.strip()) if e]
            matched = [CHOICE.match(entry) for entry in entries]
            if not colon or not key.strip() or not entries or not all(matched):
                raise ValidationError(_(
                    "Ballot %(number)d: write the code or serial, a colon, then the numbers "
                    "of the proposals chosen (with =points for points).", number=number))
            read.append((key.strip(), [(int(m.group(1)), int(m.group(2)) if m.group(2) else None)
                                       for m in matched if m]))
        if len(read) > MAX_BATCH:
            raise ValidationError(_("A batch holds at most %(num)d ballots.", num=MAX_BATCH))
        return read


def ballot_list(budget_round: dict[str, Any]) -> list[dict[str, Any]]:
    """The proposals on the ballot, numbered as the officials type them."""
    on_ballot = budget_round.get("ballot") or {}
    listed = proposals.list_proposals(runtime(), signed_in_principal(), budget_round["round_id"])
    return [p for p in listed if p["proposal_id"] in on_ballot]


def papers_of(form: PaperBatchForm, budget_round: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch as the application takes it; the choices as the API reads a ballot."""
    ids = [p["proposal_id"] for p in ballot_list(budget_round)]
    method = budget_round["voting"]["method"]
    papers = []
    for number, (key, chosen) in enumerate(form.lines(), start=1):
        if any(not 1 <= n <= len(ids) for n, _points in chosen):
            raise ValidationError(_("Ballot %(number)d: a proposal number that is not on the "
                                    "ballot.", number=number))
        if method == "cumulative":
            shape: dict[str, Any] = {"points": {ids[n - 1]: points or 1 for n, points in chosen}}
        elif method == "ordinal":
            shape = {"ranking": [ids[n - 1] for n, _points in chosen]}
        else:
            shape = {"proposals": [ids[n - 1] for n, _points in chosen]}
        papers.append({"code": key if form.kind.data == "code" else None,
                       "serial": key if form.kind.data == "serial" else None,
                       "choices": choices_of(shape)})
    return papers


def show_paper_ballots(round_id: str, form: PaperBatchForm | None = None, status: int = 200):
    budget_round = read_round(round_id)
    form = form or PaperBatchForm(formdata=None)
    return render_template(
        "console/paper_ballots.html", round=budget_round, form=form,
        ballot=ballot_list(budget_round), reason_form=ReasonForm(formdata=None),
        batches=voting.list_paper_batches(runtime(), signed_in_principal(), round_id),
        errors=form_errors(form), wording=wording,
        crumbs=round_crumbs(budget_round, (_("Paper ballots"), None)),
    ), status


def back_to_paper_ballots(round_id: str):
    return redirect(url_for("console_paper_ballots.paper_ballots_page", round_id=round_id),
                    code=303)


@blp.get("/rounds/<id:round_id>/paper-ballots")
@signed_in("official")
def paper_ballots_page(round_id: str):
    """Batches entered, who entered and who confirmed each, and the form for a new batch."""
    return show_paper_ballots(round_id)


@blp.post("/rounds/<id:round_id>/paper-batches")
@signed_in("official")
def enter_batch(round_id: str):
    """Enter a batch; nothing counts until a second official confirms it."""
    form = PaperBatchForm()
    if not form.validate():
        return show_paper_ballots(round_id, form, 422)
    try:
        papers = papers_of(form, read_round(round_id))
    except ValidationError as error:
        form.ballots.errors = [*form.ballots.errors, str(error)]
        return show_paper_ballots(round_id, form, 422)
    try:
        runtime().application.enter_paper_ballots(
            UUID(round_id), papers, actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_paper_ballots(round_id, form, 422)
    flash(_("The batch of %(num)d ballots is entered. A second official confirms it.",
            num=len(papers)), "success")
    return back_to_paper_ballots(round_id)


@blp.post("/rounds/<id:round_id>/paper-batches/<id:batch_id>/confirm")
@signed_in("official")
def confirm_batch(round_id: str, batch_id: str):
    try:
        count = runtime().application.confirm_paper_ballots(
            UUID(round_id), UUID(batch_id), actor=signed_in_principal().actor)
    except (RuleViolation, Conflict, Forbidden) as error:
        show_domain_refusal(error)
    else:
        flash(_("The batch is confirmed: its %(num)d ballots count.", num=count), "success")
    return back_to_paper_ballots(round_id)


@blp.post("/rounds/<id:round_id>/paper-batches/<id:batch_id>/discard")
@signed_in("official")
def discard_batch(round_id: str, batch_id: str):
    form = ReasonForm()
    if not form.validate():
        flash(_("This was not done: %(reason)s", reason=" ".join(form.reason.errors)), "error")
        return back_to_paper_ballots(round_id)
    try:
        runtime().application.discard_paper_ballots(
            UUID(round_id), UUID(batch_id), reason=form.reason.data.strip(),
            actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_domain_refusal(error)
    else:
        flash(_("The batch is discarded; its codes and serials stay unused."), "success")
    return back_to_paper_ballots(round_id)
