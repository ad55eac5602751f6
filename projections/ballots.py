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

from domain.ballot import Ballot, canonical_choices, counts_in_tally, receipt_of_cast
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
    # The choices as canonical JSON text (`domain.ballot.canonical_choices`).
    sa.Column("choices", sa.Text, nullable=False),
    # The receipt's randomness (None for casts stored before receipts had one), and where the
    # cast is in the log: published once voting closed, so a voter can check the receipt and ask
    # for the cast's inclusion proof.
    sa.Column("nonce", sa.Text),
    sa.Column("position", sa.BigInteger),
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
    tables = (ballots, ballot_boxes, vote_counts_table, electorates)
    former_tables = ("rm_ballot_choices", "rm_closed_ballot_boxes")

    def prepare(self, batch: Batch, events: Sequence[tuple[int, Any]]) -> None:
        casts = [event for _position, event in events if isinstance(event, Ballot.Cast)]
        batch.rows(ballots).preload(
            str(event.originator_id) for event in casts
            if event.originator_version > FIRST_CAST_VERSION
        )
        batch.rows(ballot_boxes).preload({str(event.round_id) for event in casts})

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
            "receipt": receipt_of_cast(event.originator_id, version, event, canonical),
            "cast_at": event.timestamp.isoformat(), "choices": canonical,
            "nonce": event.nonce, "position": position,
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
        sa.select(ballots.c.receipt, ballots.c.nonce, ballots.c.position, ballots.c.choices)
        .where(ballots.c.round_id == round_id, ballots.c.receipt > after)
        .order_by(ballots.c.receipt).limit(limit)
    )
    if receipt is not None:
        query = query.where(ballots.c.receipt == receipt)
    return [
        {"receipt": row.receipt, "nonce": row.nonce, "position": row.position,
         "choices": json.loads(row.choices)}
        for row in conn.execute(query)
    ]


def ballot_of(conn: sa.Connection, ballot_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(ballots).where(ballots.c.ballot_id == ballot_id)).mappings().first()
    if row is None:
        return None
    return {**dict(row), "choices": json.loads(row["choices"])}
