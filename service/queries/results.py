"""Tallies and results: what was counted, what won, and a recount anyone can run."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from projections import rounds
from service.principal import Principal
from service.queries import visibility
from service.queries.lookup import found
from service.queries.proposals import proposals_in
from service.queries.rounds import round_in
from service.runtime import Runtime


def list_tallies(rt: Runtime, principal: Principal, round_id: str) -> list[dict[str, Any]]:
    """Every tally recorded for the round, oldest first."""
    with rt.reading() as conn:
        round_in(conn, round_id)
        return rounds.list_tallies(conn, round_id)


def get_tally(rt: Runtime, principal: Principal, round_id: str, tally_id: str) -> dict[str, Any]:
    """One recorded tally of the round."""
    with rt.reading() as conn:
        recorded = rounds.list_tallies(conn, round_id)
    return found(next((t for t in recorded if t["tally_id"] == tally_id), None), "tally", tally_id)


def verify_tally(
    rt: Runtime, principal: Principal, round_id: str, tally_id: str | None = None
) -> dict[str, Any]:
    """Recount from the stored ballot events and compare with the recorded result."""
    return rt.application.verify_tally(UUID(round_id), tally_id)


def get_results(rt: Runtime, principal: Principal, round_id: str) -> dict[str, Any]:
    """The decision: the confirmed (else latest) tally and every proposal on the ballot."""
    with rt.reading() as conn:
        budget_round = round_in(conn, round_id)
        recorded = rounds.list_tallies(conn, round_id)
        ballot = proposals_in(conn, budget_round, visibility.ON_THE_BALLOT)
    confirmed = [t for t in recorded if t["tally_id"] == budget_round["confirmed_tally_id"]]
    tally = (confirmed or recorded[-1:] or [None])[0]
    winners = {w["proposal_id"] for w in tally["result"]["winners"]} if tally else set()
    return {
        "round_id": budget_round["round_id"],
        "tally": tally,
        "confirmed": bool(confirmed),
        "proposals": [
            {
                "proposal_id": p["proposal_id"], "title": p["title"], "cost": p["amount"],
                "status": p["status"], "votes": p.get("votes"),
                "score": tally["result"]["scores"].get(p["proposal_id"]) if tally else None,
                "winner": p["proposal_id"] in winners,
            }
            for p in ballot
        ],
    }
