"""Ballots are secret while voting, for every role on every endpoint; public and checkable after.

While a round votes, no answer to anyone (the public, officials, auditors, admins) may carry a
ballot's choices. The markers: each cast's nonce and receipt are random and stored only with its
choices, so any answer holding a cast's body holds them. Auditors still see that ballots exist and
how many (sealed entries with their leaf hashes; the round's count of ballots cast).
"""
from __future__ import annotations

import json

import pytest

ROLES = (None, "official", "auditor", "admin")


def endpoints(driven, proposal_id: str, receipt: str) -> list[str]:
    rid = driven.round_id
    return [
        "/events?limit=10000",
        "/audit/export",
        f"/rounds/{rid}",
        f"/rounds/{rid}?as_of_position=0",
        f"/rounds/{rid}/audit-trail",
        f"/rounds/{rid}/results",
        f"/rounds/{rid}/proposals",
        f"/rounds/{rid}/receipts",
        f"/rounds/{rid}/receipts/{receipt}",
        f"/rounds/{rid}/ballots/published",
        f"/rounds/{rid}/turnout",
        f"/proposals/{proposal_id}",
        f"/proposals/{proposal_id}/audit-trail",
        "/audit/money-trail/" + proposal_id,
        "/audit/checkpoints",
        f"/rounds/{rid}/receipts?lang=en",
    ]


PAGES = ("/rounds/{rid}", "/rounds/{rid}/receipts", "/rounds/{rid}/results")


@pytest.fixture
def cast_round(rounds, api):
    driven = rounds.to("voting", codes=3)
    casts = [
        driven.post("ballots", {"code": code, "proposals": [driven.proposal_ids[i]]},
                    as_=None, status=201)
        for i, code in enumerate(driven.codes)
    ]
    return driven, casts


def test_no_role_reads_a_choice_while_voting(cast_round, api, client):
    driven, casts = cast_round
    markers = [cast["nonce"] for cast in casts] + [cast["receipt"] for cast in casts]
    for path in endpoints(driven, driven.proposal_ids[0], casts[0]["receipt"]):
        for role in ROLES:
            response = api.call("GET", path, as_=role)
            assert response.status_code < 500, (path, role)
            body = response.get_data(as_text=True)
            leaked = [marker for marker in markers if marker in body]
            assert not leaked, f"{path} as {role or 'the public'} shows a ballot while voting"
    for page in PAGES:
        body = client.get(page.format(rid=driven.round_id)).get_data(as_text=True)
        assert not [marker for marker in markers if marker in body], page


def test_auditors_see_that_ballots_exist_and_how_many_while_voting(cast_round, api):
    driven, _casts = cast_round
    events = api.get("/events?limit=10000", as_="auditor")["events"]
    sealed = [e for e in events if e.get("sealed")]
    assert sorted(e["topic"] for e in sealed) == ["buurtbudget/Ballot.Cast"] * 3 + [
        "buurtbudget/Ballot.Issued"] * 3
    assert all(e["state"] is None and len(e["leaf_hash"]) == 64 for e in sealed)
    assert driven.get("", as_="auditor")["ballots_cast"] == 3
    lines = [json.loads(line) for line in api.call(
        "GET", "/audit/export", as_="auditor").get_data(as_text=True).splitlines()]
    assert sum(1 for line in lines if line["kind"] == "sealed") == 3 + 3  # issued and cast


def test_after_voting_closed_the_ballots_are_public_without_a_name(cast_round, api):
    driven, casts = cast_round
    driven.post("close-voting")
    published = driven.get("ballots/published")["ballots"]
    assert sorted((b["receipt"], b["nonce"]) for b in published) == sorted(
        (c["receipt"], c["nonce"]) for c in casts
    )
    assert {json.dumps(b["choices"]) for b in published} == {
        json.dumps({pid: 1}) for pid in driven.proposal_ids[:3]
    }
    assert not any("ballot_id" in b or "code" in b for b in published)
    events = api.get("/events?limit=10000", as_="auditor")["events"]
    assert not any(e.get("sealed") for e in events)
    assert {e["state"]["nonce"] for e in events if e["topic"] == "buurtbudget/Ballot.Cast"} == {
        c["nonce"] for c in casts
    }
    mine = driven.get(f"receipts/{casts[0]['receipt']}")
    assert mine["choices"] == casts[0]["choices"] and mine["scheme"] == "buurtbudget-receipt/2"
    api.error(api.call("GET", f"/rounds/{driven.round_id}/receipts/{'0' * 64}"), 404)
