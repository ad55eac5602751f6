"""Read model of the latest version of each cast ballot, for vote counts and turnout.

Rows carry the ballot's id (derived from a keyed hash of its code) and its choices, never a person.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from domain.ballot import Ballot, counts_in_tally, receipt_for
from domain.budget_round import BudgetRound
from projections.tracking import (
    KEYS_PER_SELECT, Batch, ReadModel, bulk_insert, handles, metadata,
)

ballots = sa.Table(
    "rm_ballots",
    metadata,
    sa.Column("ballot_id", sa.Text, primary_key=True),
    sa.Column("round_id", sa.Text, nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("receipt", sa.Text, nullable=False),
    sa.Column("cast_at", sa.Text, nullable=False),
)

ballot_choices = sa.Table(
    "rm_ballot_choices",
    metadata,
    sa.Column("ballot_id", sa.Text, primary_key=True),
    sa.Column("proposal_id", sa.Text, primary_key=True),
    sa.Column("round_id", sa.Text, nullable=False, index=True),
    sa.Column("points", sa.BigInteger, nullable=False),
)


# Ballots count up to the round's VotingClosed in log order; a cast stored after it (it raced the
# close) stays in the log but not in the count, here as in the tally.
closed_ballot_boxes = sa.Table(
    "rm_closed_ballot_boxes",
    metadata,
    sa.Column("round_id", sa.Text, primary_key=True),
    sa.Column("closed_at_position", sa.BigInteger, nullable=False),
)


# Version 1 of a ballot is its issue; version 2 its first cast.
FIRST_CAST_VERSION = 2


class BallotsProjection(ReadModel):
    name = "ballots"
    tables = (ballots, ballot_choices, closed_ballot_boxes)

    def prepare(self, batch: Batch, events: Sequence[tuple[int, Any]]) -> None:
        casts = [event for _position, event in events if isinstance(event, Ballot.Cast)]
        batch.rows(ballots).preload(
            str(event.originator_id) for event in casts
            if event.originator_version > FIRST_CAST_VERSION
        )
        batch.rows(closed_ballot_boxes).preload({str(event.round_id) for event in casts})

    @handles(BudgetRound.VotingClosed)  # type: ignore[attr-defined]
    def on_voting_closed(self, batch: Batch, event: Any, position: int) -> None:
        batch.rows(closed_ballot_boxes).insert(dict(
            round_id=str(event.originator_id), closed_at_position=position
        ))

    @handles(Ballot.Cast)  # type: ignore[attr-defined]
    def on_cast(self, batch: Batch, event: Any, position: int) -> None:
        round_id = str(event.round_id)
        closed = batch.rows(closed_ballot_boxes).get(round_id)
        if not counts_in_tally(position, closed and closed["closed_at_position"]):
            return
        ballot_id = str(event.originator_id)
        rows = batch.rows(ballots)
        values = {
            "round_id": round_id,
            "version": event.originator_version,
            "receipt": receipt_for(event.originator_id, event.originator_version, event.choices),
            "cast_at": event.timestamp.isoformat(),
        }
        # A ballot's first cast has no row to replace, so it needs no lookup: most casts are
        # first casts, and a rebuild writes them all.
        if event.originator_version == FIRST_CAST_VERSION:
            rows.insert({"ballot_id": ballot_id, **values})
        elif rows.update(ballot_id, **values) is None:
            rows.insert({"ballot_id": ballot_id, **values})
        elif rows.stored(ballot_id):
            # A later version replaces the choices of an earlier one; only those already
            # written need deleting, a version earlier in this batch never reaches the database.
            batch.scratch.setdefault("replaced", set()).add(ballot_id)
        batch.scratch.setdefault("choices", {})[ballot_id] = (round_id, event.choices)

    def finish(self, batch: Batch) -> None:
        choices: dict[str, tuple[str, dict[str, int]]] = batch.scratch.pop("choices", {})
        ids = list(batch.scratch.pop("replaced", ()))
        for start in range(0, len(ids), KEYS_PER_SELECT):
            batch.conn.execute(
                sa.delete(ballot_choices)
                .where(ballot_choices.c.ballot_id.in_(ids[start:start + KEYS_PER_SELECT]))
            )
        rows = [
            {"ballot_id": ballot_id, "proposal_id": pid, "round_id": round_id, "points": points}
            for ballot_id, (round_id, chosen) in choices.items()
            for pid, points in chosen.items()
        ]
        bulk_insert(batch.conn, ballot_choices, rows)


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
