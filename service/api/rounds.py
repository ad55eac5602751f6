"""Budget rounds: set-up, funds, phases, the tally and its verification, results."""
from __future__ import annotations

from uuid import UUID

from flask.views import MethodView
from marshmallow import fields, validate

from domain.budget_round import PHASES
from domain.voting import TALLY_COMPLETIONS, TALLY_RULES, TIE_BREAK_KEYS, VOTING_METHODS
from service.api.common import (
    MAX_CHOICES, MAX_POINTS, ActionSchema, AsOfQuery, BEARER, Blueprint, Cents, Count, Id,
    Pattern,
    StrictSchema, Text,
)
from service.auth import actor, caller, requires
from service.extension import runtime
from service.queries import as_of, results, rounds, voting

blp = Blueprint("rounds", __name__, url_prefix="/api/v1/rounds", description="Budget rounds")



def _when(field: str, values: list[str], then: dict) -> dict:
    """JSON Schema for "if `field` is one of `values`, then `then`" in OpenAPI 3.0 (no if/then)."""
    return {"anyOf": [{"properties": {field: {"not": {"enum": values}}}}, then]}


class VotingIn(StrictSchema):
    """Voting settings; a field left out keeps its default (method approval, rule greedy, ...)."""

    OPENAPI_RULES = {
        "description": (
            "Rules that tie fields together (422 when broken): a knapsack vote needs "
            "max_total_cost; a cumulative vote needs points_total; a choose-one vote has "
            "min_choices and max_choices of at most 1; a completion other than none needs rule "
            "mes; rules mes and phragmen count approval, knapsack and choose-one ballots only. "
            "Two comparisons OpenAPI cannot state: max_choices >= min_choices and "
            "max_points >= min_points."
        ),
        "allOf": [
            _when("method", ["knapsack"], {"required": ["max_total_cost"],
                                           "properties": {"max_total_cost": {"type": "integer"}}}),
            _when("method", ["cumulative"], {"required": ["points_total"],
                                             "properties": {"points_total": {"type": "integer"}}}),
            _when("method", ["choose-one"], {"properties": {"min_choices": {"maximum": 1},
                                                            "max_choices": {"maximum": 1}}}),
            {"anyOf": [
                {"not": {"required": ["completion"]}},
                {"properties": {"completion": {"enum": ["none"]}}},
                {"required": ["rule"], "properties": {"rule": {"enum": ["mes"]}}},
            ]},
            {"anyOf": [
                {"not": {"required": ["rule"]}},
                {"properties": {"rule": {"enum": ["greedy"]}}},
                {"properties": {"method": {"enum": ["approval", "knapsack", "choose-one"]}}},
            ]},
        ],
    }

    method = Text(validate=validate.OneOf(VOTING_METHODS))
    min_choices = Count(minimum=0, maximum=MAX_CHOICES)
    max_choices = Count(minimum=1, maximum=MAX_CHOICES, allow_none=True)
    max_total_cost = Cents(allow_none=True, metadata={"description": "knapsack: cents per ballot"})
    points_total = Count(minimum=1, maximum=MAX_POINTS, allow_none=True)
    min_points = Count(minimum=1, maximum=MAX_POINTS)
    max_points = Count(minimum=1, maximum=MAX_POINTS, allow_none=True)
    scoring = fields.List(
        Count(minimum=0, maximum=MAX_POINTS), allow_none=True,
        validate=validate.Length(min=1, max=MAX_CHOICES),
        metadata={"description": "ordinal: points per rank, best first; default Borda"},
    )
    rule = Text(validate=validate.OneOf(TALLY_RULES))
    completion = Text(validate=validate.OneOf(TALLY_COMPLETIONS))
    tie_break = fields.List(
        Text(validate=validate.OneOf(TIE_BREAK_KEYS)), validate=validate.Length(min=1, max=10)
    )


class Schedule(StrictSchema):
    """The start date of each phase; a later phase may not start before an earlier one (422)."""

    OPENAPI_RULES = {
        "description": "The start date of each phase; dates may not run backwards (422)."
    }

    submission = fields.Date()
    review = fields.Date()
    voting = fields.Date()
    decided = fields.Date()
    execution = fields.Date()
    closed = fields.Date()


def iso_schedule(schedule):
    return None if schedule is None else {k: v.isoformat() for k, v in schedule.items()}


class RoundIn(StrictSchema):
    neighbourhood_id = fields.UUID(required=True)
    title = Text(required=True, blank=False, validate=validate.Length(min=1, max=200))
    description = Text(load_default="", validate=validate.Length(max=5000))
    schedule = fields.Nested(Schedule, load_default=None, allow_none=False)
    voting = fields.Nested(VotingIn, load_default=None, allow_none=False)


class SettingsIn(StrictSchema):
    schedule = fields.Nested(Schedule, load_default=None, allow_none=False)
    voting = fields.Nested(VotingIn, load_default=None, allow_none=False)


