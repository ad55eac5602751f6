"""Proposals through HTTP: submitted by residents, reviewed by officials, public once admitted."""
from __future__ import annotations

import uuid



def test_a_submitted_proposal_is_read_back_by_officials_and_hidden_from_the_public(api, rounds):
    driven = rounds.to("submission", costs=())
    body = rounds.proposal_body(
        0,
        cost_lines=[
            {"description": "benches", "amount": 120_000},
            {"description": "placing", "amount": 30_000},
        ],
    )

    submitted = driven.post("proposals", body, as_=None, status=201)

    proposal_id = submitted["proposal_id"]
    assert submitted["proposer_key"]
    assert submitted["proposal"]["requested_amount"] == submitted["proposal"]["amount"] == 150_000
    for role in ("official", "auditor"):
        seen = api.get(f"/proposals/{proposal_id}", as_=role)
        assert (seen["status"], seen["proposer_email"]) == ("submitted", "fatima@example.org")
    api.refused("GET", f"/proposals/{proposal_id}", status=404, message="not found")
    assert driven.get("proposals") == []
    assert driven.get("proposals?status=submitted") == []
    assert driven.get()["proposals_submitted"] == 1


def test_review_puts_a_proposal_on_the_public_ballot_without_the_proposers_email(api, rounds):
    driven = rounds.to("review", costs=(150_000, 80_000, 50_000))
    admitted_id, rejected_id, _unreviewed_id = driven.proposal_ids

    payload = driven.refused(
        "POST",
        f"/proposals/{admitted_id}/admit",
        {"amount": 120_000},
        status=422,
        message="explain an adjusted amount in the note",
    )
    assert payload["errors"] == {"json": {"note": ["explain an adjusted amount in the note"]}}
    admitted = api.post(
        f"/proposals/{admitted_id}/admit", {"amount": 120_000, "note": "no lighting"}
    )
    rejected = api.post(f"/proposals/{rejected_id}/reject", {"reason": "private land"})

    assert (admitted["status"], admitted["amount"], admitted["requested_amount"]) == (
        "admitted",
        120_000,
        150_000,
    )
    assert admitted["review_note"] == "no lighting"
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "private land")
    public = driven.get("proposals")
    assert [p["proposal_id"] for p in public] == [admitted_id]
    assert "proposer_email" not in public[0]
    assert "proposer_email" not in api.get(f"/proposals/{admitted_id}")
    api.refused("GET", f"/proposals/{rejected_id}", status=404)
    assert driven.get("proposals?status=rejected") == []


def test_officials_and_auditors_list_every_proposal_with_its_proposer(
    api, rounds
):
    driven = rounds.to("review", costs=(150_000, 80_000))
    api.post(f"/proposals/{driven.proposal_ids[1]}/reject", {"reason": "private land"})

    for role in ("official", "auditor"):
        listed = driven.get("proposals", as_=role)
        assert [(p["proposal_id"], p["status"]) for p in listed] == [
            (driven.proposal_ids[0], "submitted"),
            (driven.proposal_ids[1], "rejected"),
        ]
        assert {p["proposer_email"] for p in listed} == {"fatima@example.org"}
        rejected = driven.get("proposals?status=rejected", as_=role)
        assert [p["proposal_id"] for p in rejected] == [driven.proposal_ids[1]]


def test_reviewing_needs_an_official(api, rounds):
    driven = rounds.to("review", costs=(100_000,))
    url = f"/proposals/{driven.proposal_ids[0]}/admit"
    driven.refused("POST", url, {}, as_=None, status=401)
    driven.refused("POST", url, {}, as_="auditor", status=403, message="needs the role official")


def test_a_proposal_is_checked_before_anything_is_stored(api, rounds):
    driven = rounds.to("submission", costs=())
    url = "proposals"

    def refused(body: dict, field: str) -> None:
        payload = driven.refused("POST", url, body, as_=None, status=422, message=field)
        assert payload["errors"]

    refused(rounds.proposal_body(1000.0), "cost_lines.0.amount")
    refused(rounds.proposal_body("1000"), "cost_lines.0.amount")
    refused(rounds.proposal_body(0), "cost_lines.0.amount")
    refused(rounds.proposal_body(1000, cost_lines=[]), "cost_lines")
    refused(rounds.proposal_body(1000, proposer_email="fatima at example.org"), "proposer_email")
    refused(rounds.proposal_body(1000, budget_code="X1"), "budget_code")
    refused({k: v for k, v in rounds.proposal_body(1000).items() if k != "title"}, "title")
    refused(rounds.proposal_body(1000, title="   "), "title: must not be empty")
    assert driven.get()["proposals_submitted"] == 0


