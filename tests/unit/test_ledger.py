"""The double-entry ledger: which transaction each money event books, and that it always balances.

Given a round's events, when they are posted to the ledger, then each money event is one balanced
transaction on the documented accounts, and every account balance is one of the round's figures.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from domain.budget_round import BudgetRound
from domain.ledger import (
    ACCOUNTS,
    CHART,
    DEFAULT_TASK_FIELD,
    Ledger,
    Line,
    balances_of_round,
)
from tests.unit.conftest import DEPOSIT, RoundStory
from tests.unit.test_money_properties import MoneyCommands

R = BudgetRound


def book(story: RoundStory) -> Ledger:
    ledger = Ledger()
    ledger.post_all(story.history())
    return ledger


def lines_of(ledger: Ledger, event_type: str) -> list[tuple[str, str, int]]:
    return [
        (line.account, line.side, line.amount)
        for transaction in ledger.transactions if transaction.event_type == event_type
        for line in transaction.lines
    ]


def test_a_deposit_puts_money_in_the_bank_and_makes_it_available(story: RoundStory) -> None:
    story.deposit(1_234_56)

    ledger = book(story)

    (transaction,) = ledger.transactions
    assert transaction.event_type == "FundsDeposited"
    assert lines_of(ledger, "FundsDeposited") == [
        ("1100", "D", 1_234_56), ("8000", "C", 1_234_56),
        ("0990", "D", 1_234_56), ("0910", "C", 1_234_56),
    ]
    assert {line.counterparty for line in transaction.lines} == {"Gemeente Amsterdam"}
    assert transaction.round.round_id == str(story.round.id)
    assert transaction.round.task_field == DEFAULT_TASK_FIELD
    assert transaction.event_id == f"{story.round.id}:2"
    assert transaction.document == f"2/{story.round.id}:2"  # positions start at 1


def test_events_that_move_no_money_book_nothing(story_in: Any) -> None:
    story = story_in("decided")  # deposit, proposals, reviews, voting, tally: only the deposit

    assert [t.event_type for t in book(story).transactions] == ["FundsDeposited"]


def test_confirming_the_tally_reserves_each_winner_from_the_available_budget(story_in: Any) -> None:
    story = story_in("execution")

    ledger = book(story)

    assert sorted(lines_of(ledger, "TallyConfirmed")) == sorted([
        ("0910", "D", 3_000_00), ("0920", "C", 3_000_00),
        ("0910", "D", 1_500_00), ("0920", "C", 1_500_00),
    ])
    reservation = ledger.transactions[-1]
    assert {line.proposal_id for line in reservation.lines} == {
        story.pid("playground"), story.pid("benches")
    }


def test_a_payout_moves_from_commitment_to_spending_to_the_bank(story_in: Any) -> None:
    story = story_in("execution")
    story.pay_out("playground", 1_000_00)

    ledger = book(story)

    assert lines_of(ledger, "PayoutRequested") == [("0920", "D", 1_000_00), ("0930", "C", 1_000_00)]
    assert lines_of(ledger, "PayoutApproved") == [
        ("0930", "D", 1_000_00), ("0990", "C", 1_000_00),
        ("4000", "D", 1_000_00), ("1700", "C", 1_000_00),
    ]
    assert lines_of(ledger, "PayoutPaid") == [("1700", "D", 1_000_00), ("1100", "C", 1_000_00)]
    paid = ledger.transactions[-1]
    # The payee's name as sealed (here by the tests' labelling sealer): opened by the query layer.
    assert {line.counterparty for line in paid.lines} == {
        "sealed:iban:NL91ABNA0417164300:payee_name:Speeltoestellen BV"
    }
    assert {line.proposal_id for line in paid.lines} == {story.pid("playground")}
    assert paid.payout_id.startswith("payout-")


def test_a_payment_is_booked_on_the_day_the_bank_booked_it(story_in: Any) -> None:
    story = story_in("execution")
    payout_id = story.request_payout("playground", 1_000_00)
    story.approve(payout_id)
    story.round.record_bank_payment(
        payout_id=payout_id, bank_reference="ING-1", paid_on=date(2026, 12, 1), actor="official-anna"
    )

    paid = book(story).transactions[-1]

    assert (paid.event_type, paid.booking_date) == ("PayoutPaid", date(2026, 12, 1))
    assert paid.description == "Uitbetaald, bankreferentie ING-1"


def test_a_rejected_payout_goes_back_to_the_reservation(story_in: Any) -> None:
    story = story_in("execution")
    payout_id = story.request_payout("benches", 500_00)
    story.round.reject_payout(payout_id=payout_id, reason="no invoice", actor="official-bram")

    ledger = book(story)

    assert lines_of(ledger, "PayoutRejected") == [("0930", "D", 500_00), ("0920", "C", 500_00)]
    assert ledger.transactions[-1].description == "Uitbetaling afgewezen: no invoice"


def test_a_reversal_is_a_reversing_entry_not_an_edit(story_in: Any) -> None:
    story = story_in("execution")
    payout_id = story.pay_out("playground", 1_000_00)
    before = list(book(story).transactions)
    story.round.reverse_payout(payout_id=payout_id, reason="bounced", actor="official-anna")

    ledger = book(story)

    assert ledger.transactions[: len(before)] == before
    assert lines_of(ledger, "PayoutReversed") == [
        ("1100", "D", 1_000_00), ("4000", "C", 1_000_00),
        ("0990", "D", 1_000_00), ("0920", "C", 1_000_00),
    ]
    assert ledger.balances()["4000"] == 0
    assert ledger.balances()["1100"] == DEPOSIT


def test_closing_returns_the_unspent_money_and_empties_the_budget(story_in: Any) -> None:
    story = story_in("execution")
    story.pay_out("playground", 2_500_00)
    story.complete("playground", "benches")
    story.round.close(destination="Algemene middelen", actor="official-anna")

    ledger = book(story)

    released = lines_of(ledger, "UnspentReleased")
    assert sorted(released) == sorted([
        ("0920", "D", 500_00), ("0910", "C", 500_00),
        ("0920", "D", 1_500_00), ("0910", "C", 1_500_00),
    ])
    returned = DEPOSIT - 2_500_00
    assert lines_of(ledger, "Closed") == [
        ("4900", "D", returned), ("1100", "C", returned),
        ("0910", "D", returned), ("0990", "C", returned),
    ]
    balances = ledger.balances()
    assert balances["1100"] == 0
    assert balances["0910"] == balances["0920"] == balances["0930"] == balances["0990"] == 0
    assert balances["8000"] == balances["4000"] + balances["4900"]


def test_a_release_or_a_return_of_nothing_books_nothing(story_in: Any) -> None:
    story = story_in("execution")
    story.pay_out("playground", 3_000_00)
    story.pay_out("benches", 1_500_00)
    story.round.deposit(deposit_id="d-2", amount=500_00, source="Fonds", reference="", actor="x")
    story.complete("playground", "benches")  # nothing left of either reservation

    types = [t.event_type for t in book(story).transactions]

    assert "UnspentReleased" not in types
    story.round.close(destination="Gemeente", actor="official-anna")
    assert [t.event_type for t in book(story).transactions][-1] == "Closed"


def test_the_chart_names_each_account_once_with_a_side_and_a_kind() -> None:
    assert len(ACCOUNTS) == len(CHART)
    assert all(account.kind in ("B", "P") and account.normal in ("D", "C") for account in CHART)
    assert len({account.beancount for account in CHART}) == len(CHART)


def test_a_line_signs_debits_positive_and_credits_negative() -> None:
    assert Line("1100", "D", 5).signed == 5
    assert Line("1100", "C", 5).signed == -5


class LedgerFollowsTheRound(MoneyCommands):
    """The money property machine, with the ledger posted alongside the round after every step."""

    def __init__(self, story: Any) -> None:
        super().__init__(story)
        self.ledger = Ledger()
        self.posted = 0

    @invariant()
    def every_transaction_balances_and_the_accounts_match_the_round(self) -> None:
        for position, event in enumerate(self.events[self.posted:], start=self.posted + 1):
            self.ledger.post(event, position)
        self.posted = len(self.events)
        assert all(t.debit_total == t.credit_total > 0 for t in self.ledger.transactions)
        assert all(line.amount > 0 for _, line in self.ledger.lines())
        assert self.ledger.balances() == balances_of_round(self.round)


def test_the_ledger_balances_equal_the_rounds_figures_after_every_money_step(execution_story):
    run_state_machine_as_test(
        lambda: LedgerFollowsTheRound(execution_story),
        settings=settings(max_examples=60, stateful_step_count=40, deadline=None, database=None),
    )


def test_lines_carry_the_round_s_task_field_from_the_moment_it_was_set(story: RoundStory) -> None:
    story.deposit(1_000_00)
    story.round.set_task_field(task_field="0.10", actor="official-anna")
    story.deposit(500_00)

    first, second = book(story).transactions

    assert (first.round.task_field, second.round.task_field) == (DEFAULT_TASK_FIELD, "0.10")
