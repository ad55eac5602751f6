"""A whole round run by two officials through the console (Flask client, both backends), and
the same round run through the JSON API: the events are the same, with the same amounts and the
officials named as actors. Along the way: the codes download, the four eyes on the tally and the
payout (a requester is offered no approval), the IBAN check, the bank statement, the ledger."""
from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Flask

from tests import round_script as script
from tests.api.conftest import IBAN, ApiCalls, RoundDriver
from tests.api.console_client import ConsoleUser, signed_in


def through_the_console(app: Flask, api: ApiCalls, tokens: dict[str, str],
                        neighbourhood_id: str) -> str:
    anna, bram = signed_in(app, tokens["official"]), signed_in(app, tokens["second_official"])
    opened = anna.post("/console/rounds/new?lang=en", {
        "neighbourhood_id": neighbourhood_id, "title": script.TITLE,
        "starts_submission": script.SUBMISSIONS_FROM, "method": "approval",
        "min_choices": "1", "rule": "greedy", "open": "1"})
    assert opened.status_code == 303, opened.text
    round_id = opened.headers["Location"].rsplit("/", 1)[1]
    page = f"/console/rounds/{round_id}"

    def ok(user: ConsoleUser, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        answer = user.post(path, data, **kw)
        assert answer.status_code == 303, answer.text
        shown = user.get(answer.headers["Location"])
        assert "This was not done" not in shown.text, shown.text
        return shown

    ok(anna, f"{page}/deposit", {"amount": f"{script.DEPOSIT // 100}", "source": "Gemeente",
                                 "reference": "R-1"})
    ids = script.submit(api, round_id)
    ok(anna, f"{page}/close-submissions")
    ok(anna, f"/console/proposals/{ids[0]}/admit", {"admit-amount": f"{script.ADJUSTED // 100}",
                                                 "admit-note": script.NOTE})
    ok(anna, f"/console/proposals/{ids[1]}/admit")
    ok(anna, f"/console/proposals/{ids[2]}/reject", {"reject-reason": script.REASON})
    ok(anna, f"{page}/open-voting")
    download = anna.post(f"{page}/voting-codes", {"count": "3"})
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["voting_code"] and len(rows) == 4
    script.cast(api, round_id, [row[0] for row in rows[1:]], ids)
    ok(anna, f"{page}/close-voting")

    decision = ok(anna, f"{page}/tallies")
    assert "Waiting for a second official" in decision.text and "Confirm this result" not in decision.text
    tally_id = api.get(f"/rounds/{round_id}/tallies", as_="official")[0]["tally_id"]
    head = api.head()
    assert anna.post(f"{page}/tallies/{tally_id}/confirm").status_code == 403  # four eyes
    assert api.head() == head
    bram_sees = bram.get(f"{page}/decision?lang=en")
    assert "Confirm this result" in bram_sees.text
    assert "Confirmed by official:bram" in ok(bram, f"{page}/tallies/{tally_id}/confirm").text

    iban = anna.get(f"/console/iban?value={IBAN[:4]}%20{IBAN[4:8]}%20{IBAN[8:]}").get_json()
    assert iban["valid"] is True and iban["iban"] == IBAN
    assert anna.get("/console/iban?value=NL91ABNA0417164301").get_json()["valid"] is False
    wrong = anna.post(f"{page}/payouts?lang=en", {
        "proposal_id": ids[0], "amount": f"{script.PAYOUT // 100}", "payee_name": script.PAYEE,
        "iban": "NL91ABNA0417164301", "kind": "invoice", "reference": script.INVOICE})
    assert wrong.status_code == 422 and 'id="iban-error"' in wrong.text
    requested = ok(anna, f"{page}/payouts", {
        "proposal_id": ids[0], "amount": f"{script.PAYOUT // 100}", "payee_name": script.PAYEE,
        "iban": "nl91 abna 0417 1643 00", "kind": "invoice", "reference": script.INVOICE})
    assert "Waiting for a second official to approve" in requested.text
    payout_id = api.get(f"/rounds/{round_id}/payouts", as_="official")[0]["payout_id"]
    assert f"/payouts/{payout_id}/approve" not in requested.text
    approved = ok(bram, f"{page}/payouts/{payout_id}/approve")
    assert f"/payouts/{payout_id}/paid" not in approved.text  # bram approved: not his to pay
    reconciled = anna.post(f"{page}/bank-statement", {
        "statement": (io.BytesIO(script.statement_for(payout_id)), "statement.xml")},
        content_type="multipart/form-data")
    assert reconciled.status_code == 200 and "1 payout marked paid" in reconciled.text

    for proposal_id in ids[:2]:
        ok(anna, f"/console/proposals/{proposal_id}/complete", {"report": script.REPORT})
    closed = ok(anna, f"{page}/close", {"destination": script.DESTINATION})
    assert "This round is closed" in closed.text
    assert f"the unspent money went to {script.DESTINATION}" in closed.text

    ledger = anna.get(f"{page}/ledger/csv")
    assert ledger.status_code == 200 and "attachment" in ledger.headers["Content-Disposition"]
    assert script.PAYEE in ledger.text
    return round_id


def test_two_officials_run_a_round_in_the_console_with_the_events_of_the_api(
    app: Flask, issued_tokens: dict[str, str], api: ApiCalls
):
    municipality = api.post("/municipalities", {"name": "Zwolle"}, status=201)["municipality_id"]
    neighbourhood = api.post("/neighbourhoods", {"municipality_id": municipality,
                                                 "name": "Assendorp"}, status=201)
    def upload(statement: bytes) -> None:
        assert api.client.post("/api/v1/bank-statements", data=statement,
                               headers=api.headers("official")).status_code == 200

    by_api = script.through_the_api(api, neighbourhood["neighbourhood_id"], upload)
    by_console = through_the_console(app, api, issued_tokens, neighbourhood["neighbourhood_id"])

    events = {rid: api.get(f"/rounds/{rid}/audit-trail", as_="auditor")
              for rid in (by_api, by_console)}
    assert script.comparable(events[by_console]) == script.comparable(events[by_api])
    actors = {e["actor"] for e in events[by_console]} - {None}
    assert actors == {"official:anna", "official:bram", "resident"}
    for rid in (by_api, by_console):
        money = api.get(f"/rounds/{rid}", as_="official")
        assert (money["phase"], money["paid"], money["deposited"]) == ("closed", script.PAYOUT, script.DEPOSIT)


def test_payouts_are_refused_paid_by_a_third_official_and_reversed_in_the_console(
    app: Flask, issued_tokens: dict[str, str], rounds: RoundDriver
):
    driven = rounds.to("execution")
    winner = driven.winners[0]
    anna, bram, emre = (signed_in(app, issued_tokens[role])
                        for role in ("official", "second_official", "third_official"))
    money = f"/console/rounds/{driven.round_id}/money?lang=en"
    request = {"proposal_id": winner, "amount": "500", "payee_name": "Verf BV", "iban": IBAN,
               "kind": "advance", "reference": "V-1"}
    for _ in range(2):
        assert anna.post(f"/console/rounds/{driven.round_id}/payouts", request).status_code == 303
    first, second = (p["payout_id"] for p in driven.get("payouts", as_="official"))
    base = f"/console/rounds/{driven.round_id}/payouts"

    # refusing needs a reason; then the money is reserved again
    before = driven.balances()
    assert bram.post(f"{base}/{first}/reject", {"reason": " "}).status_code == 303
    assert "notice bad" in bram.get(money).text and driven.balances() == before
    assert bram.post(f"{base}/{first}/reject", {"reason": "Dubbel"}).status_code == 303
    def payout(payout_id: str) -> dict[str, Any]:
        return next(p for p in driven.get("payouts", as_="official") if p["payout_id"] == payout_id)

    assert payout(first)["status"] == "rejected"

    # approved by bram, paid by a third official (emre), then reversed with a reason
    assert bram.post(f"{base}/{second}/approve").status_code == 303
    assert f"{second}/paid" not in anna.get(money).text  # the requester is not offered it
    assert f"{second}/paid" in emre.get(money).text
    assert emre.post(f"{base}/{second}/paid", {"bank_reference": "BANK-9"}).status_code == 303
    paid = payout(second)
    assert (paid["status"], paid["paid_by"], paid["bank_reference"]) == (
        "paid", "official:emre", "BANK-9")
    assert anna.post(f"{base}/{second}/reverse", {"reason": "Teruggestort"}).status_code == 303
    reversed_ = payout(second)
    assert (reversed_["status"], reversed_["reversed_by"], reversed_["reversal_reason"]) == (
        "reversed", "official:anna", "Teruggestort")
    assert driven.balances()["paid"] == 0
    shown = anna.get(money).text
    assert "Reversed by official:anna: Teruggestort" in shown


def test_an_auditor_reads_events_trails_the_ledger_and_the_log_but_changes_nothing(
    app: Flask, issued_tokens: dict[str, str], api: ApiCalls, rounds: RoundDriver
):
    driven = rounds.to("closed")
    carla = signed_in(app, issued_tokens["auditor"])
    events = carla.get(f"/console/rounds/{driven.round_id}/events?lang=en")
    assert events.status_code == 200
    assert events.text.count("official:anna") >= 5 and "official:bram" in events.text
    assert "BudgetRound.TallyConfirmed" in events.text
    trail = carla.get(f"/console/proposals/{driven.winners[0]}/trail")
    assert trail.status_code == 200 and "Proposal.Completed" in trail.text
    ledger = carla.get(f"/console/rounds/{driven.round_id}/ledger/xaf")
    assert ledger.status_code == 200 and ledger.data.startswith(b"<?xml")
    assert carla.get(f"/console/rounds/{driven.round_id}/ledger/pdf").status_code == 422
    signed = carla.get("/console/checkpoints?lang=en")
    assert signed.status_code == 200 and "Signed checkpoints of the log" in signed.text
    proof = re.search(r'href="(/api/v1/audit/proofs/consistency\?[^"]+)"', signed.text)
    assert proof, signed.text
    answer = carla.get(proof.group(1).replace("&amp;", "&")).get_json()
    assert answer["first"] < answer["second"] and answer["proof"]
    log = carla.get("/console/audit-export")
    assert log.status_code == 200 and log.mimetype == "application/jsonl"
    head = api.head()
    for path in (f"/console/rounds/{driven.round_id}/money",
                 f"/console/rounds/{driven.round_id}/decision"):
        assert carla.get(path).status_code == 403
    assert carla.post(f"/console/rounds/{driven.round_id}/close",
                      {"destination": "x"}).status_code == 403
    assert api.head() == head
    anna = signed_in(app, issued_tokens["official"])
    assert anna.get("/console/audit-export").status_code == 403  # the raw log: auditors only
