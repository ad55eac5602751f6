"""The tamper-evident log over HTTP: the public key, signed checkpoints and Merkle proofs (public)."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from service.api.common import BEARER, Blueprint, StrictSchema, Text
from service.auth import caller, requires
from service.extension import runtime
from service.queries import audit_log, money_trail
from service.queries.visibility import EVENT_LOG_READERS

blp = Blueprint(
    "audit_log", __name__, url_prefix="/api/v1/audit",
    description="Signed checkpoints of the event log and proofs against them (RFC 9162)",
)



# Positions and sizes beyond what a database integer holds are refused as input, not overflowed.
MAX_INDEX = 2**62


def index(minimum: int = 0, **kwargs):
    return fields.Integer(validate=validate.Range(min=minimum, max=MAX_INDEX), **kwargs)


class PublicKeyOut(StrictSchema):
    log_name = fields.String(metadata={"description": "origin line of every checkpoint"})
    verifier_key = fields.String(metadata={"description": "C2SP signed-note verifier key"})
    public_key_pem = fields.String()


class CosignatureOut(StrictSchema):
    witness_key = fields.String(metadata={"description": "the witness's verifier key (type 0x04)"})
    signed_at = fields.Integer(metadata={"description": "POSIX seconds, as the witness signed"})
    cosignature = fields.String(metadata={"description": "C2SP tlog-cosignature signature line"})


class CosignatureIn(StrictSchema):
    witness_key = Text(required=True, blank=False, validate=validate.Length(min=1, max=200))
    cosignature = Text(required=True, blank=False, validate=validate.Length(min=1, max=500))


class CheckpointOut(StrictSchema):
    id = fields.Integer()
    tree_size = fields.Integer()
    root_hash = fields.String(metadata={"description": "hex"})
    created_at = fields.String()
    reason = fields.String()
    note = fields.String(metadata={"description": "the C2SP signed note (tlog-checkpoint)"})
    cosignatures = fields.List(fields.Nested(CosignatureOut))


class CheckpointsOut(StrictSchema):
    checkpoints = fields.List(fields.Nested(CheckpointOut))
    next_after = fields.Integer(allow_none=True)
    tree_size = fields.Integer(metadata={"description": "entries in the log now"})


class CheckpointsQuery(StrictSchema):
    after = index(load_default=0)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class InclusionQuery(StrictSchema):
    position = index()
    notification_id = index(1)
    tree_size = index(1)

    @validates_schema
    def one_entry(self, data, **_kwargs):
        if ("position" in data) == ("notification_id" in data):
            raise ValidationError("give exactly one of position and notification_id", "position")


class InclusionOut(StrictSchema):
    position = fields.Integer()
    notification_id = fields.Integer()
    tree_size = fields.Integer()
    leaf_hash = fields.String()
    root_hash = fields.String()
    proof = fields.List(fields.String(), metadata={"description": "hex hashes, leaf side first"})


class ConsistencyQuery(StrictSchema):
    first = index(required=True)
    second = index()


class ConsistencyOut(StrictSchema):
    first = fields.Integer()
    second = fields.Integer()
    first_root = fields.String()
    second_root = fields.String()
    proof = fields.List(fields.String())


@blp.route("/public-key")
class PublicKey(MethodView):
    @blp.response(200, PublicKeyOut)
    def get(self):
        """The Ed25519 key that signs the checkpoints."""
        return audit_log.public_key(runtime(), caller())


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    @blp.arguments(CheckpointsQuery, location="query")
    @blp.response(200, CheckpointsOut)
    def get(self, query):
        """Signed checkpoints, oldest first."""
        return audit_log.checkpoints(runtime(), caller(), **query)


@blp.route("/checkpoints/latest")
class LatestCheckpoint(MethodView):
    @blp.response(200, CheckpointOut)
    def get(self):
        """The newest signed checkpoint, with its witnesses' cosignatures."""
        return audit_log.latest_checkpoint(runtime(), caller())


@blp.route("/checkpoints/<int(max=2147483647):checkpoint_id>/cosignatures")
class Cosignatures(MethodView):
    @blp.arguments(CosignatureIn)
    @blp.response(201, CheckpointOut)
    def post(self, body, checkpoint_id):
        """A witness's cosignature of a checkpoint (kept only if it verifies with the given key)."""
        return audit_log.cosign_checkpoint(runtime(), caller(), checkpoint_id, **body)


@blp.route("/proofs/inclusion")
class InclusionProof(MethodView):
    @blp.arguments(InclusionQuery, location="query")
    @blp.response(200, InclusionOut)
    def get(self, query):
        """The audit path of one entry in the tree of `tree_size` entries (default: all)."""
        return audit_log.inclusion_proof(
            runtime(), caller(), position=query.get("position"),
            notification_id=query.get("notification_id"), size=query.get("tree_size"),
        )


@blp.route("/proofs/consistency")
class ConsistencyProof(MethodView):
    @blp.arguments(ConsistencyQuery, location="query")
    @blp.response(200, ConsistencyOut)
    def get(self, query):
        """The proof that the tree of `second` entries (default: all) extends that of `first`."""
        return audit_log.consistency_proof(
            runtime(), caller(), first=query["first"], second=query.get("second")
        )


class TrailPayoutOut(StrictSchema):
    payout_id = fields.String()
    amount = fields.Integer(metadata={"description": "euro cents"})
    kind = fields.String(metadata={"description": "invoice (paid to a supplier) or advance"})
    status = fields.String()
    requested_at = fields.String()
    decided_at = fields.String(allow_none=True)
    paid_at = fields.String(allow_none=True)
    reversed_at = fields.String(allow_none=True)


class CoveringCheckpointOut(StrictSchema):
    id = fields.Integer()
    tree_size = fields.Integer()
    root_hash = fields.String()
    created_at = fields.String()
    position = fields.Integer(metadata={"description": "log position of the trail's last event"})


class MoneyTrailOut(StrictSchema):
    proposal_id = fields.String()
    round_id = fields.String()
    title = fields.String()
    status = fields.String()
    reserved = fields.Integer()
    pending = fields.Integer()
    paid = fields.Integer()
    released = fields.Integer()
    completed = fields.Boolean()
    payouts = fields.List(fields.Nested(TrailPayoutOut))
    last_notification_id = fields.Integer(allow_none=True)
    covered_by = fields.Nested(CoveringCheckpointOut, allow_none=True)


@blp.route("/money-trail/<id:proposal_id>")
class MoneyTrail(MethodView):
    @blp.response(200, MoneyTrailOut)
    def get(self, proposal_id):
        """Where a proposal's money went (public): reserved, payouts, release, covering checkpoint."""
        return money_trail.money_trail(runtime(), caller(), proposal_id)


@blp.route("/export")
class Export(MethodView):
    @requires(*EVENT_LOG_READERS)
    @blp.response(200, content_type="application/jsonl")
    @blp.doc(security=BEARER)
    def get(self):
        """The whole log in the audit export format (docs/audit.md), streamed (auditor)."""
        # The lines need the runtime only, not the request: no request context is kept open.
        lines = audit_log.export(runtime(), caller())
        return Response(
            lines, mimetype="application/jsonl",
            headers={"Content-Disposition": 'attachment; filename="buurtbudget-audit.jsonl"'},
        )
