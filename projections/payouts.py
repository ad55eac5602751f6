"""Read model of payouts: who asked, who approved, who paid, and where each one stands."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from domain.budget_round import BudgetRound
from domain.personal_data import ERASED, PersonalDataErasure, records_of_kind
from projections.tracking import Batch, ReadModel, handles, metadata

R = BudgetRound

payouts = sa.Table(
    "rm_payouts",
    metadata,
    sa.Column("payout_id", sa.Text, primary_key=True),
    sa.Column("round_id", sa.Text, nullable=False, index=True),
    sa.Column("proposal_id", sa.Text, nullable=False, index=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    # Envelopes (domain/personal_data.py): sealed, plaintext of old events, or ERASED.
    sa.Column("payee_name", sa.Text, nullable=False),
    sa.Column("iban", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("requested_at", sa.Text, nullable=False),
    sa.Column("decided_by", sa.Text),
    sa.Column("decided_at", sa.Text),
    sa.Column("rejection_reason", sa.Text),
    sa.Column("bank_reference", sa.Text),
    sa.Column("paid_by", sa.Text),
    sa.Column("paid_at", sa.Text),
    sa.Column("reversal_reason", sa.Text),
    sa.Column("reversed_by", sa.Text),
    sa.Column("reversed_at", sa.Text),
)


class PayoutsProjection(ReadModel):
    name = "payouts"
    tables = (payouts,)

    def prepare(self, batch: Batch, events: Sequence[tuple[int, Any]]) -> None:
        batch.rows(payouts).preload(
            event.payout_id for _position, event in events
            if not isinstance(event, (R.PayoutRequested, PersonalDataErasure.Erased))  # type: ignore[attr-defined]
        )

    def _update(self, batch: Batch, event: Any, **values: Any) -> None:
        batch.rows(payouts).update(event.payout_id, **values)

    @handles(R.PayoutRequested)  # type: ignore[attr-defined]
    def on_requested(self, batch: Batch, event: Any, _position: int) -> None:
        batch.rows(payouts).insert(dict(
            payout_id=event.payout_id, round_id=str(event.originator_id),
            proposal_id=event.proposal_id, amount=event.amount,
            payee_name=event.payee_name_sealed, iban=event.iban_sealed, kind=event.kind, reference=event.reference,
            description=event.description, status="requested", requested_by=event.actor,
            requested_at=event.timestamp.isoformat(),
        ))

    @handles(PersonalDataErasure.Erased)  # type: ignore[attr-defined]
    def on_erased(self, batch: Batch, event: Any, _position: int) -> None:
        for payout_id in records_of_kind(event.records, "payout"):
            batch.rows(payouts).update(payout_id, payee_name=ERASED, iban=ERASED)

    @handles(R.PayoutApproved)  # type: ignore[attr-defined]
    def on_approved(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(
            batch, event, status="approved", decided_by=event.actor,
            decided_at=event.timestamp.isoformat(),
        )

    @handles(R.PayoutRejected)  # type: ignore[attr-defined]
    def on_rejected(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(
            batch, event, status="rejected", decided_by=event.actor,
            decided_at=event.timestamp.isoformat(), rejection_reason=event.reason,
        )

    @handles(R.PayoutPaid)  # type: ignore[attr-defined]
    def on_paid(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(
            batch, event, status="paid", bank_reference=event.bank_reference, paid_by=event.actor,
            paid_at=event.timestamp.isoformat(),
        )

    @handles(R.PayoutReversed)  # type: ignore[attr-defined]
    def on_reversed(self, batch: Batch, event: Any, _position: int) -> None:
        self._update(
            batch, event, status="reversed", reversal_reason=event.reason, reversed_by=event.actor,
            reversed_at=event.timestamp.isoformat(),
        )


def list_payouts(
    conn: sa.Connection, *, round_id: str, proposal_id: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    query = (
        sa.select(payouts).where(payouts.c.round_id == round_id)
        .order_by(payouts.c.requested_at, payouts.c.payout_id)
    )
    if proposal_id:
        query = query.where(payouts.c.proposal_id == proposal_id)
    if status:
        query = query.where(payouts.c.status == status)
    return [dict(row) for row in conn.execute(query).mappings()]


def get_payout(conn: sa.Connection, payout_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(payouts).where(payouts.c.payout_id == payout_id)).mappings().first()
    return dict(row) if row else None


def payee_records(conn: sa.Connection) -> list[dict[str, str]]:
    """Every payout's id with its payee's name and IBAN envelopes, to find a person's."""
    query = sa.select(payouts.c.payout_id, payouts.c.payee_name, payouts.c.iban).where(
        payouts.c.iban != ERASED
    )
    return [dict(row) for row in conn.execute(query).mappings()]
