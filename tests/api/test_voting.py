"""Voting through HTTP: one-time codes, ballots under each method's rules, receipts, recount."""
from __future__ import annotations

import re
import uuid

import pytest

from domain.budget_round import MAX_CODES_PER_BATCH

CODE = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")


def test_officials_issue_voting_codes_that_are_shown_once(api, rounds):
    driven = rounds.to("review", costs=(100_000,))
    url = "voting-codes"

    issued = driven.post(url, {"count": 3}, status=201)

    assert issued["count"] == 3 and len(set(issued["codes"])) == 3
    assert all(CODE.match(code) for code in issued["codes"]), issued["codes"]
    assert driven.get()["codes_issued"] == 3
    driven.refused("POST", url, {"count": 3}, as_=None, status=401)
    driven.refused("POST", url, {"count": 3}, as_="auditor", status=403)
    for count in (0, 2.5, "3", MAX_CODES_PER_BATCH + 1):
        driven.refused("POST", url, {"count": count}, status=422, message="count")


def test_a_ballot_is_cast_replaced_and_looked_up_with_its_code(api, rounds):
    driven = rounds.to("voting")
    first, second, third = driven.proposal_ids
    code = driven.codes[0]
    typed_sloppily = code.replace("-", " ").lower()

    cast = driven.post("ballots", {"code": code, "proposals": [first]}, as_=None, status=201)
    assert (cast["ballot_version"], cast["choices"]) == (1, {first: 1})
    replaced = driven.post(
        "ballots",
        {"code": typed_sloppily, "proposals": [second, third]},
        as_=None,
        status=201,
    )

    assert replaced["ballot_version"] == 2 and replaced["receipt"] != cast["receipt"]
    looked_up = driven.post("ballots/lookup", {"code": code}, as_=None)
    assert looked_up["cast"] is True
    assert (looked_up["ballot_version"], looked_up["receipt"]) == (2, replaced["receipt"])
    assert looked_up["choices"] == {second: 1, third: 1}
    assert driven.get()["ballots_cast"] == 1
    unused = driven.post("ballots/lookup", {"code": driven.codes[1]}, as_=None)
    assert (unused["cast"], unused["ballot_version"], unused["choices"]) == (False, None, {})


def test_a_code_that_was_not_issued_for_the_round_opens_no_ballot(api, rounds):
    driven = rounds.to("voting")
    other_round = rounds.open(title="Other round")
    [other_code] = api.post(f"/rounds/{other_round}/voting-codes", {"count": 1}, status=201)[
        "codes"
    ]

    for code in ("AAAA-BBBB-CCCC", other_code):
        driven.refused(
            "POST",
            "ballots",
            {"code": code, "proposals": driven.proposal_ids[:1]},
            as_=None,
            status=403,
            message="this voting code is not valid for this round",
        )
        driven.refused(
            "POST",
            "ballots/lookup",
            {"code": code},
            as_=None,
            status=403,
            message="this voting code is not valid",
        )


def test_ballots_are_taken_only_while_voting_is_open(api, rounds):
    driven = rounds.to("review", costs=(100_000,))
    [code] = driven.post("voting-codes", {"count": 1}, status=201)["codes"]
    ballot = {"code": code, "proposals": driven.proposal_ids}

    def not_open(phase: str) -> None:
        message = f"voting is not open (the round is in phase '{phase}')"
        driven.refused("POST", "ballots", ballot, as_=None, status=409, message=message)

    not_open("review")
    api.post(f"/proposals/{driven.proposal_ids[0]}/admit")
    driven.post("open-voting")
    driven.post("ballots", ballot, as_=None, status=201)
    driven.post("close-voting")
    not_open("decided")


