"""The results of a round: winners, votes per proposal, the rule, and a recount anyone can run."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from service.auth import caller
from service.extension import runtime
from service.pages import wording
from service.pages.browse import round_crumbs
from service.pages.page_cache import cached_page
from service.queries import results, rounds

blp = Blueprint("results", __name__)


def render_results(round_id: str, recount: dict | None = None):
    budget_round = rounds.get_round(runtime(), caller(), round_id)
    outcome = results.get_results(runtime(), caller(), round_id)
    ranked = sorted(outcome["proposals"], key=lambda p: (not p["winner"], -(p["votes"] or 0)))
    return render_template(
        "pages/results.html", round=budget_round, outcome=outcome, ranked=ranked,
        recount=recount, wording=wording,
        crumbs=[*round_crumbs(budget_round), (_("Results"), None)],
    )


@blp.get("/rounds/<id:round_id>/results")
@cached_page
def results_page(round_id: str):
    return render_results(round_id)


@blp.post("/rounds/<id:round_id>/results/recount")
def recount(round_id: str):
    """Recount the stored ballots and show whether the recorded result is reproduced."""
    return render_results(round_id, results.verify_tally(runtime(), caller(), round_id))
