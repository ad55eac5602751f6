"""Erasure through HTTP: only admins erase; afterwards every read shows the data as erased."""
from __future__ import annotations

from tests.api.conftest import IBAN

ERASE = "/privacy/erasures"
BATCH = {"debtor_name": "Gemeente Amsterdam", "debtor_iban": "NL91 ABNA 0417 1643 00",
         "execution_date": "2026-12-01"}


def test_an_admin_erases_a_proposer_and_a_payee_and_reads_show_it(api, rounds):
    driven = rounds.to("execution")
    proposal_id = driven.winners[0]
    paid = rounds.payout(driven, proposal_id, 10_000, until="paid")
    approved = rounds.payout(driven, proposal_id, 5_000, until="approved")
    before = api.get(f"/proposals/{proposal_id}", as_="official")
    assert (before["proposer_name"], before["proposer_email"]) == ("Fatima", "fatima@example.org")
    balances = api.balances(driven.round_id)

    by_email = api.post(ERASE, {"email": "fatima@example.org", "reason": "AVG 2026-3"},
                        as_="admin", status=201)
    by_iban = api.post(ERASE, {"iban": IBAN, "reason": "AVG 2026-4"}, as_="admin", status=201)

    assert f"proposal:{proposal_id}" in by_email["records"] and by_email["keys_destroyed"] == 1
    assert sorted(by_iban["records"]) == sorted(
        [f"payout:{paid['payout_id']}", f"payout:{approved['payout_id']}"]
    )
    for role in ("official", "auditor"):
        proposal = api.get(f"/proposals/{proposal_id}", as_=role)
        assert proposal["proposer_name"] == "[erased]"
        listed = {p["payout_id"]: p for p in driven.get("payouts", as_=role)}
        payout = listed[paid["payout_id"]]
        assert (payout["payee_name"], payout["iban"]) == ("[erased]", "[erased]")
    assert api.get(f"/proposals/{proposal_id}")["proposer_name"] == "[erased]"
    page = api.client.get(f"/proposals/{proposal_id}")
    assert page.status_code == 200 and "naam gewist op verzoek" in page.get_data(as_text=True)
    trail = api.get(f"/proposals/{proposal_id}/audit-trail", as_="auditor")
    submitted = next(e for e in trail if e["event_type"] == "Submitted")
    assert submitted["data"]["proposer_email_sealed"] == "[erased]"
    ledger = api.call("GET", f"/ledger?format=csv&round_id={driven.round_id}", as_="auditor")
    assert ledger.status_code == 200 and b"[erased]" in ledger.data and b"Houtwerk" not in ledger.data
    assert api.balances(driven.round_id) == balances
    log = api.get("/events?limit=1000", as_="auditor")["events"]
    erased = {(e["topic"].rsplit(".", 1)[1], tuple(e["erased"])) for e in log if e["erased"]}
    assert erased == {
        ("Submitted", ("proposer_email_sealed", "proposer_name_sealed")),
        ("PayoutRequested", ("iban_sealed", "payee_name_sealed")),
    }
    assert not [e for e in log if b"Fatima" in str(e["state"]).encode()]
    # The approved payout of the erased payee cannot go to the bank.
    driven.refused("POST", "payment-batches", BATCH, as_="official", status=409,
                   message="personal data was erased")


def test_erasure_refuses_other_roles_bad_input_and_people_it_does_not_know(api, rounds):
    rounds.to("submission")
    body = {"email": "fatima@example.org", "reason": "AVG 2026-3"}
    for role, status in ((None, 401), ("official", 403), ("auditor", 403)):
        api.refused("POST", ERASE, body, as_=role, status=status)
    api.refused("POST", ERASE, {"reason": "no one"}, as_="admin", status=422)
    api.refused("POST", ERASE, {"email": "not an address", "reason": "x"}, as_="admin", status=422)
    api.refused("POST", ERASE, {"iban": "NL00XXXX0000000000", "reason": "x"}, as_="admin",
                status=422)
    api.refused("POST", ERASE, {"email": "fatima@example.org"}, as_="admin", status=422)
    api.refused("POST", ERASE, {"email": "nobody@example.org", "reason": "x"}, as_="admin",
                status=404)
