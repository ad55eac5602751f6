"""Time travel: a round's balances as they stood at a moment, replayed from the log up to it."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from typing import Any
from uuid import UUID

from domain.errors import NotFound
from projections import rounds
from service.audit_verify import round_balances, round_decision
from service.merkle_store import leaves
from service.principal import Principal
from service.queries import visibility
from service.runtime import Runtime


def round_balances_as_of(
    rt: Runtime, principal: Principal, round_id: str, moment: datetime
) -> dict[str, Any]:
    """Deposited, reserved, pending, paid, returned and available as of `moment` (public).

    The round's events up to that moment are replayed through the domain: the answer is what the
    log said then, whatever the read models say now. Before the round was opened: NotFound.
    """
    version = _version_at(rt, round_id, moment)
    if not version:
        raise NotFound(f"round {round_id} did not exist at {moment.isoformat()}")
    return _balances(rt, round_id, version, moment)


def all_round_balances_as_of(
    rt: Runtime, principal: Principal, moment: datetime
) -> list[dict[str, Any]]:
    """Every round that existed at `moment`, with its balances then."""
    with rt.reading() as conn:
        round_ids = [r["round_id"] for r in rounds.list_rounds(conn)]
    versions = {round_id: _version_at(rt, round_id, moment) for round_id in round_ids}
    return [_balances(rt, rid, version, moment) for rid, version in versions.items() if version]


def _version_at(rt: Runtime, round_id: str, moment: datetime) -> int:
    """The aggregate's version after its last event at or before `moment` (0: none yet)."""
    application = rt.application
    version = 0
    for stored in application.recorder.select_events(UUID(round_id)):
        if application.mapper.to_domain_event(stored).timestamp > moment:
            break
        version = stored.originator_version
    return version


def _balances(rt: Runtime, round_id: str, version: int, moment: datetime) -> dict[str, Any]:
    budget_round = rt.application.repository.get(UUID(round_id), version=version)
    return {"round_id": round_id, "as_of": moment.isoformat(), "version": version,
            "phase": budget_round.phase, **round_balances(budget_round)}


def moment_asked(rt: Runtime, query: dict[str, Any]) -> datetime | None:
    """The moment a time-travel query (`as_of`, `as_of_position`) asks for; None for now.

    Each bounds the log the answer is replayed from; given both, both bounds hold: the earlier
    of `as_of` and the moment of the event at `as_of_position`.
    """
    bounds = [query["as_of"]] if query["as_of"] is not None else []
    if query["as_of_position"] is not None:
        bounds.append(moment_at_position(rt, query["as_of_position"]))
    return min(bounds, default=None)


def moment_at_position(rt: Runtime, position: int) -> datetime:
    """The timestamp of the event at a log position (a leaf of the Merkle log); NotFound past the end."""
    with rt.reading() as conn:
        notification_id = conn.execute(
            sa.select(leaves.c.notification_id).where(leaves.c.position == position)
        ).scalar()
    if notification_id is None:
        raise NotFound(f"no event at log position {position}")
    application = rt.application
    (notification,) = application.recorder.select_notifications(start=notification_id, limit=1)
    return application.mapper.to_domain_event(notification).timestamp


def round_as_of(rt: Runtime, principal: Principal, round_id: str, moment: datetime) -> dict[str, Any]:
    """A round as the log stood at `moment`: its rules, phase and balances replayed (public).

    Counters the read models keep beside the aggregate (proposals, ballots) are not part of the
    replayed state and are left out.
    """
    version, budget_round = _round_at(rt, round_id, moment)
    return {
        "round_id": round_id, "as_of": moment.isoformat(), "version": version,
        "municipality_id": str(budget_round.municipality_id),
        "neighbourhood_id": str(budget_round.neighbourhood_id),
        "title": budget_round.title, "description": budget_round.description,
        "phase": budget_round.phase, "lot_seed": budget_round.lot_seed,
        "codes_issued": budget_round.codes_issued,
        "confirmed_tally_id": budget_round.confirmed_tally_id,
        **round_balances(budget_round),
    }


