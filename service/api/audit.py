"""For auditors: the audit trail of a round and the raw event log for offline replay."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from service.api.common import BEARER, MAX_POSITION, Blueprint, Count, StrictSchema
from service.auth import caller, requires
from service.extension import runtime
from service.queries import audit
from service.queries.visibility import AUDIT_TRAIL_READERS, EVENT_LOG_READERS

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
    state = fields.Raw(
        allow_none=True,
        metadata={"description": "the stored event body (JSON), or base64 if not text; "
                                 "null for a sealed ballot"},
    )
    sealed = fields.Boolean(metadata={
        "description": "a ballot of a round still voting: its body is withheld until voting closes"
    })
    leaf_hash = fields.String(allow_none=True, metadata={
        "description": "for a sealed ballot: its Merkle leaf hash (hex), to check the tree"
    })
    erased = fields.List(fields.String(), metadata={
        "description": "fields of the body sealed with a key that was destroyed: their personal "
                       "data is erased (docs/privacy.md)"
    })


class EventLogOut(StrictSchema):
    events = fields.List(fields.Nested(StoredEventOut))
    next_after = fields.Integer(allow_none=True)
    head = fields.Integer()


@blp.route("/rounds/<id:round_id>/audit-trail")
class RoundAuditTrail(MethodView):
    @requires(*AUDIT_TRAIL_READERS)
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, AuditEventOut(many=True))
    @blp.doc(security=BEARER)
    def get(self, query, round_id):
        """Every event of the round and its proposals, with actor, time and reason."""
        return audit.round_audit_trail(runtime(), caller(), round_id, **query)


@blp.route("/proposals/<id:proposal_id>/audit-trail")
class ProposalAuditTrail(MethodView):
    @requires(*AUDIT_TRAIL_READERS)
    @blp.response(200, AuditEventOut(many=True))
    @blp.doc(security=BEARER)
    def get(self, proposal_id):
        """Every event about this proposal, its review and its money, with actor, time and reason."""
        return audit.proposal_audit_trail(runtime(), caller(), proposal_id)


@blp.route("/events")
class EventLog(MethodView):
    @requires(*EVENT_LOG_READERS)
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, EventLogOut)
    @blp.doc(security=BEARER)
    def get(self, query):
        """The stored events in log order, as stored, for offline replay (auditor)."""
        return audit.event_log(runtime(), caller(), **query)
