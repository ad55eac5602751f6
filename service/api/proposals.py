"""Proposals: submission by residents, review by officials, withdrawal, completion."""
from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from domain.proposal import MAX_COST_LINES, STATUSES
from service.api.common import (
    BEARER, AsOfQuery, Blueprint, Cents, Email, ReasonSchema, StrictSchema, Text,
)
from service.auth import actor, caller, requires
from service.extension import runtime
from service.queries import as_of, proposals
from service.rate_limits import guards_secret

blp = Blueprint("proposals", __name__, url_prefix="/api/v1", description="Residents' proposals")

class CostLine(StrictSchema):
    description = Text(required=True, blank=False, validate=validate.Length(min=1, max=200))
    amount = Cents(required=True)


class ProposalIn(StrictSchema):
    title = Text(required=True, blank=False, validate=validate.Length(min=1, max=200))
    summary = Text(required=True, blank=False, validate=validate.Length(min=1, max=500))
    description = Text(load_default="", validate=validate.Length(max=10000))
    category = Text(load_default="", validate=validate.Length(max=100))
    reference = Text(load_default="", validate=validate.Length(max=100),
                     metadata={"description": "optional outside identifier, e.g. a case number"})
    cost_lines = fields.List(
        fields.Nested(CostLine), required=True, validate=validate.Length(min=1, max=MAX_COST_LINES)
    )
    proposer_name = Text(required=True, blank=False, validate=validate.Length(min=1, max=200))
    proposer_email = Email(required=True, validate=validate.Length(max=254))


class SubmittedOut(StrictSchema):
    proposal_id = fields.String()
    proposer_key = fields.String(
        metadata={"description": "keep this: it is shown once and needed to withdraw the proposal"}
    )
    proposal = fields.Dict()


class ProposalOut(StrictSchema):
    proposal_id = fields.String()
    round_id = fields.String()
    title = fields.String()
    summary = fields.String()
    description = fields.String()
    category = fields.String()
    reference = fields.String()
    cost_lines = fields.List(fields.Dict())
    requested_amount = fields.Integer()
    amount = fields.Integer(metadata={"description": "cost on the ballot, after review (cents)"})
    status = fields.String()
    proposer_name = fields.String()
    proposer_email = fields.String(metadata={"description": "officials and auditors only"})
    review_note = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    withdrawal_reason = fields.String(allow_none=True)
    funded_amount = fields.Integer()
    pending_amount = fields.Integer()
    paid_amount = fields.Integer()
    unspent_returned = fields.Integer()
    completion_report = fields.String(allow_none=True)
    votes = fields.Integer(metadata={"description": "ballots naming it; only once voting closed"})
    points = fields.Integer(metadata={"description": "points given (cumulative); only once voting closed"})
    submitted_at = fields.String()
    updated_at = fields.String()
    as_of = fields.String(metadata={"description": "the moment the answer was replayed at, if asked"})
    version = fields.Integer(metadata={"description": "the replayed version, with as_of"})


class ProposalQuery(AsOfQuery):
    status = Text(load_default=None, validate=validate.OneOf(STATUSES))


class AdmitIn(StrictSchema):
    """Admit as requested, or at an adjusted `amount` explained in a `note` (then required)."""

    OPENAPI_RULES = {
        "anyOf": [
            {"not": {"required": ["amount"]}},
            {"required": ["amount", "note"], "properties": {"note": {"pattern": r"\S"}}},
        ]
    }

    amount = Cents(load_default=None, allow_none=False,
                   metadata={"description": "adjusted cost in cents; default: as requested"})
    note = Text(load_default="", validate=validate.Length(max=2000),
                metadata={"description": "required (not blank) with an amount"})

    @validates_schema
    def note_explains_amount(self, data, **_kwargs):
        if data["amount"] is not None and not data["note"].strip():
            raise ValidationError("explain an adjusted amount in the note", "note")


