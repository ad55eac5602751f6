"""The console's set-up and review through the Flask client, on both backends: each form runs
one command with the signed-in official as actor; the domain's refusals appear at their field
with 422 and write nothing; the voting rules are previewed in the residents' words."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests.api.conftest import ApiCalls, RoundDriver
from tests.api.console_client import signed_in


def trail(api: ApiCalls, round_id: str) -> list[dict[str, Any]]:
    return api.get(f"/rounds/{round_id}/audit-trail", as_="auditor")


def test_an_official_reviews_the_queue_and_every_decision_names_them(
    app: Flask, issued_tokens: dict[str, str], rounds: RoundDriver, api: ApiCalls
):
    driven = rounds.to("review")
    anna = signed_in(app, issued_tokens["official"])
    queue = anna.get(f"/console/rounds/{driven.round_id}/review?lang=en")
    assert queue.status_code == 200
    for proposal_id in driven.proposal_ids:
        assert f"/console/proposals/{proposal_id}/review" in queue.text
    first, second, third = driven.proposal_ids

    head = api.head()
    adjusted = anna.post(f"/console/proposals/{first}/admit?lang=en", {"admit-amount": "1500.00"})
    assert adjusted.status_code == 422
    assert 'id="admit-note-error"' in adjusted.text and "explain an adjusted amount" in adjusted.text
    no_reason = anna.post(f"/console/proposals/{second}/reject", {"reject-reason": "  "})
    assert no_reason.status_code == 422 and 'id="reject-reason-error"' in no_reason.text
    assert api.head() == head, "a refused form wrote events"

    assert anna.post(f"/console/proposals/{first}/admit", {
        "admit-amount": "1500.00", "admit-note": "Cheaper benches"}).status_code == 303
    assert anna.post(f"/console/proposals/{second}/admit", {}).status_code == 303
    assert anna.post(f"/console/proposals/{third}/reject", {
        "reject-reason": "Lopende kosten"}).status_code == 303

    first_now = api.get(f"/proposals/{first}", as_="official")
    assert (first_now["status"], first_now["amount"], first_now["review_note"]) == (
        "admitted", 150_000, "Cheaper benches")
    assert api.get(f"/proposals/{third}", as_="official")["rejection_reason"] == "Lopende kosten"
    decided = {e["proposal_id"]: e["actor"] for e in trail(api, driven.round_id)
               if e["event_type"] in ("Admitted", "Rejected")}
    assert decided == {pid: "official:anna" for pid in driven.proposal_ids}

    shown = anna.get(f"/console/rounds/{driven.round_id}/review?lang=en").text
    assert shown.count("official:anna") == 3 and "Lopende kosten" in shown
    # a decided proposal offers no form any more
    page = anna.get(f"/console/proposals/{first}/review?lang=en").text
    assert "Decided by official:anna" in page and 'name="admit-note"' not in page


def test_an_auditor_sees_the_queue_but_not_the_decision_forms(
    app: Flask, issued_tokens: dict[str, str], rounds: RoundDriver
):
    driven = rounds.to("review")
    carla = signed_in(app, issued_tokens["auditor"])
    queue = carla.get(f"/console/rounds/{driven.round_id}/review")
    assert queue.status_code == 200 and "/review\"" not in queue.text.replace(
        f"/console/rounds/{driven.round_id}/review", "")
    assert carla.get(f"/console/proposals/{driven.proposal_ids[0]}/review").status_code == 403
    assert carla.post(f"/console/proposals/{driven.proposal_ids[0]}/admit").status_code == 403


def test_an_official_sets_up_places_a_round_with_previewed_rules_and_a_deposit(
    app: Flask, issued_tokens: dict[str, str], api: ApiCalls
):
    anna = signed_in(app, issued_tokens["official"])
    bad = anna.post("/console/municipalities?lang=en", {
        "municipality-name": "Haarlem", "municipality-cbs_code": "0392"})
    assert bad.status_code == 422 and 'id="municipality-cbs_code-error"' in bad.text
    assert anna.post("/console/municipalities", {
        "municipality-name": "Haarlem", "municipality-cbs_code": "gm0392"}).status_code == 303
    municipality = api.get("/municipalities")[0]
    assert (municipality["name"], municipality["cbs_code"]) == ("Haarlem", "GM0392")
    assert anna.post("/console/neighbourhoods", {
        "neighbourhood-municipality_id": municipality["municipality_id"],
        "neighbourhood-name": "Schalkwijk"}).status_code == 303
    neighbourhood = api.get(f"/neighbourhoods?municipality_id={municipality['municipality_id']}")[0]

    form = {"neighbourhood_id": neighbourhood["neighbourhood_id"], "title": "Schalkwijk 2027",
            "method": "knapsack", "min_choices": "1", "rule": "greedy",
            "starts_submission": "2027-02-01", "starts_review": "2027-01-01"}
    missing = anna.post("/console/rounds/new?lang=en", {**form, "preview": "1"})
    assert missing.status_code == 422 and 'id="max_total_cost-error"' in missing.text
    form["max_total_cost"] = "5000.00"
    preview = anna.post("/console/rounds/new?lang=en", {**form, "preview": "1"})
    assert preview.status_code == 200
    assert "What residents will read" in preview.text
    assert "may cost at most €5,000.00 together" in preview.text
    dutch = anna.post("/console/rounds/new?lang=nl", {
        **form, "max_total_cost": "5.000,00", "preview": "1"})
    assert "Wat bewoners lezen" in dutch.text
    assert "mogen samen hoogstens €\u00a05.000,00 kosten" in dutch.text
    backwards = anna.post("/console/rounds/new?lang=en", {**form, "open": "1"})
    assert backwards.status_code == 422 and "before schedule.submission" in backwards.text
    assert api.get("/rounds") == []

    form["starts_review"] = "2027-03-15"
    opened = anna.post("/console/rounds/new?lang=en", {**form, "open": "1"})
    assert opened.status_code == 303
    round_id = opened.headers["Location"].rsplit("/", 1)[1]
    created = api.get(f"/rounds/{round_id}")
    assert created["voting"]["max_total_cost"] == 500_000
    assert created["schedule"] == {"submission": "2027-02-01", "review": "2027-03-15"}

    refused = anna.post(f"/console/rounds/{round_id}/deposit?lang=en", {
        "amount": "-5", "source": "Gemeente"})
    assert refused.status_code == 422 and 'id="amount-error"' in refused.text
    assert anna.post(f"/console/rounds/{round_id}/deposit", {
        "amount": "12,500.00", "source": "Gemeente Haarlem", "reference": "BB-27"}).status_code == 303
    deposit = api.get(f"/rounds/{round_id}/deposits")[0]
    assert (deposit["amount"], deposit["source"], deposit["actor"]) == (
        1_250_000, "Gemeente Haarlem", "official:anna")
    page = anna.get(f"/console/rounds/{round_id}?lang=en").text
    assert re.search(r"Gemeente Haarlem.*BB-27.*official:anna", page, re.DOTALL)
    actors = {e["actor"] for e in trail(api, round_id)}
    assert actors == {"official:anna"}
