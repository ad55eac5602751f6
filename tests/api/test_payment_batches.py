"""SEPA payment batches through HTTP: one batch per approved payout, the same file every time."""
from __future__ import annotations

import xml.etree.ElementTree as ET

BATCH = {"debtor_name": "Gemeente Amsterdam", "debtor_iban": "NL91 ABNA 0417 1643 00",
         "execution_date": "2026-12-01"}
PAIN = "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}"


def test_approved_payouts_are_batched_once_and_the_file_is_stable(api, rounds):
    driven = rounds.to("execution")
    first = rounds.payout(driven, driven.winners[0], 80_000, until="approved")
    second = rounds.payout(driven, driven.winners[1], 20_000, until="approved")
    rounds.payout(driven, driven.winners[1], 5_000, until="requested")

    batch = driven.post("payment-batches", BATCH, status=201)

    assert [line["payout_id"] for line in batch["payouts"]] == [
        first["payout_id"], second["payout_id"]
    ]
    assert (batch["total"], batch["debtor_iban"], batch["cancelled"]) == (
        100_000, "NL91ABNA0417164300", False
    )
    url = f"{driven.url}/payment-batches/{batch['batch_id']}/pain.001"
    document = api.call("GET", url, as_="auditor")
    assert document.status_code == 200 and document.mimetype == "application/xml"
    assert api.call("GET", url, as_="official").data == document.data
    root = ET.fromstring(document.data)
    assert root.find(f".//{PAIN}MsgId").text == batch["batch_id"]
    assert root.find(f".//{PAIN}GrpHdr/{PAIN}CtrlSum").text == "1000.00"
    v09 = api.call("GET", f"{url}?version=pain.001.001.09", as_="official")
    assert b"pain.001.001.09" in v09.data
    driven.refused("POST", "payment-batches", BATCH, as_="official", status=409,
                   message="no approved payouts outside an exported payment batch")


def test_a_cancelled_batch_frees_its_payouts_for_a_new_one(api, rounds):
    driven = rounds.to("execution")
    payout = rounds.payout(driven, driven.winners[0], 80_000, until="approved")
    batch = driven.post("payment-batches", BATCH, status=201)

    cancelled = driven.post(f"payment-batches/{batch['batch_id']}/cancel", {"reason": "wrong date"})
    again = driven.post("payment-batches", {**BATCH, "execution_date": "2026-12-03"}, status=201)

    assert cancelled["cancelled"] is True
    assert again["batch_id"] != batch["batch_id"]
    assert [line["payout_id"] for line in again["payouts"]] == [payout["payout_id"]]
    listed = driven.get("payment-batches", as_="auditor")
    assert [b["cancelled"] for b in listed] == [True, False]


def test_batches_refuse_bad_input_and_other_roles(api, rounds):
    driven = rounds.to("execution")
    rounds.payout(driven, driven.winners[0], 80_000, until="approved")
    driven.refused("POST", "payment-batches", {**BATCH, "debtor_iban": "NL00XXXX0000000000"},
                   as_="official", status=422)
    driven.refused("POST", "payment-batches", {**BATCH, "execution_date": "soon"},
                   as_="official", status=422)
    driven.refused("POST", "payment-batches", BATCH, as_="auditor", status=403)
    driven.refused("POST", "payment-batches", BATCH, as_=None, status=401)
    api.refused("GET", f"{driven.url}/payment-batches/BBnothing/pain.001", as_="auditor",
                status=404)
    batch = driven.post("payment-batches", BATCH, status=201)
    api.refused("GET", f"{driven.url}/payment-batches/{batch['batch_id']}/pain.001?version=2",
                as_="auditor", status=400)


def municipality_of(api, rounds) -> str:
    return api.get(f"/neighbourhoods/{rounds.neighbourhood()}")["municipality_id"]


def test_the_municipality_s_paying_account_is_the_default_debtor_of_a_batch(api, rounds):
    driven = rounds.to("execution")
    rounds.payout(driven, driven.winners[0], 80_000, until="approved")
    url = f"/municipalities/{municipality_of(api, rounds)}/paying-account"
    assert api.get(url, as_="auditor")["iban"] is None
    driven.refused("POST", "payment-batches", {"execution_date": "2026-12-01"}, as_="official",
                   status=409, message="the municipality has no paying account")

    account = api.call("PUT", url, {"name": "Gemeente Amsterdam", "iban": "nl91 abna 0417 1643 00"},
                       as_="official")
    batch = driven.post("payment-batches", {"execution_date": "2026-12-01"}, status=201)

    assert account.status_code == 200
    assert account.get_json()["iban"] == "NL91ABNA0417164300"
    assert api.get(url, as_="auditor") == account.get_json()
    assert (batch["debtor_name"], batch["debtor_iban"]) == ("Gemeente Amsterdam",
                                                            "NL91ABNA0417164300")


def test_a_batch_s_own_debtor_overrides_the_paying_account(api, rounds):
    driven = rounds.to("execution")
    rounds.payout(driven, driven.winners[0], 80_000, until="approved")
    url = f"/municipalities/{municipality_of(api, rounds)}/paying-account"
    api.call("PUT", url, {"name": "Gemeente Amsterdam", "iban": "NL91ABNA0417164300"},
             as_="official")

    batch = driven.post("payment-batches", {"execution_date": "2026-12-01",
                                            "debtor_iban": "NL44RABO0123456789"}, status=201)

    assert (batch["debtor_name"], batch["debtor_iban"]) == ("Gemeente Amsterdam",
                                                            "NL44RABO0123456789")


def test_the_paying_account_is_for_officials_and_refuses_bad_input(api, rounds):
    url = f"/municipalities/{municipality_of(api, rounds)}/paying-account"
    body = {"name": "Gemeente Amsterdam", "iban": "NL91ABNA0417164300"}
    for method, role, status in [("GET", None, 401), ("GET", "admin", 403),
                                 ("PUT", None, 401), ("PUT", "auditor", 403)]:
        api.refused(method, url, body if method == "PUT" else None, as_=role, status=status)
    for bad in ({**body, "iban": "NL00XXXX0000000000"}, {**body, "name": " "},
                {**body, "name": "G" * 71}, {"name": "Gemeente Amsterdam"}, {**body, "bic": "X"}):
        api.refused("PUT", url, bad, as_="official", status=422)
    api.refused("PUT", "/municipalities/00000000-0000-0000-0000-000000000000/paying-account",
                body, as_="official", status=404)
    assert api.get(url, as_="official")["iban"] is None
