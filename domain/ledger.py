"""The double-entry ledger of a residents' budget: every money event as one balanced transaction.

A round's money events (deposits, reservations, payouts, releases, returns) are translated here,
and only here, into journal transactions whose debits equal their credits in integer cents. The
chart of accounts and the booking of each event are documented in `docs/ledger.md`; in short:

- balance sheet: the bank account of the fund (1100), approved payouts payable (1700);
- results: funds received per source (8000), spending on initiatives (4000), returns (4900);
- commitments ("verplichtingenadministratie", the 09xx memorandum accounts): available budget
  (0910), reservations per proposal (0920), payouts requested (0930) and their contra (0990).

Each account's balance is one of the round's own figures (see `balances_of_round`), so the ledger
can be checked against the round aggregate at every point. Nothing is ever edited: a reversed
payout is a reversing transaction of its own.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.budget_round import DEFAULT_TASK_FIELD, BudgetRound

R = BudgetRound

# Booking dates are the municipality's calendar days, not UTC ones.
BOOKING_ZONE = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True)
class Account:
    """A ledger account: its code, its names, balance sheet (B) or result (P), its normal side."""

    code: str
    name: str
    name_en: str
    kind: str  # "B" balance sheet, "P" profit and loss (XAF accTp)
    normal: str  # "D" or "C": the side on which its balance is normally positive
    beancount: str


BANK = Account("1100", "Bank fondsrekening bewonersbudget", "Bank: residents' budget fund account",
               "B", "D", "Assets:Bank")
PAYABLE = Account("1700", "Te betalen uitbetalingen", "Approved payouts payable",
                  "B", "C", "Liabilities:Payable")
SPENT = Account("4000", "Lasten bewonersinitiatieven", "Spending on residents' initiatives",
                "P", "D", "Expenses:Initiatives")
RETURNED = Account("4900", "Terugstorting aan gemeente", "Returned to the municipality",
                   "P", "D", "Expenses:Returned")
RECEIVED = Account("8000", "Ontvangen middelen bewonersbudget", "Funds received",
                   "P", "C", "Income:Received")
AVAILABLE = Account("0910", "Budget beschikbaar", "Budget available",
                    "B", "C", "Equity:Commitments:Available")
RESERVED = Account("0920", "Verplichtingen: gereserveerd voor initiatieven",
                   "Commitments: reserved for initiatives", "B", "C",
                   "Equity:Commitments:Reserved")
REQUESTED = Account("0930", "Verplichtingen: uitbetaling aangevraagd",
                    "Commitments: payouts requested", "B", "C", "Equity:Commitments:Requested")
BUDGET_CONTRA = Account("0990", "Budget tegenrekening", "Budget contra account",
                        "B", "D", "Equity:Commitments:Contra")

CHART: tuple[Account, ...] = (
    AVAILABLE, RESERVED, REQUESTED, BUDGET_CONTRA, BANK, PAYABLE, SPENT, RETURNED, RECEIVED,
)
ACCOUNTS = {account.code: account for account in CHART}


@dataclass(frozen=True)
class Line:
    """One side of a transaction: `amount` cents on `account`, debit ("D") or credit ("C")."""

    account: str
    side: str
    amount: int
    proposal_id: str = ""
    counterparty: str = ""  # the payee of a payout, the source of a deposit, a return's destination

    @property
    def signed(self) -> int:
        """Debit positive, credit negative."""
        return self.amount if self.side == "D" else -self.amount


@dataclass(frozen=True)
class RoundFacts:
    """What the ledger needs to know about a round to book its events."""

    round_id: str
    municipality_id: str
    neighbourhood_id: str
    task_field: str = DEFAULT_TASK_FIELD


@dataclass(frozen=True)
class PayoutFacts:
    """What the ledger needs to remember of a payout request for the events that follow it."""

    payee_name: str
    kind: str
    reference: str


@dataclass(frozen=True)
class Transaction:
    """One balanced journal transaction, booked from one event."""

    position: int  # the event's position in the log: the document number
    event_id: str  # the event's originator id and version
    event_type: str
    booked_at: datetime
    description: str
    round: RoundFacts
    lines: tuple[Line, ...]
    payout_id: str = ""
    booked_on: date | None = None  # the bank's booking date, where the event states it

    @property
    def booking_date(self) -> date:
        if self.booked_on is not None:
            return self.booked_on
        return self.booked_at.astimezone(BOOKING_ZONE).date()

    @property
    def debit_total(self) -> int:
        return sum(line.amount for line in self.lines if line.side == "D")

    @property
    def credit_total(self) -> int:
        return sum(line.amount for line in self.lines if line.side == "C")

    @property
    def document(self) -> str:
        return f"{self.position}/{self.event_id}"


class UnbalancedTransaction(ValueError):
    """A transaction whose debits differ from its credits: a bug in the booking rules."""


def _pair(debit: Account, credit: Account, amount: int, **tags: str) -> tuple[Line, Line]:
    return Line(debit.code, "D", amount, **tags), Line(credit.code, "C", amount, **tags)


def _payout_tags(event: Any, payout: PayoutFacts | None) -> dict[str, str]:
    return {"proposal_id": event.proposal_id, "counterparty": payout.payee_name if payout else ""}


def _bookings(event: Any, payout: PayoutFacts | None) -> tuple[str, tuple[Line, ...]] | None:
    """The description and lines for one event, or None for an event that moves no money."""
    if isinstance(event, R.FundsDeposited):
        tags = {"counterparty": event.source}
        reference = f" ({event.reference})" if event.reference else ""
        return f"Storting {event.source}{reference}", (
            *_pair(BANK, RECEIVED, event.amount, **tags),
            *_pair(BUDGET_CONTRA, AVAILABLE, event.amount, **tags),
        )
    if isinstance(event, R.TallyConfirmed):
        lines = tuple(
            line
            for proposal_id, amount in sorted(event.reservations.items())
            if amount
            for line in _pair(AVAILABLE, RESERVED, amount, proposal_id=proposal_id)
        )
        return ("Reservering winnende initiatieven", lines) if lines else None
    if isinstance(event, R.PayoutRequested):
        tags = {"proposal_id": event.proposal_id, "counterparty": event.payee_name_sealed}
        return f"Uitbetaling aangevraagd: {event.reference}", _pair(
            RESERVED, REQUESTED, event.amount, **tags
        )
    if isinstance(event, R.PayoutApproved):
        tags = _payout_tags(event, payout)
        return f"Uitbetaling goedgekeurd: {payout.reference if payout else event.payout_id}", (
            *_pair(REQUESTED, BUDGET_CONTRA, event.amount, **tags),
            *_pair(SPENT, PAYABLE, event.amount, **tags),
        )
    if isinstance(event, R.PayoutRejected):
        return f"Uitbetaling afgewezen: {event.reason}", _pair(
            REQUESTED, RESERVED, event.amount, **_payout_tags(event, payout)
        )
    if isinstance(event, R.PayoutPaid):
        return f"Uitbetaald, bankreferentie {event.bank_reference}", _pair(
            PAYABLE, BANK, event.amount, **_payout_tags(event, payout)
        )
    if isinstance(event, R.PayoutReversed):
        # The reversing entry of the approval and the payment together: the money is back in
        # the bank, the spending is undone, and the proposal's reservation is open again.
        tags = _payout_tags(event, payout)
        return f"Storno uitbetaling: {event.reason}", (
            *_pair(BANK, SPENT, event.amount, **tags),
            *_pair(BUDGET_CONTRA, RESERVED, event.amount, **tags),
        )
    if isinstance(event, R.UnspentReleased):
        if not event.amount:
            return None
        return "Vrijval niet bestede reservering", _pair(
            RESERVED, AVAILABLE, event.amount, proposal_id=event.proposal_id
        )
    if isinstance(event, R.Closed):
        if not event.returned:
            return None
        tags = {"counterparty": event.destination}
        return f"Terugstorting bij afsluiten naar {event.destination}", (
            *_pair(RETURNED, BANK, event.returned, **tags),
            *_pair(AVAILABLE, BUDGET_CONTRA, event.returned, **tags),
        )
    return None


MONEY_EVENTS: tuple[type, ...] = (
    R.FundsDeposited, R.TallyConfirmed, R.PayoutRequested, R.PayoutApproved,  # type: ignore[attr-defined]
    R.PayoutRejected, R.PayoutPaid, R.PayoutReversed, R.UnspentReleased, R.Closed,  # type: ignore[attr-defined]
)


def transaction_for(
    event: Any, *, position: int, round: RoundFacts, payout: PayoutFacts | None = None
) -> Transaction | None:
    """Book one round event; None when it moves no money (or moves zero cents).

    `payout` is what the payout's request said, for the events after the request.
    """
    booked = _bookings(event, payout)
    if booked is None:
        return None
    description, lines = booked
    paid_on = getattr(event, "paid_on", None)  # PayoutPaid from version 2 on, when known
    transaction = Transaction(
        position=position,
        event_id=f"{event.originator_id}:{event.originator_version}",
        event_type=type(event).__name__,
        booked_at=event.timestamp,
        description=description,
        round=round,
        lines=lines,
        payout_id=getattr(event, "payout_id", ""),
        booked_on=date.fromisoformat(paid_on) if paid_on else None,
    )
    if transaction.debit_total != transaction.credit_total:
        raise UnbalancedTransaction(f"{transaction.document} does not balance")
    return transaction


def round_facts_of(event: Any, task_field: str = DEFAULT_TASK_FIELD) -> RoundFacts:
    """The ledger's facts of a round, from its `Opened` event."""
    return RoundFacts(
        round_id=str(event.originator_id),
        municipality_id=str(event.municipality_id),
        neighbourhood_id=str(event.neighbourhood_id),
        task_field=task_field,
    )


