"""Voting: one-time codes for a round, casting and replacing ballots, checking your own ballot."""
from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from domain.budget_round import MAX_CODES_PER_BATCH
from domain.paper_ballots import MAX_BATCH as MAX_PAPER_BATCH
from service.api.common import (
    BEARER,
    MAX_CHOICES,
    MAX_POINTS,
    Blueprint,
    Count,
    Id,
    StrictSchema,
    Text,
)
from service.auth import actor, caller, requires
from service.extension import runtime
from service.principal import Principal
from service.queries import voting
from service.rate_limits import guards_secret

blp = Blueprint("voting", __name__, url_prefix="/api/v1/rounds", description="Voting codes and ballots")
# Both views check a voting code for the round in their URL: they share one count of attempts.
checks_voting_code = guards_secret(blp, kind="voting-code", per="round_id", noun="voting codes")


class CodesIn(StrictSchema):
    count = Count(required=True, minimum=1, maximum=MAX_CODES_PER_BATCH)


class CodesOut(StrictSchema):
    round_id = fields.String()
    count = fields.Integer()
    codes = fields.List(
        fields.String(),
        metadata={"description": "print these on the letters now: they are shown once and not stored"},
    )


class BallotIn(StrictSchema):
    """A code plus exactly one of: proposals (approval, knapsack, choose-one), points, ranking."""

    OPENAPI_RULES = {
        "oneOf": [{"required": ["proposals"]}, {"required": ["points"]}, {"required": ["ranking"]}]
    }

    code = Text(required=True, validate=validate.Length(min=4, max=64))
    proposals = fields.List(
        Id(), validate=validate.Length(max=MAX_CHOICES),
        metadata={"description": "approval / knapsack / choose-one", "uniqueItems": True},
    )
    points = fields.Dict(
        # Keys are proposal ids, refused unless on the ballot; OpenAPI 3.0 cannot constrain them.
        keys=fields.String(),
        values=Count(minimum=1, maximum=MAX_POINTS),
        validate=lambda points: len(points) <= MAX_CHOICES,
        metadata={"description": "cumulative: proposal id -> points", "maxProperties": MAX_CHOICES},
    )
    ranking = fields.List(
        Id(), validate=validate.Length(max=MAX_CHOICES),
        metadata={"description": "ordinal: best first", "uniqueItems": True},
    )

    @validates_schema
    def one_kind(self, data, **_kwargs):
        given = [k for k in ("proposals", "points", "ranking") if k in data]
        if len(given) != 1:
            raise ValidationError("give exactly one of proposals, points or ranking", "_schema")
        listed = data.get("proposals") or data.get("ranking") or []
        if len(set(listed)) != len(listed):
            raise ValidationError("a proposal may appear only once", given[0])


def choices_of(data: dict) -> dict[str, int]:
    """The domain's one ballot shape: proposal id -> 1 (approval), points, or rank (1 = best)."""
    if "points" in data:
        return dict(data["points"])
    if "ranking" in data:
        return {pid: rank for rank, pid in enumerate(data["ranking"], start=1)}
    return {pid: 1 for pid in data["proposals"]}


class CastOut(StrictSchema):
    round_id = fields.String()
    ballot_version = fields.Integer(metadata={"description": "1 for the first cast, +1 per replacement"})
    receipt = fields.String(metadata={"description": "find it under /receipts once voting closed"})
    nonce = fields.String(metadata={
        "description": "the receipt is SHA-256 over the round, the choices and this (docs/privacy.md)"
    })
    choices = fields.Dict()


class LookupIn(StrictSchema):
    code = Text(required=True, validate=validate.Length(min=4, max=64))


class LookupOut(StrictSchema):
    round_id = fields.String()
    cast = fields.Boolean()
    ballot_version = fields.Integer(allow_none=True)
    receipt = fields.String(allow_none=True)
    nonce = fields.String(allow_none=True)
    choices = fields.Dict()
    cast_at = fields.String(allow_none=True)


