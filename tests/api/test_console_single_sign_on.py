"""Single sign-on to the console against a real OpenID Connect provider that the test starts
(oidc-provider-mock, on a loopback port): a verified identity with one role gets a session and
acts under its e-mail address; an identity without a role, a refused login and a forged answer
get no session. Both backends."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from flask import Flask

from service.app import create_app
from tests.api.conftest import close_app
from tests.api.console_client import HTTPS, ConsoleUser
from tests.e2e.conftest import free_port

PEOPLE = [
    {"sub": "anna", "email": "anna@zwolle.nl", "email_verified": True,
     "buurtbudget_role": ["staff", "official"]},
    {"sub": "kees", "email": "kees@zwolle.nl", "email_verified": True,
     "buurtbudget_role": "auditor"},
    {"sub": "joop", "email": "joop@zwolle.nl", "email_verified": True},
]


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """oidc-provider-mock in a process of its own, requiring a nonce, with three people."""
    port = free_port()
    people = [arg for person in PEOPLE for arg in ("--user-claims", json.dumps(person))]
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port),
         "--require-nonce", "true", *people],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the OpenID provider did not start")
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sso_app(settings: dict[str, Any], issued_tokens: dict[str, str], provider: str
            ) -> Iterator[Flask]:
    app = create_app({**settings, "OIDC_ISSUER": provider, "OIDC_CLIENT_ID": "buurtbudget",
                      "OIDC_CLIENT_SECRET": "not-checked-by-the-mock"})
    yield app
    close_app(app)


def log_in_at_provider(user: ConsoleUser, subject: str | None, *, deny: bool = False) -> Any:
    """Start single sign-on, answer the provider's form as `subject`, return to the console."""
    started = user.get("/console/sign-in/oidc?next=/console/places")
    assert started.status_code == 302
    authorize = started.headers["Location"]
    form = {"action": "deny"} if deny else {"sub": subject}
    answer = httpx.post(authorize, data=form)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}" == HTTPS
    return user.get(f"{back.path}?{back.query}")


def test_a_verified_identity_with_a_role_gets_a_session_and_acts_under_its_name(
    sso_app: Flask, client: Any, auditor: dict[str, str]
):
    anna = ConsoleUser(sso_app)
    page = anna.get("/console/sign-in?lang=en")
    assert "Sign in with your municipal account" in page.text
    done = log_in_at_provider(anna, "anna")
    assert done.status_code == 303 and done.headers["Location"] == "/console/places"
    assert "SameSite=Strict" in done.headers["Set-Cookie"]
    assert "anna@zwolle.nl" in anna.get("/console").text
    assert anna.post("/console/municipalities", {
        "municipality-name": "Zwolle", "municipality-cbs_code": "GM0193"}).status_code == 303
    municipality = client.get("/api/v1/municipalities").get_json()[0]["municipality_id"]
    assert anna.post("/console/neighbourhoods", {"neighbourhood-municipality_id": municipality,
                                                 "neighbourhood-name": "Assendorp"}).status_code == 303
    neighbourhood = client.get("/api/v1/neighbourhoods").get_json()[0]["neighbourhood_id"]
    opened = anna.post("/console/rounds/new", {"neighbourhood_id": neighbourhood, "title": "2027",
                                               "method": "approval", "rule": "greedy", "open": "1"})
    round_id = opened.headers["Location"].rsplit("/", 1)[1]
    trail = client.get(f"/api/v1/rounds/{round_id}/audit-trail", headers=auditor).get_json()
    assert [e["actor"] for e in trail] == ["official:anna@zwolle.nl"]

    kees = ConsoleUser(sso_app)
    assert log_in_at_provider(kees, "kees").status_code == 303
    assert kees.get("/console/places").status_code == 403  # an auditor


@pytest.mark.parametrize(("subject", "deny"), [("joop", False), ("anna", True)])
def test_no_role_or_a_refusal_gives_no_session(sso_app: Flask, subject: str, deny: bool):
    user = ConsoleUser(sso_app)
    answer = log_in_at_provider(user, subject, deny=deny)
    assert answer.status_code == 403
    assert 'class="error-summary"' in answer.text
    assert user.cookie() is None
    assert user.get("/console").status_code == 302


def test_an_answer_that_the_console_did_not_ask_for_is_refused(sso_app: Flask):
    user = ConsoleUser(sso_app)
    forged = user.get("/console/sign-in/oidc/callback?code=made-up&state=made-up")
    assert forged.status_code == 403 and user.cookie() is None


def test_without_an_issuer_the_console_offers_tokens_only(app: Flask):
    user = ConsoleUser(app)
    assert "oidc" not in user.get("/console/sign-in").text
    assert user.get("/console/sign-in/oidc").status_code == 404
