"""Ballots: a resident's own ballot by their code; once voting closed, receipts, the anonymised
ballots and turnout."""
from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from domain.ballot import RECEIPT_SCHEME
from domain.canonical_event import canonical_document
from domain.errors import Conflict, NotFound
from domain.round_result import ballot_digest
from projections import ballots, paper_batches
from service import checkpoints
from service.merkle_store import leaf_at_notification
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
                "nonce": None, "choices": {}, "cast_at": None}
    return {"round_id": round_id, "cast": True, "ballot_version": row["version"] - 1,
            "receipt": row["receipt"], "nonce": row["nonce"], "choices": row["choices"],
            "cast_at": row["cast_at"]}


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


def turnout(rt: Runtime, principal: Principal, round_id: str) -> dict[str, Any]:
    """Eligible residents, ballots that count and the share: public once voting closed.

    `eligible` counts the residents who got a code from a voter register; a round that issued
    only bare codes has no known electorate, and no percentage.
    """
    with rt.reading() as conn:
        budget_round = round_in(conn, round_id)
        if not (visibility.votes_are_public(budget_round["phase"])
                or visibility.sees_everything(principal)):
            raise Conflict("turnout is published once voting has closed")
        electorate = ballots.electorate(conn, round_id)
    eligible = electorate["eligible"] if electorate and electorate["eligible"] else None
    voted = budget_round["ballots_cast"]
    return {
        "round_id": budget_round["round_id"], "phase": budget_round["phase"],
        "eligible": eligible, "voted": voted, "codes_issued": budget_round["codes_issued"],
        "turnout_percent": None if not eligible else round(100 * voted / eligible, 2),
    }


def list_paper_batches(rt: Runtime, principal: Principal, round_id: str) -> list[dict[str, Any]]:
    """A round's batches of paper ballots: counts, who entered and who confirmed or discarded."""
    principal.require(*visibility.PAPER_BATCH_READERS)
    with rt.reading() as conn:
        round_in(conn, round_id)
        return paper_batches.list_paper_batches(conn, round_id)


def published_ballots(
    rt: Runtime, principal: Principal, round_id: str, *, after: str = "", limit: int = 1000,
    receipt: str | None = None,
) -> dict[str, Any]:
    """The ballots that count, anonymised (receipt, nonce, choices), once voting closed."""
    with rt.reading() as conn:
        budget_round = round_in(conn, round_id)
        if not visibility.votes_are_public(budget_round["phase"]):
            raise Conflict("ballots are published once voting has closed")
        items = ballots.published_ballots(
            conn, round_id, after=after, limit=limit, receipt=receipt
        )
    return {
        "round_id": budget_round["round_id"], "ballots": items,
        "next_after": items[-1]["receipt"] if len(items) == limit else None,
    }


def published_ballot(
    rt: Runtime, principal: Principal, round_id: str, receipt: str
) -> dict[str, Any]:
    """One counted ballot by its receipt, with the stored cast it came from (its leaf's event).

    With the event a voter recomputes the Merkle leaf and checks its inclusion proof under a
    signed checkpoint (docs/privacy.md).
    """
    wanted = "".join(receipt.split()).lower()
    found = published_ballots(rt, principal, round_id, receipt=wanted, limit=1)["ballots"]
    if not found:
        raise NotFound("no counted ballot has this receipt")
    item = found[0]
    event = None
    if item["position"] is not None:  # None: a read model row from before positions were kept
        (notification,) = rt.application.recorder.select_notifications(
            start=item["position"], limit=1
        )
        event = canonical_document(
            notification.topic, notification.originator_id, notification.originator_version,
            json.loads(notification.state),
        )
    scheme = RECEIPT_SCHEME if item["nonce"] is not None else "buurtbudget-receipt/1"
    return {"round_id": round_id, **item, "scheme": scheme, "event": event}


def checkpoint_covering(
    rt: Runtime, principal: Principal, published: dict[str, Any]
) -> dict[str, Any] | None:
    """The latest signed checkpoint, if it covers a published ballot's cast (its proof's size)."""
    if published.get("position") is None:
        return None
    with rt.engine.connect() as conn:
        found = leaf_at_notification(conn, published["position"])
        latest = checkpoints.latest_checkpoint(conn)
    if found is None or latest is None or latest["tree_size"] <= found[0]:
        return None
    return {"id": latest["id"], "tree_size": latest["tree_size"]}
