"""Reference servers for the ballot benchmark: how fast HTTP goes on this machine before any voting.

The benchmark runs them under the same gunicorn settings, with the same clients and the same
request bodies as the service, in the same run (`--floors`):

- `empty()`: a WSGI app that reads the body and answers with a receipt-sized JSON body; what
  gunicorn, the sockets and the clients cost by themselves.
- `without_command()`: the real Flask app (routing, token check, flask-smorest, webargs,
  marshmallow, JSON) with `BuurtbudgetApplication.cast_ballot` answering a constant receipt;
  what the web stack costs before the event store is touched.

Loaded by gunicorn as `web_floor:empty()` or `web_floor:without_command()` with
`--pythonpath benchmarks`; never imported by the service.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
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
