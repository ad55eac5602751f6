"""The tamper-evident log over HTTP: the public key, signed checkpoints and Merkle proofs (public)."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from service.api.common import BEARER, Blueprint, CheckedFormat, Pattern, StrictSchema, Text
from service.auth import caller, requires
from service.extension import runtime
from service.queries import audit_log, money_trail
from service.queries.visibility import EVENT_LOG_READERS
from service.signed_note import COSIGNATURE_LINE, COSIGNATURE_V1, NoteError, parse_verifier_key

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


class WitnessKey(CheckedFormat):
    """A witness's C2SP verifier key for cosignatures (type 0x04), as the checkpoints store it."""

    FORMAT = "c2sp-cosignature-verifier-key"
    DESCRIPTION = (
        "A C2SP signed-note verifier key of a witness, at most 200 characters: "
        "`<name>+<key id, 8 hex digits>+<base64 of 0x04 and the 32-byte Ed25519 public key>`, "
        "where the key id is the first 4 bytes of SHA-256(name, newline, 0x04, public key)."
    )
    MAX_LENGTH = 200  # the stored column's width

    def check(self, text: str) -> str:
        if len(text) > self.MAX_LENGTH:
            raise ValueError(f"a witness key is at most {self.MAX_LENGTH} characters")
        try:
            parse_verifier_key(text, COSIGNATURE_V1)
        except NoteError as error:
            raise ValueError(str(error)) from None
        return text.strip()


class CosignatureIn(StrictSchema):
    witness_key = WitnessKey(required=True)
    cosignature = Text(required=True, validate=Pattern(
        COSIGNATURE_LINE, error="not a C2SP cosignature line: an em dash, the witness's name and "
        "the base64 of key id, time and signature",
    ), metadata={"description": "a C2SP tlog-cosignature line by the witness's key over this "
                 "checkpoint: an em dash, the key's name and the base64 of 4 bytes key id, 8 "
                 "bytes time and 64 bytes Ed25519 signature (403 if it does not verify)"})


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
    """Which entry (at least one of position and notification_id), in which tree.

    Each identifier narrows the entry meant, as filters do: given both, they must name the same
    entry (otherwise 404). "At least one" compares parameters, which OpenAPI 3.0 cannot state;
    the descriptions say it and a request with neither is 400.
    """

    position = index(metadata={"description": "the entry's position in the log (0-based); "
                               "at least one of position and notification_id is required"})
    notification_id = index(1, metadata={"description": "the stored event's notification id; "
                                         "at least one of position and notification_id is "
                                         "required"})
    tree_size = index(1, metadata={"description": "the tree the proof is against (default: the "
                                   "whole log); a tree larger than the log, or one that does not "
                                   "hold the entry, is 404"})

    @validates_schema
    def names_an_entry(self, data, **_kwargs):
        if "position" not in data and "notification_id" not in data:
            raise ValidationError("give position or notification_id (or both)", "position")


class InclusionOut(StrictSchema):
    position = fields.Integer()
    notification_id = fields.Integer()
    tree_size = fields.Integer()
    leaf_hash = fields.String()
    root_hash = fields.String()
    proof = fields.List(fields.String(), metadata={"description": "hex hashes, leaf side first"})


class ConsistencyQuery(StrictSchema):
    """Two tree sizes; a tree larger than the log is 404, first larger than second is 422."""

    first = index(required=True, metadata={"description": "the earlier tree's size; at most "
                                           "second"})
    second = index(metadata={"description": "the later tree's size (default: the whole log); "
                             "at least first"})


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
