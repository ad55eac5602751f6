"""Signing in to the console: a token exchanged for a session cookie with safe flags, ended on
the server by signing out or by revoking the token; CSRF on the form; wrong tokens count
towards the rate limit; roles see 403 pages, never a form that then fails. Both backends."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from tests.api.conftest import close_app
from tests.api.console_client import ConsoleUser, signed_in


def test_a_token_is_exchanged_for_a_session_cookie_that_signing_out_ends(
    app: Flask, issued_tokens: dict[str, str]
):
    user = ConsoleUser(app)
    first = user.get("/console/rounds/new")
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/console/sign-in?next=/console/rounds/new")

    answer = user.sign_in(issued_tokens["official"])
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/console"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("buurtbudget_console=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"):
        assert flag in cookie, cookie
    assert issued_tokens["official"] not in cookie

    home = user.get("/console")
    assert home.status_code == 200
    assert "anna" in home.text and home.headers["Cache-Control"] == "no-store"

    secret = user.cookie().value
    out = user.post("/console/sign-out")
    assert out.status_code == 303 and "Max-Age=0" in out.headers["Set-Cookie"]
    assert user.get("/console").status_code == 302
    # the old cookie copied into another browser is worth nothing: the session ended on the server
    thief = ConsoleUser(app)
    thief.client.set_cookie("buurtbudget_console", secret, domain="localhost", path="/console")
    assert thief.get("/console").status_code == 302


def test_revoking_the_token_ends_its_console_sessions(
    app: Flask, client: FlaskClient, issued_tokens: dict[str, str], admin: dict[str, str]
):
    user = signed_in(app, issued_tokens["second_official"])
    assert user.get("/console").status_code == 200
    listed = client.get("/api/v1/tokens", headers=admin).get_json()
    token_id = next(t["token_id"] for t in listed if t["name"] == "bram")
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=admin).status_code == 204
    assert user.get("/console").status_code == 302


def test_a_wrong_token_is_refused_with_403_at_the_field_and_the_form_needs_its_csrf_token(
    app: Flask, issued_tokens: dict[str, str]
):
    user = ConsoleUser(app)
    wrong = user.sign_in("bb_not-a-token")
    assert wrong.status_code == 403
    assert 'id="token-error"' in wrong.text and 'href="#token"' in wrong.text
    assert "Set-Cookie" not in wrong.headers or "buurtbudget_console" not in wrong.headers["Set-Cookie"]
    without = user.post("/console/sign-in", {"token": issued_tokens["official"]}, csrf=False)
    assert without.status_code == 400
    assert user.cookie() is None


def test_only_a_console_page_is_a_place_to_go_after_signing_in(
    app: Flask, issued_tokens: dict[str, str]
):
    user = ConsoleUser(app)
    answer = user.post("/console/sign-in", {"token": issued_tokens["official"],
                                            "next": "//evil.example/console"})
    assert answer.headers["Location"] == "/console"


def test_wrong_tokens_are_rate_limited_per_address(
    settings: dict[str, Any], issued_tokens: dict[str, str]
):
    app = create_app({**settings, "WRONG_CODE_LIMIT": "2 per 15 minutes"})
    try:
        user = ConsoleUser(app)
        assert [user.sign_in("bb_wrong").status_code for _ in range(2)] == [403, 403]
        limited = user.sign_in(issued_tokens["official"])
        assert limited.status_code == 429
        assert "Retry-After" in limited.headers and limited.mimetype == "text/html"
        assert user.cookie() is None
    finally:
        close_app(app)


@pytest.mark.parametrize(("role", "path", "status"), [
    ("auditor", "/console/rounds/new", 403),
    ("auditor", "/console/places", 403),
    ("admin", "/console/places", 403),
    ("auditor", "/console", 200),
    ("admin", "/console", 200),
])
def test_a_role_without_the_right_sees_403_before_any_form(
    app: Flask, issued_tokens: dict[str, str], role: str, path: str, status: int
):
    user = signed_in(app, issued_tokens[role])
    answer = user.get(path)
    assert answer.status_code == status
    if status == 403:
        assert "<form" not in answer.text.split("<main", 1)[1].split("Sign out", 1)[-1]
        assert 'action="/console/' not in answer.text.replace('action="/console/sign-out"', "")
        # and posting the form anyway is refused the same way, with nothing written
        assert user.post("/console/municipalities", {
            "municipality-name": "Haarlem"}).status_code == 403


def test_an_administrator_creates_a_token_that_signs_in_once_and_revokes_it(
    app: Flask, issued_tokens: dict[str, str]
):
    dirk = signed_in(app, issued_tokens["admin"])
    assert signed_in(app, issued_tokens["official"]).get("/console/tokens").status_code == 403
    bad = dirk.post("/console/tokens?lang=en", {"name": "fenna de vries", "role": "official"})
    assert bad.status_code == 422 and 'id="name-error"' in bad.text
    made = dirk.post("/console/tokens?lang=en", {"name": "fenna", "role": "auditor"})
    assert made.status_code == 200
    token = re.search(r'id="new-token">([^<]+)<', made.text).group(1)
    fenna = signed_in(app, token)
    assert fenna.get("/console/checkpoints").status_code == 200  # an auditor
    listed = dirk.get("/console/tokens?lang=en")
    assert token not in listed.text  # shown once only
    token_id = re.search(r'/console/tokens/([0-9a-f-]{36})/revoke"[^>]*>\s*'
                         r'<input[^>]*>\s*<button[^>]*>Revoke the token of fenna', listed.text)
    assert token_id, listed.text
    assert dirk.post(f"/console/tokens/{token_id.group(1)}/revoke").status_code == 303
    assert fenna.get("/console").status_code == 302
