"""Finding a round and reading it: home (places and rounds), a round, a proposal."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _

from domain.personal_data import ERASED
from service.auth import caller
from service.extension import runtime
from service.pages import wording
from service.pages.page_cache import cached_page
from service.queries import payouts, places, proposals, rounds
from service.queries.visibility import ON_THE_BALLOT

blp = Blueprint("browse", __name__)


def round_crumbs(budget_round: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Home > municipality: neighbourhood > round, for a page about a round or what is in it."""
    neighbourhood = places.get_neighbourhood(runtime(), caller(), budget_round["neighbourhood_id"])
    municipality = places.get_municipality(runtime(), caller(), budget_round["municipality_id"])
    return [
        (_("Home"), url_for("browse.home")),
        (f"{municipality['name']}: {neighbourhood['name']}", None),
        (budget_round["title"], url_for("browse.round_page", round_id=budget_round["round_id"])),
    ]


@blp.get("/")
@cached_page
def home():
    """Municipalities, their neighbourhoods and each neighbourhood's rounds with phase and dates."""
    municipalities = places.places_with_rounds(runtime(), caller())
    return render_template("pages/home.html", municipalities=municipalities, wording=wording)


@blp.get("/rounds/<id:round_id>")
@cached_page
def round_page(round_id: str):
    """Budget, phase, schedule and rules of a round, its proposals, and those not admitted."""
    budget_round = rounds.get_round(runtime(), caller(), round_id)
    items = proposals.list_proposals(runtime(), caller(), round_id)
    crumbs = round_crumbs(budget_round)
    crumbs[-1] = (budget_round["title"], None)
    return render_template(
        "pages/round.html", round=budget_round, crumbs=crumbs, wording=wording,
        on_ballot=[p for p in items if p["status"] in ON_THE_BALLOT],
        submitted=[p for p in items if p["status"] == "submitted"],
        rejected=proposals.list_rejected(runtime(), caller(), round_id),
    )


@blp.get("/proposals/<id:proposal_id>")
@cached_page
def proposal_page(proposal_id: str):
    """A proposal, its costs and review, its votes once public, and its money trail."""
    proposal = proposals.get_proposal(runtime(), caller(), proposal_id)
    budget_round = rounds.get_round(runtime(), caller(), proposal["round_id"])
    trail = payouts.list_payouts(
        runtime(), caller(), proposal["round_id"], proposal_id=proposal_id
    )
    crumbs = [*round_crumbs(budget_round), (proposal["title"], None)]
    return render_template(
        "pages/proposal.html", proposal=proposal, round=budget_round, payouts=trail,
        crumbs=crumbs, wording=wording, erased=ERASED,
    )