class RoundOut(StrictSchema):
    round_id = fields.String()
    municipality_id = fields.String()
    neighbourhood_id = fields.String()
    title = fields.String()
    description = fields.String()
    phase = fields.String(metadata={"enum": list(PHASES)})
    schedule = fields.Dict()
    voting = fields.Dict()
    lot_seed = fields.String(metadata={"description": "seed of the deterministic tie-breaking lot"})
    ballot = fields.Dict(allow_none=True, metadata={"description": "proposal id -> cost, once voting opened"})
    codes_issued = fields.Integer()
    proposals_submitted = fields.Integer()
    ballots_cast = fields.Integer()
    deposited = fields.Integer()
    reserved = fields.Integer()
    pending = fields.Integer()
    paid = fields.Integer()
    returned = fields.Integer()
    available = fields.Integer()
    confirmed_tally_id = fields.String(allow_none=True)
    opened_at = fields.String()
    updated_at = fields.String()
    version = fields.Integer()
    as_of = fields.String(metadata={"description": "the moment the answer was replayed at, if asked"})


class RoundQuery(StrictSchema):
    neighbourhood_id = Id(load_default=None)
    phase = Text(load_default=None, validate=validate.OneOf(PHASES))


class DepositIn(StrictSchema):
    amount = Cents(required=True)
    source = Text(required=True, blank=False, validate=validate.Length(min=1, max=200))
    reference = Text(load_default="", validate=validate.Length(max=200))


class DepositOut(StrictSchema):
    deposit_id = fields.String()
    round_id = fields.String()
    amount = fields.Integer()
    source = fields.String()
    reference = fields.String()
    actor = fields.String()
    deposited_at = fields.String()


class CloseIn(StrictSchema):
    destination = Text(
        required=True, blank=False, validate=validate.Length(min=1, max=200),
        metadata={"description": "where unspent money returns, e.g. the municipal budget line"},
    )


class TallyOut(StrictSchema):
    tally_id = fields.String()
    round_id = fields.String()
    result = fields.Dict()
    recorded_by = fields.String()
    recorded_at = fields.String()
    confirmed_by = fields.String(allow_none=True)
    confirmed_at = fields.String(allow_none=True)


class VerificationOut(StrictSchema):
    tally_id = fields.String()
    matches = fields.Boolean()
    differences = fields.List(fields.String())
    recorded = fields.Dict()
    recomputed = fields.Dict()


class ResultOut(StrictSchema):
    round_id = fields.String()
    tally = fields.Nested(TallyOut, allow_none=True)
    confirmed = fields.Boolean()
    proposals = fields.List(fields.Dict())


class ReceiptsOut(StrictSchema):
    round_id = fields.String()
    ballot_digest = fields.String(allow_none=True)
    receipts = fields.List(fields.String())


def read_round(round_id: str):
    return rounds.get_round(runtime(), caller(), round_id)


