"""Voting and the decision: issuing voting codes as a download, turnout, the tally with the
round's rule, and its confirmation by a second official (four eyes, shown in the page)."""
from __future__ import annotations

import csv
import io
from uuid import UUID

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from domain.budget_round import MAX_CODES_PER_BATCH
from domain.errors import Conflict, RuleViolation
from service.console.review import form_errors, show_rule_violation
from service.console.rounds import read_round, round_crumbs, show_domain_refusal
from service.console.sign_in import signed_in, signed_in_principal
from service.extension import runtime
from service.pages import wording
from service.queries import results

blp = Blueprint("console_voting", __name__, url_prefix="/console")


class CodesForm(FlaskForm):
    count = IntegerField(_l("Number of voting codes"), validators=[
        InputRequired(_l("Enter how many codes to issue.")),
        NumberRange(min=1, max=MAX_CODES_PER_BATCH,
                    message=_l("Issue between %(min)d and %(max)d codes at a time."))])


def show_voting(round_id: str, form: CodesForm, status: int = 200):
    budget_round = read_round(round_id)
    return render_template(
        "console/voting.html", round=budget_round, form=form, errors=form_errors(form),
        wording=wording, crumbs=round_crumbs(budget_round, (_("Voting"), None)),
    ), status


@blp.get("/rounds/<id:round_id>/voting")
@signed_in("official")
def voting_page(round_id: str):
    """Turnout, codes issued, and the form that issues more codes."""
    return show_voting(round_id, CodesForm())


@blp.post("/rounds/<id:round_id>/voting-codes")
@signed_in("official")
def issue_codes(round_id: str):
    """Issue codes and answer them as a CSV file: they are shown this once and never stored."""
    form = CodesForm()
    if not form.validate():
        return show_voting(round_id, form, 422)
    try:
        codes = runtime().application.issue_voting_codes(
            UUID(round_id), count=form.count.data, actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_rule_violation(form, error)
        return show_voting(round_id, form, 422)
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