def test_a_proposer_withdraws_with_the_key_given_at_submission(api, rounds):
    driven = rounds.to("review", costs=(100_000,))
    [proposal_id], [key] = driven.proposal_ids, driven.proposer_keys
    url = f"/proposals/{proposal_id}/withdraw"

    driven.refused(
        "POST",
        url,
        {"proposer_key": "guessed"},
        as_=None,
        status=403,
        message="the proposer key does not match",
    )
    withdrawn = api.post(url, {"proposer_key": key, "reason": "we found a sponsor"}, as_=None)

    assert (withdrawn["status"], withdrawn["withdrawal_reason"]) == (
        "withdrawn",
        "we found a sponsor",
    )
    assert api.get(f"/proposals/{proposal_id}", as_="official")["status"] == "withdrawn"
    api.refused("GET", f"/proposals/{proposal_id}", status=404)
    driven.refused(
        "POST", url, {"proposer_key": key}, as_=None, status=409, message="already withdrawn"
    )


def test_reviews_and_withdrawals_end_when_voting_opens(api, rounds):
    driven = rounds.to("voting")
    proposal_id, key = driven.proposal_ids[0], driven.proposer_keys[0]

    driven.refused(
        "POST",
        f"/proposals/{proposal_id}/admit",
        {},
        status=409,
        message="cannot review a proposal while the round is in phase 'voting'",
    )
    driven.refused(
        "POST",
        f"/proposals/{proposal_id}/reject",
        {"reason": "late"},
        status=409,
        message="cannot review a proposal",
    )
    driven.refused(
        "POST",
        f"/proposals/{proposal_id}/withdraw",
        {"proposer_key": key},
        as_=None,
        status=409,
        message="cannot withdraw a proposal while the round is in phase 'voting'",
    )


def test_unknown_and_malformed_proposal_ids_are_not_found(api):
    for proposal_id in (uuid.uuid4(), "benches"):
        api.refused(
            "GET", f"/proposals/{proposal_id}", as_="official", status=404, message="not found"
        )
        api.refused("POST", f"/proposals/{proposal_id}/admit", {}, as_="official", status=404)
        api.refused("POST", f"/proposals/{proposal_id}/withdraw", {"proposer_key": "k"}, status=404)
        api.refused("GET", f"/proposals/{proposal_id}/audit-trail", as_="auditor", status=404)


def test_a_proposal_id_in_capitals_withdraws_fully_or_not_at_all(api, rounds):
    driven = rounds.to("review", costs=(100_000,))
    [proposal_id], [key] = driven.proposal_ids, driven.proposer_keys

    api.all_or_nothing(
        "POST", f"/proposals/{proposal_id.upper()}/withdraw", {"proposer_key": key}, status=200
    )


def test_a_proposal_as_of_before_its_review_is_as_submitted_and_hidden_from_the_public(api, rounds):
    driven = rounds.to("review", costs=(150_000, 80_000))
    admitted_id, _unreviewed_id = driven.proposal_ids
    before_review = api.get("/audit/checkpoints")["tree_size"] - 1
    api.post(f"/proposals/{admitted_id}/admit", {"amount": 120_000, "note": "no lighting"})
    after_review = api.get("/audit/checkpoints")["tree_size"] - 1

    then = api.get(f"/proposals/{admitted_id}?as_of_position={before_review}", as_="official")
    assert (then["status"], then["amount"], then["requested_amount"]) == ("submitted", 150_000, 150_000)
    assert "proposer_email" not in then
    later = api.get(f"/proposals/{admitted_id}?as_of_position={after_review}", as_=None)
    assert (later["status"], later["amount"]) == ("admitted", 120_000)
    api.refused("GET", f"/proposals/{admitted_id}?as_of_position={before_review}", as_=None,
                status=404)
    assert driven.get(f"proposals?as_of_position={before_review}", as_=None) == []
    listed = driven.get(f"proposals?as_of_position={before_review}&status=submitted", as_="official")
    assert [p["proposal_id"] for p in listed] == driven.proposal_ids
    assert [p["proposal_id"] for p in driven.get(f"proposals?as_of_position={after_review}",
                                                  as_=None)] == [admitted_id]
    api.refused("GET", f"/proposals/{admitted_id}?as_of_position=0", status=404)
