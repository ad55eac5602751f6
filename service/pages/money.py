"""Where the money went: per round and per municipality, as tables and server-drawn SVG charts."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _

from service.auth import caller
from service.extension import runtime
from service.pages import wording
from service.pages.browse import round_crumbs
from service.pages.page_cache import cached_page
from service.queries import places, proposals, rounds

blp = Blueprint("money", __name__)
BALANCES = ("deposited", "reserved", "paid", "returned")


def bars(amounts: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Bars for a chart: each label and amount with its length as a share of the largest (0-100)."""
    largest = max((amount for _, amount in amounts), default=0) or 1
    return [{"label": label, "amount": amount, "length": round(100 * amount / largest, 1)}
            for label, amount in amounts]


def balance_bars(totals: dict[str, int]) -> list[dict[str, Any]]:
    labels = {"deposited": _("Budget"), "reserved": _("Reserved for winners"),
              "paid": _("Paid out"), "returned": _("Returned unspent")}
    return bars([(labels[key], totals[key]) for key in BALANCES])


@blp.get("/rounds/<id:round_id>/money")
@cached_page
def round_money(round_id: str):
    """Budget, reserved, paid and returned of one round, and each funded proposal's share."""
    budget_round = rounds.get_round(runtime(), caller(), round_id)
    funded = [p for p in proposals.list_proposals(runtime(), caller(), round_id)
              if p["funded_amount"] or p["paid_amount"]]
    return render_template(
        "pages/round_money.html", round=budget_round, wording=wording,
        balance=balance_bars(budget_round),
        per_proposal=bars([(p["title"], p["paid_amount"]) for p in funded]), funded=funded,
        crumbs=[*round_crumbs(budget_round), (_("Where the money went"), None)],
    )


@blp.get("/money")
@cached_page
def municipalities():
    """Every municipality, to choose where to follow the money."""
    return render_template(
        "pages/money_index.html", municipalities=places.list_municipalities(runtime(), caller()),
        crumbs=[(_("Home"), url_for("browse.home")), (_("Where the money went"), None)],
    )


@blp.get("/municipalities/<id:municipality_id>/money")
@cached_page
def municipality_page(municipality_id: str):
    """All rounds of a municipality's neighbourhoods: what was budgeted, reserved, paid, returned."""
    municipality = places.get_municipality(runtime(), caller(), municipality_id)
    neighbourhoods = {
        n["neighbourhood_id"]: n["name"]
        for n in places.list_neighbourhoods(runtime(), caller(), municipality_id)
    }
    its_rounds = [r for r in rounds.list_rounds(runtime(), caller())
                  if r["neighbourhood_id"] in neighbourhoods]
    totals = {key: sum(r[key] for r in its_rounds) for key in BALANCES}
    return render_template(
        "pages/municipality_money.html", municipality=municipality, rounds=its_rounds,
        neighbourhoods=neighbourhoods, totals=totals, balance=balance_bars(totals),
        wording=wording,
        crumbs=[(_("Home"), url_for("browse.home")),
                (_("Where the money went"), url_for("money.municipalities")),
                (municipality["name"], None)],
    )
