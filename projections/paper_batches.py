"""Read model of paper-ballot batches: who entered each, how many ballots, and who confirmed or
discarded it. The choices stay in the log: a batch's row holds counts and names only, so the
list is safe to show while voting is open."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain.paper_ballots import PaperBatch
from projections.tracking import Batch, ReadModel, handles, metadata

paper_batches = sa.Table(
    "rm_paper_batches",
    metadata,
    sa.Column("batch_id", sa.Text, primary_key=True),
    sa.Column("round_id", sa.Text, nullable=False, index=True),
    sa.Column("ballots", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("entered_by", sa.Text, nullable=False),
    sa.Column("entered_at", sa.Text, nullable=False),
    sa.Column("decided_by", sa.Text),
    sa.Column("decided_at", sa.Text),
    sa.Column("reason", sa.Text),
)


class PaperBatchesProjection(ReadModel):
    name = "paper_batches"
    tables = (paper_batches,)

    @handles(PaperBatch.Entered)  # type: ignore[attr-defined]
    def on_entered(self, batch: Batch, event: Any, _position: int) -> None:
        batch.rows(paper_batches).insert({
            "batch_id": str(event.originator_id), "round_id": str(event.round_id),
            "ballots": len(event.entries), "status": "entered", "entered_by": event.actor,
            "entered_at": event.timestamp.isoformat(),
        })

    @handles(PaperBatch.Confirmed, PaperBatch.Discarded)  # type: ignore[attr-defined]
    def on_decided(self, batch: Batch, event: Any, _position: int) -> None:
        batch.rows(paper_batches).update(
            str(event.originator_id), decided_by=event.actor,
            decided_at=event.timestamp.isoformat(), reason=getattr(event, "reason", None),
            status="confirmed" if isinstance(event, PaperBatch.Confirmed) else "discarded",
        )


def list_paper_batches(conn: sa.Connection, round_id: str) -> list[dict[str, Any]]:
    """A round's batches, newest first."""
    rows = conn.execute(
        sa.select(paper_batches).where(paper_batches.c.round_id == round_id)
        .order_by(paper_batches.c.entered_at.desc(), paper_batches.c.batch_id)
    ).mappings()
    return [dict(row) for row in rows]
