"""Read model of proposals: status, review outcome, money per proposal, and vote counts."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from domain.balance import Balance
from domain.budget_round import BudgetRound
from domain.personal_data import ERASED, PersonalDataErasure, records_of_kind
from domain.proposal import Proposal
from projections.tracking import Batch, ReadModel, handles, metadata

P = Proposal
R = BudgetRound

proposals = sa.Table(
    "rm_proposals",
    metadata,
    sa.Column("proposal_id", sa.Text, primary_key=True),
    sa.Column("round_id", sa.Text, nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("cost_lines", sa.JSON, nullable=False),
    sa.Column("requested_amount", sa.BigInteger, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False, index=True),
    # Envelopes (domain/personal_data.py): sealed, plaintext of old events, or ERASED.
    sa.Column("proposer_name", sa.Text, nullable=False),
    sa.Column("proposer_email", sa.Text, nullable=False),
    sa.Column("review_note", sa.Text),
    sa.Column("rejection_reason", sa.Text),
    sa.Column("withdrawal_reason", sa.Text),
    sa.Column("funded_amount", sa.BigInteger, nullable=False),
    sa.Column("pending_amount", sa.BigInteger, nullable=False),
    sa.Column("paid_amount", sa.BigInteger, nullable=False),
    sa.Column("unspent_returned", sa.BigInteger, nullable=False),
    sa.Column("completion_report", sa.Text),
    sa.Column("submitted_at", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
)


class ProposalsProjection(ReadModel):
    name = "proposals"
    tables = (proposals,)

    def prepare(self, batch: Batch, events: Sequence[tuple[int, Any]]) -> None:
        batch.rows(proposals).preload(
            str(proposal_id_of(event)) for _position, event in events
            if not isinstance(event, (P.Submitted, PersonalDataErasure.Erased))  # type: ignore[attr-defined]
        )

    def _update(self, batch: Batch, event: Any, **values: Any) -> dict[str, Any] | None:
        return batch.rows(proposals).update(
            str(proposal_id_of(event)), updated_at=event.timestamp.isoformat(), **values
        )

    @handles(P.Submitted)  # type: ignore[attr-defined]
    def on_submitted(self, batch: Batch, event: Any, _position: int) -> None:
        batch.rows(proposals).insert(dict(
            proposal_id=str(event.originator_id), round_id=str(event.round_id), title=event.title,
            summary=event.summary, description=event.description, category=event.category,
            reference=event.reference,
            cost_lines=event.cost_lines, requested_amount=event.requested_amount,
            amount=event.requested_amount, status="submitted",
            proposer_name=event.proposer_name_sealed, proposer_email=event.proposer_email_sealed,
            funded_amount=0, pending_amount=0, paid_amount=0,
            unspent_returned=0, submitted_at=event.timestamp.isoformat(),
            updated_at=event.timestamp.isoformat(),
        ))

    @handles(P.Admitted)  # type: ignore[attr-defined]
    def on_admitted(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(
            batch, event, status="admitted", amount=event.amount, review_note=event.note,
            rejection_reason=None,
        )

    @handles(P.Rejected)  # type: ignore[attr-defined]
    def on_rejected(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event, status="rejected", rejection_reason=event.reason)

    @handles(P.Withdrawn)  # type: ignore[attr-defined]
    def on_withdrawn(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event, status="withdrawn", withdrawal_reason=event.reason)

    @handles(P.Funded)  # type: ignore[attr-defined]
    def on_funded(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event, status="funded", funded_amount=event.amount)

    @handles(P.NotSelected)  # type: ignore[attr-defined]
    def on_not_selected(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(batch, event, status="not_selected")

    @handles(P.Completed)  # type: ignore[attr-defined]
    def on_completed(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(
            batch, event, status="completed", completion_report=event.report,
            unspent_returned=event.unspent,
        )

    @handles(PersonalDataErasure.Erased)  # type: ignore[attr-defined]
    def on_erased(self, batch: Batch, event: Any, _position: int) -> None:
        for proposal_id in records_of_kind(event.records, "proposal"):
            batch.rows(proposals).update(proposal_id, proposer_name=ERASED, proposer_email=ERASED)

    # Money per proposal comes from the round's payout events, which name their proposal; it
    # moves by the same rules as the round's balance.
    def _move_money(self, batch: Batch, event: Any, move: str) -> None:
        row = self._update(batch, event)
        if row is not None:
            moved = getattr(Balance(pending=row["pending_amount"], paid=row["paid_amount"]), move)(
                event.amount
            )
            row.update(pending_amount=moved.pending, paid_amount=moved.paid)

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


def proposal_id_of(event: Any) -> Any:
    """The proposal an event is about: its own, or the one a round's payout event names."""
    return event.proposal_id if isinstance(event, BudgetRound.Event) else event.originator_id


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


def proposer_records(conn: sa.Connection) -> list[dict[str, str]]:
    """Every proposal's id with its proposer's name and e-mail envelopes, to find a person's."""
    query = sa.select(
        proposals.c.proposal_id, proposals.c.proposer_name, proposals.c.proposer_email
    ).where(proposals.c.proposer_email != ERASED)
    return [dict(row) for row in conn.execute(query).mappings()]
