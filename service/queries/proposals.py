"""Proposals of a round and one by one, with vote counts once voting closed."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from projections import ballots, proposals, rounds
from service.principal import Principal
from service.queries import visibility
from service.queries.lookup import found
from service.runtime import Runtime

PROPOSER_FIELDS = ("proposer_name", "proposer_email")  # envelopes in the read model


def _with_votes(
    conn: sa.Connection, budget_round: dict[str, Any], items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Add ballots naming each proposal and points given to it, once votes are public."""
    if visibility.votes_are_public(budget_round["phase"]):
        counts = ballots.vote_counts(conn, budget_round["round_id"])
        for item in items:
            item["votes"], item["points"] = counts.get(item["proposal_id"], (0, 0))
    return items


def proposals_in(
    conn: sa.Connection, budget_round: dict[str, Any], statuses: tuple[str, ...] | None
) -> list[dict[str, Any]]:
    """Rows of the round's proposals with these statuses, with their votes once public."""
    items = proposals.list_proposals(conn, budget_round["round_id"], statuses=statuses)
    return _with_votes(conn, budget_round, items)


def list_proposals(
    rt: Runtime, principal: Principal, round_id: str, *, status: str | None = None
) -> list[dict[str, Any]]:
    """Proposals of a round: officials and auditors see all, others what reached the ballot."""
    with rt.reading() as conn:
        budget_round = found(rounds.get_round(conn, round_id), "round", round_id)
        statuses = visibility.visible_proposal_statuses(principal, (status,) if status else None)
        items = proposals_in(conn, budget_round, statuses)
        rt.personal_data.open_rows(conn, items, PROPOSER_FIELDS)
    return [visibility.proposal_as_seen(principal, item) for item in items]


def list_rejected(rt: Runtime, principal: Principal, round_id: str) -> list[dict[str, Any]]:
    """Proposals of a round that were not admitted, with the reason."""
    with rt.reading() as conn:
        found(rounds.get_round(conn, round_id), "round", round_id)
        items = proposals.list_proposals(conn, round_id, statuses=("rejected",))
        rt.personal_data.open_rows(conn, items, PROPOSER_FIELDS)
    return visibility.rejections_as_seen(principal, items)


def _proposal_row(conn: sa.Connection, proposal_id: str) -> dict[str, Any]:
    item = found(proposals.get_proposal(conn, proposal_id), "proposal", proposal_id)
    budget_round = rounds.get_round(conn, item["round_id"])
    return _with_votes(conn, budget_round, [item])[0] if budget_round else item


def get_proposal(rt: Runtime, principal: Principal, proposal_id: str) -> dict[str, Any]:
    """One proposal; the public gets 404 for one that did not reach the ballot."""
    with rt.reading() as conn:
        item = _proposal_row(conn, proposal_id)
        rt.personal_data.open_rows(conn, [item], PROPOSER_FIELDS)
    return visibility.proposal_as_seen(principal, item)


def get_proposal_of_proposer(
    rt: Runtime, principal: Principal, proposal_id: str
) -> dict[str, Any]:
    """One proposal in any status, for its proposer right after they acted on it with its key."""
    with rt.reading() as conn:
        item = found(proposals.get_proposal(conn, proposal_id), "proposal", proposal_id)
        rt.personal_data.open_rows(conn, [item], PROPOSER_FIELDS)
    return visibility.proposal_as_its_proposer_sees(principal, item)


def get_submitted_proposal(rt: Runtime, proposal_id: str) -> dict[str, Any]:
    """A proposal just submitted, whole: the answer echoes what its proposer sent."""
    with rt.reading() as conn:
        item = found(proposals.get_proposal(conn, proposal_id), "proposal", proposal_id)
        rt.personal_data.open_rows(conn, [item], PROPOSER_FIELDS)
    return visibility.submission_as_echoed(item)
