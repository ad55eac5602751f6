"""Property: arbitrary text and numbers through every write endpoint never break a read.

Whatever a write answers (stored, or refused with a 4xx), afterwards every read endpoint answers
200: nothing a read model on SQLite or PostgreSQL cannot store ever becomes an event.
"""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

# Any code point, lone surrogates and NUL included, short and long.
TEXT = st.text(st.characters(exclude_categories=()), max_size=30) | st.sampled_from(
    ["\x00", "\ud800", "a\udfffb", "e\u0301", "\r\n", "\x1b[0m", "  ", "x" * 300]
)
NUMBER = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, 2**31, 3 * 10**9, 10**12, 10**12 + 1, 2**63, 10**20, 10**400])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
)
# Bounded, and no shrinking (each example drives some 90 requests): the failing example is shown.
EXAMPLES = 10


def writes(driven: dict[str, Any], text: str, number: Any) -> list[tuple[str, str, dict, str]]:
    """(method, path, body, caller) for every write endpoint, `text` and `number` in each field."""
    submission, review, voting, execution = (
        driven[k] for k in ("submission", "review", "voting", "execution")
    )
    return [
        ("POST", "/municipalities", {"name": text, "cbs_code": text}, "official"),
        ("POST", "/neighbourhoods",
         {"municipality_id": driven["municipality_id"], "name": text, "cbs_code": text},
         "official"),
        ("POST", "/rounds", {"neighbourhood_id": driven["neighbourhood_id"], "title": text,
                             "description": text, "voting": {"method": "cumulative",
                                                             "points_total": number}}, "official"),
        ("PATCH", f"{submission.url}/settings",
         {"voting": {"min_choices": number, "max_choices": number, "points_total": number,
                     "min_points": number, "max_points": number, "scoring": [number],
                     "max_total_cost": number}}, "official"),
        ("POST", f"{submission.url}/deposits",
         {"amount": number, "source": text, "reference": text}, "official"),
        ("POST", f"{submission.url}/proposals",
         {"title": text, "summary": text, "description": text, "category": text,
          "reference": text, "cost_lines": [{"description": text, "amount": number}],
          "proposer_name": text, "proposer_email": f"{text}@example.org"}, None),
        ("POST", f"/proposals/{review.proposal_ids[0]}/admit", {"amount": number, "note": text},
         "official"),
        ("POST", f"/proposals/{review.proposal_ids[1]}/reject", {"reason": text}, "official"),
        ("POST", f"/proposals/{review.proposal_ids[2]}/withdraw",
         {"proposer_key": text, "reason": text}, None),
        ("POST", f"{voting.url}/voting-codes", {"count": number}, "official"),
        ("POST", f"{voting.url}/ballots",
         {"code": voting.codes[0], "points": {voting.proposal_ids[0]: number}}, None),
        ("POST", f"{voting.url}/ballots", {"code": text, "points": {text: number}}, None),
        ("POST", f"{voting.url}/ballots/lookup", {"code": text}, None),
        ("POST", f"{execution.url}/payouts",
         {"proposal_id": execution.winners[0], "amount": number, "payee_name": text,
          "iban": "NL91ABNA0417164300", "reference": text, "description": text}, "official"),
        ("POST", f"{execution.url}/payouts", {"proposal_id": execution.winners[0], "amount": 1,
                                              "payee_name": "x", "iban": text, "reference": "x"},
         "official"),
        ("POST", f"{execution.url}/payouts/{driven['requested']}/reject", {"reason": text},
         "second_official"),
        ("POST", f"{execution.url}/payouts/{driven['approved']}/paid", {"bank_reference": text},
         "third_official"),
        ("POST", f"{execution.url}/payouts/{driven['approved']}/reverse", {"reason": text},
         "official"),
        ("POST", f"/proposals/{execution.winners[-1]}/complete", {"report": text}, "official"),
        ("POST", "/tokens", {"name": text, "role": "auditor"}, "admin"),
        ("POST", f"{execution.url}/close", {"destination": text}, "official"),
    ]


def reads(driven: dict[str, Any]) -> list[tuple[str, str | None]]:
    rounds = [driven[k] for k in ("submission", "review", "voting", "execution")]
    paths = ["/municipalities", "/neighbourhoods", "/rounds", "/healthz"]
    for r in rounds:
        paths += [r.url, f"{r.url}/deposits", f"{r.url}/proposals", f"{r.url}/tallies",
                  f"{r.url}/results", f"{r.url}/receipts", f"{r.url}/payouts"]
    calls: list[tuple[str, str | None]] = [(p, None) for p in paths]
    calls += [(p, "official") for p in paths]
    calls += [(f"/proposals/{p}", "official") for r in rounds for p in r.proposal_ids]
    calls += [(f"{r.url}/audit-trail", "auditor") for r in rounds]
    calls += [("/events?limit=10000", "auditor"), ("/tokens", "admin")]
    return calls


@pytest.fixture
def driven(api, rounds) -> dict[str, Any]:
    neighbourhood_id = rounds.neighbourhood()
    cumulative = {"method": "cumulative", "points_total": 1_000_000}
    execution = rounds.to("execution")
    payout = rounds.payout(execution, execution.winners[0], 1000, until="approved")
    requested = rounds.payout(execution, execution.winners[0], 1000, until="requested")
    return {
        "requested": requested["payout_id"],
        "approved": payout["payout_id"],
        "neighbourhood_id": neighbourhood_id,
        "municipality_id": api.get(f"/neighbourhoods/{neighbourhood_id}")["municipality_id"],
        "submission": rounds.to("submission", costs=()),
        "review": rounds.to("review"),
        "voting": rounds.to("voting", voting=cumulative, costs=(1000, 2000)),
        "execution": execution,
    }


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=TEXT, number=NUMBER)
@example(text="Bench\x00es", number=3 * 10**9)  # what once stopped every read on PostgreSQL
@example(text="\ud800", number=10**20)
def test_no_input_through_any_write_breaks_a_read(api, driven, text, number):
    for method, path, body, caller in writes(driven, text, number):
        response = api.call(method, path, body, as_=caller)
        assert response.status_code < 500, (method, path, body, response.get_json())
        if response.status_code >= 400:
            api.error(response, response.status_code)

    for path, caller in reads(driven):
        response = api.call("GET", path, as_=caller)
        assert response.status_code == 200, (path, caller, response.get_json())
