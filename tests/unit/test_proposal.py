"""Proposal: submitted while the round takes submissions; reviewed, withdrawn, decided, done."""

from __future__ import annotations

import pytest

from domain.budget_round import BudgetRound
from domain.errors import Conflict, Forbidden, RuleViolation
from domain.proposal import MAX_COST_LINES, Proposal
from tests.unit.given_when_then import event, given

ACTOR = "official-chris"


# -- submission ------------------------------------------------------------------------------


TWO_LINES = [
    {"description": "three tables", "amount": 1_800_00},
    {"description": "delivery", "amount": 150_00},
]


def submit(story, **overrides):
    fields = {**story.proposal_fields("Picnic tables", 0), "cost_lines": TWO_LINES, **overrides}
    return lambda r: Proposal.submit(budget_round=r, **fields)


def test_a_submitted_proposal_asks_for_the_sum_of_its_cost_lines_and_the_round_receives_it(story):
    outcome = given(story.history()).when(submit(story))
    proposal = outcome.result
    outcome.then(
        event(
            Proposal.Submitted,
            round_id=story.round.id,
            requested_amount=1_950_00,
            reference="",
            actor="resident",
        ),
        event(
            BudgetRound.ProposalReceived, proposal_id=proposal.id, amount=1_950_00, actor="resident"
        ),
    )
    assert (proposal.status, proposal.amount) == ("submitted", 1_950_00)
    assert outcome.aggregate.proposals[str(proposal.id)] == {
        "status": "submitted",
        "amount": 1_950_00,
    }


def test_a_submission_may_carry_an_outside_reference(story):
    outcome = given(story.history()).when(submit(story, reference=" ZAAK-2026-0042 "))
    outcome.then(
        event(Proposal.Submitted, reference="ZAAK-2026-0042"), BudgetRound.ProposalReceived
    )
    assert outcome.result.reference == "ZAAK-2026-0042"


@pytest.mark.parametrize("phase", ["review", "voting", "decided", "execution", "closed"])
def test_proposals_are_only_submitted_while_the_round_takes_submissions(story_in, phase):
    story = story_in(phase)
    given(story.history()).when(submit(story)).then_refused(
        Conflict, f"cannot submit a proposal while the round is in phase '{phase}'"
    )


@pytest.mark.parametrize(
    ("overrides", "broken_rule"),
    [
        ({"cost_lines": []}, "give at least one cost line"),
        (
            {"cost_lines": TWO_LINES[:1] * (MAX_COST_LINES + 1)},
            f"at most {MAX_COST_LINES} cost lines",
        ),
        ({"cost_lines": ["tables"]}, "cost line 1 must be an object"),
        (
            {"cost_lines": [TWO_LINES[0], {"description": "paint", "amount": 99.5}]},
            "cost_lines[2].amount must be a whole number of cents",
        ),
        (
            {"cost_lines": [{"description": "paint", "amount": 0}]},
            "cost_lines[1].amount must be more than 0",
        ),
        ({"cost_lines": [{"amount": 1_00}]}, "cost_lines[1].description must not be empty"),
        ({"proposer_email": "fatima at home"}, "proposer_email is not an e-mail"),
        ({"title": ""}, "title must not be empty"),
        ({"summary": "x" * 501}, "summary must be at most 500 characters"),
        ({"reference": "x" * 101}, "reference must be at most 100 characters"),
    ],
)
def test_a_submission_must_be_complete_and_in_whole_cents(story, overrides, broken_rule):
    given(story.history()).when(submit(story, **overrides)).then_refused(RuleViolation, broken_rule)


# -- review ----------------------------------------------------------------------------------


@pytest.fixture
def review(story_in):
    """The standard round after submissions closed: three proposals, none reviewed yet."""
    return story_in("review")


def given_the_mural(story):
    """The mural proposal and its round, as `when` receives them."""
    return given(story.history("mural"), story.history())


def admit(amount=None, note=""):
    return lambda p, r: p.admit(budget_round=r, amount=amount, note=note, actor=ACTOR)


def reject(reason="not on public ground"):
    return lambda p, r: p.reject(budget_round=r, reason=reason, actor=ACTOR)


def withdraw(key_hash, reason="we found a sponsor"):
    return lambda p, r: p.withdraw(budget_round=r, key_hash=key_hash, reason=reason)


def test_admitting_at_the_requested_cost_needs_no_note(review):
    outcome = given_the_mural(review).when(admit())
    outcome.then(
        event(Proposal.Admitted, amount=2_000_00, note=""),
        event(BudgetRound.ProposalReviewed, status="admitted", amount=2_000_00),
    )


def test_an_adjusted_cost_must_be_explained_in_a_note(review):
    given_the_mural(review).when(admit(amount=1_800_00)).then_refused(
        RuleViolation, "explain an adjusted amount in the note"
    )


def test_an_admission_with_an_explained_adjustment_sets_the_cost_on_the_ballot(review):
    outcome = given_the_mural(review).when(
        admit(amount=1_800_00, note="the wall is smaller than measured")
    )
    outcome.then(
        event(Proposal.Admitted, amount=1_800_00, note="the wall is smaller than measured"),
        event(BudgetRound.ProposalReviewed, status="admitted", amount=1_800_00),
    )
    proposal, budget_round = outcome.aggregates
    assert (proposal.requested_amount, proposal.amount) == (2_000_00, 1_800_00)
    assert budget_round.proposals[str(proposal.id)]["amount"] == 1_800_00