class WithdrawIn(StrictSchema):
    proposer_key = Text(required=True, validate=validate.Length(min=1, max=200))
    reason = Text(load_default="", validate=validate.Length(max=2000))


class CompleteIn(StrictSchema):
    report = Text(required=True, blank=False, validate=validate.Length(min=1, max=5000))


def read_proposal(proposal_id: str) -> dict:
    return proposals.get_proposal(runtime(), caller(), proposal_id)


@blp.route("/rounds/<id:round_id>/proposals")
class RoundProposals(MethodView):
    @blp.arguments(ProposalQuery, location="query")
    @blp.response(200, ProposalOut(many=True))
    def get(self, query, round_id):
        """Proposals of a round: officials and auditors see all, the public what reached the ballot."""
        moment = as_of.moment_asked(runtime(), query)
        if moment is None:
            return proposals.list_proposals(runtime(), caller(), round_id, status=query["status"])
        return as_of.round_proposals_as_of(
            runtime(), caller(), round_id, moment, status=query["status"]
        )

    @blp.arguments(ProposalIn)
    @blp.response(201, SubmittedOut)
    def post(self, data, round_id):
        """Submit a proposal while submissions are open (any resident, no token)."""
        proposal_id, key = runtime().application.submit_proposal(UUID(round_id), **data)
        item = proposals.get_submitted_proposal(runtime(), str(proposal_id))
        return {"proposal_id": str(proposal_id), "proposer_key": key, "proposal": item}


@blp.route("/proposals/<id:proposal_id>")
class ProposalById(MethodView):
    @blp.arguments(AsOfQuery, location="query")
    @blp.response(200, ProposalOut)
    def get(self, query, proposal_id):
        """One proposal; with `as_of`, its facts replayed from the log as they stood then."""
        moment = as_of.moment_asked(runtime(), query)
        if moment is None:
            return read_proposal(proposal_id)
        return as_of.proposal_as_of(runtime(), caller(), proposal_id, moment)


@blp.route("/proposals/<id:proposal_id>/admit")
class Admit(MethodView):
    @requires("official")
    @blp.arguments(AdmitIn)
    @blp.response(200, ProposalOut)
    @blp.doc(security=BEARER)
    def post(self, data, proposal_id):
        """Admit to the ballot, possibly at an adjusted cost explained in the note (official)."""
        runtime().application.admit_proposal(UUID(proposal_id), actor=actor(), **data)
        return read_proposal(proposal_id)


@blp.route("/proposals/<id:proposal_id>/reject")
class Reject(MethodView):
    @requires("official")
    @blp.arguments(ReasonSchema)
    @blp.response(200, ProposalOut)
    @blp.doc(security=BEARER)
    def post(self, data, proposal_id):
        """Reject with a reason (official)."""
        runtime().application.reject_proposal(UUID(proposal_id), actor=actor(), **data)
        return read_proposal(proposal_id)


@blp.route("/proposals/<id:proposal_id>/withdraw")
class Withdraw(MethodView):
    @guards_secret(blp, kind="proposer-key", per="proposal_id", noun="proposer keys")
    @blp.arguments(WithdrawIn)
    @blp.response(200, ProposalOut)
    def post(self, data, proposal_id):
        """Withdraw, before voting opens, with the proposer key given at submission (proposer)."""
        runtime().application.withdraw_proposal(UUID(proposal_id), **data)
        return proposals.get_proposal_of_proposer(runtime(), caller(), proposal_id)


@blp.route("/proposals/<id:proposal_id>/complete")
class Complete(MethodView):
    @requires("official")
    @blp.arguments(CompleteIn)
    @blp.response(200, ProposalOut)
    @blp.doc(security=BEARER)
    def post(self, data, proposal_id):
        """Complete a funded proposal with a report; unspent money returns to the round (official)."""
        runtime().application.complete_proposal(UUID(proposal_id), actor=actor(), **data)
        return read_proposal(proposal_id)
