"""Wrong voting codes are counted by all gunicorn workers together, on the embedded default store.

Guesses go out one at a time, each on a new connection, until workers other than the first
have answered some; the access log says which worker answered which. Were the counts kept per
worker, every other worker would answer 403 again until its own count was spent, so more than
WRONG guesses would be answered 403.
"""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.test_round_through_http import API, Api, proposal_body

WRONG = 4
MAX_GUESSES = 120


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {**settings, "WRONG_CODE_LIMIT": f"{WRONG} per hour",
            "CODE_ATTEMPT_LIMIT": f"{MAX_GUESSES * 2} per hour"}


def round_open_for_voting(api: Api) -> tuple[str, str]:
    """A round in its voting phase with one proposal on the ballot: (round id, a voting code)."""
    municipality = api.post("/municipalities", {"name": "Utrecht"}, who="anna", expect=201)
    neighbourhood = api.post("/neighbourhoods", {"municipality_id": municipality["municipality_id"],
                                                 "name": "Lombok"}, who="anna", expect=201)
    round_id = api.post("/rounds", {"neighbourhood_id": neighbourhood["neighbourhood_id"],
                                    "title": "Lombok 2026"}, who="anna", expect=201)["round_id"]
    proposal = api.post(f"/rounds/{round_id}/proposals", proposal_body("Benches", 100_000),
                        expect=201)
    api.post(f"/rounds/{round_id}/close-submissions", who="anna")
    api.post(f"/proposals/{proposal['proposal_id']}/admit", who="anna")
    api.post(f"/rounds/{round_id}/open-voting", who="anna")
    codes = api.post(f"/rounds/{round_id}/voting-codes", {"count": 1}, who="anna", expect=201)
    return round_id, codes["codes"][0]


def test_wrong_codes_are_counted_across_workers(server: Any):
    api = Api(server)
    round_id, code = round_open_for_voting(api)
    api.client.close()
    lookup = f"{server.base_url}{API}/rounds/{round_id}/ballots/lookup"

    def workers_that_answered() -> set[int]:
        return {pid for pid, line, _ in server.access_log() if "/ballots/lookup" in line}

    statuses = []
    while len(statuses) < MAX_GUESSES and (len(statuses) <= WRONG or
                                           len(workers_that_answered()) < 2):
        response = httpx.post(lookup, json={"code": "AAAA-AAAA-AAAA"}, timeout=30.0)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) > 0
    assert len(workers_that_answered()) >= 2, "all guesses went to one worker"
    assert statuses[:WRONG] == [403] * WRONG
    assert set(statuses[WRONG:]) == {429}, statuses
    # The valid code is refused as well from this address, for as long as the window lasts.
    assert httpx.post(lookup, json={"code": code}, timeout=30.0).status_code == 429
