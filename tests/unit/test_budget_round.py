"""BudgetRound: its phases and their guards, its frozen rules, every euro from deposit to return."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from domain.budget_round import MAX_CODES_PER_BATCH, PHASES, BudgetRound
from domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from domain.voting import VotingSettings
from tests.unit.conftest import SECOND_OFFICIAL
from tests.unit.given_when_then import event, given

ACTOR = "official-chris"  # not the official the story requests payouts as


def open_fields(**overrides):
    return {
        "municipality_id": uuid4(),
        "neighbourhood_id": uuid4(),
        "title": "Oosterpark 2026",
        "description": "",
        "schedule": None,
        "voting": None,
        "lot_seed": "seed",
        "actor": ACTOR,
        **overrides,
    }


# -- opening ---------------------------------------------------------------------------------


def test_a_new_round_opens_for_submissions_with_its_rules_normalised():
    knapsack = {"method": "knapsack", "max_total_cost": 400_00}
    fields = open_fields(title="  Oosterpark 2026 ", voting=knapsack)
    outcome = given().when(lambda: BudgetRound.open(**fields))
    outcome.then(event(BudgetRound.Opened, title="Oosterpark 2026"))
    budget_round = outcome.aggregate
    assert budget_round.phase == "submission"
    assert budget_round.settings == VotingSettings(method="knapsack", max_total_cost=400_00)
    assert (budget_round.deposited, budget_round.available) == (0, 0)


@pytest.mark.parametrize(
    ("overrides", "broken_rule"),
    [
        ({"title": "   "}, "title must not be empty"),
        ({"title": "x" * 201}, "title must be at most 200 characters"),
        ({"schedule": {"payday": "2026-01-01"}}, "unknown phase(s) in schedule: payday"),
        ({"schedule": {"voting": "next week"}}, "schedule.voting must be a date"),
        (
            {"schedule": {"submission": "2026-05-01", "voting": "2026-03-01"}},
            "schedule.voting (2026-03-01) is before schedule.submission (2026-05-01)",
        ),
        ({"voting": {"methd": "approval"}}, "unknown voting setting(s): methd"),
        ({"voting": {"method": "knapsack"}}, "a knapsack vote needs max_total_cost"),
    ],
)
def test_opening_a_round_refuses_a_bad_title_schedule_or_rules(overrides, broken_rule):
    given().when(lambda: BudgetRound.open(**open_fields(**overrides))).then_refused(
        RuleViolation, broken_rule
    )


# -- phases ----------------------------------------------------------------------------------


def test_closing_submissions_starts_the_review(story):
    outcome = given(story.history()).when(lambda r: r.close_submissions(actor=ACTOR))
    outcome.then(BudgetRound.SubmissionsClosed)
    assert outcome.aggregate.phase == "review"


def test_closing_voting_decides_the_round(story_in):
    story = story_in("voting")
    outcome = given(story.history()).when(lambda r: r.close_voting(actor=ACTOR))
    outcome.then(BudgetRound.VotingClosed)
    assert outcome.aggregate.phase == "decided"


# Each command, and the phase in which the standard round refuses it.
WRONG_PHASE = [
    ("review", lambda r, s: r.close_submissions(actor=ACTOR), "close submissions"),
    ("submission", lambda r, s: r.open_voting(actor=ACTOR), "open voting"),
    ("voting", lambda r, s: r.open_voting(actor=ACTOR), "open voting"),
    ("review", lambda r, s: r.close_voting(actor=ACTOR), "close voting"),
    ("decided", lambda r, s: r.close_voting(actor=ACTOR), "close voting"),
    (
        "voting",
        lambda r, s: r.record_tally(tally_id="t", result={"winners": []}, actor=ACTOR),
        "run the tally",
    ),
    (
        "execution",
        lambda r, s: r.record_tally(tally_id="t", result={"winners": []}, actor=ACTOR),
        "run the tally",
    ),
    (
        "execution",
        lambda r, s: r.confirm_tally(tally_id=s.tally_id, actor=ACTOR),
        "confirm the result",
    ),
    (
        "decided",
        lambda r, s: r.issue_codes(batch_id="b", count=10, actor=ACTOR),
        "issue voting codes",
    ),
    (
        "decided",
        lambda r, s: r.request_payout(**s.payout_fields("playground", 1_00)),
        "request a payout",
    ),
    (
        "decided",
        lambda r, s: r.release_unspent(proposal_id=s.pid("playground"), actor=ACTOR),
        "complete a proposal",
    ),
    ("decided", lambda r, s: r.close(destination="Gemeente", actor=ACTOR), "close the round"),
    ("closed", lambda r, s: r.close(destination="Gemeente", actor=ACTOR), "close the round"),
    (
        "voting",
        lambda r, s: r.note_review(
            proposal_id=s.proposals["mural"].id, status="rejected", amount=1
        ),
        "review or withdraw a proposal",
    ),
    (
        "closed",
        lambda r, s: r.deposit(
            deposit_id="d", amount=1_00, source="Fonds", reference="", actor=ACTOR
        ),
        "deposit funds",
    ),
    (
        "closed",
        lambda r, s: r.change_settings(schedule={"closed": "2099-12-31"}, voting=None, actor=ACTOR),
        "change the settings",
    ),
]


@pytest.mark.parametrize(
    ("phase", "command", "doing"), WRONG_PHASE, ids=[f"{d} in {p}" for p, _, d in WRONG_PHASE]
)
def test_a_command_is_refused_outside_its_phases(story_in, phase, command, doing):
    story = story_in(phase)
    given(story.history()).when(lambda r: command(r, story)).then_refused(
        Conflict, f"cannot {doing} while the round is in phase '{phase}'"
    )


@pytest.mark.parametrize("phase", [p for p in PHASES if p != "voting"])
def test_ballots_are_accepted_only_while_voting_is_open(story_in, phase):
    given(story_in(phase).history()).when(lambda r: r.check_accepts_ballots()).then_refused(
        Conflict, f"voting is not open (the round is in phase '{phase}')"
    )


def test_a_review_of_a_proposal_the_round_never_received_is_not_found(story):
    given(story.history()).when(
        lambda r: r.note_review(proposal_id=uuid4(), status="admitted", amount=1_00)
    ).then_refused(NotFound, "is not part of this round")


# -- opening the vote ------------------------------------------------------------------------


def test_voting_does_not_open_while_proposals_are_unreviewed(story_in):
    story = story_in("review")
    story.admit("playground")
    unreviewed = ", ".join(sorted([story.pid("benches"), story.pid("mural")]))
    given(story.history()).when(lambda r: r.open_voting(actor=ACTOR)).then_refused(
        Conflict, f"review these proposals first: {unreviewed}"
    )


def test_voting_does_not_open_without_admitted_proposals(story_in):
    story = story_in("review")
    for name in ("playground", "benches", "mural"):
        story.reject(name)
    given(story.history()).when(lambda r: r.open_voting(actor=ACTOR)).then_refused(
        Conflict, "no admitted proposals"
    )


def test_voting_does_not_open_with_fewer_admitted_proposals_than_a_ballot_must_choose(story_in):
    story = story_in("review", voting={"min_choices": 3})
    story.admit("playground", "benches")
    story.reject("mural")
    given(story.history()).when(lambda r: r.open_voting(actor=ACTOR)).then_refused(
        Conflict, "at least 3 choices but only 2 proposals are admitted"
    )


def test_opening_the_vote_puts_only_admitted_proposals_on_the_ballot_at_their_reviewed_cost(
    story_in,
):
    story = story_in("review")
    story.proposals["playground"].admit(
        budget_round=story.round, amount=2_500_00, note="the slide is donated", actor=ACTOR
    )
    story.reject("benches")
    story.withdraw("mural")
    ballot = {story.pid("playground"): 2_500_00}

    outcome = given(story.history()).when(lambda r: r.open_voting(actor=ACTOR))

    outcome.then(event(BudgetRound.VotingOpened, ballot=ballot))
    assert outcome.result == ballot
    assert outcome.aggregate.ballot_costs == ballot


# -- the rules are frozen once voting opens --------------------------------------------------


@pytest.mark.parametrize("phase", ["submission", "review"])
def test_the_voting_rules_can_change_until_voting_opens(story_in, phase):
    story = story_in(phase)
    rules = {"method": "cumulative", "points_total": 10}
    outcome = given(story.history()).when(
        lambda r: r.change_settings(schedule=None, voting=rules, actor=ACTOR)
    )
    outcome.then(event(BudgetRound.SettingsChanged, voting=VotingSettings(**rules).to_dict()))
    assert outcome.aggregate.settings.method == "cumulative"


def test_changing_some_voting_rules_keeps_the_others(story_in):
    story = story_in("submission")
    story.round.change_settings(
        schedule=None, voting={"method": "approval", "max_choices": 2, "rule": "mes"}, actor=ACTOR
    )
    outcome = given(story.history()).when(
        lambda r: r.change_settings(schedule=None, voting={"max_choices": 3}, actor=ACTOR)
    )
    assert (outcome.aggregate.settings.max_choices, outcome.aggregate.settings.rule) == (3, "mes")


@pytest.mark.parametrize("phase", ["voting", "decided", "execution"])
def test_the_voting_rules_are_frozen_once_voting_opens(story_in, phase):
    story = story_in(phase)
    given(story.history()).when(
        lambda r: r.change_settings(schedule=None, voting={"method": "ordinal"}, actor=ACTOR)
    ).then_refused(
        Conflict, f"cannot change the voting rules while the round is in phase '{phase}'"
    )


def test_the_schedule_can_still_change_while_voting_keeping_the_dates_not_named(story_in):
    story = story_in("voting")
    schedule = {"voting": "2026-05-01", "decided": "2026-06-15"}
    outcome = given(story.history()).when(
        lambda r: r.change_settings(schedule=schedule, voting=None, actor=ACTOR)
    )
    merged = {**story.round.schedule, **schedule}
    assert merged["submission"] == "2026-03-01"
    outcome.then(event(BudgetRound.SettingsChanged, schedule=merged, voting=story.round.voting))


@pytest.mark.parametrize("phase", ["submission", "voting", "closed"])
@pytest.mark.parametrize("asked", [
    lambda r: ({}, None), lambda r: (None, {}), lambda r: ({}, {}),
    lambda r: (dict(list(r.schedule.items())[:2]), None),
    lambda r: (None, {"method": r.voting["method"]}),
    lambda r: (r.schedule, r.voting),
], ids=["empty schedule", "empty voting", "both empty", "two dates", "one rule", "all"])
def test_settings_as_they_are_are_no_change_in_any_phase(story_in, phase, asked):
    story = story_in(phase)
    schedule, voting = asked(story.round)
    outcome = given(story.history()).when(
        lambda r: r.change_settings(schedule=schedule, voting=voting, actor=ACTOR)
    ).then()
    assert outcome.result is False


def test_a_change_that_names_one_new_setting_among_current_ones_is_recorded(story_in):
    story = story_in("submission")
    schedule = {**story.round.schedule, "decided": "2026-06-15"}
    outcome = given(story.history()).when(
        lambda r: r.change_settings(schedule=schedule, voting=story.round.voting, actor=ACTOR)
    ).then(event(BudgetRound.SettingsChanged, schedule=schedule, voting=story.round.voting))
    assert outcome.result is True


def test_invalid_voting_rules_are_refused_naming_the_rule(story):
    given(story.history()).when(
        lambda r: r.change_settings(schedule=None, voting={"method": "cumulative"}, actor=ACTOR)
    ).then_refused(RuleViolation, "a cumulative vote needs points_total")


# -- voting codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["submission", "review", "voting"])
def test_issuing_voting_codes_counts_them(story_in, phase):
    story = story_in(phase)
    outcome = given(story.history()).when(
        lambda r: r.issue_codes(batch_id="batch-1", count=250, actor=ACTOR)
    )
    outcome.then(event(BudgetRound.VotingCodesIssued, count=250))
    assert outcome.aggregate.codes_issued == 250


@pytest.mark.parametrize("count", [0, MAX_CODES_PER_BATCH + 1, True, 2.0])
def test_issuing_voting_codes_refuses_a_count_out_of_range(story, count):
    given(story.history()).when(
        lambda r: r.issue_codes(batch_id="batch-1", count=count, actor=ACTOR)
    ).then_refused(RuleViolation, f"count must be between 1 and {MAX_CODES_PER_BATCH}")


# -- deposits --------------------------------------------------------------------------------


def deposit(amount, source="Gemeente Amsterdam"):
    return lambda r: r.deposit(
        deposit_id="deposit-2", amount=amount, source=source, reference="", actor=ACTOR
    )


@pytest.mark.parametrize("phase", PHASES[:-1])
def test_a_deposit_adds_to_the_funds_in_any_phase_before_closing(story_in, phase):
    story = story_in(phase)
    outcome = given(story.history()).when(deposit(250_00))
    outcome.then(event(BudgetRound.FundsDeposited, amount=250_00, source="Gemeente Amsterdam"))
    assert outcome.aggregate.deposited == story.round.deposited + 250_00


@pytest.mark.parametrize(
    ("amount", "broken_rule"),
    [
        (12.5, "amount must be a whole number of cents"),
        (100.0, "amount must be a whole number of cents"),
        (True, "amount must be a whole number of cents"),
        ("100", "amount must be a whole number of cents"),
        (None, "amount must be a whole number of cents"),
        (0, "amount must be more than 0 cents"),
        (-100, "amount must be more than 0 cents"),
    ],
)
def test_a_deposit_is_whole_positive_cents(story, amount, broken_rule):
    given(story.history()).when(deposit(amount)).then_refused(RuleViolation, broken_rule)


def test_a_deposit_names_its_source(story):
    given(story.history()).when(deposit(100_00, source=" ")).then_refused(
        RuleViolation, "source must not be empty"
    )


# -- the decision: the round never reserves more than was deposited --------------------------


def test_recording_a_tally_keeps_it_for_confirmation(story_in):
    story = story_in("decided")
    result = {"winners": []}
    outcome = given(story.history()).when(
        lambda r: r.record_tally(tally_id="tally-2", result=result, actor=ACTOR)
    )
    outcome.then(event(BudgetRound.TallyRecorded, tally_id="tally-2", result=result))
    assert outcome.aggregate.confirmed_tally_id is None


def test_confirming_the_tally_reserves_each_winners_cost_and_starts_execution(story_in):
    story = story_in("decided")
    reservations = {story.pid("playground"): 3_000_00, story.pid("benches"): 1_500_00}

    outcome = given(story.history()).when(
        lambda r: r.confirm_tally(tally_id=story.tally_id, actor=ACTOR)
    )

    outcome.then(
        event(BudgetRound.TallyConfirmed, tally_id=story.tally_id, reservations=reservations)
    )
    budget_round = outcome.aggregate
    assert outcome.result == reservations
    assert (budget_round.phase, budget_round.reserved) == ("execution", reservations)
    assert budget_round.available == 5_000_00 - 4_500_00


def test_confirming_may_reserve_exactly_everything_deposited(story_in):
    story = story_in("decided")
    tally_id = story.record_tally("playground", "mural")  # 3,000 + 2,000 = the whole 5,000
    outcome = given(story.history()).when(lambda r: r.confirm_tally(tally_id=tally_id, actor=ACTOR))
    outcome.then(BudgetRound.TallyConfirmed)
    assert outcome.aggregate.available == 0


def test_confirming_is_refused_when_the_winners_need_more_than_is_available(story_in):
    story = story_in("decided")
    tally_id = story.record_tally("playground", "benches", "mural")
    given(story.history()).when(
        lambda r: r.confirm_tally(tally_id=tally_id, actor=ACTOR)
    ).then_refused(RuleViolation, "the winners need €6,500.00 but only €5,000.00 is available")


@pytest.mark.parametrize("cost_change", [0, 1])
def test_a_tally_naming_a_winner_off_the_ballot_or_at_another_cost_is_refused(story_in, cost_change):
    story = story_in("decided")
    pid = story.pid("playground")
    winner = {"proposal_id": pid if cost_change else "not-on-ballot",
              "cost": story.round.ballot_costs[pid] + cost_change}
    given(story.history()).when(
        lambda r: r.record_tally(tally_id="forged", result={"winners": [winner]}, actor=ACTOR)
    ).then_refused(RuleViolation, "is not on the ballot at cost")


def test_only_the_latest_tally_can_be_confirmed(story_in):
    story = story_in("decided")
    first = story.tally_id
    story.record_tally("benches")
    given(story.history()).when(
        lambda r: r.confirm_tally(tally_id=first, actor=ACTOR)
    ).then_refused(Conflict, "only the latest tally can be confirmed")


def test_the_official_who_recorded_the_tally_may_not_confirm_it(story_in):
    story = story_in("decided")  # the story's official recorded the tally
    given(story.history()).when(
        lambda r: r.confirm_tally(tally_id=story.tally_id, actor=story.official)
    ).then_refused(
        Forbidden, "a different official than the one who recorded the tally must confirm it"
    )


def test_a_second_tally_by_another_official_may_be_confirmed_by_the_first(story_in):
    story = story_in("decided")
    recount = "tally-2"
    story.round.record_tally(tally_id=recount, result={"winners": []}, actor=ACTOR)
    given(story.history()).when(
        lambda r: r.confirm_tally(tally_id=recount, actor=story.official)
    ).then(event(BudgetRound.TallyConfirmed, tally_id=recount, actor=story.official))


def test_confirming_an_unknown_tally_is_not_found(story_in):
    given(story_in("decided").history()).when(
        lambda r: r.confirm_tally(tally_id="tally-99", actor=ACTOR)
    ).then_refused(NotFound, "tally tally-99 not found")


# -- payouts: never beyond the reservation ---------------------------------------------------


@pytest.fixture
def execution(story_in):
    """The standard round in execution: playground (3,000) and benches (1,500) reserved."""
    return story_in("execution")


def test_a_payout_request_within_the_reservation_is_pending(execution):
    fields = execution.payout_fields("playground", 1_200_00)
    outcome = given(execution.history()).when(lambda r: r.request_payout(**fields))
    outcome.then(
        event(
            BudgetRound.PayoutRequested,
            payout_id=fields["payout_id"],
            proposal_id=execution.pid("playground"),
            amount=1_200_00,
            actor=execution.official,
        )
    )
    assert outcome.aggregate.pending(execution.pid("playground")) == 1_200_00


def test_a_payout_may_take_the_whole_reservation(execution):
    given(execution.history()).when(
        lambda r: r.request_payout(**execution.payout_fields("playground", 3_000_00))
    ).then(BudgetRound.PayoutRequested)


def request(story, name, amount):
    return lambda r: r.request_payout(**story.payout_fields(name, amount))


def test_a_payout_cannot_exceed_the_reservation(execution):
    given(execution.history()).when(request(execution, "playground", 3_000_01)).then_refused(
        RuleViolation, "exceeds what is left of the proposal's reservation (€3,000.00)"
    )


@pytest.mark.parametrize("commit", ["request_payout", "pay_out"])
def test_pending_and_paid_payouts_use_up_the_reservation(execution, commit):
    getattr(execution, commit)("playground", 2_000_00)
    given(execution.history()).when(request(execution, "playground", 1_000_01)).then_refused(
        RuleViolation, "reservation (€1,000.00)"
    )


def test_a_rejected_payout_frees_its_part_of_the_reservation(execution):
    payout_id = execution.request_payout("playground", 3_000_00)
    execution.round.reject_payout(payout_id=payout_id, reason="wrong payee", actor=ACTOR)
    given(execution.history()).when(request(execution, "playground", 3_000_00)).then(
        BudgetRound.PayoutRequested
    )


def test_a_reversed_payout_reopens_its_part_of_the_reservation(execution):
    payout_id = execution.pay_out("playground", 3_000_00)
    execution.round.reverse_payout(payout_id=payout_id, reason="returned by the bank", actor=ACTOR)
    outcome = given(execution.history()).when(request(execution, "playground", 3_000_00))
    outcome.then(BudgetRound.PayoutRequested)
    assert outcome.aggregate.paid(execution.pid("playground")) == 0


def test_a_proposal_without_a_reservation_gets_no_payout(execution):
    given(execution.history()).when(request(execution, "mural", 1_00)).then_refused(
        Conflict, "this proposal has no funds reserved in this round"
    )


def test_a_completed_proposal_gets_no_more_payouts(execution):
    execution.complete("benches")
    given(execution.history()).when(request(execution, "benches", 1_00)).then_refused(
        Conflict, "this proposal is completed"
    )


@pytest.mark.parametrize(
    ("overrides", "broken_rule"),
    [
        ({"amount": 100.0}, "amount must be a whole number of cents"),
        ({"amount": True}, "amount must be a whole number of cents"),
        ({"amount": 0}, "amount must be more than 0 cents"),
        ({"amount": -5_00}, "amount must be more than 0 cents"),
        ({"kind": "gift"}, "kind must be one of invoice, advance"),
        ({"payee_name": ""}, "payee_name must not be empty"),
        ({"reference": " "}, "reference must not be empty"),
    ],
)
def test_a_payout_request_must_be_well_formed(execution, overrides, broken_rule):
    fields = {**execution.payout_fields("playground", 100_00), **overrides}
    given(execution.history()).when(lambda r: r.request_payout(**fields)).then_refused(
        RuleViolation, broken_rule
    )


def test_a_second_official_approves_a_payout(execution):
    payout_id = execution.request_payout("benches", 700_00)
    outcome = given(execution.history()).when(
        lambda r: r.approve_payout(payout_id=payout_id, actor=ACTOR)
    )
    outcome.then(
        event(
            BudgetRound.PayoutApproved,
            payout_id=payout_id,
            proposal_id=execution.pid("benches"),
            amount=700_00,
            actor=ACTOR,
        )
    )
    assert outcome.aggregate.payouts[payout_id]["status"] == "approved"


@pytest.mark.parametrize(
    ("decide", "doing"),
    [
        (lambda r, payout_id, by: r.approve_payout(payout_id=payout_id, actor=by), "approve"),
        (
            lambda r, payout_id, by: r.reject_payout(payout_id=payout_id, reason="no", actor=by),
            "reject",
        ),
    ],
)
def test_the_official_who_requested_a_payout_may_not_decide_on_it(execution, decide, doing):
    payout_id = execution.request_payout("benches", 700_00)
    given(execution.history()).when(
        lambda r: decide(r, payout_id, execution.official)
    ).then_refused(
        Forbidden, f"a different official than the one who requested it must {doing} a payout"
    )


def test_a_second_official_rejects_a_payout_with_a_reason(execution):
    payout_id = execution.request_payout("benches", 700_00)
    outcome = given(execution.history()).when(
        lambda r: r.reject_payout(payout_id=payout_id, reason="invoice missing", actor=ACTOR)
    )
    outcome.then(
        event(
            BudgetRound.PayoutRejected, payout_id=payout_id, amount=700_00, reason="invoice missing"
        )
    )
    assert outcome.aggregate.pending(execution.pid("benches")) == 0


def test_a_rejection_needs_a_reason(execution):
    payout_id = execution.request_payout("benches", 700_00)
    given(execution.history()).when(
        lambda r: r.reject_payout(payout_id=payout_id, reason="", actor=ACTOR)
    ).then_refused(RuleViolation, "reason must not be empty")


def test_deciding_on_an_unknown_payout_is_not_found(execution):
    given(execution.history()).when(
        lambda r: r.approve_payout(payout_id="payout-x", actor=ACTOR)
    ).then_refused(NotFound, "payout payout-x not found in this round")


def test_an_approved_payout_is_marked_paid_with_its_bank_reference(execution):
    payout_id = execution.request_payout("benches", 700_00)
    execution.approve(payout_id)
    outcome = given(execution.history()).when(
        lambda r: r.mark_payout_paid(payout_id=payout_id, bank_reference="NL-TRX-42", actor=ACTOR)
    )
    outcome.then(
        event(
            BudgetRound.PayoutPaid,
            payout_id=payout_id,
            proposal_id=execution.pid("benches"),
            amount=700_00,
            bank_reference="NL-TRX-42",
            paid_on=None,
        )
    )
    budget_round = outcome.aggregate
    assert (budget_round.paid(execution.pid("benches")), budget_round.total_paid) == (
        700_00,
        700_00,
    )


def test_the_bank_booking_date_is_kept_when_it_is_given(execution):
    payout_id = execution.request_payout("benches", 700_00)
    execution.approve(payout_id)
    given(execution.history()).when(
        lambda r: r.mark_payout_paid(
            payout_id=payout_id, bank_reference="NL-TRX-42", paid_on=date(2026, 6, 1), actor=ACTOR
        )
    ).then(event(BudgetRound.PayoutPaid, paid_on="2026-06-01", actor=ACTOR))


@pytest.mark.parametrize("who", ["requested", "approved"])
def test_the_officials_who_requested_or_approved_a_payout_may_not_mark_it_paid(execution, who):
    payout_id = execution.request_payout("benches", 700_00)  # by the story's official
    execution.approve(payout_id)  # by the second official
    official = execution.official if who == "requested" else SECOND_OFFICIAL
    given(execution.history()).when(
        lambda r: r.mark_payout_paid(payout_id=payout_id, bank_reference="B", actor=official)
    ).then_refused(
        Forbidden,
        "a payout must be marked paid by a different official than the ones who requested and "
        "approved it",
    )


def test_a_payment_needs_a_bank_reference(execution):
    payout_id = execution.request_payout("benches", 700_00)
    execution.approve(payout_id)
    given(execution.history()).when(
        lambda r: r.mark_payout_paid(payout_id=payout_id, bank_reference="", actor=ACTOR)
    ).then_refused(RuleViolation, "bank_reference must not be empty")


def test_a_paid_payout_is_reversed_with_a_reason(execution):
    payout_id = execution.pay_out("benches", 700_00)
    outcome = given(execution.history()).when(
        lambda r: r.reverse_payout(payout_id=payout_id, reason="IBAN closed", actor=ACTOR)
    )
    outcome.then(
        event(BudgetRound.PayoutReversed, payout_id=payout_id, amount=700_00, reason="IBAN closed")
    )
    assert outcome.aggregate.total_paid == 0


# A payout goes requested -> approved or rejected; approved -> paid; paid -> reversed; no other way.
PAYOUT_STEPS = {
    "approve": lambda r, p: r.approve_payout(payout_id=p, actor=SECOND_OFFICIAL),
    "reject": lambda r, p: r.reject_payout(payout_id=p, reason="no", actor=SECOND_OFFICIAL),
    "mark as paid": lambda r, p: r.mark_payout_paid(payout_id=p, bank_reference="B", actor=ACTOR),
    "reverse": lambda r, p: r.reverse_payout(payout_id=p, reason="back", actor=ACTOR),
}
PAYOUT_STATES = {
    "requested": [],
    "approved": ["approve"],
    "rejected": ["reject"],
    "paid": ["approve", "mark as paid"],
    "reversed": ["approve", "mark as paid", "reverse"],
}
ALLOWED = {
    ("requested", "approve"),
    ("requested", "reject"),
    ("approved", "mark as paid"),
    ("paid", "reverse"),
}


@pytest.mark.parametrize(
    ("status", "doing"),
    [(s, d) for s in PAYOUT_STATES for d in PAYOUT_STEPS if (s, d) not in ALLOWED],
)
def test_a_payout_moves_only_along_its_allowed_transitions(execution, status, doing):
    payout_id = execution.request_payout("benches", 700_00)
    for step in PAYOUT_STATES[status]:
        PAYOUT_STEPS[step](execution.round, payout_id)
    given(execution.history()).when(lambda r: PAYOUT_STEPS[doing](r, payout_id)).then_refused(
        Conflict, f"cannot {doing} a payout that is {status}"
    )


def test_a_payout_of_a_completed_proposal_cannot_be_reversed(execution):
    payout_id = execution.pay_out("benches", 700_00)
    execution.complete("benches")
    given(execution.history()).when(
        lambda r: r.reverse_payout(payout_id=payout_id, reason="back", actor=ACTOR)
    ).then_refused(Conflict, "reverse payouts before completing it")


def test_a_payout_id_already_used_is_refused_so_the_reservation_cannot_be_paid_twice(execution):
    paid_id = execution.pay_out("benches", 500_00)  # 500 of the 1,500 reserved is at the bank
    same_id_again = {**execution.payout_fields("benches", 1_000_00), "payout_id": paid_id}
    # Accepted today: the paid 500 is forgotten, so 1,000 + another 500 fit the "room" afterwards
    # and 2,000 leaves the bank against a 1,500 reservation.
    given(execution.history()).when(lambda r: r.request_payout(**same_id_again)).then_refused(
        Conflict, paid_id
    )


# -- completion and closing ------------------------------------------------------------------


def test_completing_a_proposal_releases_its_unspent_reservation(execution):
    execution.pay_out("playground", 1_000_00)
    playground = execution.pid("playground")

    outcome = given(execution.history()).when(
        lambda r: r.release_unspent(proposal_id=playground, actor=ACTOR)
    )

    outcome.then(event(BudgetRound.UnspentReleased, proposal_id=playground, amount=2_000_00))
    budget_round = outcome.aggregate
    assert outcome.result == 2_000_00
    assert budget_round.reserved[playground] == budget_round.paid(playground) == 1_000_00
    assert budget_round.available == 500_00 + 2_000_00


def test_a_proposal_with_pending_payouts_cannot_be_completed(execution):
    execution.request_payout("playground", 1_000_00)
    given(execution.history()).when(
        lambda r: r.release_unspent(proposal_id=execution.pid("playground"), actor=ACTOR)
    ).then_refused(Conflict, "decide on its pending payouts first")


@pytest.mark.parametrize(
    ("name", "completed_before", "complaint"),
    [
        ("benches", True, "this proposal is already completed"),
        ("mural", False, "this proposal has no funds reserved in this round"),
    ],
)
def test_only_a_reserved_unfinished_proposal_can_be_completed(
    execution, name, completed_before, complaint
):
    if completed_before:
        execution.complete(name)
    given(execution.history()).when(
        lambda r: r.release_unspent(proposal_id=execution.pid(name), actor=ACTOR)
    ).then_refused(Conflict, complaint)


def test_the_round_closes_only_when_every_funded_proposal_is_completed(execution):
    execution.complete("benches")
    given(execution.history()).when(
        lambda r: r.close(destination="Gemeente Amsterdam", actor=ACTOR)
    ).then_refused(Conflict, f"complete these proposals first: {execution.pid('playground')}")


def test_closing_returns_everything_deposited_and_not_paid(execution):
    execution.pay_out("playground", 1_000_00)
    execution.deposit(200_00)  # late sponsor money goes back too
    execution.complete("playground", "benches")

    outcome = given(execution.history()).when(
        lambda r: r.close(destination="Gemeente Amsterdam", actor=ACTOR)
    )

    returned = 5_000_00 + 200_00 - 1_000_00
    outcome.then(event(BudgetRound.Closed, returned=returned, destination="Gemeente Amsterdam"))
    budget_round = outcome.aggregate
    assert (outcome.result, budget_round.returned, budget_round.phase) == (
        returned,
        returned,
        "closed",
    )
    assert budget_round.deposited - budget_round.returned == budget_round.total_paid


def test_closing_names_where_the_money_goes(execution):
    execution.complete("playground", "benches")
    given(execution.history()).when(lambda r: r.close(destination="", actor=ACTOR)).then_refused(
        RuleViolation, "destination must not be empty"
    )


def test_a_round_books_under_task_field_6_1_until_an_official_sets_another(story):
    assert story.round.task_field == "6.1"

    outcome = given(story.history()).when(
        lambda r: r.set_task_field(task_field=" 0.10 ", actor=ACTOR)
    )

    outcome.then(event(BudgetRound.TaskFieldSet, task_field="0.10", actor=ACTOR))
    assert outcome.aggregate.task_field == "0.10"


def test_setting_the_same_task_field_again_records_nothing(story):
    given(story.history()).when(
        lambda r: r.set_task_field(task_field="6.1", actor=ACTOR)
    ).then()


@pytest.mark.parametrize("task_field", ["", "6", "61", "9.1", "6.123", "a.b", None])
def test_a_task_field_must_look_like_an_iv3_task_field(story, task_field):
    given(story.history()).when(
        lambda r: r.set_task_field(task_field=task_field, actor=ACTOR)
    ).then_refused(RuleViolation, "an Iv3 task field looks like 6.1")


def test_a_closed_round_keeps_its_task_field(story_in):
    story = story_in("closed")
    given(story.history()).when(
        lambda r: r.set_task_field(task_field="0.10", actor=ACTOR)
    ).then_refused(Conflict, "cannot change the task field")
