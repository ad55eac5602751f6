"""Time travel: a round's balances as they stood at a moment, replayed from the log up to it."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import NotFound
from projections import rounds
from service.audit_verify import round_balances
from service.principal import Principal
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
    """The round's version after its last event at or before `moment` (0: none yet)."""
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
