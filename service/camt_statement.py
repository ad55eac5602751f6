"""Bank statements (CAMT.053, ISO 20022 BankToCustomerStatement) read safely into plain lines.

Statements come from outside, so they are parsed with `defusedxml`: a document type declaration,
entity or external reference is refused rather than expanded. Elements are found by local name,
so camt.053.001.02 (what Dutch banks send) and later versions read alike. Each transaction of a
booked entry is one line; an entry booked as a batch carries one transaction per transfer.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from domain.errors import RuleViolation

MAX_STATEMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class StatementLine:
    """One transfer on a statement: which entry, its amount in cents and what identifies it."""

    number: int  # 1-based, in the order of the statement: how reports name the line
    entry_reference: str
    end_to_end_id: str
    amount: int
    currency: str
    direction: str  # "DBIT": money out; "CRDT": money in
    status: str  # "BOOK" once the bank booked it
    booking_date: str
    creditor_iban: str


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Any, *path: str) -> Any:
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _children(element: Any, name: str) -> Iterator[Any]:
    return (c for c in element if _local(c.tag) == name) if element is not None else iter(())


def _text(element: Any, *path: str) -> str:
    found = _child(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _cents(amount: Any, where: str) -> tuple[int, str]:
    if amount is None:
        raise RuleViolation(f"{where} has no amount", field="statement")
    try:
        value = Decimal((amount.text or "").strip())
    except InvalidOperation:
        raise RuleViolation(f"{where}: amount {amount.text!r} is not a number", field="statement") from None
    cents = value * 100
    if cents != cents.to_integral_value() or value < 0:
        raise RuleViolation(f"{where}: amount {value} is not a whole number of cents", field="statement")
    return int(cents), amount.get("Ccy", "")


def parse_camt053(document: bytes) -> list[StatementLine]:
    """The transfers of every entry of every statement in a CAMT.053 document."""
    if len(document) > MAX_STATEMENT_BYTES:
        raise RuleViolation("the statement is larger than 20 MB", field="statement")
    try:
        root = fromstring(document, forbid_dtd=True)
    except DefusedXmlException:
        raise RuleViolation(
            "the statement must not declare a document type or entities", field="statement"
        ) from None
    except ParseError as error:
        raise RuleViolation(f"the statement is not well-formed XML ({error})", field="statement") from None
    report = _child(root, "BkToCstmrStmt")
    if _local(root.tag) != "Document" or report is None:
        raise RuleViolation("this is not a CAMT.053 bank statement", field="statement")
    lines: list[StatementLine] = []
    for statement in _children(report, "Stmt"):
        for entry_number, entry in enumerate(_children(statement, "Ntry"), start=1):
            lines.extend(_entry_lines(entry, entry_number, len(lines)))
    return lines


def _entry_lines(entry: Any, entry_number: int, before: int) -> list[StatementLine]:
    where = f"entry {entry_number}"
    entry_amount, currency = _cents(_child(entry, "Amt"), where)
    status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
    booking_date = _text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm")[:10]
    if booking_date:
        try:
            datetime.date.fromisoformat(booking_date)
        except ValueError:
            raise RuleViolation(f"{where}: booking date {booking_date!r} is not a date",
                                field="statement") from None
    common = {
        "entry_reference": _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef"),
        "direction": _text(entry, "CdtDbtInd"),
        "status": status,
        "booking_date": booking_date,
    }
    transactions = [
        tx for details in _children(entry, "NtryDtls") for tx in _children(details, "TxDtls")
    ]
    if not transactions:
        return [StatementLine(before + 1, end_to_end_id="", amount=entry_amount,
                              currency=currency, creditor_iban="", **common)]
    lines = []
    for offset, tx in enumerate(transactions, start=1):
        amount = _child(tx, "Amt")
        if amount is None:
            amount = _child(tx, "AmtDtls", "TxAmt", "Amt")
        cents, tx_currency = _cents(amount, where) if amount is not None else (entry_amount, currency)
        lines.append(StatementLine(
            before + offset,
            end_to_end_id=_text(tx, "Refs", "EndToEndId"),
            amount=cents,
            currency=tx_currency or currency,
            creditor_iban=_text(tx, "RltdPties", "CdtrAcct", "Id", "IBAN").replace(" ", "").upper(),
            **common,
        ))
    return lines
