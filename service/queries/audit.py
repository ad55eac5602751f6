"""Audit trails of rounds and proposals (officials, auditors) and the raw event log (auditors)."""
from __future__ import annotations

import base64
import json
from typing import Any

from domain.personal_data import ERASED, SEALED_PREFIX
from projections import audit_trail, proposals
from projections.audit_trail import PERSONAL_FIELDS
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
    with rt.engine.connect() as conn:
        opened = rt.personal_data.open_all(
            conn, (value for fields in sealed.values() for value in fields.values())
        )
    for event in events:
        fields = sealed.get(id(event), {})
        event["erased"] = sorted(name for name, value in fields.items() if opened[value] == ERASED)


def event_log(
    rt: Runtime, principal: Principal, *, after: int = 0, limit: int = 1000
) -> dict[str, Any]:
    """The stored events after a position, in log order, as stored, for offline replay."""
    principal.require(*EVENT_LOG_READERS)
    recorder = rt.application.recorder
    notifications = recorder.select_notifications(start=after + 1, limit=limit)
    events = [
        {
            "id": n.id, "originator_id": str(n.originator_id),
            "originator_version": n.originator_version, "topic": n.topic,
            "state": stored_state(n.state),
        }
        for n in notifications
    ]
    _mark_erased(rt, events)
    return {
        "events": events,
        "next_after": events[-1]["id"] if len(events) == limit else None,
        "head": recorder.max_notification_id() or 0,
    }
