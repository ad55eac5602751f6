"""The officials' and auditors' console: server-rendered pages under /console that run a round
from set-up to closing with the same commands and queries as the API.

Built on the residents' pages (`service.pages`): the same base template, languages, CSRF
protection, security headers and error pages. Who is signed in comes from a console session
(`service.console.sign_in`), and every command names that person as its actor, as the API names
a token's holder. Console answers are never cached: they carry personal data.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request

from service.console.audit import blp as audit
from service.console.money import blp as money
from service.console.paper_ballots import blp as paper_ballots
from service.console.privacy import blp as privacy
from service.console.review import blp as review
from service.console.rounds import blp as rounds
from service.console.setup import blp as setup
from service.console.sign_in import COOKIE_PATH, ROLE_NAMES, console_principal
from service.console.sign_in import blp as sign_in
from service.console.single_sign_on import init_app as init_single_sign_on
from service.console.tokens import blp as tokens
from service.console.voting import blp as voting

CONSOLE_BLUEPRINTS = (sign_in, rounds, review, setup, voting, money, audit, tokens, privacy,
                      paper_ballots)


def in_console() -> bool:
    return request.path == COOKIE_PATH or request.path.startswith(COOKIE_PATH + "/")


def console_context() -> dict[str, Any]:
    if not in_console():
        return {}
    return {"principal": console_principal(), "role_names": ROLE_NAMES}


def never_cached(response: Response) -> Response:
    if in_console():
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask, settings: Mapping[str, Any]) -> None:
    """Register the console; call after `service.pages.init_app` and before the rate limits."""
    for blueprint in CONSOLE_BLUEPRINTS:
        app.register_blueprint(blueprint)
    init_single_sign_on(app, settings)
    app.context_processor(console_context)
    app.after_request(never_cached)
