"""For auditors: the audit trail of a round and the raw event log for offline replay."""
from __future__ import annotations

import base64
import json
from typing import Any

from flask.views import MethodView
from marshmallow import fields

from projections.audit_trail import audit_trail
from service.api.common import MAX_POSITION, BEARER, Blueprint, Count, StrictSchema
from service.api.rounds import read_round
from service.auth import requires
from service.extension import runtime

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit trail and event log")


class AuditEventOut(StrictSchema):
    position = fields.Integer(metadata={"description": "position in the event log"})
    aggregate_id = fields.String()
    aggregate_type = fields.String()
    version = fields.Integer()
    event_type = fields.String()
    occurred_at = fields.String()
    actor = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    round_id = fields.String(allow_none=True)
    proposal_id = fields.String(allow_none=True)
    payout_id = fields.String(allow_none=True)
    data = fields.Dict()


class PageQuery(StrictSchema):
    """A page of a log: the entries after a position."""

    after = Count(load_default=0, strict=False, minimum=0, maximum=MAX_POSITION,
                  metadata={"description": "a position in the log (64-bit)"})
    limit = Count(load_default=1000, strict=False, minimum=1, maximum=10000)


class StoredEventOut(StrictSchema):
    id = fields.Integer(metadata={"description": "notification id: position in the whole log"})
    originator_id = fields.String()
    originator_version = fields.Integer()
    topic = fields.String()
    state = fields.Raw(metadata={"description": "the stored event body (JSON), or base64 if not text"})


class EventLogOut(StrictSchema):
    events = fields.List(fields.Nested(StoredEventOut))
    next_after = fields.Integer(allow_none=True)
    head = fields.Integer()


def stored_state(state: bytes) -> Any:
    try:
        return json.loads(state)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return base64.b64encode(state).decode()


@blp.route("/rounds/<id:round_id>/audit-trail")
class RoundAuditTrail(MethodView):
    @requires("official", "auditor")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, AuditEventOut(many=True))
    @blp.doc(security=BEARER)
    def get(self, query, round_id):
        """Every event of the round and its proposals, with actor, time and reason."""
        read_round(round_id)
        with runtime().reading() as conn:
            return audit_trail(conn, round_id=round_id, **query)


@blp.route("/events")
class EventLog(MethodView):
    @requires("auditor")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, EventLogOut)
    @blp.doc(security=BEARER)
    def get(self, query):
        """The stored events in log order, as stored, for offline replay (auditor)."""
        recorder = runtime().application.recorder
        notifications = recorder.select_notifications(
            start=query["after"] + 1, limit=query["limit"]
        )
        events = [
            {
                "id": n.id, "originator_id": str(n.originator_id),
                "originator_version": n.originator_version, "topic": n.topic,
                "state": stored_state(n.state),
            }
            for n in notifications
        ]
        return {
            "events": events,
            "next_after": events[-1]["id"] if len(events) == query["limit"] else None,
            "head": recorder.max_notification_id() or 0,
        }
