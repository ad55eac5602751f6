"""Read model of the latest version of each cast ballot, and of the votes and turnout they add up to.

Rows carry the ballot's id (derived from a keyed hash of its code) and its choices, never a person.
The votes per proposal and the turnout per round are kept as counts that each batch of casts
changes, so a page showing them reads a row per proposal, not every ballot.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from domain.ballot import Ballot, canonical_choices, counts_in_tally, receipt_of_canonical
from domain.budget_round import BudgetRound
from projections.tracking import Batch, ReadModel, handles, metadata

ballots = sa.Table(
    "rm_ballots",
    metadata,
    sa.Column("ballot_id", sa.Text, primary_key=True),
    sa.Column("round_id", sa.Text, nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("receipt", sa.Text, nullable=False),
    sa.Column("cast_at", sa.Text, nullable=False),
    # The canonical JSON text the receipt digests (`domain.ballot.canonical_choices`).
    sa.Column("choices", sa.Text, nullable=False),
)

# Per round: how many ballots count, and where in the log voting closed. Ballots count up to the
# round's VotingClosed in log order; a cast stored after it (it raced the close) stays in the
# log but not in the count, here as in the tally.
ballot_boxes = sa.Table(
    "rm_ballot_boxes",
    metadata,
    sa.Column("round_id", sa.Text, primary_key=True),
    sa.Column("ballots_cast", sa.Integer, nullable=False, default=0),
    sa.Column("closed_at_position", sa.BigInteger),
)

# Per proposal named on at least one counted ballot: on how many, and the points they give it.
vote_counts_table = sa.Table(
    "rm_vote_counts",
    metadata,
    sa.Column("round_id", sa.Text, primary_key=True),
    sa.Column("proposal_id", sa.Text, primary_key=True),
    sa.Column("ballots", sa.Integer, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
)


# Version 1 of a ballot is its issue; version 2 its first cast.
FIRST_CAST_VERSION = 2


class BallotsProjection(ReadModel):
    name = "ballots"
    tables = (ballots, ballot_boxes, vote_counts_table)

    def prepare(self, batch: Batch, events: Sequence[tuple[int, Any]]) -> None:
        casts = [event for _position, event in events if isinstance(event, Ballot.Cast)]
        batch.rows(ballots).preload(
            str(event.originator_id) for event in casts
            if event.originator_version > FIRST_CAST_VERSION
        )
        batch.rows(ballot_boxes).preload({str(event.round_id) for event in casts})

    @handles(BudgetRound.VotingClosed)  # type: ignore[attr-defined]
    def on_voting_closed(self, batch: Batch, event: Any, position: int) -> None:
        round_id = str(event.originator_id)
        boxes = batch.rows(ballot_boxes)
        if boxes.update(round_id, closed_at_position=position) is None:
            boxes.insert(dict(round_id=round_id, closed_at_position=position))

    @handles(Ballot.Cast)  # type: ignore[attr-defined]
    def on_cast(self, batch: Batch, event: Any, position: int) -> None:
        round_id = str(event.round_id)
        box = batch.rows(ballot_boxes).get(round_id)
        if not counts_in_tally(position, box and box["closed_at_position"]):
            return
        ballot_id = str(event.originator_id)
        version = event.originator_version
        canonical = canonical_choices(event.choices)
        values = {
            "round_id": round_id, "version": version,
            "receipt": receipt_of_canonical(ballot_id, version, canonical),
            "cast_at": event.timestamp.isoformat(), "choices": canonical,
        }
        rows = batch.rows(ballots)
        # A ballot's first cast has no row to replace, so it needs no lookup: most casts are
        # first casts, and a rebuild writes them all.
        previous = None if version == FIRST_CAST_VERSION else rows.get(ballot_id)
        if previous is None:
            rows.insert({"ballot_id": ballot_id, **values})
        else:
            counted_before = batch.scratch.setdefault("counted_before", {})
            if ballot_id not in counted_before and rows.stored(ballot_id):
                # The choices the counts hold for this ballot until this batch is written.
                counted_before[ballot_id] = previous["choices"]
            rows.update(ballot_id, **values)
        batch.scratch.setdefault("final", {})[ballot_id] = (round_id, event.choices)

    def finish(self, batch: Batch) -> None:
        """Move the counts by the batch's ballots: add their final choices, take away the old."""
        final: dict[str, tuple[str, dict[str, int]]] = batch.scratch.pop("final", {})
        counted_before: dict[str, str] = batch.scratch.pop("counted_before", {})
        if not final:
            return
        named: dict[str, Counter[str]] = {}  # round -> proposal -> ballots naming it
        points: dict[str, Counter[str]] = {}  # round -> proposal -> points given to it
        new_ballots: Counter[str] = Counter()
        for ballot_id, (round_id, choices) in final.items():
            if round_id not in named:
                named[round_id], points[round_id] = Counter(), Counter()
            named[round_id].update(choices.keys())
            points[round_id].update(choices)
            if ballot_id in counted_before:
                earlier = json.loads(counted_before[ballot_id])
                named[round_id].subtract(earlier.keys())
                points[round_id].subtract(earlier)
            else:
                new_ballots[round_id] += 1
        self._add_to_counts(batch, named, points)
        boxes = batch.rows(ballot_boxes)
        for round_id, added in new_ballots.items():
            box = boxes.get(round_id)
            if box is None:
                boxes.insert(dict(round_id=round_id, ballots_cast=added))
            else:
                boxes.update(round_id, ballots_cast=box["ballots_cast"] + added)

    @staticmethod
    def _add_to_counts(
        batch: Batch, named: dict[str, Counter[str]], points: dict[str, Counter[str]]
    ) -> None:
        counts = batch.rows(vote_counts_table)
        changes = [
            ((round_id, pid), named[round_id][pid], points[round_id][pid])
            for round_id in named for pid in named[round_id].keys() | points[round_id].keys()
        ]
        counts.preload(key for key, _named, _points in changes)
        for key, more_ballots, more_points in changes:
            row = counts.get(key)
            if row is None:
                if more_ballots:
                    counts.insert(dict(
                        round_id=key[0], proposal_id=key[1], ballots=more_ballots,
                        points=more_points,
                    ))
            elif row["ballots"] + more_ballots == 0:
                # No counted ballot names it any more: no row, as a rebuild would leave it.
                counts.delete(key)
            elif more_ballots or more_points:
                counts.update(
                    key, ballots=row["ballots"] + more_ballots, points=row["points"] + more_points
                )


def vote_counts(conn: sa.Connection, round_id: str) -> dict[str, tuple[int, int]]:
    """proposal id -> (number of ballots naming it, points given to it)."""
    c = vote_counts_table.c
    query = sa.select(c.proposal_id, c.ballots, c.points).where(c.round_id == round_id)
    return {pid: (count, int(points)) for pid, count, points in conn.execute(query)}


def turnout(conn: sa.Connection, round_id: str) -> int:
    """How many ballots count in the round."""
    found = conn.execute(
        sa.select(ballot_boxes.c.ballots_cast).where(ballot_boxes.c.round_id == round_id)
    ).scalar_one_or_none()
    return found or 0


def receipts(conn: sa.Connection, round_id: str) -> list[str]:
    """The receipts of the ballot versions that count, sorted: a voter finds theirs here."""
    query = sa.select(ballots.c.receipt).where(ballots.c.round_id == round_id).order_by(ballots.c.receipt)
    return list(conn.execute(query).scalars())


def ballot_of(conn: sa.Connection, ballot_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(ballots).where(ballots.c.ballot_id == ballot_id)).mappings().first()
    if row is None:
        return None
    return {**dict(row), "choices": json.loads(row["choices"])}
