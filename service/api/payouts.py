"""Payouts: requested by one official, approved or rejected by another, paid, possibly reversed."""
from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from marshmallow import fields, validate

from domain.budget_round import PAYOUT_KINDS
from service.api.common import (
    BEARER, ActionSchema, AsOfQuery, Blueprint, Cents, IbanField, Id, ReasonSchema, StrictSchema,
    Text,
)
from service.auth import actor, caller, requires
from service.extension import runtime
from service.queries import as_of, payouts

# The statuses a payout goes through (domain.budget_round), as the read model lists them.
PAYOUT_STATUSES = ("requested", "approved", "rejected", "paid", "reversed")

blp = Blueprint("payouts", __name__, url_prefix="/api/v1/rounds", description="Payouts to payees")


class PayoutIn(StrictSchema):
    proposal_id = fields.UUID(required=True)
    amount = Cents(required=True)
    payee_name = Text(required=True, blank=False, validate=validate.Length(min=1, max=140))
    iban = IbanField(required=True, metadata={"example": "NL91ABNA0417164300"})
    kind = Text(load_default="invoice", validate=validate.OneOf(PAYOUT_KINDS))
    reference = Text(required=True, blank=False, validate=validate.Length(min=1, max=140),
                     metadata={"description": "invoice or voucher number"})
    description = Text(load_default="", validate=validate.Length(max=140))


class PaidIn(StrictSchema):
    bank_reference = Text(required=True, blank=False, validate=validate.Length(min=1, max=140))
    paid_on = fields.Date(metadata={"description": "the bank's booking date, when known"})


class PayoutOut(StrictSchema):
    payout_id = fields.String()
    round_id = fields.String()
    proposal_id = fields.String()
    amount = fields.Integer()
    payee_name = fields.String()
    iban = fields.String(metadata={"description": "officials and auditors only"})
    kind = fields.String()
    reference = fields.String()
    description = fields.String()
    status = fields.String()
    requested_by = fields.String()
    requested_at = fields.String()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    bank_reference = fields.String(allow_none=True)
    paid_by = fields.String(allow_none=True)
    paid_at = fields.String(allow_none=True)
    reversal_reason = fields.String(allow_none=True)
    reversed_by = fields.String(allow_none=True)
    reversed_at = fields.String(allow_none=True)


class PayoutQuery(AsOfQuery):
    proposal_id = Id(load_default=None)
    status = Text(load_default=None, validate=validate.OneOf(PAYOUT_STATUSES),
                  metadata={"description": "the public sees paid payouts only"})


def read_payout(round_id: str, payout_id: str) -> dict:
    return payouts.get_payout(runtime(), caller(), round_id, payout_id)


@blp.route("/<id:round_id>/payouts")
class Payouts(MethodView):
    @blp.arguments(PayoutQuery, location="query")
    @blp.response(200, PayoutOut(many=True))
    def get(self, query, round_id):
        """Payouts of a round. The public sees paid payouts without bank details."""
        moment = as_of.moment_asked(runtime(), query)
        filters = {"proposal_id": query["proposal_id"], "status": query["status"]}
        if moment is None:
            return payouts.list_payouts(runtime(), caller(), round_id, **filters)
        return as_of.round_payouts_as_of(runtime(), caller(), round_id, moment, **filters)

    @requires("official")
    @blp.arguments(PayoutIn)
    @blp.response(201, PayoutOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id):
        """Request a payout from a winner's reservation (official); another official decides."""
        payout_id = runtime().application.request_payout(
            UUID(round_id), actor=actor(), **{**data, "proposal_id": str(data["proposal_id"])}
        )
        return read_payout(round_id, payout_id)


@blp.route("/<id:round_id>/payouts/<id:payout_id>/approve")
class Approve(MethodView):
    @requires("official")
    @blp.arguments(ActionSchema)
    @blp.response(200, PayoutOut)
    @blp.doc(security=BEARER)
    def post(self, _data, round_id, payout_id):
        """Approve a payout; must be a different official than the requester (four eyes)."""
        runtime().application.approve_payout(UUID(round_id), payout_id, actor=actor())
        return read_payout(round_id, payout_id)


@blp.route("/<id:round_id>/payouts/<id:payout_id>/reject")
class Reject(MethodView):
    @requires("official")
    @blp.arguments(ReasonSchema)
    @blp.response(200, PayoutOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id, payout_id):
        """Reject a payout with a reason; must be a different official than the requester."""
        runtime().application.reject_payout(UUID(round_id), payout_id, actor=actor(), **data)
        return read_payout(round_id, payout_id)


@blp.route("/<id:round_id>/payouts/<id:payout_id>/paid")
class MarkPaid(MethodView):
    @requires("official")
    @blp.arguments(PaidIn)
    @blp.response(200, PayoutOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id, payout_id):
        """Record the bank's payment of an approved payout (official, not requester or approver)."""
        runtime().application.mark_payout_paid(UUID(round_id), payout_id, actor=actor(), **data)
        return read_payout(round_id, payout_id)


@blp.route("/<id:round_id>/payouts/<id:payout_id>/reverse")
class Reverse(MethodView):
    @requires("official")
    @blp.arguments(ReasonSchema)
    @blp.response(200, PayoutOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id, payout_id):
        """Reverse a paid payout with a reason; the money is reserved for the proposal again."""
        runtime().application.reverse_payout(UUID(round_id), payout_id, actor=actor(), **data)
        return read_payout(round_id, payout_id)
