"""Read model of the double-entry ledger: one row per journal line, trial balances and statements.

The bookings themselves are `domain.ledger`'s; this read model stores their lines with everything
a filter needs (municipality, neighbourhood, round, proposal, booking date) beside them, and keeps
what later events need to know of a round and of a payout request.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import sqlalchemy as sa

from domain.budget_round import BudgetRound
from domain.ledger import (
    ACCOUNTS,
    MONEY_EVENTS,
    PayoutFacts,
    RoundFacts,
    Transaction,
    payout_facts_of,
    round_facts_of,
    transaction_for,
)
from domain.personal_data import ERASED, PersonalDataErasure, records_of_kind
from projections.tracking import Batch, ReadModel, handles, metadata

R = BudgetRound

ledger_rounds = sa.Table(
    "rm_ledger_rounds",
    metadata,
    sa.Column("round_id", sa.Text, primary_key=True),
    sa.Column("municipality_id", sa.Text, nullable=False),
    sa.Column("neighbourhood_id", sa.Text, nullable=False),
    sa.Column("task_field", sa.Text, nullable=False),
)

ledger_payouts = sa.Table(
    "rm_ledger_payouts",
    metadata,
    sa.Column("payout_id", sa.Text, primary_key=True),
    sa.Column("payee_name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("reference", sa.Text, nullable=False),
)

ledger_lines = sa.Table(
    "rm_ledger_lines",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("line_number", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("booking_date", sa.Text, nullable=False),  # ISO date: sorts as it reads
    sa.Column("booked_at", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("municipality_id", sa.Text, nullable=False),
    sa.Column("neighbourhood_id", sa.Text, nullable=False),
    sa.Column("round_id", sa.Text, nullable=False),
    sa.Column("proposal_id", sa.Text, nullable=False),
    sa.Column("payout_id", sa.Text, nullable=False),
    sa.Column("counterparty", sa.Text, nullable=False),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("side", sa.Text, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("task_field", sa.Text, nullable=False),
    sa.Index("ix_rm_ledger_lines_municipality", "municipality_id", "booking_date"),
    sa.Index("ix_rm_ledger_lines_round", "round_id", "booking_date"),
)

# The request is booked by its own handler, which also keeps what later payout events need.
BOOKED_AS_THEY_ARE = tuple(e for e in MONEY_EVENTS if e is not R.PayoutRequested)  # type: ignore[attr-defined]


def line_rows(transaction: Transaction) -> list[dict[str, Any]]:
    """The rows of one transaction's lines, as `rm_ledger_lines` keeps them."""
    facts = transaction.round
    return [
        {
            "position": transaction.position,
            "line_number": number,
            "event_id": transaction.event_id,
            "event_type": transaction.event_type,
            "booking_date": transaction.booking_date.isoformat(),
            "booked_at": transaction.booked_at.isoformat(),
            "description": transaction.description,
            "municipality_id": facts.municipality_id,
            "neighbourhood_id": facts.neighbourhood_id,
            "round_id": facts.round_id,
            "proposal_id": line.proposal_id,
            "payout_id": transaction.payout_id,
            "counterparty": line.counterparty,
            "account": line.account,
            "side": line.side,
            "amount": line.amount,
            "task_field": facts.task_field,
        }
        for number, line in enumerate(transaction.lines, start=1)
    ]


class LedgerProjection(ReadModel):
    name = "ledger"
    tables = (ledger_rounds, ledger_payouts, ledger_lines)

    def prepare(self, batch: Batch, events: Sequence[tuple[int, Any]]) -> None:
        batch.rows(ledger_rounds).preload(
            str(event.originator_id) for _position, event in events
            if not isinstance(event, R.Opened)  # type: ignore[attr-defined]
        )
        batch.rows(ledger_payouts).preload(
            event.payout_id for _position, event in events
            if getattr(event, "payout_id", None) is not None
            and not isinstance(event, R.PayoutRequested)  # type: ignore[attr-defined]
        )

    @handles(R.Opened)  # type: ignore[attr-defined]
    def on_opened(self, batch: Batch, event: Any, _position: int) -> None:
        facts = round_facts_of(event)
        batch.rows(ledger_rounds).insert(dict(
            round_id=facts.round_id, municipality_id=facts.municipality_id,
            neighbourhood_id=facts.neighbourhood_id, task_field=facts.task_field,
        ))

    @handles(R.TaskFieldSet)  # type: ignore[attr-defined]
    def on_task_field_set(self, batch: Batch, event: Any, _position: int) -> None:
        batch.rows(ledger_rounds).update(str(event.originator_id), task_field=event.task_field)

    @handles(R.PayoutRequested)  # type: ignore[attr-defined]
    def on_payout_requested(self, batch: Batch, event: Any, position: int) -> None:
        facts = payout_facts_of(event)
        batch.rows(ledger_payouts).insert(dict(
            payout_id=event.payout_id, payee_name=facts.payee_name, kind=facts.kind,
            reference=facts.reference,
        ))
        self._book(batch, event, position, facts)

    @handles(PersonalDataErasure.Erased)  # type: ignore[attr-defined]
    def on_erased(self, batch: Batch, event: Any, _position: int) -> None:
        payout_ids = records_of_kind(event.records, "payout")
        if not payout_ids:
            return
        for payout_id in payout_ids:
            batch.rows(ledger_payouts).update(payout_id, payee_name=ERASED)
        batch.flush()  # lines are only inserted: once written, they are changed in the database
        batch.conn.execute(
            sa.update(ledger_lines)
            .where(ledger_lines.c.payout_id.in_(payout_ids), ledger_lines.c.counterparty != "")
            .values(counterparty=ERASED)
        )

    @handles(*BOOKED_AS_THEY_ARE)
    def on_money_event(self, batch: Batch, event: Any, position: int) -> None:
        payout_id = getattr(event, "payout_id", None)
        payout = None
        if payout_id is not None:
            row = batch.rows(ledger_payouts).get(payout_id)
            payout = PayoutFacts(row["payee_name"], row["kind"], row["reference"]) if row else None
        self._book(batch, event, position, payout)

    @staticmethod
    def _book(batch: Batch, event: Any, position: int, payout: PayoutFacts | None) -> None:
        row = batch.rows(ledger_rounds).get(str(event.originator_id))
        if row is None:
            raise LookupError(f"no ledger round {event.originator_id}")
        transaction = transaction_for(
            event, position=position, round=RoundFacts(**row), payout=payout
        )
        if transaction is not None:
            lines = batch.rows(ledger_lines)
            for line in line_rows(transaction):
                lines.insert(line)


