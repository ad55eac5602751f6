"""Read model of proposals: status, review outcome, money per proposal, and vote counts."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain.budget_round import BudgetRound
from domain.proposal import Proposal
from projections.tracking import ReadModel, handles, metadata

P = Proposal
R = BudgetRound

proposals = sa.Table(
    "rm_proposals",
    metadata,
    sa.Column("proposal_id", sa.String(36), primary_key=True),
    sa.Column("round_id", sa.String(36), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("summary", sa.String(500), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("category", sa.String(100), nullable=False),
    sa.Column("reference", sa.String(100), nullable=False),
    sa.Column("cost_lines", sa.JSON, nullable=False),
    sa.Column("requested_amount", sa.BigInteger, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("proposer_name", sa.String(200), nullable=False),
    sa.Column("proposer_email", sa.String(254), nullable=False),
    sa.Column("review_note", sa.Text),
    sa.Column("rejection_reason", sa.Text),
    sa.Column("withdrawal_reason", sa.Text),
    sa.Column("funded_amount", sa.BigInteger, nullable=False),
    sa.Column("pending_amount", sa.BigInteger, nullable=False),
    sa.Column("paid_amount", sa.BigInteger, nullable=False),
    sa.Column("unspent_returned", sa.BigInteger, nullable=False),
    sa.Column("completion_report", sa.Text),
    sa.Column("submitted_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)


class ProposalsProjection(ReadModel):
    name = "proposals"
    tables = (proposals,)

    def _update(self, conn: sa.Connection, proposal_id: Any, event: Any, **values: Any) -> None:
        conn.execute(
            sa.update(proposals).where(proposals.c.proposal_id == str(proposal_id))
            .values(updated_at=event.timestamp.isoformat(), **values)
        )

    @handles(P.Submitted)  # type: ignore[attr-defined]
    def on_submitted(self, conn: sa.Connection, event: Any, _position: int) -> None:
        conn.execute(sa.insert(proposals).values(
            proposal_id=str(event.originator_id), round_id=str(event.round_id), title=event.title,
            summary=event.summary, description=event.description, category=event.category,
            reference=event.reference,
            cost_lines=event.cost_lines, requested_amount=event.requested_amount,
            amount=event.requested_amount, status="submitted", proposer_name=event.proposer_name,
            proposer_email=event.proposer_email, funded_amount=0, pending_amount=0, paid_amount=0,
            unspent_returned=0, submitted_at=event.timestamp.isoformat(),
            updated_at=event.timestamp.isoformat(),
        ))

    @handles(P.Admitted)  # type: ignore[attr-defined]
    def on_admitted(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(
            conn, event.originator_id, event, status="admitted", amount=event.amount,
            review_note=event.note, rejection_reason=None,
        )

    @handles(P.Rejected)  # type: ignore[attr-defined]
    def on_rejected(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(
            conn, event.originator_id, event, status="rejected", rejection_reason=event.reason
        )

    @handles(P.Withdrawn)  # type: ignore[attr-defined]
    def on_withdrawn(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(
            conn, event.originator_id, event, status="withdrawn", withdrawal_reason=event.reason
        )

    @handles(P.Funded)  # type: ignore[attr-defined]
    def on_funded(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event.originator_id, event, status="funded", funded_amount=event.amount)

    @handles(P.NotSelected)  # type: ignore[attr-defined]
    def on_not_selected(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(conn, event.originator_id, event, status="not_selected")

    @handles(P.Completed)  # type: ignore[attr-defined]
    def on_completed(self, conn: sa.Connection, event: Any, _position: int) -> None:
        self._update(
            conn, event.originator_id, event, status="completed",
            completion_report=event.report, unspent_returned=event.unspent,
        )

    # Money per proposal comes from the round's payout events, which name their proposal.
    @handles(R.PayoutRequested)  # type: ignore[attr-defined]
    def on_payout_requested(self, conn: sa.Connection, event: Any, _position: int) -> None:
        c = proposals.c
        self._update(conn, event.proposal_id, event, pending_amount=c.pending_amount + event.amount)

    @handles(R.PayoutRejected)  # type: ignore[attr-defined]
    def on_payout_rejected(self, conn: sa.Connection, event: Any, _position: int) -> None:
        c = proposals.c
        self._update(conn, event.proposal_id, event, pending_amount=c.pending_amount - event.amount)

    @handles(R.PayoutPaid)  # type: ignore[attr-defined]
    def on_payout_paid(self, conn: sa.Connection, event: Any, _position: int) -> None:
        c = proposals.c
        self._update(
            conn, event.proposal_id, event,
            pending_amount=c.pending_amount - event.amount, paid_amount=c.paid_amount + event.amount,
        )

    @handles(R.PayoutReversed)  # type: ignore[attr-defined]
    def on_payout_reversed(self, conn: sa.Connection, event: Any, _position: int) -> None:
        c = proposals.c
        self._update(conn, event.proposal_id, event, paid_amount=c.paid_amount - event.amount)


def list_proposals(
    conn: sa.Connection,
    round_id: str,
    *,
    statuses: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Proposals of a round, in order of submission, optionally only those with `statuses`."""
    query = (
        sa.select(proposals).where(proposals.c.round_id == round_id)
        .order_by(proposals.c.submitted_at, proposals.c.proposal_id)
    )
    if statuses is not None:
        query = query.where(proposals.c.status.in_(statuses))
    return [dict(row) for row in conn.execute(query).mappings()]


def get_proposal(conn: sa.Connection, proposal_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(proposals).where(proposals.c.proposal_id == proposal_id)
    ).mappings().first()
    return dict(row) if row else None
