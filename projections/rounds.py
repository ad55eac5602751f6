"""Read model of budget rounds: phase, settings, balances, deposits and recorded tallies."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain.budget_round import BudgetRound
from projections.tracking import ReadModel, handles, metadata

R = BudgetRound

rounds = sa.Table(
    "rm_rounds",
    metadata,
    sa.Column("round_id", sa.String(36), primary_key=True),
    sa.Column("municipality_id", sa.String(36), nullable=False, index=True),
    sa.Column("neighbourhood_id", sa.String(36), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("phase", sa.String(20), nullable=False),
    sa.Column("schedule", sa.JSON, nullable=False),
    sa.Column("voting", sa.JSON, nullable=False),
    sa.Column("lot_seed", sa.String(64), nullable=False),
    sa.Column("ballot", sa.JSON),  # proposal id -> cost, once voting opened
    sa.Column("codes_issued", sa.Integer, nullable=False, default=0),
    sa.Column("proposals_submitted", sa.Integer, nullable=False, default=0),
    sa.Column("deposited", sa.BigInteger, nullable=False, default=0),
    sa.Column("reserved", sa.BigInteger, nullable=False, default=0),
    sa.Column("pending", sa.BigInteger, nullable=False, default=0),
    sa.Column("paid", sa.BigInteger, nullable=False, default=0),
    sa.Column("returned", sa.BigInteger, nullable=False, default=0),
    sa.Column("confirmed_tally_id", sa.String(36)),
    sa.Column("opened_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

deposits = sa.Table(
    "rm_deposits",
    metadata,
    sa.Column("deposit_id", sa.String(36), primary_key=True),
    sa.Column("round_id", sa.String(36), nullable=False, index=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("reference", sa.String(200), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("deposited_at", sa.String(40), nullable=False),
)

tallies = sa.Table(
    "rm_tallies",
    metadata,
    sa.Column("tally_id", sa.String(36), primary_key=True),
    sa.Column("round_id", sa.String(36), nullable=False, index=True),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("recorded_by", sa.String(100), nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Column("confirmed_by", sa.String(100)),
    sa.Column("confirmed_at", sa.String(40)),
)


class RoundsProjection(ReadModel):
    name = "rounds"
    tables = (rounds, deposits, tallies)

    def _update(self, conn: sa.Connection, event: Any, **values: Any) -> None:
        conn.execute(
            sa.update(rounds)
            .where(rounds.c.round_id == str(event.originator_id))
            .values(updated_at=event.timestamp.isoformat(), version=event.originator_version, **values)
        )

    @handles(R.Opened)  # type: ignore[attr-defined]
    def on_opened(self, conn: sa.Connection, event: Any, _position: int) -> None:
        conn.execute(sa.insert(rounds).values(
            round_id=str(event.originator_id), municipality_id=str(event.municipality_id),
            neighbourhood_id=str(event.neighbourhood_id), title=event.title,
            description=event.description, phase="submission", schedule=event.schedule,
            voting=event.voting, lot_seed=event.lot_seed, ballot=None, codes_issued=0,
            proposals_submitted=0, deposited=0, reserved=0, pending=0, paid=0, returned=0,
            opened_at=event.timestamp.isoformat(), updated_at=event.timestamp.isoformat(),
            version=event.originator_version,
        ))

    @handles(R.SettingsChanged)  # type: ignore[attr-defined]
    def on_settings(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, schedule=event.schedule, voting=event.voting)

    @handles(R.FundsDeposited)  # type: ignore[attr-defined]
    def on_deposit(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, deposited=rounds.c.deposited + event.amount)
        conn.execute(sa.insert(deposits).values(
            deposit_id=event.deposit_id, round_id=str(event.originator_id), amount=event.amount,
            source=event.source, reference=event.reference, actor=event.actor,
            deposited_at=event.timestamp.isoformat(),
        ))

    @handles(R.ProposalReceived)  # type: ignore[attr-defined]
    def on_proposal(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, proposals_submitted=rounds.c.proposals_submitted + 1)

    @handles(R.ProposalReviewed)  # type: ignore[attr-defined]
    def on_review(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event)

    @handles(R.SubmissionsClosed)  # type: ignore[attr-defined]
    def on_submissions_closed(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, phase="review")

    @handles(R.VotingOpened)  # type: ignore[attr-defined]
    def on_voting_opened(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, phase="voting", ballot=event.ballot)

    @handles(R.VotingCodesIssued)  # type: ignore[attr-defined]
    def on_codes(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, codes_issued=rounds.c.codes_issued + event.count)

    @handles(R.VotingClosed)  # type: ignore[attr-defined]
    def on_voting_closed(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, phase="decided")

    @handles(R.TallyRecorded)  # type: ignore[attr-defined]
    def on_tally(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event)
        conn.execute(sa.insert(tallies).values(
            tally_id=event.tally_id, round_id=str(event.originator_id), result=event.result,
            recorded_by=event.actor, recorded_at=event.timestamp.isoformat(),
        ))

    @handles(R.TallyConfirmed)  # type: ignore[attr-defined]
    def on_confirmed(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(
            conn, event, phase="execution", confirmed_tally_id=event.tally_id,
            reserved=rounds.c.reserved + sum(event.reservations.values()),
        )
        conn.execute(
            sa.update(tallies).where(tallies.c.tally_id == event.tally_id)
            .values(confirmed_by=event.actor, confirmed_at=event.timestamp.isoformat())
        )

    @handles(R.PayoutRequested)  # type: ignore[attr-defined]
    def on_payout_requested(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, pending=rounds.c.pending + event.amount)

    @handles(R.PayoutApproved)  # type: ignore[attr-defined]
    def on_payout_approved(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event)

    @handles(R.PayoutRejected)  # type: ignore[attr-defined]
    def on_payout_rejected(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, pending=rounds.c.pending - event.amount)

    @handles(R.PayoutPaid)  # type: ignore[attr-defined]
    def on_payout_paid(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(
            conn, event, pending=rounds.c.pending - event.amount, paid=rounds.c.paid + event.amount
        )

    @handles(R.PayoutReversed)  # type: ignore[attr-defined]
    def on_payout_reversed(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, paid=rounds.c.paid - event.amount)

    @handles(R.UnspentReleased)  # type: ignore[attr-defined]
    def on_released(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, reserved=rounds.c.reserved - event.amount)

    @handles(R.Closed)  # type: ignore[attr-defined]
    def on_closed(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event, phase="closed", returned=rounds.c.returned + event.returned)


def _with_balances(row: Any) -> dict[str, Any]:
    item = dict(row)
    # Reserved money includes what was paid from it; available is neither reserved nor returned.
    item["available"] = item["deposited"] - item["returned"] - item["reserved"]
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