def payout_facts_of(event: Any) -> PayoutFacts:
    """What the ledger remembers of a `PayoutRequested` event."""
    return PayoutFacts(
        payee_name=event.payee_name_sealed, kind=event.kind, reference=event.reference
    )


@dataclass
class Ledger:
    """An in-memory ledger of any number of rounds, fed their events in log order."""

    task_fields: dict[str, str] = field(default_factory=dict)  # round id -> Iv3 task field
    transactions: list[Transaction] = field(default_factory=list)
    # What later events need to know of their round and of their payout's request.
    _rounds: dict[str, RoundFacts] = field(default_factory=dict, init=False, repr=False)
    _payouts: dict[str, PayoutFacts] = field(default_factory=dict, init=False, repr=False)

    def post(self, event: Any, position: int) -> Transaction | None:
        """Book one event of the log (events of other aggregates are ignored)."""
        if isinstance(event, R.Opened):  # type: ignore[attr-defined]
            round_id = str(event.originator_id)
            facts = round_facts_of(event, self.task_fields.get(round_id, DEFAULT_TASK_FIELD))
            self._rounds[round_id] = facts
            return None
        if isinstance(event, R.TaskFieldSet):  # type: ignore[attr-defined]
            round_id = str(event.originator_id)
            self._rounds[round_id] = replace(self._rounds[round_id], task_field=event.task_field)
            return None
        if not isinstance(event, MONEY_EVENTS):
            return None
        if isinstance(event, R.PayoutRequested):  # type: ignore[attr-defined]
            self._payouts[event.payout_id] = payout_facts_of(event)
        transaction = transaction_for(
            event,
            position=position,
            round=self._rounds[str(event.originator_id)],
            payout=self._payouts.get(getattr(event, "payout_id", "")),
        )
        if transaction is not None:
            self.transactions.append(transaction)
        return transaction

    def post_all(self, events: Iterable[Any], start: int = 1) -> None:
        for position, event in enumerate(events, start=start):
            self.post(event, position)

    def lines(self) -> Iterator[tuple[Transaction, Line]]:
        for transaction in self.transactions:
            for line in transaction.lines:
                yield transaction, line

    def balances(self, round_id: str | None = None) -> dict[str, int]:
        """Each account's balance in cents, positive on its normal side."""
        return balances(
            line for transaction, line in self.lines()
            if round_id is None or transaction.round.round_id == round_id
        )


