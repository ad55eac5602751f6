"""Every kind of answer carries the security headers; HTML pages get the page policy."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask

from tests.api.conftest import ApiCalls

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
ONE_MEGABYTE = 1024 * 1024
LOOKUP = f"/rounds/{uuid.uuid4()}/ballots/lookup"

# (what, method, path, JSON body, more request arguments, status), sent in this order
ANSWERS: list[tuple[str, str, str, Any, dict[str, Any], int]] = [
    ("list", "GET", "/rounds", None, {}, 200),
    ("created", "POST", "/municipalities", {"name": "Delft"}, {"as_": "official"}, 201),
    ("health", "GET", "/healthz", None, {}, 200),
    ("openapi", "GET", "/api/v1/openapi.json", None, {}, 200),
    ("malformed json", "POST", "/municipalities", None,
     {"as_": "official", "data": b"{", "content_type": "application/json"}, 400),
    ("bad token", "GET", "/rounds", None, {"headers": {"Authorization": "Bearer nope"}}, 401),
    # The one attempt CODE_ATTEMPT_LIMIT allows here, then the one too many.
    ("wrong code", "POST", LOOKUP, {"code": "AAAA-AAAA-AAAA"}, {}, 403),
    ("unknown url", "GET", "/nothing-here", None, {}, 404),
    ("wrong method", "DELETE", "/rounds", None, {}, 405),
    ("too large", "POST", "/municipalities", None,
     {"as_": "official", "data": b"x" * (2 * ONE_MEGABYTE), "content_type": "application/json"},
     413),
    ("invalid", "POST", "/municipalities", {"name": ""}, {"as_": "official"}, 422),
    ("too many", "POST", LOOKUP, {"code": "AAAA-AAAA-AAAA"}, {}, 429),
]


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {**settings, "CODE_ATTEMPT_LIMIT": "1 per hour"}


@pytest.fixture
def sized_app(app: Flask) -> Flask:
    """The app with a body limit; where the service sets none itself, 1 MB for this test."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = ONE_MEGABYTE
    return app


def test_every_answer_carries_the_security_headers(sized_app: Flask, api: ApiCalls):
    """All kinds in one test: each needs only a request, the app and database are the costly part."""
    for what, method, path, body, extra, status in ANSWERS:
        extra = dict(extra)
        headers = {**api.headers(extra.pop("as_", None)), **extra.pop("headers", {})}
        url = path if path.startswith(("/api/", "/healthz")) else "/api/v1" + path
        response = api.client.open(url, method=method, json=body, headers=headers, **extra)
        assert response.status_code == status, (what, response.get_data(as_text=True)[:300])
        for name, value in ALWAYS.items():
            assert response.headers.get(name) == value, (what, name)
        assert response.headers["Content-Security-Policy"].startswith(API_POLICY), what


def test_html_pages_get_the_page_policy_and_views_may_set_their_own(app: Flask):
    app.add_url_rule("/page", "page", lambda: "<p>hallo</p>")
    app.add_url_rule("/framed", "framed", lambda: (
        "<p>embeddable</p>", {"Content-Security-Policy": "frame-ancestors https://example.org"}
    ))
    client = app.test_client()
    page = client.get("/page")
    assert page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    framed = client.get("/framed")
    assert framed.headers["Content-Security-Policy"] == "frame-ancestors https://example.org"
    assert framed.headers["Referrer-Policy"] == "no-referrer"
