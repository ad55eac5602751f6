"""Who sees what, read by read: one table of principals and endpoints, on SQLite and PostgreSQL.

The rules live in service/queries/visibility.py; this table is how they look from outside.
"""
from __future__ import annotations

from typing import Any

from tests.api.conftest import TOKEN_NAMES

# The public (no token) and each role; the admin manages tokens and sees data as the public does.
PRINCIPALS = (None, "official", "auditor", "admin")


def proposals_with_email(body: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    return sorted((p["proposal_id"], "proposer_email" in p) for p in body)


def payouts_with_iban(body: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    return sorted((p["payout_id"], "iban" in p) for p in body)


def has_email(body: dict[str, Any]) -> bool:
    return "proposer_email" in body


def has_votes(body: dict[str, Any] | list[dict[str, Any]]) -> bool:
    return all("votes" in p for p in (body if isinstance(body, list) else [body]))


def counted(body: Any) -> int:
    return len(body)


def seen_by_each(api, path: str, project) -> dict[str | None, Any]:
    """principal -> the projected answer, or the status code of an error."""
    answers = {}
    for principal in PRINCIPALS:
        response = api.call("GET", path, as_=principal)
        answers[principal] = (
            project(response.get_json()) if response.status_code == 200 else response.status_code
        )
    return answers


def each(*, public: Any, official: Any, auditor: Any, admin: Any) -> dict[str | None, Any]:
    return {None: public, "official": official, "auditor": auditor, "admin": admin}


def everyone(same: Any) -> dict[str | None, Any]:
    return dict.fromkeys(PRINCIPALS, same)


def test_each_principal_sees_what_the_visibility_rules_allow(api, rounds):
    decided = rounds.to("execution", rejected=(2,), ballots=((0, 1), (0,), (1,)))
    admitted, _other, rejected = decided.proposal_ids
    winner = decided.winners[0]
    paid = rounds.payout(decided, winner, 10_000)["payout_id"]
    requested = rounds.payout(decided, winner, 5_000, until="requested")["payout_id"]
    voting = rounds.to("voted", costs=(100_000,), codes=1, ballots=((0,),))
    submitting = rounds.to("submission", deposit=0, costs=(100_000, 50_000))
    withdrawn, submitted = submitting.proposal_ids
    api.post(f"/proposals/{withdrawn}/withdraw", {"proposer_key": submitting.proposer_keys[0]},
             as_=None)
    on_ballot = sorted(decided.proposal_ids[:2])
    every = sorted(decided.proposal_ids)

    table = [
        # Proposals: all, with e-mail, for officials and auditors; for others those on the ballot.
        (f"{decided.url}/proposals", proposals_with_email, each(
            public=[(p, False) for p in on_ballot],
            official=[(p, True) for p in every],
            auditor=[(p, True) for p in every],
            admin=[(p, False) for p in on_ballot],
        )),
        (f"/proposals/{admitted}", has_email, each(public=False, official=True, auditor=True,
                                                   admin=False)),
        (f"/proposals/{rejected}", has_email, each(public=404, official=True, auditor=True,
                                                   admin=404)),
        (f"/proposals/{withdrawn}", has_email, each(public=404, official=True, auditor=True,
                                                    admin=404)),
        (f"/proposals/{submitted}", has_email, each(public=404, official=True, auditor=True,
                                                    admin=404)),
        (f"{submitting.url}/proposals", counted, each(public=0, official=2, auditor=2, admin=0)),
        # Votes and receipts: published once voting closed, to everyone.
        (f"{decided.url}/proposals", has_votes, everyone(True)),
        (f"{voting.url}/proposals", has_votes, everyone(False)),
        (f"/proposals/{voting.proposal_ids[0]}", has_votes, everyone(False)),
        (f"{decided.url}/receipts", lambda body: len(body["receipts"]), everyone(3)),
        (f"{voting.url}/receipts", lambda body: len(body["receipts"]), everyone(0)),
        # Payouts: all, with the IBAN, for officials and auditors; the paid ones for others.
        (f"{decided.url}/payouts", payouts_with_iban, each(
            public=[(paid, False)],
            official=sorted([(paid, True), (requested, True)]),
            auditor=sorted([(paid, True), (requested, True)]),
            admin=[(paid, False)],
        )),
        (f"{decided.url}/payouts?status=requested", counted, each(
            public=0, official=1, auditor=1, admin=0)),
        # Audit trails for officials and auditors, the raw log for auditors, tokens for admins.
        (f"{decided.url}/audit-trail", bool, each(public=401, official=True, auditor=True,
                                                  admin=403)),
        (f"/proposals/{rejected}/audit-trail", bool, each(public=401, official=True, auditor=True,
                                                          admin=403)),
        ("/events", lambda body: bool(body["events"]), each(public=401, official=403,
                                                            auditor=True, admin=403)),
        ("/tokens", counted, each(public=401, official=403, auditor=403,
                                  admin=len(TOKEN_NAMES))),
        # What anyone may read.
        (decided.url, lambda body: body["paid"], everyone(10_000)),
        (f"{decided.url}/results", lambda body: sorted(p["proposal_id"] for p in body["proposals"]),
         everyone(on_ballot)),
    ]

    mismatches = [
        (path, expected, seen)
        for path, project, expected in table
        if (seen := seen_by_each(api, path, project)) != expected
    ]
    assert mismatches == []


def test_a_ballots_choices_are_shown_to_whoever_holds_its_code_and_to_no_token(api, rounds):
    driven = rounds.to("voted", costs=(100_000, 50_000), codes=2, ballots=((1,),))
    chosen = driven.proposal_ids[1]

    for principal in PRINCIPALS:
        mine = driven.post("ballots/lookup", {"code": driven.codes[0]}, as_=principal)
        assert mine["choices"] == {chosen: 1}
        unused = driven.post("ballots/lookup", {"code": driven.codes[1]}, as_=principal)
        assert (unused["cast"], unused["choices"]) == (False, {})
        driven.refused("POST", "ballots/lookup", {"code": "AAAA-BBBB-CCCC"}, as_=principal,
                       status=403, message="this voting code is not valid")