# Per voting method: the round's rules, then ballots (by proposal index) and what each must get.
BALLOT_RULES = {
    "approval": (
        {"method": "approval", "max_choices": 2},
        [
            ({"proposals": [0, 1]}, 201, None),
            ({"proposals": [0, 1, 2]}, 422, "choose at most 2 proposal(s); this ballot has 3"),
            ({"proposals": []}, 422, "choose at least 1 proposal(s); this ballot has 0"),
            ({"proposals": ["rejected"]}, 422, "not on the ballot"),
            ({"proposals": ["unknown"]}, 422, "not on the ballot"),
            ({"ranking": [0, 1]}, 422, "an approval ballot gives each chosen proposal exactly 1"),
            ({"proposals": [0, 0]}, 422, "a proposal may appear only once"),
            (
                {"proposals": [0], "points": {}},
                422,
                "give exactly one of proposals, points or ranking",
            ),
            ({"proposals": [0], "weight": 2}, 422, "weight"),
        ],
    ),
    "knapsack": (
        {"method": "knapsack", "max_total_cost": 500_000},
        [
            ({"proposals": [0, 1]}, 201, None),
            (
                {"proposals": [1, 2]},
                422,
                "the chosen proposals cost 900000 cents together; at most 500000 cents allowed",
            ),
        ],
    ),
    "cumulative": (
        {"method": "cumulative", "points_total": 5, "max_points": 4},
        [
            ({"points": {0: 3, 1: 2}}, 201, None),
            ({"points": {0: 4, 1: 2}}, 422, "at most 5 points in total; this ballot gives 6"),
            ({"points": {0: 5}}, 422, "at most 4 point(s) per proposal"),
            ({"points": {0: 2.5}}, 422, "Not a valid integer"),
        ],
    ),
    "ordinal": (
        {"method": "ordinal"},
        [
            ({"ranking": [1, 0]}, 201, None),
            ({"points": {0: 1, 1: 3}}, 422, "ranks must be 1, 2, 3, ... without gaps or repeats"),
            ({"proposals": [0, 1]}, 422, "ranks must be 1, 2, 3"),
        ],
    ),
}


@pytest.mark.parametrize("method", list(BALLOT_RULES))
def test_a_ballot_that_breaks_the_rounds_rules_is_refused_naming_the_rule(api, rounds, method):
    voting, cases = BALLOT_RULES[method]
    driven = rounds.to("voting", voting=voting, rejected=(3,), costs=(*rounds.COSTS, 100_000))
    names = {"rejected": driven.proposal_ids[3], "unknown": str(uuid.uuid4())}

    def proposal(index):
        return names.get(index) or driven.proposal_ids[int(index)]

    def with_ids(chosen):
        if isinstance(chosen, dict):
            return {proposal(index): points for index, points in chosen.items()}
        return [proposal(index) for index in chosen] if isinstance(chosen, list) else chosen

    for code, (ballot, status, message) in zip(driven.codes * len(cases), cases):
        body = {"code": code, **{kind: with_ids(chosen) for kind, chosen in ballot.items()}}
        if status == 201:
            driven.post("ballots", body, as_=None, status=201)
        else:
            driven.refused("POST", "ballots", body, as_=None, status=status, message=message)
    assert driven.get()["ballots_cast"] == 1


def test_votes_stay_hidden_until_voting_closes_and_the_receipts_match_the_count(api, rounds):
    driven = rounds.to("voted")
    first = driven.proposal_ids[0]

    assert all("votes" not in p for p in driven.get("proposals"))
    assert "votes" not in api.get(f"/proposals/{first}")
    during = driven.get("results")
    assert during["tally"] is None and {p["votes"] for p in during["proposals"]} == {None}
    assert driven.get("receipts") == {
        "round_id": driven.round_id,
        "ballot_digest": None,
        "receipts": [],
    }

    driven.post("close-voting")

    assert [p["votes"] for p in driven.get("proposals")] == [2, 2, 1]
    assert api.get(f"/proposals/{first}")["votes"] == 2
    receipts = driven.get("receipts")
    assert receipts["receipts"] == sorted(driven.receipts)
    driven.refused(
        "GET", f"tallies/{uuid.uuid4()}/verify", as_=None, status=404, message="no tally"
    )

    tally = driven.post("tallies", status=201)

    assert tally["result"]["ballot_digest"] == receipts["ballot_digest"]
    assert tally["result"]["ballots_counted"] == 3
    verified = driven.get(f"tallies/{tally['tally_id']}/verify")
    assert (verified["matches"], verified["differences"]) == (True, [])
    assert verified["recomputed"]["winners"] == tally["result"]["winners"]
    driven.refused(
        "GET", f"tallies/{uuid.uuid4()}/verify", as_=None, status=404, message="not found"
    )


def test_a_round_id_in_capitals_records_a_tally_fully_or_not_at_all(api, rounds):
    driven = rounds.to("decided")

    api.all_or_nothing(
        "POST", f"/rounds/{driven.round_id.upper()}/tallies", {}, as_="official", status=201
    )
