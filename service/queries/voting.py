"""Ballots: a resident's own ballot by their voting code, and the published receipts."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.round_result import ballot_digest
from projections import ballots
from service.principal import RESIDENT_ROLE, Principal
from service.queries import visibility
from service.queries.rounds import round_in
from service.runtime import Runtime


def get_own_ballot(rt: Runtime, resident: Principal, round_id: str) -> dict[str, Any]:
    """The ballot cast with the resident's code, with its choices; Forbidden for a bad code."""
    resident.require(RESIDENT_ROLE)
    ballot_id = rt.application.ballot_id_of_code(UUID(round_id), resident.voting_code or "")
    with rt.reading() as conn:
        row = ballots.ballot_of(conn, str(ballot_id))
    if row is None:
        return {"round_id": round_id, "cast": False, "ballot_version": None, "receipt": None,
                "choices": {}, "cast_at": None}
    return {"round_id": round_id, "cast": True, "ballot_version": row["version"] - 1,
            "receipt": row["receipt"], "choices": row["choices"], "cast_at": row["cast_at"]}


def list_receipts(rt: Runtime, principal: Principal, round_id: str) -> dict[str, Any]:
    """Receipts of the ballot versions that count, once voting closed, and their digest."""
    with rt.reading() as conn:
        budget_round = round_in(conn, round_id)
        if not visibility.votes_are_public(budget_round["phase"]):
            return {"round_id": budget_round["round_id"], "ballot_digest": None, "receipts": []}
        listed = ballots.receipts(conn, round_id)
    return {
        "round_id": budget_round["round_id"], "ballot_digest": ballot_digest(listed),
        "receipts": listed,
    }
