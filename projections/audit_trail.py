"""Read model of the audit trail: every event of places, rounds and proposals with who, when, why.

Ballot events are left out on purpose: they are anonymous and many; voters and auditors check them
through receipts and the recount instead.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.domain import Aggregate

from domain.budget_round import BudgetRound
from domain.municipality import Municipality
from domain.neighbourhood import Neighbourhood
from domain.personal_data import ERASED, PersonalDataErasure, records_of_kind
from domain.proposal import Proposal
from projections.tracking import Batch, ReadModel, handles, metadata

audit_events = sa.Table(
    "rm_audit_events",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("aggregate_id", sa.Text, nullable=False, index=True),
    sa.Column("aggregate_type", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("round_id", sa.Text, index=True),
    sa.Column("proposal_id", sa.Text, index=True),
    sa.Column("payout_id", sa.Text, index=True),
    sa.Column("data", sa.JSON, nullable=False),
)

ENVELOPE = ("originator_id", "originator_version", "timestamp")
# The fields of events that hold personal data (as envelopes: domain/personal_data.py).
PERSONAL_FIELDS = ("proposer_name_sealed", "proposer_email_sealed", "payee_name_sealed", "iban_sealed")


def event_classes(*aggregates: type[Aggregate]) -> list[type]:
    """Every event class an aggregate declares (including its created event)."""
    found = []
    for aggregate in aggregates:
        for value in vars(aggregate).values():
            if isinstance(value, type) and issubclass(value, Aggregate.Event):
                found.append(value)
    return found


def plain(value: Any) -> Any:
    """Event attributes as JSON values (UUIDs as strings)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class AuditTrailProjection(ReadModel):
    name = "audit_trail"
    tables = (audit_events,)

    @handles(*event_classes(Municipality, Neighbourhood, BudgetRound, Proposal))
    def on_event(self, batch: Batch, event: Any, position: int) -> None:
        data = {k: plain(v) for k, v in vars(event).items() if k not in ENVELOPE}
        aggregate_type, event_type = type(event).__qualname__.split(".", 1)
        aggregate_id = str(event.originator_id)
        if aggregate_type == "BudgetRound":
            round_id, proposal_id = aggregate_id, data.get("proposal_id")
        elif aggregate_type == "Proposal":
            proposal_id = aggregate_id
            round_id = data.get("round_id") or self._round_of(batch, aggregate_id)
        else:
            round_id = proposal_id = None
        if round_id is not None:
            batch.scratch.setdefault("round_of", {})[aggregate_id] = round_id
        batch.rows(audit_events).insert(dict(
            position=position, aggregate_id=aggregate_id, aggregate_type=aggregate_type,
            version=event.originator_version, event_type=event_type,
            occurred_at=event.timestamp.isoformat(), actor=data.get("actor"),
            reason=data.get("reason"), round_id=round_id, proposal_id=proposal_id,
            payout_id=data.get("payout_id"), data=data,
        ))

    @handles(PersonalDataErasure.Erased)  # type: ignore[attr-defined]
    def on_erased(self, batch: Batch, event: Any, position: int) -> None:
        """Erase the personal fields of the records' events; the erasure is a row of its own."""
        c = audit_events.c
        batch.rows(audit_events).insert(dict(
            position=position, aggregate_id=str(event.originator_id),
            aggregate_type="PersonalDataErasure", version=event.originator_version,
            event_type="Erased", occurred_at=event.timestamp.isoformat(), actor=event.actor,
            reason=event.reason, round_id=None, proposal_id=None, payout_id=None,
            data={k: plain(v) for k, v in vars(event).items() if k not in ENVELOPE},
        ))
        proposal_ids = records_of_kind(event.records, "proposal")
        payout_ids = records_of_kind(event.records, "payout")
        batch.flush()  # rows are only inserted: once written, they are changed in the database
        holding = sa.or_(
            sa.and_(c.aggregate_type == "Proposal", c.event_type == "Submitted",
                    c.aggregate_id.in_(proposal_ids)),
            sa.and_(c.event_type == "PayoutRequested", c.payout_id.in_(payout_ids)),
        )
        for row in batch.conn.execute(sa.select(c.position, c.data).where(holding)).all():
            data = {k: ERASED if k in PERSONAL_FIELDS else v for k, v in row.data.items()}
            batch.conn.execute(
                sa.update(audit_events).where(c.position == row.position).values(data=data)
            )

    @staticmethod
    def _round_of(batch: Batch, aggregate_id: str) -> str | None:
        """The round an earlier event of this aggregate named (in this batch or before)."""
        known = batch.scratch.get("round_of", {})
        if aggregate_id in known:
            return known[aggregate_id]
        return batch.conn.execute(
            sa.select(audit_events.c.round_id)
            .where(audit_events.c.aggregate_id == aggregate_id).limit(1)
        ).scalar()


def audit_trail(
    conn: sa.Connection,
    *,
    aggregate_id: str | None = None,
    round_id: str | None = None,
    proposal_id: str | None = None,
    limit: int = 1000,
    after: int = 0,
) -> list[dict[str, Any]]:
    """Events in log order, filtered to one aggregate, round or proposal."""
    c = audit_events.c
    query = sa.select(audit_events).where(c.position > after).order_by(c.position).limit(limit)
    if aggregate_id:
        query = query.where(c.aggregate_id == aggregate_id)
    if round_id:
        query = query.where(c.round_id == round_id)
    if proposal_id:
        query = query.where(c.proposal_id == proposal_id)
    return [dict(row) for row in conn.execute(query).mappings()]
