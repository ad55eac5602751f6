"""Pages through the Flask client: HTML errors for pages and JSON for the API, the page CSP, the
language choice, and CSRF on page forms but not on the JSON API."""
from __future__ import annotations

from werkzeug.exceptions import TooManyRequests

from service.pages.error_pages import handle_http_exception
from tests.api.conftest import proposal_body


def test_an_unknown_page_is_an_html_404_and_an_unknown_api_url_stays_json(client):
    page = client.get("/rounds/00000000-0000-0000-0000-000000000000")
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "Pagina niet gevonden" in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]

    api = client.get("/api/v1/rounds/00000000-0000-0000-0000-000000000000")
    assert api.status_code == 404
    assert api.get_json()["code"] == 404
    assert api.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_too_many_attempts_is_a_page_in_the_chosen_language(app):
    with app.test_request_context("/rounds/x/vote?lang=en"):
        body, code, _headers = handle_http_exception(TooManyRequests())
    assert code == 429
    assert "Too many attempts" in body
    with app.test_request_context("/api/v1/rounds/x/ballots"):
        payload, code, _headers = handle_http_exception(TooManyRequests())
    assert (code, payload["code"]) == (429, 429)


def test_the_language_is_picked_with_lang_and_kept_in_a_cookie(client):
    assert 'lang="nl"' in client.get("/").text
    chosen = client.get("/?lang=en")
    assert 'lang="en"' in chosen.text
    cookie = chosen.headers["Set-Cookie"]
    assert "lang=en" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" in cookie
    # a Secure cookie goes back over HTTPS only
    assert 'lang="en"' in client.get("/money", base_url="https://localhost").text


def test_page_forms_need_their_csrf_token_and_the_json_api_does_not(client, official):
    created = client.post("/api/v1/municipalities", headers=official,
                          json={"name": "Utrecht", "cbs_code": "GM0344"})
    assert created.status_code == 201
    neighbourhood = client.post(
        "/api/v1/neighbourhoods", headers=official,
        json={"municipality_id": created.get_json()["municipality_id"], "name": "Lombok"},
    ).get_json()["neighbourhood_id"]
    round_id = client.post("/api/v1/rounds", headers=official, json={
        "neighbourhood_id": neighbourhood, "title": "Lombok 2026"}).get_json()["round_id"]

    refused = client.post(f"/rounds/{round_id}/proposals/new", data={"title": "x", "submit": "1"})
    assert refused.status_code == 400
    assert refused.mimetype == "text/html"
    # a resident submits through the JSON API without any CSRF token
    assert client.post(f"/api/v1/rounds/{round_id}/proposals",
                       json=proposal_body(10_000)).status_code == 201
