"""A console user in the Flask test client: signs in with a token, follows forms with their CSRF
token, over HTTPS (the console and session cookies are Secure)."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

HTTPS = "https://localhost"
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


class ConsoleUser:
    """One browser: its own cookies, signed in (or not) as one token holder."""

    def __init__(self, app: Flask):
        self.client = app.test_client()
        self._csrf: str | None = None

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, base_url=HTTPS, **kwargs)

    def csrf(self) -> str:
        if self._csrf is None:
            page = self.get("/console/sign-in")
            if page.status_code == 302:  # signed in already: the sign-out form has one
                page = self.get("/console")
            found = CSRF.search(page.text)
            assert found, page.text
            self._csrf = found.group(1)
        return self._csrf

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True,
             **kwargs: Any) -> TestResponse:
        form = {**({"csrf_token": self.csrf()} if csrf else {}), **(data or {})}
        return self.client.post(path, base_url=HTTPS, data=form,
                                headers={"Referer": f"{HTTPS}/console"}, **kwargs)

    def sign_in(self, token: str) -> TestResponse:
        return self.post("/console/sign-in", {"token": token})

    def cookie(self) -> Any:
        return self.client.get_cookie("buurtbudget_console", domain="localhost", path="/console")


def signed_in(app: Flask, token: str) -> ConsoleUser:
    user = ConsoleUser(app)
    answer = user.sign_in(token)
    assert answer.status_code == 303, answer.text
    return user
