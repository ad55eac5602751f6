"""The console's home (every round by place, with its phase) and a round's page with the steps
an official takes next: each step is a button that posts one command of the application."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from domain.errors import Conflict, RuleViolation
from service.console.sign_in import signed_in, signed_in_principal
from service.extension import runtime
from service.pages import wording
from service.queries import places, proposals, results, rounds

blp = Blueprint("console_rounds", __name__, url_prefix="/console")
CONSOLE_ROLES = ("official", "auditor", "admin")

# The buttons that move a round on: command of the application, and what the official is told.
PHASE_STEPS = {
    "close-submissions": ("close_submissions", _l("Submissions are closed: review can begin.")),
    "open-voting": ("open_voting", _l("Voting is open: the rules are frozen.")),
    "close-voting": ("close_voting", _l("Voting is closed: the tally can be recorded.")),
}


def console_crumbs(*trail: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("Console"), url_for("console_rounds.home")), *trail]


def round_crumbs(budget_round: dict[str, Any], *trail: tuple[str, str | None]):
    """Console > round > …, for the pages of one round."""
    link = url_for("console_rounds.round_page", round_id=budget_round["round_id"])
    return console_crumbs((budget_round["title"], link if trail else None), *trail)


def read_round(round_id: str) -> dict[str, Any]:
    return rounds.get_round(runtime(), signed_in_principal(), round_id)


def show_domain_refusal(error: RuleViolation | Conflict) -> None:
    """A rule the domain refused a command for, shown on the next page."""
    flash(_("This was not done: %(reason)s", reason=error.message), "error")


@blp.get("")
@signed_in(*CONSOLE_ROLES)
def home():
    """Every municipality, neighbourhood and round, with phase and money."""
    municipalities = places.places_with_rounds(runtime(), signed_in_principal())
    return render_template(
        "console/home.html", municipalities=municipalities, wording=wording,
        crumbs=[(_("Console"), None)],
    )


@blp.get("/rounds/<id:round_id>")
@signed_in(*CONSOLE_ROLES)
def round_page(round_id: str):
    """A round's phase, money, proposals by status and the next steps for its phase."""
    principal = signed_in_principal()
    budget_round = read_round(round_id)
    items = proposals.list_proposals(runtime(), principal, round_id)
    by_status: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_status.setdefault(item["status"], []).append(item)
    return render_template(
        "console/round.html", round=budget_round, by_status=by_status, wording=wording,
        deposits=rounds.list_deposits(runtime(), principal, round_id),
        tallies=results.list_tallies(runtime(), principal, round_id),
        crumbs=round_crumbs(budget_round),
    )


@blp.post("/rounds/<id:round_id>/<any('close-submissions','open-voting','close-voting'):step>")
@signed_in("official")
def phase_step(round_id: str, step: str):
    """Move the round on with one command; a refusal is shown on the round's page."""
    command, done = PHASE_STEPS[step]
    try:
        getattr(runtime().application, command)(UUID(round_id), actor=signed_in_principal().actor)
    except (RuleViolation, Conflict) as error:
        show_domain_refusal(error)
    else:
        flash(str(done), "success")
    return redirect(url_for("console_rounds.round_page", round_id=round_id), code=303)
