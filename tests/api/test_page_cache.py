"""Cached public pages: served again while the log stands still, fresh as soon as an event is
stored (by this worker or another), with a CSRF token of their own in every response."""
from __future__ import annotations

import re

from flask import Flask

from service.app import create_app
from service.pages.page_cache import EXTENSION
from tests.api.conftest import close_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def cached_pages(app: Flask) -> int:
    return len(app.extensions[EXTENSION])


def test_a_repeated_read_is_served_from_the_cache_per_path_and_language(app, client, rounds):
    driven = rounds.to("review", costs=[10_000])
    first = client.get(driven.url)
    assert first.status_code == 200 and cached_pages(app) == 1
    again = client.get(driven.url)
    assert again.text == first.text and cached_pages(app) == 1
    english = client.get(f"{driven.url}?lang=en")
    assert 'lang="en"' in english.text and cached_pages(app) == 2
    assert 'lang="nl"' in client.get(driven.url, headers={"Cookie": "lang=nl"}).text
    # the security headers are the response's, as on any page
    assert "default-src 'self'" in again.headers["Content-Security-Policy"]


def test_a_token_holder_who_sees_more_gets_a_page_of_their_own(app, client, rounds, official):
    driven = rounds.to("review", costs=[10_000])
    public = client.get(f"{driven.url}?lang=en").text
    assert "Submitted, awaiting review" not in public and cached_pages(app) == 1
    seen_by_official = client.get(f"{driven.url}?lang=en", headers=official).text
    assert "Submitted, awaiting review" in seen_by_official
    assert cached_pages(app) == 1


def test_a_cached_round_page_shows_an_admission_stored_by_another_worker_at_once(
    app, client, rounds, settings, official
):
    driven = rounds.to("review", costs=[10_000])
    before = client.get(f"{driven.url}?lang=en").text
    assert "No proposal is on the ballot yet." in before
    assert "Proposal 0" not in before

    other_worker = create_app(settings)
    try:
        admitted = other_worker.test_client().post(
            f"/api/v1/proposals/{driven.proposal_ids[0]}/admit", headers=official, json={}
        )
        assert admitted.status_code == 200
    finally:
        close_app(other_worker)

    after = client.get(f"{driven.url}?lang=en").text
    assert "No proposal is on the ballot yet." not in after
    assert "Proposal 0" in after


def test_a_cached_results_page_shows_a_recorded_tally_and_each_reader_gets_own_csrf_token(
    app, rounds
):
    driven = rounds.to("decided")
    results = f"{driven.url}/results?lang=en"
    first_reader, second_reader = app.test_client(), app.test_client()
    assert "The votes have not been counted yet." in first_reader.get(results).text

    driven.post("tallies", status=201)
    first_page, second_page = first_reader.get(results).text, second_reader.get(results).text
    assert "The votes have not been counted yet." not in second_page
    assert "Recount now" in second_page
    first_token, second_token = CSRF.search(first_page)[1], CSRF.search(second_page)[1]
    assert first_token != second_token
    assert app.extensions[EXTENSION].csrf_slot not in second_page
    assert cached_pages(app) == 2  # before and after the tally: served from the cache

    recount = f"{driven.url}/results/recount?lang=en"
    # a token belongs to the session of the reader whose page carried it
    assert first_reader.post(recount, data={"csrf_token": second_token}).status_code == 400
    matched = second_reader.post(recount, data={"csrf_token": second_token})
    assert matched.status_code == 200
    assert "The recount matches." in matched.text
    assert first_reader.post(recount, data={"csrf_token": first_token}).status_code == 200
