"""Ballot: one per voting code per round, cast only while voting is open, every version kept."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.ballot import Ballot, ballot_id_for, receipt_for, receipt_of_cast, voter_receipt
from domain.errors import Conflict, Forbidden, RuleViolation
from tests.unit.given_when_then import event, given, replay

CODE_HASH = "keyed-hash-of-voting-code-K7Q2"
NONCE = "5f0c9a1e3b7d4c2a8e6f1b0d9c3a7e5f"


def issue(story, code_hash=CODE_HASH):
    ballot = Ballot.issue(round_id=story.round.id, code_hash=code_hash)
    return ballot.collect_events()


def cast(story, **choices_by_name):
    """Cast the named proposals with these points (the ballot stores them by proposal id)."""
    choices = {story.pid(name): points for name, points in choices_by_name.items()}
    return lambda ballot, budget_round: ballot.cast(
        budget_round=budget_round, choices=choices, nonce=NONCE
    )


@pytest.fixture
def voting(story_in):
    """The standard round with voting open under the default approval rules."""
    return story_in("voting")


# -- the ballot a code opens -----------------------------------------------------------------


def test_a_voting_code_opens_the_same_ballot_every_time_and_no_one_elses(voting, story):
    issued = given().when(lambda: Ballot.issue(round_id=voting.round.id, code_hash=CODE_HASH))
    issued.then(event(Ballot.Issued, round_id=voting.round.id))
    assert issued.result.id == ballot_id_for(voting.round.id, CODE_HASH)
    assert issued.result.id == Ballot.issue(round_id=voting.round.id, code_hash=CODE_HASH).id
    assert issued.result.id != Ballot.issue(round_id=voting.round.id, code_hash="another-code").id
    assert issued.result.id != Ballot.issue(round_id=story.round.id, code_hash=CODE_HASH).id
    assert issued.result.choices is None


# -- casting ---------------------------------------------------------------------------------


def test_casting_records_the_choices_and_returns_the_voters_receipt(voting):
    choices = {voting.pid("playground"): 1, voting.pid("mural"): 1}
    outcome = given(issue(voting), voting.history()).when(cast(voting, playground=1, mural=1))
    outcome.then(event(Ballot.Cast, round_id=voting.round.id, choices=choices, nonce=NONCE))
    ballot = outcome.aggregate
    assert ballot.choices == choices
    # The voter recomputes it from the round, what they chose and the nonce shown to them.
    assert outcome.result == voter_receipt(voting.round.id, choices, NONCE)
    assert outcome.result == receipt_of_cast(ballot.id, 2, outcome.new_events[0])


def test_a_cast_stored_before_receipts_had_a_nonce_keeps_its_old_receipt(voting):
    choices = {voting.pid("mural"): 1}
    ballot = replay(issue(voting))
    ballot.cast(budget_round=voting.round, choices=choices, nonce=NONCE)
    (stored,) = ballot.collect_events()
    state = {"round_id": voting.round.id, "choices": choices}
    Ballot.Cast.upcast_v1_v2(state)
    old = Ballot.Cast(originator_id=ballot.id, originator_version=2,
                      timestamp=stored.timestamp, **state)
    assert old.nonce is None
    assert receipt_of_cast(ballot.id, 2, old) == receipt_for(ballot.id, 2, choices)


def test_a_voided_code_cannot_cast_and_a_cast_code_cannot_be_voided(voting):
    given(issue(voting)).when(
        lambda ballot: ballot.void(reason="letter lost", actor="official:anna")
    ).then(event(Ballot.Voided, round_id=voting.round.id, reason="letter lost",
                 actor="official:anna"))
    ballot = replay(issue(voting))
    ballot.void(reason="letter lost", actor="official:anna")
    history = [*issue(voting), *ballot.collect_events()]
    given(history, voting.history()).when(cast(voting, mural=1)).then_refused(
        Forbidden, "this voting code was replaced by a new letter and is no longer valid"
    )
    cast_once = replay(issue(voting))
    cast_once.cast(budget_round=voting.round, choices={voting.pid("mural"): 1}, nonce=NONCE)
    given([*issue(voting), *cast_once.collect_events()]).when(
        lambda ballot: ballot.void(reason="letter lost", actor="official:anna")
    ).then_refused(Conflict, "the code of this letter has already been used to vote; it stays valid")


def test_casting_again_replaces_the_choices_and_keeps_every_version(voting):
    issued = issue(voting)
    ballot = replay(issued)
    first = ballot.cast(budget_round=voting.round, choices={voting.pid("mural"): 1}, nonce="n1")
    history = [*issued, *ballot.collect_events()]

    outcome = given(history, voting.history()).when(cast(voting, benches=1))

    outcome.then(event(Ballot.Cast, choices={voting.pid("benches"): 1}))
    assert outcome.aggregate.choices == {voting.pid("benches"): 1}
    assert outcome.aggregate.version == 3
    assert outcome.result != first
    kept = [e.choices for e in [*history, *outcome.new_events] if isinstance(e, Ballot.Cast)]
    assert kept == [{voting.pid("mural"): 1}, {voting.pid("benches"): 1}]


@pytest.mark.parametrize("phase", ["submission", "review", "decided", "execution"])
def test_ballots_are_cast_only_while_voting_is_open(story_in, phase):
    story = story_in(phase)
    given(issue(story), story.history()).when(
        lambda ballot, budget_round: ballot.cast(budget_round=budget_round, choices={}, nonce=NONCE)
    ).then_refused(Conflict, f"voting is not open (the round is in phase '{phase}')")


def test_a_voting_code_counts_only_in_its_own_round(voting, story_in):
    other_round = story_in("voting")
    given(issue(other_round), voting.history()).when(cast(voting, mural=1)).then_refused(
        Conflict, "this voting code belongs to another round"
    )


def test_a_ballot_may_only_choose_proposals_on_the_ballot(voting):
    given(issue(voting), voting.history()).when(
        lambda ballot, budget_round: ballot.cast(
            budget_round=budget_round, choices={str(uuid4()): 1}, nonce=NONCE
        )
    ).then_refused(RuleViolation, "not on the ballot")


# -- the round's rules decide what a valid ballot is -----------------------------------------

RULES = {
    "approval": {"method": "approval", "max_choices": 2},
    "knapsack": {"method": "knapsack", "max_total_cost": 4_500_00},
    "cumulative": {"method": "cumulative", "points_total": 10, "max_points": 6},
    "ordinal": {"method": "ordinal"},
    "choose-one": {"method": "choose-one"},
}


@pytest.mark.parametrize(
    ("method", "choices", "broken_rule"),
    [
        ("approval", {"playground": 1, "benches": 1, "mural": 1}, "choose at most 2 proposal(s)"),
        (
            "knapsack",
            {"playground": 1, "mural": 1},
            "the chosen proposals cost 500000 cents together; at most 450000 cents allowed",
        ),
        (
            "cumulative",
            {"playground": 6, "benches": 5},
            "at most 10 points in total; this ballot gives 11",
        ),
        (
            "ordinal",
            {"playground": 1, "benches": 1},
            "ranks must be 1, 2, 3, ... without gaps or repeats",
        ),
        ("choose-one", {"playground": 1, "mural": 1}, "choose at most 1 proposal(s)"),
    ],
)
def test_a_ballot_breaking_the_rounds_rules_is_refused_naming_the_rule(
    story_in, method, choices, broken_rule
):
    story = story_in("voting", voting=RULES[method])
    given(issue(story), story.history()).when(cast(story, **choices)).then_refused(
        RuleViolation, broken_rule
    )


@pytest.mark.parametrize(
    ("method", "choices"),
    [
        ("approval", {"playground": 1, "mural": 1}),
        ("knapsack", {"playground": 1, "benches": 1}),
        ("cumulative", {"playground": 6, "benches": 3, "mural": 1}),
        ("ordinal", {"mural": 1, "playground": 2}),
        ("choose-one", {"benches": 1}),
    ],
)
def test_a_ballot_keeping_the_rounds_rules_is_cast(story_in, method, choices):
    story = story_in("voting", voting=RULES[method])
    given(issue(story), story.history()).when(cast(story, **choices)).then(Ballot.Cast)


def test_a_knapsack_ballot_is_priced_at_the_reviewed_cost_not_the_requested_one(story_in):
    story = story_in("review", voting={"method": "knapsack", "max_total_cost": 3_500_00})
    story.proposals["playground"].admit(
        budget_round=story.round,
        amount=2_000_00,
        note="the slide is donated",
        actor="official-chris",
    )
    story.admit("benches", "mural")
    story.round.open_voting(actor="official-chris")
    # 2,000 (reviewed; 3,000 requested) + 1,500 = 3,500: within the limit only at the reviewed cost.
    given(issue(story), story.history()).when(cast(story, playground=1, benches=1)).then(
        Ballot.Cast
    )
