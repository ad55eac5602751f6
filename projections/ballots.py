"""Read model of the latest version of each cast ballot, for vote counts and turnout.

Rows carry the ballot's id (derived from a keyed hash of its code) and its choices, never a person.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain.ballot import Ballot, counts_in_tally, receipt_for
from domain.budget_round import BudgetRound
from projections.tracking import ReadModel, handles, metadata

ballots = sa.Table(
    "rm_ballots",
    metadata,
    sa.Column("ballot_id", sa.String(36), primary_key=True),
    sa.Column("round_id", sa.String(36), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("receipt", sa.String(64), nullable=False),
    sa.Column("cast_at", sa.String(40), nullable=False),
)

ballot_choices = sa.Table(
    "rm_ballot_choices",
    metadata,
    sa.Column("ballot_id", sa.String(36), primary_key=True),
    sa.Column("proposal_id", sa.String(36), primary_key=True),
    sa.Column("round_id", sa.String(36), nullable=False, index=True),
    sa.Column("points", sa.Integer, nullable=False),
)


# Ballots count up to the round's VotingClosed in log order; a cast stored after it (it raced the
# close) stays in the log but not in the count, here as in the tally.
closed_ballot_boxes = sa.Table(
    "rm_closed_ballot_boxes",
    metadata,
    sa.Column("round_id", sa.String(36), primary_key=True),
    sa.Column("closed_at_position", sa.BigInteger, nullable=False),
)


class BallotsProjection(ReadModel):
    name = "ballots"
    tables = (ballots, ballot_choices, closed_ballot_boxes)

    @handles(BudgetRound.VotingClosed)  # type: ignore[attr-defined]
    def on_voting_closed(self, conn: sa.Connection, event: Any, position: int) -> None:
        conn.execute(sa.insert(closed_ballot_boxes).values(
            round_id=str(event.originator_id), closed_at_position=position
        ))

    @handles(Ballot.Cast)  # type: ignore[attr-defined]
    def on_cast(self, conn: sa.Connection, event: Any, position: int) -> None:
        closed_at = conn.execute(
            sa.select(closed_ballot_boxes.c.closed_at_position)
            .where(closed_ballot_boxes.c.round_id == str(event.round_id))
        ).scalar()
        if not counts_in_tally(position, closed_at):
            return
        ballot_id = str(event.originator_id)
        values = {
            "round_id": str(event.round_id),
            "version": event.originator_version,
            "receipt": receipt_for(event.originator_id, event.originator_version, event.choices),
            "cast_at": event.timestamp.isoformat(),
        }
        replaced = conn.execute(
            sa.update(ballots).where(ballots.c.ballot_id == ballot_id).values(**values)
        ).rowcount
        if replaced:
            conn.execute(sa.delete(ballot_choices).where(ballot_choices.c.ballot_id == ballot_id))
        else:
            conn.execute(sa.insert(ballots).values(ballot_id=ballot_id, **values))
        if event.choices:
            conn.execute(sa.insert(ballot_choices), [
                {"ballot_id": ballot_id, "proposal_id": pid, "round_id": str(event.round_id),
                 "points": points}
                for pid, points in event.choices.items()
            ])


def vote_counts(conn: sa.Connection, round_id: str) -> dict[str, tuple[int, int]]:
    """proposal id -> (number of ballots naming it, points given to it)."""
    c = ballot_choices.c
    query = (
        sa.select(c.proposal_id, sa.func.count(), sa.func.sum(c.points))
        .where(c.round_id == round_id).group_by(c.proposal_id)
    )
    return {pid: (count, int(points)) for pid, count, points in conn.execute(query)}


def turnout(conn: sa.Connection, round_id: str) -> int:
    return conn.execute(
        sa.select(sa.func.count()).select_from(ballots).where(ballots.c.round_id == round_id)
    ).scalar_one()


def receipts(conn: sa.Connection, round_id: str) -> list[str]:
    """The receipts of the ballot versions that count, sorted: a voter finds theirs here."""
    query = sa.select(ballots.c.receipt).where(ballots.c.round_id == round_id).order_by(ballots.c.receipt)
    return list(conn.execute(query).scalars())


def ballot_of(conn: sa.Connection, ballot_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(ballots).where(ballots.c.ballot_id == ballot_id)).mappings().first()
    if row is None:
        return None
    choices = conn.execute(
        sa.select(ballot_choices.c.proposal_id, ballot_choices.c.points)
        .where(ballot_choices.c.ballot_id == ballot_id)
    ).all()
    return {**dict(row), "choices": {pid: points for pid, points in choices}}
