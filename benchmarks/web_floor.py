"""Reference servers for the ballot benchmark: how fast HTTP goes on this machine before any voting.

The benchmark runs them under the same gunicorn settings, with the same clients and the same
request bodies as the service, in the same run (`--floors`):

- `empty()`: a WSGI app that reads the body and answers with a receipt-sized JSON body; what
  gunicorn, the sockets and the clients cost by themselves.
- `without_command()`: the real Flask app (routing, token check, flask-smorest, webargs,
  marshmallow, JSON) with `BuurtbudgetApplication.cast_ballot` answering a constant receipt;
  what the web stack costs before the event store is touched.

For the pages benchmark, `constant_page()`: the real Flask app with one more page,
`/floor-page/<size>`, that many bytes of constant HTML with no query and no template; what a page
costs through the web stack (routing, the language choice, the CSRF check, the session, the
security headers, gunicorn) when the page itself costs nothing.

Loaded by gunicorn as `web_floor:empty()`, `web_floor:without_command()` or
`web_floor:constant_page()` with `--pythonpath benchmarks`; never imported by the service.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

RECEIPT = {"ballot_version": 1, "receipt": "7KQ2-M4XD-9TPL-C3VW"}


def empty() -> Callable[..., Iterable[bytes]]:
    body = json.dumps(RECEIPT).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["wsgi.input"].read()
        status = "201 CREATED" if environ["REQUEST_METHOD"] == "POST" else "200 OK"
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]

    return app


def without_command() -> Any:
    from service.app import create_app
    from service.application import BuurtbudgetApplication

    def cast_ballot(self: BuurtbudgetApplication, round_id: Any, *, code: str,
                    choices: dict[str, int]) -> dict[str, Any]:
        return dict(RECEIPT)

    BuurtbudgetApplication.cast_ballot = cast_ballot  # type: ignore[method-assign]
    return create_app()


def constant_page() -> Any:
    from service.app import create_app

    app = create_app()

    @cache
    def html(size: int) -> str:
        start = "<!doctype html><html lang=\"nl\"><title>Buurtbudget</title><p>"
        return start + "x" * max(0, size - len(start))

    @app.get("/floor-page/<int:size>")
    def floor_page(size: int) -> str:
        return html(size)

    return app
