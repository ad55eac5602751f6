"""The public money trail of a proposal: what was reserved, paid and released, and which signed
checkpoint of the audit log covers it. No payee names, IBANs or references: amounts, dates, statuses
and the kind of payee only.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from projections import payouts
from projections.audit_trail import audit_events
from service.checkpoints import checkpoints
from service.merkle_store import leaves
from service.principal import Principal
from service.queries.proposals import get_proposal
from service.runtime import Runtime

PAYOUT_FIELDS = ("payout_id", "amount", "kind", "status", "requested_at", "decided_at", "paid_at",
                 "reversed_at")


def money_trail(rt: Runtime, principal: Principal, proposal_id: str) -> dict[str, Any]:
    """Reserved, each payout, completion and release of one proposal, with its covering checkpoint."""
    proposal = get_proposal(rt, principal, proposal_id)  # 404 where the proposal is not public
    with rt.reading() as conn:
        items = payouts.list_payouts(conn, round_id=proposal["round_id"], proposal_id=proposal_id)
        last_event = conn.execute(
            sa.select(sa.func.max(audit_events.c.position)).where(sa.or_(
                audit_events.c.proposal_id == proposal_id,
                audit_events.c.payout_id.in_([p["payout_id"] for p in items]),
            ))
        ).scalar()
        covered_by = _covering_checkpoint(conn, last_event)
    return {
        "proposal_id": proposal_id,
        "round_id": proposal["round_id"],
        "title": proposal["title"],
        "status": proposal["status"],
        "reserved": proposal["funded_amount"],
        "pending": proposal["pending_amount"],
        "paid": proposal["paid_amount"],
        "released": proposal["unspent_returned"],
        "completed": proposal["status"] == "completed",
        "payouts": [{field: item[field] for field in PAYOUT_FIELDS} for item in items],
        "last_notification_id": last_event,
        "covered_by": covered_by,
    }


def _covering_checkpoint(conn: sa.Connection, notification_id: int | None) -> dict[str, Any] | None:
    """The first signed checkpoint whose tree holds this event (None: not yet checkpointed)."""
    if notification_id is None:
        return None
    position = conn.execute(
        sa.select(leaves.c.position).where(leaves.c.notification_id == notification_id)
    ).scalar()
    if position is None:
        return None
    row = conn.execute(
        sa.select(checkpoints.c.id, checkpoints.c.tree_size, checkpoints.c.root_hash,
                  checkpoints.c.created_at)
        .where(checkpoints.c.tree_size > position).order_by(checkpoints.c.id).limit(1)
    ).first()
    if row is None:
        return None
    return {"id": row.id, "tree_size": row.tree_size, "root_hash": bytes(row.root_hash).hex(),
            "created_at": row.created_at, "position": position}
