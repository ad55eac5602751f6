"""Proposals: submission by residents, review by officials, withdrawal, completion."""
from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from marshmallow import fields, validate

from domain.budget_round import AFTER_VOTING
from domain.errors import NotFound
from projections import proposals, rounds
from projections.audit_trail import audit_trail
from projections.ballots import vote_counts
from projections.proposals import PUBLIC_STATUSES
from service.api.audit import AuditEventOut
from service.api.common import BEARER, Blueprint, Cents, ReasonSchema, StrictSchema, found
from service.auth import actor, current_principal, requires
from service.extension import runtime
from service.rate_limits import guards_secret

blp = Blueprint("proposals", __name__, url_prefix="/api/v1", description="Residents' proposals")

PRIVATE_FIELDS = ("proposer_email",)


class CostLine(StrictSchema):
    description = fields.String(required=True, validate=validate.Length(min=1, max=200))
    amount = Cents(required=True)


class ProposalIn(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=500))
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    category = fields.String(load_default="", validate=validate.Length(max=100))
    reference = fields.String(load_default="", validate=validate.Length(max=100),
                              metadata={"description": "optional outside identifier, e.g. a case number"})
    cost_lines = fields.List(fields.Nested(CostLine), required=True, validate=validate.Length(min=1, max=50))
    proposer_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    proposer_email = fields.Email(required=True)


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


class ProposalQuery(StrictSchema):
    status = fields.String(load_default=None)


class AdmitIn(StrictSchema):
    amount = Cents(load_default=None, allow_none=True, metadata={"description": "adjusted cost; default: as requested"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class WithdrawIn(StrictSchema):
    proposer_key = fields.String(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class CompleteIn(StrictSchema):
    report = fields.String(required=True, validate=validate.Length(min=1, max=5000))


def _sees_everything() -> bool:
    principal = current_principal()
    return principal is not None and principal.role in ("official", "auditor")


def _shown(item: dict) -> dict:
    """The public sees no e-mail addresses and nothing that has not reached the ballot."""
    if _sees_everything():
        return item
    return {k: v for k, v in item.items() if k not in PRIVATE_FIELDS}


def _read_proposal(proposal_id: str) -> dict:
    with runtime().reading() as conn:
        item = found(proposals.get_proposal(conn, proposal_id), "proposal", proposal_id)
        budget_round = rounds.get_round(conn, item["round_id"])
        if budget_round and budget_round["phase"] in AFTER_VOTING:
            counts = vote_counts(conn, item["round_id"]).get(item["proposal_id"], (0, 0))
            item["votes"], item["points"] = counts
    if item["status"] not in PUBLIC_STATUSES and not _sees_everything():
        raise NotFound(f"proposal {proposal_id} not found")
    return _shown(item)


@blp.route("/rounds/<id:round_id>/proposals")
class RoundProposals(MethodView):
    @blp.arguments(ProposalQuery, location="query")
    @blp.response(200, ProposalOut(many=True))
    def get(self, query, round_id):
        """Proposals of a round: officials and auditors see all, the public what reached the ballot."""
        with runtime().reading() as conn:
            budget_round = found(rounds.get_round(conn, round_id), "round", round_id)
            wanted = (query["status"],) if query["status"] else None
            if not _sees_everything():
                wanted = tuple(s for s in (wanted or PUBLIC_STATUSES) if s in PUBLIC_STATUSES)
            items = proposals.list_proposals(
                conn, round_id, statuses=wanted, with_votes=budget_round["phase"] in AFTER_VOTING
            )
        return [_shown(item) for item in items]

    @blp.arguments(ProposalIn)
    @blp.response(201, SubmittedOut)
    def post(self, data, round_id):
        """Submit a proposal while submissions are open (any resident, no token)."""
        proposal_id, key = runtime().application.submit_proposal(UUID(round_id), **data)
        with runtime().reading() as conn:
            item = proposals.get_proposal(conn, str(proposal_id))
        return {"proposal_id": str(proposal_id), "proposer_key": key, "proposal": item}


@blp.route("/proposals/<id:proposal_id>")
class ProposalById(MethodView):
    @blp.response(200, ProposalOut)
    def get(self, proposal_id):
        """One proposal."""
        return _read_proposal(proposal_id)


@blp.route("/proposals/<id:proposal_id>/admit")
class Admit(MethodView):
    @requires("official")
    @blp.arguments(AdmitIn)
    @blp.response(200, ProposalOut)
    @blp.doc(security=BEARER)
    def post(self, data, proposal_id):
        """Admit to the ballot, possibly at an adjusted cost explained in the note (official)."""
        runtime().application.admit_proposal(UUID(proposal_id), actor=actor(), **data)
        return _read_proposal(proposal_id)


@blp.route("/proposals/<id:proposal_id>/reject")
class Reject(MethodView):
    @requires("official")
    @blp.arguments(ReasonSchema)
    @blp.response(200, ProposalOut)
    @blp.doc(security=BEARER)
    def post(self, data, proposal_id):
        """Reject with a reason (official)."""
        runtime().application.reject_proposal(UUID(proposal_id), actor=actor(), **data)
        return _read_proposal(proposal_id)


@blp.route("/proposals/<id:proposal_id>/withdraw")
class Withdraw(MethodView):
    @guards_secret(blp, kind="proposer-key", per="proposal_id", noun="proposer keys")
    @blp.arguments(WithdrawIn)
    @blp.response(200, ProposalOut)
    def post(self, data, proposal_id):
        """Withdraw, before voting opens, with the proposer key given at submission (proposer)."""
        runtime().application.withdraw_proposal(UUID(proposal_id), **data)
        with runtime().reading() as conn:
            return _shown(found(proposals.get_proposal(conn, proposal_id), "proposal", proposal_id))


@blp.route("/proposals/<id:proposal_id>/complete")
class Complete(MethodView):
    @requires("official")
    @blp.arguments(CompleteIn)
    @blp.response(200, ProposalOut)
    @blp.doc(security=BEARER)
    def post(self, data, proposal_id):
        """Complete a funded proposal with a report; unspent money returns to the round (official)."""
        runtime().application.complete_proposal(UUID(proposal_id), actor=actor(), **data)
        return _read_proposal(proposal_id)


@blp.route("/proposals/<id:proposal_id>/audit-trail")
class ProposalAuditTrail(MethodView):
    @requires("official", "auditor")
    @blp.response(200, AuditEventOut(many=True))
    @blp.doc(security=BEARER)
    def get(self, proposal_id):
        """Every event about this proposal, its review and its money, with actor, time and reason."""
        with runtime().reading() as conn:
            found(proposals.get_proposal(conn, proposal_id), "proposal", proposal_id)
            return audit_trail(conn, proposal_id=proposal_id)
