"""Payment batches of a round for officials and auditors: what each holds, and its pain.001 file."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.errors import Conflict, NotFound
from domain.personal_data import ERASED
from projections.payouts import get_payout
from service.principal import Principal
from service.queries.visibility import PAYMENT_BATCH_READERS
from service.runtime import Runtime
from service.sepa_export import pain_001


def _as_listed(batch_id: str, batch: dict[str, Any]) -> dict[str, Any]:
    return {"batch_id": batch_id, **batch}


def list_payment_batches(rt: Runtime, principal: Principal, round_id: str) -> list[dict[str, Any]]:
    """Every batch of the round, the cancelled ones too, in the order they were exported."""
    principal.require(*PAYMENT_BATCH_READERS)
    budget_round = rt.application.get_round(UUID(round_id))
    return [_as_listed(batch_id, batch) for batch_id, batch in budget_round.payment_batches.items()]


def get_payment_batch(
    rt: Runtime, principal: Principal, round_id: str, batch_id: str
) -> dict[str, Any]:
    """One batch of the round: its payouts and amounts, paying account, execution date."""
    principal.require(*PAYMENT_BATCH_READERS)
    budget_round = rt.application.get_round(UUID(round_id))
    return _as_listed(batch_id, budget_round.payment_batch(batch_id))


def payment_batch_file(
    rt: Runtime, principal: Principal, round_id: str, batch_id: str, version: str
) -> bytes:
    """The batch as a pain.001 credit-transfer file: the same bytes every time it is asked for."""
    batch = get_payment_batch(rt, principal, round_id, batch_id)
    with rt.reading() as conn:
        payees = {line["payout_id"]: get_payout(conn, line["payout_id"]) for line in batch["payouts"]}
        missing = [payout_id for payout_id, payee in payees.items() if payee is None]
        if missing:
            raise NotFound(f"payouts {', '.join(missing)} are not in the payouts read model")
        rt.personal_data.open_rows(conn, list(payees.values()), ("payee_name", "iban"))
    erased = [p for p, payee in payees.items() if ERASED in (payee["payee_name"], payee["iban"])]
    if erased:
        raise Conflict(
            f"payouts {', '.join(erased)} of this batch cannot be paid: their payee's personal "
            "data was erased; cancel the batch and export a new one"
        )
    return pain_001(batch_id, batch, payees, version)  # type: ignore[arg-type]