@pytest.mark.parametrize(
    ("amount", "broken_rule"),
    [
        (1_800.0, "amount must be a whole number of cents"),
        (-1, "amount must be more than 0 cents"),
    ],
)
def test_an_adjusted_cost_is_whole_positive_cents(review, amount, broken_rule):
    given_the_mural(review).when(admit(amount=amount, note="why")).then_refused(
        RuleViolation, broken_rule
    )


def test_a_rejection_gives_its_reason(review):
    outcome = given_the_mural(review).when(reject())
    outcome.then(
        event(Proposal.Rejected, reason="not on public ground"),
        event(BudgetRound.ProposalReviewed, status="rejected", amount=2_000_00),
    )


def test_a_rejection_without_a_reason_is_refused(review):
    given_the_mural(review).when(reject(reason="  ")).then_refused(
        RuleViolation, "reason must not be empty"
    )


def test_a_later_review_replaces_the_earlier_one(review):
    review.reject("mural")
    outcome = given_the_mural(review).when(admit())
    outcome.then(Proposal.Admitted, BudgetRound.ProposalReviewed)
    assert outcome.aggregates[0].status == "admitted"


def test_a_withdrawn_proposal_is_not_reviewed(review):
    review.withdraw("mural")
    given_the_mural(review).when(admit()).then_refused(
        Conflict, "cannot review a proposal that is withdrawn"
    )


@pytest.mark.parametrize("phase", ["voting", "decided", "execution"])
def test_proposals_are_not_reviewed_once_voting_opens(story_in, phase):
    story = story_in(phase)
    given_the_mural(story).when(reject()).then_refused(
        Conflict, f"cannot review a proposal while the round is in phase '{phase}'"
    )


def test_a_proposal_is_reviewed_only_against_its_own_round(review, story):
    given(review.history("mural"), story.history()).when(admit()).then_refused(
        Conflict, "this proposal belongs to another round"
    )


# -- withdrawal ------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["submission", "review"])
def test_the_proposer_withdraws_with_the_key_from_submission(story_in, phase):
    story = story_in(phase)
    outcome = given_the_mural(story).when(withdraw(story.proposer_key))
    outcome.then(
        event(Proposal.Withdrawn, reason="we found a sponsor", actor="proposer"),
        event(BudgetRound.ProposalReviewed, status="withdrawn"),
    )


def test_nobody_withdraws_without_the_proposers_key(review):
    given_the_mural(review).when(withdraw("someone-elses-key")).then_refused(
        Forbidden, "the proposer key does not match this proposal"
    )


def test_a_proposal_is_withdrawn_only_once(review):
    review.withdraw("mural")
    given_the_mural(review).when(withdraw(review.proposer_key)).then_refused(
        Conflict, "the proposal is already withdrawn"
    )


@pytest.mark.parametrize("phase", ["voting", "decided"])
def test_a_proposal_on_the_ballot_cannot_be_withdrawn(story_in, phase):
    story = story_in(phase)
    given_the_mural(story).when(withdraw(story.proposer_key)).then_refused(
        Conflict, f"cannot withdraw a proposal while the round is in phase '{phase}'"
    )


# -- decision and completion -----------------------------------------------------------------


@pytest.fixture
def decided(story_in):
    """The standard round confirmed: playground and benches won, the mural did not."""
    return story_in("execution")


def test_a_winner_is_marked_funded_with_its_reserved_amount(decided):
    outcome = given(decided.history("playground")).when(
        lambda p: p.mark_decided(tally_id=decided.tally_id, funded_amount=3_000_00, actor=ACTOR)
    )
    outcome.then(event(Proposal.Funded, tally_id=decided.tally_id, amount=3_000_00))
    assert (outcome.aggregate.status, outcome.aggregate.funded_amount) == ("funded", 3_000_00)


def test_a_proposal_without_funds_is_marked_not_selected(decided):
    outcome = given(decided.history("mural")).when(
        lambda p: p.mark_decided(tally_id=decided.tally_id, funded_amount=0, actor=ACTOR)
    )
    outcome.then(event(Proposal.NotSelected, tally_id=decided.tally_id))
    assert outcome.aggregate.status == "not_selected"


def test_only_admitted_proposals_are_decided_on(review):
    review.reject("mural")
    given(review.history("mural")).when(
        lambda p: p.mark_decided(tally_id="tally-1", funded_amount=0, actor=ACTOR)
    ).then_refused(Conflict, "only admitted proposals are decided on; this one is rejected")


def fund(story, name):
    story.proposals[name].mark_decided(
        tally_id=story.tally_id, funded_amount=story.round.reserved[story.pid(name)], actor=ACTOR
    )


def complete(report="the tables are in use"):
    return lambda p: p.complete(report=report, unspent=50_00, actor=ACTOR)


def test_a_funded_proposal_completes_with_a_report(decided):
    fund(decided, "benches")
    outcome = given(decided.history("benches")).when(complete())
    outcome.then(event(Proposal.Completed, report="the tables are in use", unspent=50_00))
    assert outcome.aggregate.status == "completed"


def test_completion_needs_a_report(decided):
    fund(decided, "benches")
    given(decided.history("benches")).when(complete(report="")).then_refused(
        RuleViolation, "report must not be empty"
    )


def test_only_a_funded_proposal_completes(decided):
    given(decided.history("mural")).when(complete()).then_refused(
        Conflict, "only funded proposals can be completed; this one is admitted"
    )
