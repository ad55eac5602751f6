"""Hostile input at the edge: every request answers 4xx in the one error shape, never 5xx, and
nothing a read model cannot store becomes an event (on SQLite and on PostgreSQL)."""
from __future__ import annotations

import json
import uuid

import pytest

from service.app import create_app
from service.extension import EXTENSION

SOMEWHERE = f"/rounds/{uuid.uuid4()}/proposals"


def raw(api, path, text, *, as_=None, status, message, content_type="application/json"):
    """Send `text` as the body as it is, no JSON encoding by the test client."""
    return api.refused(
        "POST", path, as_=as_, status=status, message=message, data=text, content_type=content_type
    )


# -- no 5xx for any body ---------------------------------------------------------------------

def test_json_nested_too_deeply_is_a_bad_request(api):
    raw(api, SOMEWHERE, "[" * 100_000 + "]" * 100_000, status=400, message="nested too deeply")


def test_an_integer_literal_of_more_than_4300_digits_is_a_bad_request(api):
    body = '{"title": "Benches", "amount": 1' + "0" * 5_000 + "}"
    raw(api, SOMEWHERE, body, status=400, message="too many digits")


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "x\\udc00y", "\\ud83d"])
def test_a_lone_surrogate_is_a_bad_request(api, rounds, escape):
    driven = rounds.to("submission", costs=())
    body = json.dumps(rounds.proposal_body(1000))
    body = body.replace('"Benches"', f'"{escape}"')
    raw(api, f"{driven.url}/proposals", body, status=400, message="lone surrogate")
    raw(api, "/municipalities", f'{{"na{escape}me": "x"}}', as_="official", status=400,
        message="lone surrogate")


def test_a_surrogate_pair_escape_is_text(api, rounds):
    driven = rounds.to("submission", costs=())
    body = json.dumps(rounds.proposal_body(1000)).replace('"Benches"', '"Bankjes \\ud83d\\ude00"')

    response = api.client.post(f"/api/v1{driven.url}/proposals", data=body,
                               content_type="application/json")

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["proposal"]["title"] == "Bankjes \N{GRINNING FACE}"


def test_duplicate_keys_are_a_bad_request(api, rounds):
    driven = rounds.to("submission", costs=())
    body = '{"amount": 1, "amount": 500000, "source": "Gemeente"}'
    raw(api, f"{driven.url}/deposits", body, as_="official", status=400,
        message='the key "amount" appears more than once')


def test_a_missing_body_is_a_bad_request(api, rounds):
    driven = rounds.to("submission", costs=())
    driven.refused("POST", "close-submissions", status=400, message="a JSON body is required")
    driven.refused("POST", "deposits", status=400, message="a JSON body is required")


def test_a_body_that_is_not_json_is_unsupported(api, rounds):
    driven = rounds.to("submission", costs=())
    driven.refused("POST", "close-submissions", data="amount=1", status=415,
                   content_type="application/x-www-form-urlencoded", message="application/json")


def test_a_body_over_one_megabyte_is_too_large(api, rounds):
    driven = rounds.to("submission", costs=())
    body = rounds.proposal_body(1000, description="x" * 1_100_000)

    driven.refused("POST", "proposals", body, as_=None, status=413, message="Too Large")


def test_the_body_limit_is_a_setting(settings, issued_tokens):
    app = create_app({**settings, "MAX_BODY_BYTES": 200})
    try:
        client = app.test_client()
        small = client.post(f"/api/v1{SOMEWHERE}", json={"title": "x" * 100})
        large = client.post(f"/api/v1{SOMEWHERE}", json={"title": "x" * 300})
    finally:
        app.extensions[EXTENSION].close()

    assert small.status_code == 422  # read, then refused for the missing fields
    assert large.status_code == 413
    assert large.get_json()["message"].startswith(
        "the request body is larger than the limit of 200"
    )


# -- no 5xx for any query string ---------------------------------------------------------------

def test_a_log_position_beyond_64_bits_is_a_bad_request(api, rounds):
    driven = rounds.to("submission", costs=())
    huge = "10000000000000000000000000"
    api.refused("GET", f"/events?after={huge}", as_="auditor", status=400, message="after")
    driven.refused("GET", f"audit-trail?after={huge}", as_="auditor", status=400, message="after")
    api.refused("GET", "/events?after=" + "9" * 5000, as_="auditor", status=400, message="after")


@pytest.mark.parametrize("query", ["as_of=2026-01-01", "format=csv", "limit=5"])
def test_an_unknown_query_parameter_is_a_bad_request_naming_it(api, rounds, query):
    driven = rounds.to("submission", costs=())
    name = query.split("=")[0]
    # A round's reads and its proposals declare `as_of` (time travel); the others do not.
    paths = ("/rounds", "/municipalities")
    for path in paths if name == "as_of" else (driven.url, f"{driven.url}/proposals", *paths):
        payload = api.refused("GET", f"{path}?{query}", status=400, message=name)
        assert payload["errors"] == {"query": {name: ["Unknown field."]}}
    api.refused("GET", "/healthz?verbose=1", status=400, message="verbose")


def test_known_query_parameters_still_work(api, rounds):
    driven = rounds.to("submission", costs=())
    assert [r["round_id"] for r in api.get("/rounds?phase=submission")] == [driven.round_id]
    assert api.get("/events?after=0&limit=1", as_="auditor")["events"][0]["id"] == 1


