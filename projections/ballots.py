"""Read model of the latest version of each cast ballot, for vote counts and turnout.

Rows carry the ballot's id (derived from a keyed hash of its code) and its choices, never a person.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from domain.ballot import Ballot, counts_in_tally, receipt_of_cast
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
    # The receipt's randomness (None for casts stored before receipts had one), and where the
    # cast is in the log: published once voting closed, so a voter can check the receipt and ask
    # for the cast's inclusion proof.
    sa.Column("nonce", sa.Text),
    sa.Column("position", sa.BigInteger),
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


# Who may vote in a round, and how many residents got a code from a register: turnout's base.
electorates = sa.Table(
    "rm_electorates",
    metadata,
    sa.Column("round_id", sa.Text, primary_key=True),
    sa.Column("rules", sa.JSON),
    sa.Column("eligible", sa.Integer, nullable=False),
)


# Version 1 of a ballot is its issue; version 2 its first cast.
FIRST_CAST_VERSION = 2


class BallotsProjection(ReadModel):
    name = "ballots"
    tables = (ballots, ballot_choices, closed_ballot_boxes, electorates)

    def prepare(self, batch: Batch, events: Sequence[tuple[int, Any]]) -> None:
        casts = [event for _position, event in events if isinstance(event, Ballot.Cast)]
        batch.rows(ballots).preload(
            str(event.originator_id) for event in casts
            if event.originator_version > FIRST_CAST_VERSION
        )
        batch.rows(closed_ballot_boxes).preload({str(event.round_id) for event in casts})

    def _change_electorate(self, batch: Batch, round_id: str, **values: Any) -> dict[str, Any]:
        rows = batch.rows(electorates)
        row = rows.get(round_id)
        if row is None:
            row = {"round_id": round_id, "rules": None, "eligible": 0}
            rows.insert(row)
        rows.update(round_id, **values)
        return row

    @handles(BudgetRound.EligibilitySet)  # type: ignore[attr-defined]
    def on_eligibility_set(self, batch: Batch, event: Any, position: int) -> None:
        self._change_electorate(batch, str(event.originator_id), rules={
            "minimum_age": event.minimum_age, "reference_date": event.reference_date,
            "postcodes": list(event.postcodes),
        })

    @handles(BudgetRound.RegisterImported)  # type: ignore[attr-defined]
    def on_register_imported(self, batch: Batch, event: Any, position: int) -> None:
        round_id = str(event.originator_id)
        current = batch.rows(electorates).get(round_id)
        eligible = (current["eligible"] if current else 0) + event.enrolled
        self._change_electorate(batch, round_id, eligible=eligible)

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
            "receipt": receipt_of_cast(event.originator_id, event.originator_version, event),
            "cast_at": event.timestamp.isoformat(),
            "nonce": event.nonce,
            "position": position,
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


def electorate(conn: sa.Connection, round_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(electorates).where(electorates.c.round_id == round_id)
    ).mappings().first()
    return None if row is None else dict(row)


def receipts(conn: sa.Connection, round_id: str) -> list[str]:
    """The receipts of the ballot versions that count, sorted: a voter finds theirs here."""
    query = sa.select(ballots.c.receipt).where(ballots.c.round_id == round_id).order_by(ballots.c.receipt)
    return list(conn.execute(query).scalars())


def published_ballots(
    conn: sa.Connection, round_id: str, *, after: str = "", limit: int = 1000,
    receipt: str | None = None,
) -> list[dict[str, Any]]:
    """The counted ballot versions by receipt (or the one with `receipt`), with their choices:
    anonymous, in receipt order."""
    query = (
        sa.select(ballots.c.ballot_id, ballots.c.receipt, ballots.c.nonce, ballots.c.position)
        .where(ballots.c.round_id == round_id, ballots.c.receipt > after)
        .order_by(ballots.c.receipt).limit(limit)
    )
    if receipt is not None:
        query = query.where(ballots.c.receipt == receipt)
    rows = conn.execute(query).all()
    ids = [row.ballot_id for row in rows]
    choices: dict[str, dict[str, int]] = {ballot_id: {} for ballot_id in ids}
    for start in range(0, len(ids), KEYS_PER_SELECT):
        chosen = conn.execute(
            sa.select(ballot_choices.c.ballot_id, ballot_choices.c.proposal_id,
                      ballot_choices.c.points)
            .where(ballot_choices.c.ballot_id.in_(ids[start:start + KEYS_PER_SELECT]))
        )
        for ballot_id, proposal_id, points in chosen:
            choices[ballot_id][proposal_id] = points
    return [
        {"receipt": row.receipt, "nonce": row.nonce, "position": row.position,
         "choices": choices[row.ballot_id]}
        for row in rows
    ]


def ballot_of(conn: sa.Connection, ballot_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(ballots).where(ballots.c.ballot_id == ballot_id)).mappings().first()
    if row is None:
        return None
    choices = conn.execute(
        sa.select(ballot_choices.c.proposal_id, ballot_choices.c.points)
        .where(ballot_choices.c.ballot_id == ballot_id)
    ).all()
    return {**dict(row), "choices": {pid: points for pid, points in choices}}