def round_payouts_as_of(
    rt: Runtime, principal: Principal, round_id: str, moment: datetime, *,
    proposal_id: str | None = None, status: str | None = None,
) -> list[dict[str, Any]]:
    """A round's payouts, by proposal and status, as they stood at `moment` (replayed).

    The replayed state holds each payout's proposal, amount, status and officials; bank details and
    dates stay with the read models. What `principal` may see is what it may see now.
    """
    _version, budget_round = _round_at(rt, round_id, moment)
    items = [
        {"payout_id": payout_id, "round_id": round_id, "proposal_id": payout["proposal_id"],
         "amount": payout["amount"], "status": payout["status"],
         "requested_by": payout["requested_by"], "decided_by": payout["approved_by"]}
        for payout_id, payout in budget_round.payouts.items()
        if proposal_id in (None, payout["proposal_id"]) and status in (None, payout["status"])
    ]
    return visibility.payouts_as_seen(principal, items)


def _round_at(rt: Runtime, round_id: str, moment: datetime) -> tuple[int, Any]:
    version = _version_at(rt, round_id, moment)
    if not version:
        raise NotFound(f"round {round_id} did not exist at {moment.isoformat()}")
    return version, rt.application.repository.get(UUID(round_id), version=version)


def round_results_as_of(
    rt: Runtime, principal: Principal, round_id: str, moment: datetime
) -> dict[str, Any]:
    """The decision as it stood at `moment`: the confirmed (else latest) tally then, and the
    proposals then on the ballot, each replayed. Vote counts stay with the read models."""
    _version, budget_round = _round_at(rt, round_id, moment)
    tally_id = round_decision(budget_round)["tally_id"]
    result = budget_round.tallies.get(tally_id) if tally_id else None
    winners = {w["proposal_id"] for w in result["winners"]} if result else set()
    ballot = []
    for proposal_id in budget_round.proposals:
        proposal = _proposal_at(rt, proposal_id, moment)
        # None: recorded on the round a moment before the proposal's own first event.
        if proposal is not None and proposal["status"] in visibility.ON_THE_BALLOT:
            ballot.append({
                "proposal_id": proposal_id, "title": proposal["title"], "cost": proposal["amount"],
                "status": proposal["status"], "votes": None,
                "score": result["scores"].get(proposal_id) if result else None,
                "winner": proposal_id in winners,
            })
    tally = None if result is None else {
        "tally_id": tally_id, "round_id": round_id, "result": result,
        "recorded_by": budget_round.tally_recorded_by.get(tally_id),
    }
    return {"round_id": round_id, "tally": tally,
            "confirmed": tally_id is not None and tally_id == budget_round.confirmed_tally_id,
            "proposals": ballot}


def proposal_as_of(
    rt: Runtime, principal: Principal, proposal_id: str, moment: datetime
) -> dict[str, Any]:
    """One proposal as the log stood at `moment`; the public gets 404 for one not on the ballot then."""
    item = _proposal_at(rt, proposal_id, moment)
    if item is None:
        raise NotFound(f"proposal {proposal_id} did not exist at {moment.isoformat()}")
    return visibility.proposal_as_seen(principal, item)


def round_proposals_as_of(
    rt: Runtime, principal: Principal, round_id: str, moment: datetime, *, status: str | None = None
) -> list[dict[str, Any]]:
    """A round's proposals as they stood at `moment`, by status, as `principal` may see them."""
    _version, budget_round = _round_at(rt, round_id, moment)
    statuses = visibility.visible_proposal_statuses(principal, (status,) if status else None)
    items = (_proposal_at(rt, proposal_id, moment) for proposal_id in budget_round.proposals)
    return [
        visibility.proposal_as_seen(principal, item) for item in items
        if item is not None and (statuses is None or item["status"] in statuses)
    ]


def _proposal_at(rt: Runtime, proposal_id: str, moment: datetime) -> dict[str, Any] | None:
    """The replayed facts of a proposal at `moment` (None: not submitted yet)."""
    version = _version_at(rt, proposal_id, moment)
    if not version:
        return None
    proposal = rt.application.repository.get(UUID(proposal_id), version=version)
    return {
        "proposal_id": proposal_id, "round_id": str(proposal.round_id),
        "reference": proposal.reference, "title": proposal.title,
        "requested_amount": proposal.requested_amount, "amount": proposal.amount,
        "status": proposal.status, "funded_amount": proposal.funded_amount,
        "as_of": moment.isoformat(), "version": version,
    }