@blp.route("/<id:round_id>/voting-codes")
class VotingCodes(MethodView):
    @requires("official")
    @blp.arguments(CodesIn)
    @blp.response(201, CodesOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id):
        """Issue one-time voting codes (official); only keyed hashes are kept."""
        codes = runtime().application.issue_voting_codes(
            UUID(round_id), count=data["count"], actor=actor()
        )
        return {"round_id": round_id, "count": len(codes), "codes": codes}


@blp.route("/<id:round_id>/ballots")
class Ballots(MethodView):
    @checks_voting_code
    @blp.arguments(BallotIn)
    @blp.response(201, CastOut)
    def post(self, data, round_id):
        """Cast or replace your ballot with your voting code, while voting is open (resident)."""
        choices = choices_of(data)
        cast = runtime().application.cast_ballot(
            UUID(round_id), code=data["code"], choices=choices
        )
        return {"round_id": round_id, **cast, "choices": choices}


@blp.route("/<id:round_id>/ballots/lookup")
class BallotLookup(MethodView):
    @checks_voting_code
    @blp.arguments(LookupIn)
    @blp.response(200, LookupOut)
    def post(self, data, round_id):
        """See the ballot your code has cast (POST, so the code stays out of URLs and logs)."""
        return voting.get_own_ballot(runtime(), Principal.resident(data["code"]), round_id)


class TurnoutOut(StrictSchema):
    round_id = fields.String()
    phase = fields.String()
    eligible = fields.Integer(allow_none=True, metadata={
        "description": "residents who got a code from a voter register; null without a register"
    })
    voted = fields.Integer(metadata={"description": "ballots that count"})
    codes_issued = fields.Integer()
    turnout_percent = fields.Float(allow_none=True, metadata={"description": "two decimals"})


class PublishedQuery(StrictSchema):
    after = Text(load_default="", validate=validate.Length(max=64),
                 metadata={"description": "the last receipt of the previous page"})
    limit = Count(load_default=1000, strict=False, minimum=1, maximum=10000)


class PublishedBallotOut(StrictSchema):
    receipt = fields.String()
    nonce = fields.String(allow_none=True, metadata={
        "description": "the receipt's randomness; null for ballots cast before receipts had one"
    })
    choices = fields.Dict(metadata={"description": "proposal id -> 1, points or rank"})
    position = fields.Integer(allow_none=True, metadata={
        "description": "notification id of the cast in the log: ask /audit/proofs/inclusion"
    })


class PublishedBallotsOut(StrictSchema):
    round_id = fields.String()
    ballots = fields.List(fields.Nested(PublishedBallotOut))
    next_after = fields.String(allow_none=True)


class ReceiptOut(PublishedBallotOut):
    round_id = fields.String()
    scheme = fields.String(metadata={"description": "buurtbudget-receipt/2 (docs/privacy.md)"})
    event = fields.Dict(allow_none=True, metadata={
        "description": "the stored cast in canonical form: the bytes its Merkle leaf hashes"
    })


@blp.route("/<id:round_id>/turnout")
class Turnout(MethodView):
    @blp.response(200, TurnoutOut)
    def get(self, round_id):
        """Eligible residents, ballots and turnout: public once voting closed (409 before)."""
        return voting.turnout(runtime(), caller(), round_id)


@blp.route("/<id:round_id>/ballots/published")
class PublishedBallots(MethodView):
    @blp.arguments(PublishedQuery, location="query")
    @blp.response(200, PublishedBallotsOut)
    def get(self, query, round_id):
        """The ballots that count, anonymised, by receipt: public once voting closed (else 409)."""
        return voting.published_ballots(runtime(), caller(), round_id, **query)


