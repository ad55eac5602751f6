"""A round's money through a real gunicorn: deposit, tally, approved payouts, SEPA, CAMT, carry-over.

The bank statement is built from the exported batch's EndToEndIds and amounts, as the bank would
book it, and the ledger's trial balance, the round balances and the statement must agree to the cent.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from tests.bank_statements import IBAN, camt053
from tests.e2e.test_round_through_http import Api, proposal_body

PAIN = "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}"
PAYING_IBAN = "NL20INGB0001234567"


def closing_of(trial: dict) -> dict[str, int]:
    return {row["account"]: row["closing"] for row in trial["accounts"]}


def test_money_from_deposit_to_bank_statement_to_carry_over(server):
    api = Api(server)
    try:
        run_the_money(api, server)
    finally:
        api.client.close()


def run_the_money(api: Api, server) -> None:
    municipality = api.post("/municipalities", {"name": "Utrecht"}, who="anna", expect=201)
    account = api.call("PUT", f"/municipalities/{municipality['municipality_id']}/paying-account",
                       json={"name": "Gemeente Utrecht", "iban": PAYING_IBAN}, who="anna")
    assert account["iban"] == PAYING_IBAN
    neighbourhood = api.post("/neighbourhoods", {
        "municipality_id": municipality["municipality_id"], "name": "Lombok",
    }, who="anna", expect=201)
    round_id = api.post("/rounds", {
        "neighbourhood_id": neighbourhood["neighbourhood_id"], "title": "Lombok 2026",
        "voting": {"method": "approval", "max_choices": 2, "rule": "greedy"},
    }, who="anna", expect=201)["round_id"]
    path = f"/rounds/{round_id}"
    api.post(f"{path}/deposits", {"amount": 500_000, "source": "Gemeente Utrecht"}, who="anna",
             expect=201)

    pid = {name: api.post(f"{path}/proposals", proposal_body(name, amount), expect=201)["proposal_id"]
           for name, amount in (("Trees", 200_012), ("Benches", 150_099))}
    api.post(f"{path}/close-submissions", who="anna")
    for proposal_id in pid.values():
        api.post(f"/proposals/{proposal_id}/admit", who="bram")
    api.post(f"{path}/open-voting", who="anna")
    (code,) = api.post(f"{path}/voting-codes", {"count": 1}, who="anna", expect=201)["codes"]
    api.post(f"{path}/ballots", {"code": code, "proposals": list(pid.values())}, expect=201)
    api.post(f"{path}/close-voting", who="anna")
    tally = api.post(f"{path}/tallies", who="anna", expect=201)
    api.post(f"{path}/tallies/{tally['tally_id']}/confirm", who="bram")

    payouts = []
    for name, amount in (("Trees", 200_012), ("Benches", 100_001)):
        payout = api.post(f"{path}/payouts", {
            "proposal_id": pid[name], "amount": amount, "payee_name": f"Hovenier {name}",
            "iban": IBAN, "reference": f"F-{name}",
        }, who="anna", expect=201)
        api.post(f"{path}/payouts/{payout['payout_id']}/approve", who="bram")
        payouts.append(payout["payout_id"])

    batch = api.post(f"{path}/payment-batches", {"execution_date": "2026-12-01"}, who="anna",
                     expect=201)
    assert (batch["debtor_name"], batch["debtor_iban"]) == ("Gemeente Utrecht", PAYING_IBAN)
    document = api.client.get(f"/api/v1{path}/payment-batches/{batch['batch_id']}/pain.001",
                              headers=server.headers("audit"))
    assert document.status_code == 200
    transfers = [
        {"e2e": tx.find(f"{PAIN}PmtId/{PAIN}EndToEndId").text,
         "amount": int(Decimal(tx.find(f"{PAIN}Amt/{PAIN}InstdAmt").text) * 100),
         "iban": tx.find(f"{PAIN}CdtrAcct/{PAIN}Id/{PAIN}IBAN").text}
        for tx in ET.fromstring(document.content).iter(f"{PAIN}CdtTrfTxInf")
    ]
    assert len(transfers) == 2

    statement = camt053(*transfers)
    report, again = (
        api.client.post("/api/v1/bank-statements", content=statement,
                        headers={**server.headers("cas"), "Content-Type": "application/xml"})
        for _ in range(2)
    )
    assert (report.status_code, again.status_code) == (200, 200), report.text
    assert (report.json()["paid"], again.json()["paid"]) == (2, 0)
    statement_total = sum(t["amount"] for t in transfers)
    assert statement_total == batch["total"] == 300_013
    listed = api.get(f"{path}/payouts", who="audit")
    assert {p["payout_id"] for p in listed if p["status"] == "paid"} == set(payouts)

    for proposal_id in pid.values():
        api.post(f"/proposals/{proposal_id}/complete", {"report": "done"}, who="anna")
    next_round = api.post("/rounds", {
        "neighbourhood_id": neighbourhood["neighbourhood_id"], "title": "Lombok 2027",
    }, who="anna", expect=201)["round_id"]
    closed = api.post(f"{path}/carry-over", {"to_round_id": next_round}, who="anna")

    old = api.get(f"/ledger/trial-balance?round_id={round_id}", who="audit")
    new = api.get(f"/ledger/trial-balance?round_id={next_round}", who="audit")
    everything = api.get("/ledger/trial-balance", who="audit")
    for trial in (old, new, everything):
        assert trial["total_debit"] == trial["total_credit"]
    assert closed["phase"] == "closed"
    assert (closed["deposited"], closed["paid"], closed["returned"]) == (
        500_000, statement_total, 500_000 - statement_total
    )
    assert closing_of(old)["8000"] == closed["deposited"]
    assert closing_of(old)["4000"] == closed["paid"] == statement_total
    assert closing_of(old)["4900"] == closed["returned"] == 199_987
    assert closing_of(old)["1100"] == closing_of(old)["0910"] == 0
    assert api.get(f"/rounds/{next_round}")["deposited"] == closing_of(new)["8000"] == 199_987
    assert closing_of(everything)["1100"] == 500_000 - statement_total