def test_the_public_payout_list_honours_the_status_filter(api, rounds):
    driven = rounds.to("execution")
    winner = driven.winners[0]
    rounds.payout(driven, winner, 10_000, until="paid")
    rounds.payout(driven, winner, 20_000, until="requested")

    assert [p["status"] for p in driven.get("payouts")] == ["paid"]
    assert driven.get("payouts?status=requested") == []
    assert [p["amount"] for p in driven.get("payouts?status=paid")] == [10_000]
    assert [p["amount"] for p in driven.get("payouts?status=requested", as_="official")] == [20_000]
    driven.refused("GET", "payouts?status=lost", as_=None, status=400, message="status")


def test_an_empty_settings_change_records_no_event(api, rounds):
    driven = rounds.to("submission", costs=())
    head = api.head()

    for body in ({}, {"schedule": {}}, {"voting": {}}):
        assert driven.patch("settings", body)["round_id"] == driven.round_id

    assert api.head() == head


@pytest.mark.parametrize("stage", ["submission", "voting", "closed"])
def test_a_settings_change_that_repeats_the_settings_records_no_event(api, rounds, stage):
    driven = rounds.to(stage)
    now = driven.get(as_="official")
    head = api.head()

    for body in (
        {"schedule": now["schedule"]},
        {"voting": {"method": now["voting"]["method"]}},
        {"schedule": now["schedule"], "voting": now["voting"]},
    ):
        answered = driven.patch("settings", body)
        assert (answered["schedule"], answered["voting"]) == (now["schedule"], now["voting"])

    assert api.head() == head


def test_setting_the_paying_account_it_already_has_records_no_event(api, rounds):
    municipality = api.get(f"/neighbourhoods/{rounds.neighbourhood()}")["municipality_id"]
    url = f"/municipalities/{municipality}/paying-account"
    account = {"name": "Gemeente Amsterdam", "iban": "NL91ABNA0417164300"}
    api.ok("PUT", url, account, as_="official")
    head = api.head()

    again = api.ok("PUT", url, {**account, "iban": "nl91 abna 0417 1643 00"}, as_="official")

    assert again == {**account, "municipality_id": municipality}
    assert api.head() == head
    api.ok("PUT", url, {**account, "name": "Gemeente Amsterdam (betalingen)"}, as_="official")
    assert api.head() == head + 1


# -- nothing a read model cannot store becomes an event ------------------------------------------

@pytest.mark.parametrize(
    "title",
    ["Bench\u0000es", "Bench\u0007", "\u001b[31mred", "Bench\u0085", "Bench\u007f"],
)
def test_text_with_control_characters_is_refused_and_reads_keep_working(api, rounds, title):
    driven = rounds.to("submission", costs=())

    payload = driven.refused("POST", "proposals", rounds.proposal_body(1000, title=title),
                             as_=None, status=422, message="control characters")

    assert "title" in payload["errors"]["json"]
    assert driven.get("proposals", as_="official") == []
    assert api.get("/healthz")["status"] == "ok"


def test_text_is_stored_in_nfc_with_newlines_and_tabs_kept(api, rounds):
    driven = rounds.to("submission", costs=())
    body = rounds.proposal_body(1000, title="Cafe\u0301 terras", description="a\r\nb\tc\nd")

    proposal = driven.post("proposals", body, as_=None, status=201)["proposal"]

    assert proposal["title"] == "Caf\u00e9 terras"
    assert proposal["description"] == "a\nb\tc\nd"


@pytest.mark.parametrize("points", [3_000_000_000, 10**20, 1_000_001])
def test_points_beyond_the_documented_range_are_refused(api, rounds, points):
    voting = {"method": "cumulative", "points_total": 1_000_000}
    driven = rounds.to("voting", voting=voting, costs=(1000,))
    body = {"code": driven.codes[0], "points": {driven.proposal_ids[0]: points}}
    too_many = {"neighbourhood_id": rounds.neighbourhood(), "title": "Many points",
                "voting": {"method": "cumulative", "points_total": points, "max_points": points}}

    api.refused("POST", "/rounds", too_many, as_="official", status=422, message="points_total")
    driven.refused("POST", "ballots", body, as_=None, status=422, message="points")

    api.get(f"/proposals/{driven.proposal_ids[0]}")
    assert api.get("/healthz")["status"] == "ok"


def test_the_largest_documented_points_are_stored_and_read(api, rounds):
    voting = {"method": "cumulative", "points_total": 1_000_000}
    driven = rounds.to("voting", voting=voting, costs=(1000,), codes=3)
    for code in driven.codes:
        driven.post("ballots", {"code": code, "points": {driven.proposal_ids[0]: 1_000_000}},
                    as_=None, status=201)
    driven.post("close-voting")

    assert api.get(f"/proposals/{driven.proposal_ids[0]}")["points"] == 3_000_000


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("settings", {"voting": {"points_total": 10**20}}, "points_total"),
        ("settings", {"voting": {"max_total_cost": 10**13}}, "max_total_cost"),
        ("settings", {"voting": {"scoring": [3, 10**20]}}, "scoring"),
        ("settings", {"voting": {"min_choices": 2**31}}, "min_choices"),
        ("deposits", {"amount": 10**13, "source": "Gemeente"}, "amount"),
    ],
)
def test_numbers_beyond_the_documented_ranges_are_refused(api, rounds, path, body, field):
    driven = rounds.to("submission", costs=())
    method = "PATCH" if path == "settings" else "POST"
    payload = driven.refused(method, path, body, status=422, message=field)
    assert field in json.dumps(payload["errors"])
