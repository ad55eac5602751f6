"""SEPA payment batches: approved payouts batched into a pain.001 file for the bank, or cancelled."""
from __future__ import annotations

from uuid import UUID

from flask import Response
from flask.views import MethodView
from marshmallow import fields, validate

from service.api.common import BEARER, Blueprint, IbanField, ReasonSchema, StrictSchema, Text
from service.auth import actor, caller, requires
from service.extension import runtime
from service.queries import payment_batches
from service.sepa_export import PAIN_VERSIONS

blp = Blueprint(
    "payment_batches", __name__, url_prefix="/api/v1/rounds", description="SEPA payment batches"
)


class BatchIn(StrictSchema):
    # Left out, they are the municipality's paying account's (an empty value is no default).
    debtor_name = Text(
        blank=False, validate=validate.Length(min=1, max=70),
        metadata={"description": "the paying account (default: the municipality's)"},
    )
    debtor_iban = IbanField(metadata={"description": "default: the municipality's paying account"})
    execution_date = fields.Date(required=True)


class BatchLine(StrictSchema):
    payout_id = fields.String()
    amount = fields.Integer()


class BatchOut(StrictSchema):
    batch_id = fields.String(metadata={"description": "also the file's message id"})
    payouts = fields.List(fields.Nested(BatchLine))
    total = fields.Integer()
    execution_date = fields.String()
    debtor_name = fields.String()
    debtor_iban = fields.String()
    created_at = fields.String()
    cancelled = fields.Boolean()


class FileQuery(StrictSchema):
    version = Text(load_default=PAIN_VERSIONS[0], validate=validate.OneOf(PAIN_VERSIONS))


@blp.route("/<id:round_id>/payment-batches")
class Batches(MethodView):
    @requires("official", "auditor")
    @blp.response(200, BatchOut(many=True))
    @blp.doc(security=BEARER)
    def get(self, round_id):
        """The round's payment batches, cancelled ones included."""
        return payment_batches.list_payment_batches(runtime(), caller(), round_id)

    @requires("official")
    @blp.arguments(BatchIn)
    @blp.response(201, BatchOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id):
        """Batch every approved payout that is not in a batch yet (official)."""
        batch_id = runtime().application.export_payment_batch(
            UUID(round_id), execution_date=data["execution_date"].isoformat(),
            debtor_name=data.get("debtor_name", ""), debtor_iban=data.get("debtor_iban", ""),
            actor=actor(),
        )
        return payment_batches.get_payment_batch(runtime(), caller(), round_id, batch_id)


@blp.route("/<id:round_id>/payment-batches/<batch_id>/pain.001")
class BatchFile(MethodView):
    @requires("official", "auditor")
    @blp.arguments(FileQuery, location="query")
    @blp.response(200, content_type="application/xml", description="the pain.001 file")
    @blp.doc(security=BEARER)
    def get(self, query, round_id, batch_id):
        """The batch as a SEPA credit-transfer file (pain.001.001.03 or .09)."""
        document = payment_batches.payment_batch_file(
            runtime(), caller(), round_id, batch_id, query["version"]
        )
        return Response(
            document, mimetype="application/xml",
            headers={"Content-Disposition": f'attachment; filename="{batch_id}.xml"'},
        )


@blp.route("/<id:round_id>/payment-batches/<batch_id>/cancel")
class CancelBatch(MethodView):
    @requires("official")
    @blp.arguments(ReasonSchema)
    @blp.response(200, BatchOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id, batch_id):
        """Cancel a batch the bank did not execute; its payouts can go into a new batch."""
        runtime().application.cancel_payment_batch(
            UUID(round_id), batch_id, reason=data["reason"], actor=actor()
        )
        return payment_batches.get_payment_batch(runtime(), caller(), round_id, batch_id)
