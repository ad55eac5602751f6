"""From deposit through a SEPA batch and the bank's CAMT.053 statement to a carry-over, over HTTP.

The statements (`tests/bank_statements.py`) are written the way Dutch banks send
camt.053.001.02: one booked entry per batch with a transaction per transfer, each carrying the
EndToEndId the batch sent.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from service.sepa_export import end_to_end_id
from tests.bank_statements import camt053

PAYING = {"debtor_name": "Gemeente Amsterdam", "debtor_iban": "NL20INGB0001234567",
          "execution_date": "2026-12-01"}


def upload(api, document: bytes, *, as_: str = "official") -> Any:
    return api.call("POST", "/bank-statements", as_=as_, data=document,
                    content_type="application/xml")


def test_a_round_from_deposit_to_carry_over_agrees_with_its_ledger_and_the_bank(api, rounds):
    driven = rounds.to("execution")
    first = rounds.payout(driven, driven.winners[0], 150_000, until="approved")
    second = rounds.payout(driven, driven.winners[1], 99_999, until="approved")
    batch = driven.post("payment-batches", PAYING, status=201)
    pain = api.call("GET", f"{driven.url}/payment-batches/{batch['batch_id']}/pain.001",
                    as_="official").data.decode()
    sent = [end_to_end_id(p["payout_id"]) for p in (first, second)]
    assert all(f"<EndToEndId>{e2e}</EndToEndId>" in pain for e2e in sent)

    statement = camt053({"e2e": sent[0], "amount": 150_000}, {"e2e": sent[1], "amount": 99_999},
                        {"e2e": "NOTPROVIDED", "amount": 1_234})
    reconciled = upload(api, statement)
    again = upload(api, statement)

    assert reconciled.status_code == 200, reconciled.get_json()
    assert [line["outcome"] for line in reconciled.get_json()["lines"]] == [
        "paid", "paid", "unmatched"
    ]
    assert [line["outcome"] for line in again.get_json()["lines"]] == [
        "already paid", "already paid", "unmatched"
    ]
    paid = driven.get("payouts", as_="official")
    assert {p["status"] for p in paid} == {"paid"}
    assert paid[0]["bank_reference"] == "ING-20261201-77"
    statement_of_bank = api.get(f"/ledger/accounts/1100?round_id={driven.round_id}", as_="auditor")
    assert [line["booking_date"] for line in statement_of_bank["lines"]
            if line["event_type"] == "PayoutPaid"] == ["2026-12-01", "2026-12-01"]

    for proposal_id in driven.winners:
        driven.post(f"/proposals/{proposal_id}/complete", {"report": "done"})
    next_round = rounds.open(title="Oosterpark 2027")
    driven.post("carry-over", {"to_round_id": next_round})

    balances = driven.balances()
    assert (balances["paid"], balances["returned"]) == (249_999, 1_000_000 - 249_999)
    trial = api.get(f"/ledger/trial-balance?round_id={driven.round_id}", as_="auditor")
    closing = {row["account"]: row["closing"] for row in trial["accounts"]}
    assert closing["4000"] == balances["paid"] == sum(
        line["amount"] for line in reconciled.get_json()["lines"] if line["outcome"] == "paid"
    )
    assert closing["4900"] == balances["returned"]
    assert closing["1100"] == closing["1700"] == 0
    carried = api.get(f"/ledger/trial-balance?round_id={next_round}", as_="auditor")
    assert {r["account"]: r["closing"] for r in carried["accounts"]}["1100"] == balances["returned"]
    rows = list(csv.DictReader(io.StringIO(api.call(
        "GET", f"/ledger?format=csv&round_id={driven.round_id}", as_="auditor").data.decode())))
    bank_out = sum(Decimal(r["credit"]) for r in rows if r["account"] == "1100" and r["credit"])
    assert bank_out == Decimal("10000.00")  # 2,499.99 to payees + 7,500.01 carried over


def test_hostile_or_foreign_statements_are_refused_and_change_nothing(api, rounds):
    driven = rounds.to("execution")
    payout = rounds.payout(driven, driven.winners[0], 150_000, until="approved")
    e2e = end_to_end_id(payout["payout_id"])
    bomb = b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Document>&b;</Document>"""
    external = b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document>&x;</Document>"""
    cases = [
        (bomb, "must not declare a document type"),
        (external, "must not declare a document type"),
        (b"<Document><BkToCstmrStmt>", "not well-formed"),
        (b"<Document/>", "not a CAMT.053"),
        (camt053({"e2e": e2e, "amount": 150_000}, currency="USD"), "line 1: the amount is in USD"),
        (camt053({"e2e": e2e, "amount": 150_000, "iban": "NL02RABO0123456789"}),
         "line 1: the creditor account is not the payout's IBAN"),
        (b"", "send the CAMT.053 statement"),
    ]
    for document, message in cases:
        driven.refused("POST", "/bank-statements", status=422, message=message,
                       data=document, content_type="application/xml")
    driven.refused("POST", "/bank-statements", status=403, as_="auditor",
                   data=camt053({"e2e": e2e, "amount": 150_000}), content_type="application/xml")
    assert driven.get("payouts", as_="official")[0]["status"] == "approved"


def test_lines_that_do_not_fit_are_reported_and_nothing_is_paid(api, rounds):
    driven = rounds.to("execution")
    payout = rounds.payout(driven, driven.winners[0], 150_000, until="approved")
    e2e = end_to_end_id(payout["payout_id"])

    differs = upload(api, camt053({"e2e": e2e, "amount": 150_001})).get_json()
    pending = upload(api, camt053({"e2e": e2e, "amount": 150_000}, status="PDNG")).get_json()

    assert [line["outcome"] for line in differs["lines"]] == ["amount differs"]
    assert [line["outcome"] for line in pending["lines"]] == ["not booked"]
    assert differs["paid"] == pending["paid"] == 0
    assert driven.get("payouts", as_="official")[0]["status"] == "approved"
