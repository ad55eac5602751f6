"""A whole round run by two officials through the console (Flask client, both backends), and
the same round run through the JSON API: the events are the same, with the same amounts and the
officials named as actors. Along the way: the codes download, the four eyes on the tally and the
payout (a requester is offered no approval), the IBAN check, the bank statement, the ledger."""
from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask

from tests.api.conftest import IBAN, ApiCalls, proposal_body
from tests.api.console_client import ConsoleUser, signed_in
from tests.bank_statements import camt053

DEPOSIT, COSTS, BALLOTS = 1_000_000, (200_000, 300_000, 600_000), ((0, 1), (0,), (1,))
PAYOUT = 100_000
# Fields of event data that differ between two runs of the same round: ids, moments, hashes,
# and the tally's result, whose amounts the Funded events carry.
OWN_KEYS = ("id", "result", "reservations", "ballot", "lot_seed", "software_version")
OWN_SUFFIXES = ("_id", "_ids", "_at", "_hash", "_digest")


def comparable(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must be equal between two runs of a round: type, actor, reason and the amounts."""
    def kept(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in sorted(data.items())
                if k not in OWN_KEYS and not k.endswith(OWN_SUFFIXES)}
    return [(e["aggregate_type"], e["event_type"], e["actor"], e["reason"], kept(e["data"]))
            for e in events]


def submit_and_vote(api: ApiCalls, round_id: str) -> list[str]:
    return [api.post(f"/rounds/{round_id}/proposals", proposal_body(cost, title=f"Plan {n}"),
                     as_=None, status=201)["proposal_id"] for n, cost in enumerate(COSTS)]


def cast(api: ApiCalls, round_id: str, codes: list[str], ids: list[str]) -> None:
    for code, chosen in zip(codes, BALLOTS):
        api.post(f"/rounds/{round_id}/ballots", {"code": code, "proposals": [ids[i] for i in chosen]},
                 as_=None, status=201)


def through_the_api(api: ApiCalls, neighbourhood_id: str) -> str:
    round_id = api.post("/rounds", {"neighbourhood_id": neighbourhood_id, "title": "Plein 2027",
                                    "voting": {"method": "approval", "rule": "greedy"}},
                        status=201)["round_id"]
    url = f"/rounds/{round_id}"
    api.post(f"{url}/deposits", {"amount": DEPOSIT, "source": "Gemeente", "reference": "R-1"},
             status=201)
    ids = submit_and_vote(api, round_id)
    api.post(f"{url}/close-submissions")
    api.post(f"/proposals/{ids[0]}/admit", {"amount": 150_000, "note": "Goedkoper"})
    api.post(f"/proposals/{ids[1]}/admit")
    api.post(f"/proposals/{ids[2]}/reject", {"reason": "Lopende kosten"})
    api.post(f"{url}/open-voting")
    codes = api.post(f"{url}/voting-codes", {"count": 3}, status=201)["codes"]
    cast(api, round_id, codes, ids)
    api.post(f"{url}/close-voting")
    tally = api.post(f"{url}/tallies", status=201)
    api.post(f"{url}/tallies/{tally['tally_id']}/confirm", as_="second_official")
    payout = api.post(f"{url}/payouts", {
        "proposal_id": ids[0], "amount": PAYOUT, "payee_name": "Houtwerk BV", "iban": IBAN,
        "reference": "INV-1"}, status=201)
    api.post(f"{url}/payouts/{payout['payout_id']}/approve", as_="second_official")
    statement = camt053({"e2e": payout["payout_id"].replace("-", ""), "amount": PAYOUT})
    assert api.client.post("/api/v1/bank-statements", data=statement,
                           headers=api.headers("official")).status_code == 200
    for proposal_id in ids[:2]:
        api.post(f"/proposals/{proposal_id}/complete", {"report": "Klaar"})
    api.post(f"{url}/close", {"destination": "Algemene middelen"})
    return round_id


def through_the_console(app: Flask, api: ApiCalls, tokens: dict[str, str],
                        neighbourhood_id: str) -> str:
    anna, bram = signed_in(app, tokens["official"]), signed_in(app, tokens["second_official"])
    opened = anna.post("/console/rounds/new?lang=en", {
        "neighbourhood_id": neighbourhood_id, "title": "Plein 2027", "method": "approval",
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

    ok(anna, f"{page}/deposit", {"amount": "10000.00", "source": "Gemeente", "reference": "R-1"})
    ids = submit_and_vote(api, round_id)
    ok(anna, f"{page}/close-submissions")
    ok(anna, f"/console/proposals/{ids[0]}/admit", {"admit-amount": "1500", "admit-note": "Goedkoper"})
    ok(anna, f"/console/proposals/{ids[1]}/admit")
    ok(anna, f"/console/proposals/{ids[2]}/reject", {"reject-reason": "Lopende kosten"})
    ok(anna, f"{page}/open-voting")
    download = anna.post(f"{page}/voting-codes", {"count": "3"})
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["voting_code"] and len(rows) == 4
    cast(api, round_id, [row[0] for row in rows[1:]], ids)
    ok(anna, f"{page}/close-voting")

    decision = ok(anna, f"{page}/tallies")
    assert "Waiting for a second official" in decision.text and "Confirm this result" not in decision.text
    tally_id = api.get(f"/rounds/{round_id}/tallies", as_="official")[0]["tally_id"]
    head = api.head()
    assert anna.post(f"{page}/tallies/{tally_id}/confirm").status_code == 403  # four eyes
    assert api.head() == head
    bram_sees = bram.get(f"{page}/decision")
    assert "Confirm this result" in bram_sees.text
    assert "Confirmed by official:bram" in ok(bram, f"{page}/tallies/{tally_id}/confirm").text

    iban = anna.get(f"/console/iban?value={IBAN[:4]}%20{IBAN[4:8]}%20{IBAN[8:]}").get_json()
    assert iban["valid"] is True and iban["iban"] == IBAN
    assert anna.get("/console/iban?value=NL91ABNA0417164301").get_json()["valid"] is False
    wrong = anna.post(f"{page}/payouts?lang=en", {
        "proposal_id": ids[0], "amount": "1000.00", "payee_name": "Houtwerk BV",
        "iban": "NL91ABNA0417164301", "kind": "invoice", "reference": "INV-1"})
    assert wrong.status_code == 422 and 'id="iban-error"' in wrong.text
    requested = ok(anna, f"{page}/payouts", {
        "proposal_id": ids[0], "amount": "1000.00", "payee_name": "Houtwerk BV",
        "iban": "nl91 abna 0417 1643 00", "kind": "invoice", "reference": "INV-1"})
    assert "Waiting for a second official to approve" in requested.text
    payout_id = api.get(f"/rounds/{round_id}/payouts", as_="official")[0]["payout_id"]
    assert f"/payouts/{payout_id}/approve" not in requested.text
    approved = ok(bram, f"{page}/payouts/{payout_id}/approve")
    assert f"/payouts/{payout_id}/paid" not in approved.text  # bram approved: not his to pay
    statement = camt053({"e2e": payout_id.replace("-", ""), "amount": PAYOUT})
    reconciled = anna.post(f"{page}/bank-statement", {
        "statement": (io.BytesIO(statement), "statement.xml")},
        content_type="multipart/form-data")
    assert reconciled.status_code == 200 and "1 payout marked paid" in reconciled.text

    for proposal_id in ids[:2]:
        ok(anna, f"/console/proposals/{proposal_id}/complete", {"report": "Klaar"})
    closed = ok(anna, f"{page}/close", {"destination": "Algemene middelen"})
    assert "This round is closed" in closed.text

    ledger = anna.get(f"{page}/ledger/csv")
    assert ledger.status_code == 200 and "attachment" in ledger.headers["Content-Disposition"]
    assert "Houtwerk BV" in ledger.text
    return round_id


def test_two_officials_run_a_round_in_the_console_with_the_events_of_the_api(
    app: Flask, issued_tokens: dict[str, str], api: ApiCalls
):
    municipality = api.post("/municipalities", {"name": "Zwolle"}, status=201)["municipality_id"]
    neighbourhood = api.post("/neighbourhoods", {"municipality_id": municipality,
                                                 "name": "Assendorp"}, status=201)
    by_api = through_the_api(api, neighbourhood["neighbourhood_id"])
    by_console = through_the_console(app, api, issued_tokens, neighbourhood["neighbourhood_id"])

    events = {rid: api.get(f"/rounds/{rid}/audit-trail", as_="auditor")
              for rid in (by_api, by_console)}
    assert comparable(events[by_console]) == comparable(events[by_api])
    actors = {e["actor"] for e in events[by_console]} - {None}
    assert actors == {"official:anna", "official:bram", "resident"}
    for rid in (by_api, by_console):
        money = api.get(f"/rounds/{rid}", as_="official")
        assert (money["phase"], money["paid"], money["deposited"]) == ("closed", PAYOUT, DEPOSIT)
