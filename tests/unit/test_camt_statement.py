"""Reading CAMT.053 statements: one line per transfer, amounts in cents, hostile XML refused."""
from __future__ import annotations

import pytest

from domain.errors import RuleViolation
from service.camt_statement import parse_camt053
from tests.bank_statements import camt053


def test_each_transfer_of_a_batch_entry_is_a_line_in_cents() -> None:
    lines = parse_camt053(camt053({"e2e": "A1", "amount": 150_000}, {"e2e": "B2", "amount": 1}))

    assert [(line.number, line.end_to_end_id, line.amount) for line in lines] == [
        (1, "A1", 150_000), (2, "B2", 1)
    ]
    assert {(line.direction, line.status, line.booking_date, line.currency) for line in lines} == {
        ("DBIT", "BOOK", "2026-12-01", "EUR")
    }
    assert lines[0].entry_reference == "ING-20261201-77"
    assert lines[0].creditor_iban == "NL91ABNA0417164300"


@pytest.mark.parametrize("document, message", [
    (camt053({"e2e": "A", "amount": 1}).replace(b">0.01<", b">0.015<"), "whole number of cents"),
    (camt053({"e2e": "A", "amount": 1}).replace(b">0.01<", b">ten<"), "is not a number"),
    (camt053({"e2e": "A", "amount": 1}).replace(b"2026-12-01</Dt>", b"soon</Dt>"), "not a date"),
    (b'<?xml version="1.0"?><!DOCTYPE x><Document/>', "document type"),
])
def test_malformed_statements_are_refused_naming_the_problem(document: bytes, message: str) -> None:
    with pytest.raises(RuleViolation, match=message):
        parse_camt053(document)
