"""Bank statement reconciliation: booked transfers on a CAMT.053 statement mark their payouts paid.

A line matches a payout by its EndToEndId (the payout id without dashes, as the payment batch sent
it). The whole statement is checked before anything is recorded: a statement in another currency,
or a matched line whose creditor IBAN is not the payout's, is refused with the line named and
nothing changes. Otherwise each booked outgoing line whose amount equals its approved payout marks
that payout paid, with the bank's reference and booking date (the statement is the second pair
of eyes: the importing official may have requested or approved it); lines without a payout, with
another amount, not yet booked, or for a payout already paid are reported and change nothing, so
importing the same statement again changes nothing.
"""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain.errors import RuleViolation
from domain.personal_data import ERASED
from projections.payouts import get_payout
from service.camt_statement import StatementLine, parse_camt053


def _payout_of(rt: Any, conn: Any, line: StatementLine) -> dict[str, Any] | None:
    if len(line.end_to_end_id) != 32:
        return None
    try:
        payout_id = str(UUID(hex=line.end_to_end_id))
    except ValueError:
        return None
    payout = get_payout(conn, payout_id)
    if payout is not None:
        rt.personal_data.open_rows(conn, [payout], ("iban",))
    return payout


def _outcome(line: StatementLine, payout: dict[str, Any] | None) -> str:
    if line.direction != "DBIT":
        return "not a payment"
    if line.status != "BOOK" or not line.booking_date:
        return "not booked"
    if payout is None:
        return "unmatched"
    if line.amount != payout["amount"]:
        return "amount differs"
    if payout["status"] == "paid":
        return "already paid"
    if payout["status"] != "approved":
        return f"payout is {payout['status']}"
    return "paid"


def reconcile_statement(rt: Any, document: bytes, *, actor: str) -> dict[str, Any]:
    """Check the whole statement, then mark every matching approved payout paid; a report."""
    lines = parse_camt053(document)
    with rt.reading() as conn:
        matched = [(line, _payout_of(rt, conn, line)) for line in lines]
    for line, payout in matched:
        if line.currency != "EUR":
            raise RuleViolation(
                f"line {line.number}: the amount is in {line.currency or 'no currency'}, "
                "payouts are in EUR", field="statement",
            )
        # An erased IBAN cannot be compared: the statement's line is taken as the bank says it.
        if (payout is not None and line.creditor_iban and payout["iban"] != ERASED
                and line.creditor_iban != payout["iban"]):
            raise RuleViolation(
                f"line {line.number}: the creditor account is not the payout's IBAN "
                f"(payout {payout['payout_id']})", field="statement",
            )
    report = []
    for line, payout in matched:
        outcome = _outcome(line, payout)
        if outcome == "paid" and payout is not None:
            rt.application.record_bank_payment(
                UUID(payout["round_id"]), payout["payout_id"], actor=actor,
                bank_reference=(line.entry_reference or line.end_to_end_id)[:140],
                paid_on=date.fromisoformat(line.booking_date),
            )
        report.append({
            "line": line.number, "end_to_end_id": line.end_to_end_id or None,
            "amount": line.amount, "booking_date": line.booking_date or None,
            "bank_reference": line.entry_reference or None, "outcome": outcome,
            "payout_id": payout["payout_id"] if payout else None,
            "round_id": payout["round_id"] if payout else None,
        })
    return {
        "lines": report,
        "paid": sum(1 for item in report if item["outcome"] == "paid"),
        "unchanged": sum(1 for item in report if item["outcome"] != "paid"),
    }
