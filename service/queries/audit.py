"""Audit trails of rounds and proposals (officials, auditors) and the raw event log (auditors)."""
from __future__ import annotations

import base64
import json
from typing import Any

import sqlalchemy as sa

from domain.personal_data import SEALED_PREFIX
from projections import audit_trail, proposals, rounds
from projections.audit_trail import PERSONAL_FIELDS
from service.audit_export import BALLOT_TOPICS, round_of_ballot
from service.merkle_store import leaves
from service.principal import Principal
from service.queries.lookup import found
from service.queries.rounds import round_in
from service.queries.visibility import AUDIT_TRAIL_READERS, EVENT_LOG_READERS
from service.runtime import Runtime


def round_audit_trail(
    rt: Runtime, principal: Principal, round_id: str, *, after: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    """Every event of the round and its proposals, with actor, time and reason."""
    principal.require(*AUDIT_TRAIL_READERS)
    with rt.reading() as conn:
        round_in(conn, round_id)
        rows = audit_trail.audit_trail(conn, round_id=round_id, after=after, limit=limit)
        rt.personal_data.open_rows(conn, [row["data"] for row in rows], PERSONAL_FIELDS)
        return rows


def proposal_audit_trail(
    rt: Runtime, principal: Principal, proposal_id: str
) -> list[dict[str, Any]]:
    """Every event about the proposal, its review and its money."""
    principal.require(*AUDIT_TRAIL_READERS)
    with rt.reading() as conn:
        found(proposals.get_proposal(conn, proposal_id), "proposal", proposal_id)
        rows = audit_trail.audit_trail(conn, proposal_id=proposal_id)
        rt.personal_data.open_rows(conn, [row["data"] for row in rows], PERSONAL_FIELDS)
        return rows


def stored_state(state: bytes) -> Any:
    """A stored event body as JSON, or base64 when it is not JSON text."""
    try:
        return json.loads(state)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return base64.b64encode(state).decode()


def _mark_erased(rt: Runtime, events: list[dict[str, Any]]) -> None:
    """Name in each event the sealed fields whose key was destroyed (`erased`), beside its state."""
    sealed = {
        id(event): {name: value for name, value in event["state"].items()
                    if isinstance(value, str) and value.startswith(SEALED_PREFIX)}
        for event in events if isinstance(event["state"], dict)
    }
    erased = rt.personal_data.erased(
        value for fields in sealed.values() for value in fields.values()
    )
    for event in events:
        fields = sealed.get(id(event), {})
        event["erased"] = sorted(name for name, value in fields.items() if value in erased)


def event_log(
    rt: Runtime, principal: Principal, *, after: int = 0, limit: int = 1000
) -> dict[str, Any]:
    """The stored events after a position, in log order, as stored, for offline replay.

    Ballots of a round still voting are sealed: their body (the choices) is left out and their
    Merkle leaf hash given instead, so that nobody reads a choice before the count while the
    tree can still be checked. The rounds' phases are read after the events, so a ballot
    cast just before its round closed is sealed rather than shown early, never the reverse.
    """
    principal.require(*EVENT_LOG_READERS)
    recorder = rt.application.recorder
    notifications = recorder.select_notifications(start=after + 1, limit=limit)
    states = {n.id: stored_state(n.state) for n in notifications}
    ballot_rounds = {
        n.id: round_of_ballot(states[n.id]) for n in notifications
        if n.topic in BALLOT_TOPICS and isinstance(states[n.id], dict)
    }
    sealed = _sealed(rt, ballot_rounds)
    events = [
        {
            "id": n.id, "originator_id": str(n.originator_id),
            "originator_version": n.originator_version, "topic": n.topic,
            **({"state": None, "sealed": True, "leaf_hash": sealed[n.id]} if n.id in sealed
               else {"state": states[n.id]}),
        }
        for n in notifications
    ]
    _mark_erased(rt, events)
    return {
        "events": events,
        "next_after": events[-1]["id"] if len(events) == limit else None,
        "head": recorder.max_notification_id() or 0,
    }


def _sealed(rt: Runtime, ballot_rounds: dict[int, Any]) -> dict[int, str | None]:
    """Notification id -> leaf hash (hex) of the ballot events of rounds voting now."""
    if not ballot_rounds:
        return {}
    with rt.reading() as conn:
        phases = dict(conn.execute(
            sa.select(rounds.rounds.c.round_id, rounds.rounds.c.phase).where(
                rounds.rounds.c.round_id.in_({str(r) for r in ballot_rounds.values()})
            )
        ).all())
        # A round the read model does not know yet counts as voting: seal rather than show.
        ids = [nid for nid, round_id in ballot_rounds.items()
               if phases.get(str(round_id), "voting") == "voting"]
        hashes = dict(conn.execute(
            sa.select(leaves.c.notification_id, leaves.c.leaf_hash)
            .where(leaves.c.notification_id.in_(ids))
        ).all()) if ids else {}
    return {nid: bytes(hashes[nid]).hex() if nid in hashes else None for nid in ids}
