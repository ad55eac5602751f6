"""Rounds as anyone sees them: phase, rules, schedule, balances, turnout and deposits."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain.errors import NotFound
from projections import ballots, rounds
from service.principal import Principal
from service.queries.lookup import found
from service.runtime import Runtime


def round_in(conn: sa.Connection, round_id: str) -> dict[str, Any]:
    """The round with its turnout; NotFound if there is none."""
    item = found(rounds.get_round(conn, round_id), "round", round_id)
    item["ballots_cast"] = ballots.turnout(conn, item["round_id"])
    return item


def list_rounds(
    rt: Runtime, principal: Principal, *, neighbourhood_id: str | None = None,
    phase: str | None = None,
) -> list[dict[str, Any]]:
    """Rounds, oldest first, by neighbourhood and phase."""
    with rt.reading() as conn:
        items = rounds.list_rounds(conn, neighbourhood_id=neighbourhood_id, phase=phase)
        for item in items:
            item["ballots_cast"] = ballots.turnout(conn, item["round_id"])
        return items


def get_round(rt: Runtime, principal: Principal, round_id: str) -> dict[str, Any]:
    """One round with its phase, rules and balances (cents)."""
    with rt.reading() as conn:
        return round_in(conn, round_id)


def list_deposits(rt: Runtime, principal: Principal, round_id: str) -> list[dict[str, Any]]:
    """Money put into the round, by source."""
    with rt.reading() as conn:
        round_in(conn, round_id)
        return rounds.list_deposits(conn, round_id)


def get_eligibility(rt: Runtime, principal: Principal, round_id: str) -> dict[str, Any]:
    """Who may vote in the round (public); NotFound while no rules were set."""
    with rt.reading() as conn:
        round_in(conn, round_id)
        electorate = ballots.electorate(conn, round_id)
    if electorate is None or electorate["rules"] is None:
        raise NotFound(f"round {round_id} has no eligibility rules yet")
    return {"round_id": round_id, **electorate["rules"]}