@dataclass(frozen=True)
class LedgerScope:
    """Which lines: of a municipality, neighbourhood, round or proposal, between two dates.

    `date_from` and `date_to` are inclusive booking dates; leave `date_from` out for everything
    up to `date_to` ("as of"), both out for all time.
    """

    municipality_id: str | None = None
    neighbourhood_id: str | None = None
    round_id: str | None = None
    proposal_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def where(self, *, dates: bool = True) -> list[Any]:
        c = ledger_lines.c
        conditions = [
            column == value
            for column, value in (
                (c.municipality_id, self.municipality_id),
                (c.neighbourhood_id, self.neighbourhood_id),
                (c.round_id, self.round_id),
                (c.proposal_id, self.proposal_id),
            )
            if value is not None
        ]
        if dates and self.date_from is not None:
            conditions.append(c.booking_date >= self.date_from.isoformat())
        if self.date_to is not None:
            conditions.append(c.booking_date <= self.date_to.isoformat())
        return conditions


LINE_ORDER = (ledger_lines.c.position, ledger_lines.c.line_number)


def iter_lines(
    conn: sa.Connection, scope: LedgerScope, *, extra: tuple[Any, ...] = (), chunk: int = 5000
) -> Iterator[dict[str, Any]]:
    """The scope's lines in document order (and `extra` conditions), read in chunks."""
    query = sa.select(ledger_lines).where(*scope.where(), *extra).order_by(*LINE_ORDER)
    for row in conn.execute(query.execution_options(yield_per=chunk)).mappings():
        yield dict(row)


def _signed_sum(condition: Any = None) -> Any:
    signed = sa.case((ledger_lines.c.side == "D", ledger_lines.c.amount), else_=-ledger_lines.c.amount)
    if condition is not None:
        signed = sa.case((condition, signed), else_=0)
    return sa.func.coalesce(sa.func.sum(signed), 0)


def trial_balance(conn: sa.Connection, scope: LedgerScope) -> list[dict[str, Any]]:
    """Per account: opening balance, debits and credits in the period, closing balance (cents).

    Balances are positive on the account's normal side; every account of the chart is listed.
    """
    c = ledger_lines.c
    in_period = c.booking_date >= scope.date_from.isoformat() if scope.date_from is not None else sa.true()
    before = c.booking_date < scope.date_from.isoformat() if scope.date_from is not None else sa.false()
    debit = sa.case((sa.and_(in_period, c.side == "D"), c.amount), else_=0)
    credit = sa.case((sa.and_(in_period, c.side == "C"), c.amount), else_=0)
    query = (
        sa.select(
            c.account,
            _signed_sum(before).label("opening"),
            sa.func.coalesce(sa.func.sum(debit), 0).label("debit"),
            sa.func.coalesce(sa.func.sum(credit), 0).label("credit"),
        )
        .where(*scope.where(dates=False))
        .group_by(c.account)
    )
    found = {row.account: row for row in conn.execute(query)}
    rows = []
    for code, account in sorted(ACCOUNTS.items()):
        row = found.get(code)
        opening, debit_total, credit_total = (
            (int(row.opening), int(row.debit), int(row.credit)) if row else (0, 0, 0)
        )
        sign = 1 if account.normal == "D" else -1
        rows.append({
            "account": code,
            "name": account.name,
            "kind": account.kind,
            "normal_side": account.normal,
            "opening": sign * opening,
            "debit": debit_total,
            "credit": credit_total,
            "closing": sign * (opening + debit_total - credit_total),
        })
    return rows


def account_statement(
    conn: sa.Connection, scope: LedgerScope, account: str
) -> dict[str, Any]:
    """One account's lines in the scope with a running balance, after its opening balance."""
    c = ledger_lines.c
    sign = 1 if ACCOUNTS[account].normal == "D" else -1
    opening = 0
    if scope.date_from is not None:
        opening = sign * int(conn.execute(
            sa.select(_signed_sum()).where(
                *replace(scope, date_from=None, date_to=None).where(),
                c.account == account, c.booking_date < scope.date_from.isoformat(),
            )
        ).scalar_one())
    balance = opening
    lines = []
    query = sa.select(ledger_lines).where(*scope.where(), c.account == account).order_by(*LINE_ORDER)
    for row in conn.execute(query).mappings():
        balance += sign * (row["amount"] if row["side"] == "D" else -row["amount"])
        lines.append({**dict(row), "balance": balance})
    return {"account": account, "name": ACCOUNTS[account].name, "opening": opening,
            "closing": balance, "lines": lines}
