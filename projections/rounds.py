"""Read model of budget rounds: phase, settings, balances, deposits and recorded tallies."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from domain.balance import Balance
from domain.budget_round import BudgetRound
from projections.tracking import Batch, ReadModel, handles, metadata

R = BudgetRound

rounds = sa.Table(
    "rm_rounds",
    metadata,
    sa.Column("round_id", sa.Text, primary_key=True),
    sa.Column("municipality_id", sa.Text, nullable=False, index=True),
    sa.Column("neighbourhood_id", sa.Text, nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("phase", sa.Text, nullable=False),
    sa.Column("schedule", sa.JSON, nullable=False),
    sa.Column("voting", sa.JSON, nullable=False),
    sa.Column("lot_seed", sa.Text, nullable=False),
    sa.Column("ballot", sa.JSON),  # proposal id -> cost, once voting opened
    sa.Column("codes_issued", sa.Integer, nullable=False, default=0),
    sa.Column("proposals_submitted", sa.Integer, nullable=False, default=0),
    sa.Column("deposited", sa.BigInteger, nullable=False, default=0),
    sa.Column("reserved", sa.BigInteger, nullable=False, default=0),
    sa.Column("pending", sa.BigInteger, nullable=False, default=0),
    sa.Column("paid", sa.BigInteger, nullable=False, default=0),
    sa.Column("returned", sa.BigInteger, nullable=False, default=0),
    sa.Column("confirmed_tally_id", sa.Text),
    sa.Column("opened_at", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

deposits = sa.Table(
    "rm_deposits",
    metadata,
    sa.Column("deposit_id", sa.Text, primary_key=True),
    sa.Column("round_id", sa.Text, nullable=False, index=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("deposited_at", sa.Text, nullable=False),
)

tallies = sa.Table(
    "rm_tallies",
    metadata,
    sa.Column("tally_id", sa.Text, primary_key=True),
    sa.Column("round_id", sa.Text, nullable=False, index=True),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.Text, nullable=False),
    sa.Column("confirmed_by", sa.Text),
    sa.Column("confirmed_at", sa.Text),
)


MONEY = tuple(Balance.__dataclass_fields__)


def balance_of(row: dict[str, Any]) -> Balance:
    return Balance(**{name: row[name] for name in MONEY})


class RoundsProjection(ReadModel):
    name = "rounds"
    tables = (rounds, deposits, tallies)

    def prepare(self, batch: Batch, events: Sequence[tuple[int, Any]]) -> None:
        batch.rows(rounds).preload(str(event.originator_id) for _position, event in events)

    def _update(self, batch: Batch, event: Any, **values: Any) -> dict[str, Any] | None:
        return batch.rows(rounds).update(
            str(event.originator_id), updated_at=event.timestamp.isoformat(),
            version=event.originator_version, **values,
        )

    def _move_money(self, batch: Batch, event: Any, move: str) -> None:
        row = self._update(batch, event)
        if row is not None:
            row.update(getattr(balance_of(row), move)(event.amount).as_dict())

    @handles(R.Opened)  # type: ignore[attr-defined]
    def on_opened(self, batch: Batch, event: Any, _position: int) -> None:
        batch.rows(rounds).insert(dict(
            round_id=str(event.originator_id), municipality_id=str(event.municipality_id),
            neighbourhood_id=str(event.neighbourhood_id), title=event.title,
            description=event.description, phase="submission", schedule=event.schedule,
            voting=event.voting, lot_seed=event.lot_seed, ballot=None, codes_issued=0,
            proposals_submitted=0, **Balance().as_dict(),
            opened_at=event.timestamp.isoformat(), updated_at=event.timestamp.isoformat(),
            version=event.originator_version,
        ))

    @handles(R.SettingsChanged)  # type: ignore[attr-defined]
    def on_settings(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event, schedule=event.schedule, voting=event.voting)

    @handles(R.FundsDeposited)  # type: ignore[attr-defined]
    def on_deposit(self, batch: Batch, event: Any, _position: int) -> None:
        self._move_money(batch, event, "deposit")
        batch.rows(deposits).insert(dict(
            deposit_id=event.deposit_id, round_id=str(event.originator_id), amount=event.amount,
            source=event.source, reference=event.reference, actor=event.actor,
            deposited_at=event.timestamp.isoformat(),
        ))

    @handles(R.ProposalReceived)  # type: ignore[attr-defined]
    def on_proposal(self, batch: Batch, event: Any, _position: int) -> None:
        row = self._update(batch, event)
        if row is not None:
            row["proposals_submitted"] += 1

    @handles(  # type: ignore[attr-defined]
        R.ProposalReviewed, R.PayoutApproved,
    )
    def on_no_change_but_the_version(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event)

    @handles(R.SubmissionsClosed)  # type: ignore[attr-defined]
    def on_submissions_closed(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event, phase="review")

    @handles(R.VotingOpened)  # type: ignore[attr-defined]
    def on_voting_opened(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event, phase="voting", ballot=event.ballot)

    @handles(R.VotingCodesIssued)  # type: ignore[attr-defined]
    def on_codes(self, batch: Batch, event: Any, _position: int) -> None:
        row = self._update(batch, event)
        if row is not None:
            row["codes_issued"] += event.count

    @handles(R.RegisterImported)  # type: ignore[attr-defined]
    def on_register_imported(self, batch: Batch, event: Any, _position: int) -> None:
        row = self._update(batch, event)
        if row is not None:
            row["codes_issued"] += event.enrolled

    @handles(R.EligibilitySet)  # type: ignore[attr-defined]
    def on_eligibility_set(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event)

    @handles(R.VotingClosed)  # type: ignore[attr-defined]
    def on_voting_closed(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event, phase="decided")

    @handles(R.TallyRecorded)  # type: ignore[attr-defined]
    def on_tally(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event)
        batch.rows(tallies).insert(dict(
            tally_id=event.tally_id, round_id=str(event.originator_id), result=event.result,
            recorded_by=event.actor, recorded_at=event.timestamp.isoformat(),
        ))

    @handles(R.TallyConfirmed)  # type: ignore[attr-defined]
    def on_confirmed(self, batch: Batch, event: Any, _position: int) -> None:
        row = self._update(batch, event, phase="execution", confirmed_tally_id=event.tally_id)
        if row is not None:
            row.update(balance_of(row).reserve(sum(event.reservations.values())).as_dict())
        batch.rows(tallies).update(
            event.tally_id, confirmed_by=event.actor, confirmed_at=event.timestamp.isoformat()
        )

    @handles(R.PayoutRequested)  # type: ignore[attr-defined]
    def on_payout_requested(self, batch: Batch, event: Any, _position: int) -> None:
        self._move_money(batch, event, "request_payout")

    @handles(R.PayoutRejected)  # type: ignore[attr-defined]
    def on_payout_rejected(self, batch: Batch, event: Any, _position: int) -> None:
        self._move_money(batch, event, "reject_payout")

    @handles(R.PayoutPaid)  # type: ignore[attr-defined]
    def on_payout_paid(self, batch: Batch, event: Any, _position: int) -> None:
        self._move_money(batch, event, "pay")

    @handles(R.PayoutReversed)  # type: ignore[attr-defined]
    def on_payout_reversed(self, batch: Batch, event: Any, _position: int) -> None:
        self._move_money(batch, event, "reverse_payout")

    @handles(R.UnspentReleased)  # type: ignore[attr-defined]
    def on_released(self, batch: Batch, event: Any, _position: int) -> None:
        self._move_money(batch, event, "release")

    @handles(R.Closed)  # type: ignore[attr-defined]
    def on_closed(self, batch: Batch, event: Any, _position: int) -> None:
        row = self._update(batch, event, phase="closed")
        if row is not None:
            row.update(balance_of(row).give_back(event.returned).as_dict())


def _with_balances(row: Any) -> dict[str, Any]:
    item = dict(row)
    item["available"] = balance_of(item).available
    return item


def list_rounds(
    conn: sa.Connection, *, neighbourhood_id: str | None = None, phase: str | None = None
) -> list[dict[str, Any]]:
    query = sa.select(rounds).order_by(rounds.c.opened_at, rounds.c.round_id)
    if neighbourhood_id:
        query = query.where(rounds.c.neighbourhood_id == neighbourhood_id)
    if phase:
        query = query.where(rounds.c.phase == phase)
    return [_with_balances(row) for row in conn.execute(query).mappings()]


def get_round(conn: sa.Connection, round_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(rounds).where(rounds.c.round_id == round_id)).mappings().first()
    return _with_balances(row) if row else None


def list_deposits(conn: sa.Connection, round_id: str) -> list[dict[str, Any]]:
    query = (
        sa.select(deposits).where(deposits.c.round_id == round_id)
        .order_by(deposits.c.deposited_at, deposits.c.deposit_id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def list_tallies(conn: sa.Connection, round_id: str) -> list[dict[str, Any]]:
    query = (
        sa.select(tallies).where(tallies.c.round_id == round_id)
        .order_by(tallies.c.recorded_at, tallies.c.tally_id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]
