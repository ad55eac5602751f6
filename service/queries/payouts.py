"""Payouts of a round: all, with bank details, for officials and auditors; paid ones for others."""
from __future__ import annotations

from typing import Any

from domain.errors import NotFound
from projections import payouts
from service.principal import Principal
from service.queries import visibility
from service.queries.rounds import round_in
from service.runtime import Runtime

PAYEE_FIELDS = ("payee_name", "iban")  # envelopes in the read model


def list_payouts(
    rt: Runtime, principal: Principal, round_id: str, *, proposal_id: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Payouts of a round, in order of request, by proposal and status."""
    with rt.reading() as conn:
        round_in(conn, round_id)
        items = payouts.list_payouts(
            conn, round_id=round_id, proposal_id=proposal_id, status=status
        )
        rt.personal_data.open_rows(conn, items, PAYEE_FIELDS)
    return visibility.payouts_as_seen(principal, items)


def get_payout(rt: Runtime, principal: Principal, round_id: str, payout_id: str) -> dict[str, Any]:
    """One payout of a round."""
    with rt.reading() as conn:
        item = payouts.get_payout(conn, payout_id)
        if item is not None:
            rt.personal_data.open_rows(conn, [item], PAYEE_FIELDS)
    if item is None or item["round_id"] != round_id:
        raise NotFound(f"payout {payout_id} not found")
    return visibility.payout_as_seen(principal, item)