@blp.route("/<id:round_id>/receipts/<string(length=64):receipt>")
class Receipt(MethodView):
    @blp.response(200, ReceiptOut)
    def get(self, round_id, receipt):
        """One counted ballot by its receipt, with the stored event its log leaf hashes."""
        return voting.published_ballot(runtime(), caller(), round_id, receipt)


class PaperBallotIn(BallotIn):
    """One paper ballot: the code from the letter it came with, or the serial on the paper."""

    OPENAPI_RULES = {"allOf": [BallotIn.OPENAPI_RULES, {
        "oneOf": [{"required": ["code"]}, {"required": ["serial"]}]
    }]}

    code = Text(validate=validate.Length(min=4, max=64))
    serial = Text(validate=validate.Length(min=1, max=32),
                  metadata={"description": "the paper-ballot serial of the round"})

    @validates_schema
    def one_source(self, data, **_kwargs):
        if ("code" in data) == ("serial" in data):
            raise ValidationError("give exactly one of code and serial", "_schema")


class PaperBatchIn(StrictSchema):
    ballots = fields.List(fields.Nested(PaperBallotIn), required=True,
                          validate=validate.Length(min=1, max=MAX_PAPER_BATCH))


class PaperBatchOut(StrictSchema):
    round_id = fields.String()
    batch_id = fields.String()
    status = fields.String(metadata={"description": "entered, confirmed or discarded"})
    ballots = fields.Integer()


class PaperBatchRowOut(StrictSchema):
    batch_id = fields.String()
    round_id = fields.String()
    ballots = fields.Integer()
    status = fields.String(metadata={"description": "entered, confirmed or discarded"})
    entered_by = fields.String()
    entered_at = fields.String()
    decided_by = fields.String(allow_none=True, metadata={"description": "confirmed or discarded by"})
    decided_at = fields.String(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "why it was discarded"})


class DiscardIn(StrictSchema):
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


@blp.route("/<id:round_id>/paper-batches")
class PaperBatches(MethodView):
    @requires("official")
    @blp.arguments(PaperBatchIn)
    @blp.response(201, PaperBatchOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id):
        """Enter a batch of paper ballots (official); they count once another official confirms."""
        papers = [{"code": paper.get("code"), "serial": paper.get("serial"),
                   "choices": choices_of(paper)} for paper in data["ballots"]]
        batch_id = runtime().application.enter_paper_ballots(
            UUID(round_id), papers, actor=actor()
        )
        return {"round_id": round_id, "batch_id": str(batch_id), "status": "entered",
                "ballots": len(papers)}

    @requires("official", "auditor")
    @blp.response(200, PaperBatchRowOut(many=True))
    @blp.doc(security=BEARER)
    def get(self, round_id):
        """The round's batches: counts and who entered, confirmed or discarded (no choices)."""
        return voting.list_paper_batches(runtime(), caller(), round_id)


@blp.route("/<id:round_id>/paper-batches/<id:batch_id>/confirm")
class ConfirmPaperBatch(MethodView):
    @requires("official")
    @blp.response(200, PaperBatchOut)
    @blp.doc(security=BEARER)
    def post(self, round_id, batch_id):
        """Confirm a batch another official entered: its ballots are cast and count."""
        count = runtime().application.confirm_paper_ballots(
            UUID(round_id), UUID(batch_id), actor=actor()
        )
        return {"round_id": round_id, "batch_id": batch_id, "status": "confirmed",
                "ballots": count}


@blp.route("/<id:round_id>/paper-batches/<id:batch_id>/discard")
class DiscardPaperBatch(MethodView):
    @requires("official")
    @blp.arguments(DiscardIn)
    @blp.response(200, PaperBatchOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id, batch_id):
        """Discard a batch entered wrongly; its codes and serials stay unused."""
        runtime().application.discard_paper_ballots(
            UUID(round_id), UUID(batch_id), reason=data["reason"], actor=actor()
        )
        return {"round_id": round_id, "batch_id": batch_id, "status": "discarded", "ballots": 0}