def balances(lines: Iterable[Line]) -> dict[str, int]:
    """Each account's balance in cents, positive on its normal side; every account present."""
    signed = dict.fromkeys(ACCOUNTS, 0)
    for line in lines:
        signed[line.account] += line.signed
    return {
        code: amount if ACCOUNTS[code].normal == "D" else -amount for code, amount in signed.items()
    }


def balances_of_round(budget_round: BudgetRound) -> dict[str, int]:
    """What each account's balance must be, from the round aggregate's own figures."""
    statuses: dict[str, int] = {"requested": 0, "approved": 0, "paid": 0}
    for payout in budget_round.payouts.values():
        if payout["status"] in statuses:
            statuses[payout["status"]] += payout["amount"]
    spent = statuses["approved"] + statuses["paid"]
    open_reservations = budget_round.total_reserved - sum(statuses.values())
    return {
        BANK.code: budget_round.deposited - budget_round.returned - statuses["paid"],
        PAYABLE.code: statuses["approved"],
        SPENT.code: spent,
        RETURNED.code: budget_round.returned,
        RECEIVED.code: budget_round.deposited,
        AVAILABLE.code: budget_round.available,
        RESERVED.code: open_reservations,
        REQUESTED.code: statuses["requested"],
        BUDGET_CONTRA.code: budget_round.deposited - budget_round.returned - spent,
    }