@blp.route("")
class Rounds(MethodView):
    @blp.arguments(RoundQuery, location="query")
    @blp.response(200, RoundOut(many=True))
    def get(self, query):
        """List rounds, by neighbourhood and phase."""
        return rounds.list_rounds(runtime(), caller(), **query)

    @requires("official")
    @blp.arguments(RoundIn)
    @blp.response(201, RoundOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Open a new round for a neighbourhood, in the submission phase (official)."""
        round_id = runtime().application.open_round(
            actor=actor(), **{**data, "schedule": iso_schedule(data["schedule"])}
        )
        return read_round(str(round_id))


@blp.route("/<id:round_id>")
class RoundById(MethodView):
    @blp.arguments(AsOfQuery, location="query")
    @blp.response(200, RoundOut)
    def get(self, query, round_id):
        """One round with its phase, rules and balances (cents); with `as_of`, replayed from the log."""
        moment = as_of.moment_asked(runtime(), query)
        if moment is None:
            return read_round(round_id)
        return as_of.round_as_of(runtime(), caller(), round_id, moment)


@blp.route("/<id:round_id>/settings")
class RoundSettings(MethodView):
    @requires("official")
    @blp.arguments(SettingsIn)
    @blp.response(200, RoundOut)
    @blp.doc(security=BEARER)
    def patch(self, data, round_id):
        """Change the schedule, or the voting rules before voting opens (official).

        A body that changes nothing (`{}`, or the settings as they are) answers the round as it
        is, in any phase, and records no event.
        """
        runtime().application.change_round_settings(
            UUID(round_id), schedule=iso_schedule(data["schedule"]),
            voting=data["voting"], actor=actor(),
        )
        return read_round(round_id)


class TaskFieldIn(StrictSchema):
    task_field = Text(
        required=True,
        validate=Pattern(r"^[0-8]\.[0-9]{1,2}$", error="an Iv3 task field looks like 6.1 or 0.10"),
        metadata={"example": "6.1", "description": "Iv3 task field of the round's ledger lines"},
    )


class TaskFieldOut(StrictSchema):
    round_id = fields.String()
    task_field = fields.String()


@blp.route("/<id:round_id>/task-field")
class TaskField(MethodView):
    @blp.response(200, TaskFieldOut)
    def get(self, round_id):
        """The Iv3 task field the round's money is booked under (6.1 unless set)."""
        return {"round_id": round_id,
                "task_field": runtime().application.get_round(UUID(round_id)).task_field}

    @requires("official")
    @blp.arguments(TaskFieldIn)
    @blp.response(200, TaskFieldOut)
    @blp.doc(security=BEARER)
    def put(self, data, round_id):
        """Book the round's money from now on under this Iv3 task field (official).

        Lines already booked keep theirs; the same task field again records no event.
        """
        runtime().application.set_task_field(
            UUID(round_id), task_field=data["task_field"], actor=actor()
        )
        return self.get(round_id)


@blp.route("/<id:round_id>/deposits")
class Deposits(MethodView):
    @blp.response(200, DepositOut(many=True))
    def get(self, round_id):
        """Money put into the round, by source."""
        return rounds.list_deposits(runtime(), caller(), round_id)

    @requires("official")
    @blp.arguments(DepositIn)
    @blp.response(201, RoundOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id):
        """Deposit money into the round (official); returns the round with its new balance."""
        runtime().application.deposit(UUID(round_id), actor=actor(), **data)
        return read_round(round_id)


def _phase_action(path: str, command: str, summary: str):
    """A POST that moves the round to its next phase: one line per endpoint, one command each."""

    @requires("official")
    @blp.arguments(ActionSchema)
    @blp.response(200, RoundOut)
    @blp.doc(security=BEARER, summary=summary)
    def post(self, _data, round_id):
        getattr(runtime().application, command)(UUID(round_id), actor=actor())
        return read_round(round_id)

    view = type(f"{command.title().replace('_', '')}View", (MethodView,), {"post": post})
    blp.route(f"/<id:round_id>/{path}")(view)


_phase_action("close-submissions", "close_submissions", "Close submissions; review begins")
_phase_action("open-voting", "open_voting", "Freeze the rules and open voting on admitted proposals")
_phase_action("close-voting", "close_voting", "Close voting; the decision begins")


@blp.route("/<id:round_id>/close")
class CloseRound(MethodView):
    @requires("official")
    @blp.arguments(CloseIn)
    @blp.response(200, RoundOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id):
        """Close the round; all money not paid out returns to `destination` (official)."""
        runtime().application.close_round(UUID(round_id), actor=actor(), **data)
        return read_round(round_id)


class CarryOverIn(StrictSchema):
    to_round_id = fields.UUID(required=True, metadata={"description": "the neighbourhood's next round"})


@blp.route("/<id:round_id>/carry-over")
class CarryOver(MethodView):
    @requires("official")
    @blp.arguments(CarryOverIn)
    @blp.response(200, RoundOut)
    @blp.doc(security=BEARER)
    def post(self, data, round_id):
        """Close the round and deposit every euro not paid out in the next round (official)."""
        runtime().application.carry_over(UUID(round_id), to_round_id=data["to_round_id"], actor=actor())
        return read_round(round_id)


@blp.route("/<id:round_id>/tallies")
class Tallies(MethodView):
    @blp.response(200, TallyOut(many=True))
    def get(self, round_id):
        """Every tally recorded for the round, with rule, winners, counts and ballot digest."""
        return results.list_tallies(runtime(), caller(), round_id)

    @requires("official")
    @blp.arguments(ActionSchema)
    @blp.response(201, TallyOut)
    @blp.doc(security=BEARER)
    def post(self, _data, round_id):
        """Count the final ballots with the round's rule and record the result (official)."""
        outcome = runtime().application.run_tally(UUID(round_id), actor=actor())
        return results.get_tally(runtime(), caller(), round_id, outcome["tally_id"])


@blp.route("/<id:round_id>/tallies/<id:tally_id>/confirm")
class ConfirmTally(MethodView):
    @requires("official")
    @blp.arguments(ActionSchema)
    @blp.response(200, RoundOut)
    @blp.doc(security=BEARER)
    def post(self, _data, round_id, tally_id):
        """Confirm a tally (an official, not its recorder): reserve each winner's funds."""
        runtime().application.confirm_tally(
            UUID(round_id), tally_id=tally_id, actor=actor()
        )
        return read_round(round_id)


@blp.route("/<id:round_id>/tallies/<id:tally_id>/verify")
class VerifyTally(MethodView):
    @blp.response(200, VerificationOut)
    def get(self, round_id, tally_id):
        """Recount from the stored ballot events and compare with the recorded result (anyone)."""
        return results.verify_tally(runtime(), caller(), round_id, tally_id)


@blp.route("/<id:round_id>/results")
class Results(MethodView):
    @blp.arguments(AsOfQuery, location="query")
    @blp.response(200, ResultOut)
    def get(self, query, round_id):
        """The decision: the confirmed (else latest) tally and every proposal on the ballot."""
        moment = as_of.moment_asked(runtime(), query)
        if moment is None:
            return results.get_results(runtime(), caller(), round_id)
        return as_of.round_results_as_of(runtime(), caller(), round_id, moment)


@blp.route("/<id:round_id>/receipts")
class Receipts(MethodView):
    @blp.response(200, ReceiptsOut)
    def get(self, round_id):
        """Receipts of the ballot versions that count, once voting closed: find yours here."""
        return voting.list_receipts(runtime(), caller(), round_id)
