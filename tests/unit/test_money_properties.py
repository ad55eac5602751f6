"""Property: whatever money commands reach a round, in any order, its money invariants hold.

Random sequences of deposits, payout requests (any amount, even floats and bools), approvals and
rejections by either official, payments, reversals, completions and closing run against the
standard round in execution (playground 3,000 and benches 1,500 reserved of 5,000 deposited).
Refused commands are part of the story: a guard must refuse before anything changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from domain.budget_round import BudgetRound
from domain.errors import BudgetError
from tests.unit.conftest import LABELLING_SEALER

OFFICIALS = ("official-anna", "official-bram")
NAMES = ("playground", "benches", "mural")  # the mural has no reservation

amounts = st.one_of(
    st.integers(min_value=1, max_value=1_600_00),  # mostly amounts that can fit a reservation
    st.integers(min_value=-100_00, max_value=3_500_00),
    st.sampled_from([0, 1_500_00, 3_000_00, 100.0, 0.5, True]),
)
official = st.sampled_from(OFFICIALS)
proposal = st.sampled_from(NAMES)
SETTLING_STEPS = 10


class MoneyCommands(RuleBasedStateMachine):
    """Random money commands on the standard round in execution, saved to an in-memory store."""

    # Payout ids by the step that last moved them, so most attempts are ones that can succeed;
    # an id stays in its bundle after it moves on, so wrong-state attempts happen too.
    requested = Bundle("requested")
    approved = Bundle("approved")
    paid = Bundle("paid")

    def __init__(self, story: Any) -> None:
        super().__init__()
        history = story.history()
        self.app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.app.save(*history)
        self.events = list(history)
        self.round: BudgetRound = self.app.repository.get(story.round.id)
        self.rebuilt: BudgetRound = self.app.repository.get(story.round.id)
        self.pids = {name: story.pid(name) for name in NAMES}
        self.requests = 0
        self.steps = 0

    def attempt(
        self, command: Callable[[BudgetRound], object], payout_id: str | None = None
    ) -> Any:
        """Run a command and store its events; a refused command must have triggered none.

        Returns `payout_id` for the next bundle if the command was accepted, else nothing.
        """
        self.steps += 1
        try:
            command(self.round)
            accepted = True
        except BudgetError:
            accepted = False
        new_events = self.round.collect_events()
        assert accepted or not new_events, f"refused, yet triggered {new_events}"
        self.app.save(*new_events)
        self.events += new_events
        return payout_id if accepted and payout_id else multiple()

    @rule(amount=amounts)
    def deposit(self, amount: Any) -> None:
        self.attempt(
            lambda r: r.deposit(
                deposit_id="d", amount=amount, source="Fonds", reference="", actor=OFFICIALS[0]
            )
        )

    @rule(target=requested, name=proposal, amount=amounts, actor=official)
    def request_payout(self, name: str, amount: Any, actor: str) -> Any:
        self.requests += 1
        payout_id = f"payout-{self.requests}"  # always fresh, as the application's uuid4
        return self.attempt(
            lambda r: r.request_payout(
                payout_id=payout_id,
                proposal_id=self.pids[name],
                amount=amount,
                payee_name="Aannemer",
                iban="NL91ABNA0417164300",
                kind="invoice",
                reference="f-1",
                description="",
                personal_data=LABELLING_SEALER,
                actor=actor,
            ),
            payout_id,
        )

    @rule(target=approved, payout_id=requested, actor=official)
    def approve_payout(self, payout_id: str, actor: str) -> Any:
        return self.attempt(lambda r: r.approve_payout(payout_id=payout_id, actor=actor), payout_id)

    @rule(payout_id=requested, actor=official)
    def reject_payout(self, payout_id: str, actor: str) -> None:
        self.attempt(
            lambda r: r.reject_payout(payout_id=payout_id, reason="no invoice", actor=actor)
        )

    @rule(target=paid, payout_id=approved)
    def mark_payout_paid(self, payout_id: str) -> Any:
        return self.attempt(
            lambda r: r.mark_payout_paid(payout_id=payout_id, bank_reference="B-1", actor="x"),
            payout_id,
        )

    @rule(payout_id=paid)
    def reverse_payout(self, payout_id: str) -> None:
        self.attempt(lambda r: r.reverse_payout(payout_id=payout_id, reason="bounced", actor="x"))

    # Completing a proposal ends its payouts, closing ends the round: both wait until payouts
    # have had some steps to happen, or most runs would end before anything was paid.
    @precondition(lambda self: self.steps >= SETTLING_STEPS)
    @rule(name=proposal)
    def complete(self, name: str) -> None:
        self.attempt(lambda r: r.release_unspent(proposal_id=self.pids[name], actor=OFFICIALS[0]))

    @precondition(lambda self: self.steps >= SETTLING_STEPS)
    @rule()
    def close(self) -> None:
        self.attempt(lambda r: r.close(destination="Gemeente", actor=OFFICIALS[0]))

    @invariant()
    def amounts_are_whole_cents(self) -> None:
        r = self.round
        held = [
            r.deposited,
            r.returned,
            *r.reserved.values(),
            *(p["amount"] for p in r.payouts.values()),
        ]
        assert all(type(amount) is int for amount in held), held

    @invariant()
    def the_round_never_reserves_more_than_it_holds(self) -> None:
        assert self.round.total_reserved <= self.round.deposited - self.round.returned

    @invariant()
    def a_proposal_is_never_paid_beyond_its_reservation(self) -> None:
        # What the bank was told to pay, from the events themselves rather than from state.
        sent: Counter[str] = Counter()
        for e in self.events:
            if isinstance(e, BudgetRound.PayoutPaid):
                sent[e.proposal_id] += e.amount
            elif isinstance(e, BudgetRound.PayoutReversed):
                sent[e.proposal_id] -= e.amount
        for proposal_id, reserved in self.round.reserved.items():
            paid = self.round.paid(proposal_id)
            assert self.round.pending(proposal_id) + paid <= reserved
            assert sent[proposal_id] == paid

    @invariant()
    def the_stored_events_rebuild_the_same_round(self) -> None:
        # Read back only what was stored since the last step, and apply it to a second copy.
        for stored in self.app.events.get(self.round.id, gt=self.rebuilt.version):
            self.rebuilt = stored.mutate(self.rebuilt)
        assert self.rebuilt == self.round


def test_money_invariants_hold_and_the_events_rebuild_the_round_after_every_step(execution_story):
    run_state_machine_as_test(
        lambda: MoneyCommands(execution_story),
        settings=settings(max_examples=100, stateful_step_count=50, deadline=None, database=None),
    )
