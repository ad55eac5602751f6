"""Guessing voting codes and proposer keys: wrong ones are counted per address and round, then 429.

The limits are small here (3 wrong codes, 12 attempts per hour) so that a test reaches them in
a few requests; `service/rate_limits.py` explains what each one counts.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from tests.api.conftest import ApiCalls, DrivenRound, RoundDriver, close_app

WRONG = 3
ATTEMPTS = 12
WRONG_CODE = "AAAA-AAAA-AAAA"
ADDRESS = "198.51.100.7"
OTHER_ADDRESS = "203.0.113.9"


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        **settings,
        "WRONG_CODE_LIMIT": f"{WRONG} per hour",
        "CODE_ATTEMPT_LIMIT": f"{ATTEMPTS} per hour",
    }


def from_address(address: str, **more: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address, **more}}


def attempt(driven: DrivenRound, code: str, *, path: str = "ballots", address: str = ADDRESS,
            **kwargs: Any):
    body = {"code": code}
    if path == "ballots":
        body["proposals"] = [driven.proposal_ids[0]]
    return driven.api.call("POST", f"{driven.url}/{path}", body, **from_address(address, **kwargs))


def spend_wrong_codes(driven: DrivenRound, address: str = ADDRESS, **kwargs: Any) -> None:
    for _ in range(WRONG):
        driven.api.error(attempt(driven, WRONG_CODE, address=address, **kwargs), 403)


def assert_limited(driven: DrivenRound, response) -> dict[str, Any]:
    payload = driven.api.error(response, 429, "try again in")
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    return payload


def test_after_the_wrong_codes_every_attempt_is_refused_with_retry_after(
    api: ApiCalls, rounds: RoundDriver
):
    driven = rounds.to("voting", codes=1)
    spend_wrong_codes(driven)
    head = api.head()
    assert_limited(driven, attempt(driven, WRONG_CODE))
    # The right code too: otherwise a guesser would learn which guess was right.
    assert_limited(driven, attempt(driven, driven.codes[0]))
    assert api.head() == head, "a limited attempt wrote events"


def test_voters_on_other_addresses_and_in_other_rounds_are_not_slowed(
    api: ApiCalls, rounds: RoundDriver
):
    driven = rounds.to("voting", codes=2)
    other_round = rounds.to("voting", codes=1)
    spend_wrong_codes(driven)
    assert attempt(driven, driven.codes[0], address=OTHER_ADDRESS).status_code == 201
    assert attempt(other_round, other_round.codes[0]).status_code == 201
    assert_limited(driven, attempt(driven, driven.codes[1]))


def test_valid_codes_do_not_count_against_a_household(api: ApiCalls, rounds: RoundDriver):
    driven = rounds.to("voting", codes=WRONG + 2)
    api.error(attempt(driven, WRONG_CODE), 403)
    for code in driven.codes:
        assert attempt(driven, code).status_code == 201
    for _ in range(WRONG - 1):
        api.error(attempt(driven, WRONG_CODE), 403)
    assert_limited(driven, attempt(driven, WRONG_CODE))


def test_casting_and_looking_up_share_one_count(api: ApiCalls, rounds: RoundDriver):
    driven = rounds.to("voting", codes=1)
    api.error(attempt(driven, WRONG_CODE), 403)
    for _ in range(WRONG - 1):
        api.error(attempt(driven, WRONG_CODE, path="ballots/lookup"), 403)
    assert_limited(driven, attempt(driven, driven.codes[0], path="ballots/lookup"))
    assert_limited(driven, attempt(driven, driven.codes[0]))


def test_every_attempt_counts_towards_the_burst_limit(api: ApiCalls, rounds: RoundDriver):
    """Valid attempts are counted by the second limit, which caps concurrent guessing bursts."""
    driven = rounds.to("voting", codes=1)
    for _ in range(ATTEMPTS):
        assert attempt(driven, driven.codes[0], path="ballots/lookup").status_code == 200
    payload = assert_limited(driven, attempt(driven, driven.codes[0], path="ballots/lookup"))
    assert "too many attempts" in payload["message"]


def test_wrong_proposer_keys_are_counted_per_proposal(api: ApiCalls, rounds: RoundDriver):
    driven = rounds.to("submission", costs=(100_000, 100_000))
    first, second = driven.proposal_ids

    def withdraw(proposal_id: str, key: str):
        body = {"proposer_key": key, "reason": "moving away"}
        return api.call("POST", f"/proposals/{proposal_id}/withdraw", body,
                        **from_address(ADDRESS))

    for _ in range(WRONG):
        api.error(withdraw(first, "not-the-key"), 403)
    assert_limited(driven, withdraw(first, driven.proposer_keys[0]))
    assert withdraw(second, driven.proposer_keys[1]).status_code == 200


def test_the_address_is_the_socket_peer_unless_proxies_are_trusted(
    api: ApiCalls, rounds: RoundDriver
):
    """Without TRUSTED_PROXIES, a made-up X-Forwarded-For does not make a new client."""
    driven = rounds.to("voting", codes=1)
    spend_wrong_codes(driven, HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert_limited(driven, attempt(driven, WRONG_CODE, HTTP_X_FORWARDED_FOR="192.0.2.2"))


@pytest.fixture
def client_of(settings: dict[str, Any]) -> Iterator[Callable[..., FlaskClient]]:
    """Test clients of more apps on the same database, each with some settings changed."""
    apps: list[Flask] = []

    def client(**changed: Any) -> FlaskClient:
        apps.append(create_app({**settings, **changed}))
        return apps[-1].test_client()

    yield client
    for app in apps:
        close_app(app)


def test_behind_trusted_proxies_the_forwarded_address_counts(
    api: ApiCalls, rounds: RoundDriver, client_of: Callable[..., FlaskClient]
):
    driven = rounds.to("voting", codes=1)
    api.client = client_of(TRUSTED_PROXIES=1)
    spend_wrong_codes(driven, HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert_limited(driven, attempt(driven, WRONG_CODE, HTTP_X_FORWARDED_FOR="192.0.2.1"))
    assert attempt(driven, driven.codes[0], HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 201


@pytest.fixture
def redis_url(postgres_check: str | None) -> str:
    """Redis for the counts, which must be running under CI (like PostgreSQL)."""
    url = os.environ.get("BUURTBUDGET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3) as connection:
            connection.ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {url} is not reachable: {error} (CI=true: it must be)")
        pytest.skip(f"Redis at {url} is not reachable: {error}")
    return url


def test_with_redis_the_counts_are_kept_in_redis(
    api: ApiCalls, rounds: RoundDriver, client_of: Callable[..., FlaskClient], redis_url: str
):
    driven = rounds.to("voting", codes=1)
    api.client = client_of(REDIS_URL=redis_url)
    with redis.Redis.from_url(redis_url) as connection:
        try:
            spend_wrong_codes(driven)
            assert_limited(driven, attempt(driven, driven.codes[0]))
            counts = {key.decode().split("/")[4]: int(connection.get(key))
                      for key in connection.scan_iter(match=f"*{driven.round_id}*")}
            # The refused attempt was stopped by the first limit before the second counted it.
            assert counts == {"wrong-voting-code": WRONG, "attempts-voting-code": WRONG}
            # Another app server on the same Redis sees the same counts.
            api.client = client_of(REDIS_URL=redis_url)
            assert_limited(driven, attempt(driven, driven.codes[0]))
        finally:
            for key in connection.scan_iter(match=f"*{driven.round_id}*"):
                connection.delete(key)


def test_ipv6_clients_are_counted_per_64_network(api: ApiCalls, rounds: RoundDriver):
    driven = rounds.to("voting", codes=1)
    spend_wrong_codes(driven, address="2001:db8:1:2::10")
    assert_limited(driven, attempt(driven, WRONG_CODE, address="2001:db8:1:2:ffff::1"))
    assert attempt(driven, driven.codes[0], address="2001:db8:1:3::10").status_code == 201


def test_limits_are_documented_in_the_openapi_document(api: ApiCalls):
    paths = api.get("/api/v1/openapi.json")["paths"]
    for path in ("/api/v1/rounds/{round_id}/ballots", "/api/v1/rounds/{round_id}/ballots/lookup",
                 "/api/v1/proposals/{proposal_id}/withdraw"):
        assert "Retry-After" in paths[path]["post"]["responses"]["429"]["headers"], path


def test_the_vote_page_shares_the_count_and_answers_with_the_429_page(
    api: ApiCalls, rounds: RoundDriver, client: FlaskClient
):
    driven = rounds.to("voting", codes=1)
    spend_wrong_codes(driven)
    page = client.get(f"/rounds/{driven.round_id}/vote?lang=en", base_url="https://localhost",
                      **from_address(ADDRESS))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert token, page.text
    limited = client.post(
        f"/rounds/{driven.round_id}/vote", base_url="https://localhost",
        headers={"Referer": page.request.url},
        data={"csrf_token": token.group(1), "code": driven.codes[0]}, **from_address(ADDRESS),
    )
    assert limited.status_code == 429
    assert limited.mimetype == "text/html" and "Too many attempts" in limited.text
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
