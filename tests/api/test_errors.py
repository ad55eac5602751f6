"""One error shape, {code, status, message, errors?}, for every way a request can fail."""
from __future__ import annotations

import pytest

import projections.places


def test_malformed_json_is_a_bad_request(api):
    payload = api.refused(
        "POST",
        "/municipalities",
        as_="official",
        status=400,
        message="the body is not valid JSON",
        data='{"name": ',
        content_type="application/json",
    )

    assert payload["errors"] == {"json": ["the body is not valid JSON (Expecting value at 9)"]}


def test_a_body_that_is_not_an_object_is_unprocessable(api):
    payload = api.refused(
        "POST",
        "/municipalities",
        ["Amsterdam"],
        as_="official",
        status=422,
        message="Invalid input type",
    )

    assert payload["errors"] == {"json": {"_schema": ["Invalid input type."]}}


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "this needs a bearer token of an official"),
        ("Bearer bb_not-a-token", "the token is not valid (unknown or revoked)"),
        ("Basic YW5uYTpzZWNyZXQ=", "use 'Authorization: Bearer <token>'"),
        ("Bearer ", "use 'Authorization: Bearer <token>'"),
    ],
)
def test_a_missing_or_invalid_token_is_unauthorized(api, authorization, message):
    headers = {"Authorization": authorization} if authorization else {}

    response = api.client.post("/api/v1/municipalities", json={"name": "Delft"}, headers=headers)

    api.error(response, 401, message)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert api.get("/municipalities") == []


def test_an_unknown_url_is_not_found(api):
    api.refused("GET", "/api/v1/budgets", status=404, message="The requested URL was not found")
    api.refused("GET", "/api/v2/rounds", status=404)


def test_a_method_the_url_does_not_take_is_not_allowed(api, rounds):
    driven = rounds.to("submission", costs=())
    driven.refused("GET", "close-voting", as_=None, status=405, message="not allowed")
    driven.refused("DELETE", "", status=405)


def test_a_method_not_allowed_says_which_methods_are(api):
    response = api.call("DELETE", "/municipalities", as_="official")

    api.error(response, 405)
    assert set(response.headers.get("Allow", "").replace(" ", "").split(",")) >= {"GET", "POST"}


def test_an_unexpected_failure_is_an_internal_error_in_the_same_shape(api, monkeypatch):
    def broken(_conn):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(projections.places, "list_municipalities", broken)

    api.error(
        api.call("GET", "/municipalities"), 500, "an unexpected error happened; it was logged"
    )
