"""Rate limits on guessing secrets: voting codes and proposer keys, per client address and target.

A view that checks a secret sent by an anonymous caller is marked with `guards_secret`; the
app factory (`init_rate_limits`) then puts two Flask-Limiter limits on it, counted per client
address and per round (or proposal) named in the URL:

- WRONG_CODE_LIMIT (default 10 per 15 minutes) counts only refused secrets (answers 403). A
  household or a community centre behind one address, where every voter has a valid code, is
  never slowed by its own votes; a typo costs one of the ten. Once spent, every attempt from that
  address on that round answers 429 with Retry-After until the window ends: valid codes too, or
  a guesser could go on and learn which guess was right.
- CODE_ATTEMPT_LIMIT (default 60 per minute) counts every attempt, valid or not. Wrong codes
  are counted after the answer is known, so requests in flight at the same moment could all pass
  the check of the first limit before any of them is counted; this second limit is counted
  atomically before the request runs, which caps such a burst.

Both limits are shared by /ballots and /ballots/lookup (one count of voting-code attempts per
address and round) and by every gunicorn worker and app server: the counts live in Redis when
REDIS_URL is set, otherwise in the service's own database (`service.rate_limit_storage`; on
SQLite in a file of its own beside the database, so counting never waits for the event store's
write lock). Windows are fixed: a window starts with its first count and lasts as long as
the limit says (15 minutes, 1 minute).
If the counts cannot be read or written, the guarded endpoints answer 503: no guessing without
counting.

The client address is the socket peer. Behind reverse proxies, TRUSTED_PROXIES (a number, 0 by
default) says how many proxies append to X-Forwarded-For; werkzeug's ProxyFix then takes the
address that many hops from the right. Set it only when the service cannot be reached except
through those proxies, or callers can choose their own address. IPv6 clients are counted per
/64 network, the block one subscriber usually holds.
"""
from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse
from limits.errors import StorageError
from limits.storage import RedisStorage
from werkzeug.middleware.proxy_fix import ProxyFix

from service.config import ConfigurationError
from service.errors import error_payload
from service.extension import runtime
from service.rate_limit_storage import DatabaseCounterStorage, counter_storage_url
from service.storage import Storage

log = logging.getLogger(__name__)

KEY_PREFIX = "buurtbudget"
# A refused secret is answered 403 (domain Forbidden) and nothing else on these views is.
REFUSED_SECRET = 403


@dataclass(frozen=True)
class SecretGuard:
    """What a guarded view checks: which secret (`kind`), for what in its URL (`per`)."""

    kind: str
    per: str
    noun: str


def guards_secret(blp: Any, *, kind: str, per: str, noun: str) -> Callable[[Any], Any]:
    """Mark a view method that checks a secret for the `per` URL variable.

    Views that check the same `kind` of secret share their counts, so a page and an API
    endpoint taking the same code count together. An API blueprint (`blp` not None) also
    documents the 429 in the OpenAPI document.
    """

    def mark(view: Any) -> Any:
        if blp is not None:
            view = blp.alt_response(
                429, schema="Error", description=f"too many wrong {noun} from this address",
                headers={"Retry-After": {"description": "seconds until the next attempt counts",
                                         "schema": {"type": "integer"}}},
            )(view)
        view.secret_guard = SecretGuard(kind=kind, per=per, noun=noun)
        return view

    return mark


def client_address() -> str:
    """The caller's address as counted: IPv4 as is, IPv6 as its /64 network."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def storage_uri_of(settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Where the counts live (a `limits` storage URL) and the options of that storage."""
    options: dict[str, Any] = {"wrap_exceptions": True}
    if settings.get("REDIS_URL"):
        return str(settings["REDIS_URL"]), options
    database = Storage(settings["DATABASE_URL"], settings.get("DATABASE_SCHEMA"))
    if database.kind == "memory":
        return "memory://", options
    if database.kind == "sqlite":
        path = Path(database.sqlite_path)
        counts = path.with_name(f"{path.stem}.rate-limits{path.suffix or '.db'}")
        return counter_storage_url(f"sqlite:///{counts}"), options
    # The read models' engine of this worker: same database and schema, no second pool.
    options.update(schema=database.schema, engine_of=lambda: runtime().engine)
    return counter_storage_url(database.url), options


def checked_limit(settings: Mapping[str, Any], key: str) -> str:
    value = str(settings[key])
    try:
        parse(value)
    except ValueError:
        raise ConfigurationError(
            f"{key} is {value!r}: write a limit like '10 per 15 minutes'"
        ) from None
    return value


def trusted_proxies(settings: Mapping[str, Any]) -> int:
    value = settings.get("TRUSTED_PROXIES") or 0
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise ConfigurationError(
            f"TRUSTED_PROXIES is {value!r}: give the number of proxies in front (0 for none)"
        )
    return count


def init_rate_limits(
    app: Flask,
    settings: Mapping[str, Any],
    *,
    page_for: Callable[[int], Any] | None = None,
) -> Limiter:
    """Put the secret-guessing limits on every guarded view of `app` (after its blueprints).

    `page_for(status)` answers a limited request with an HTML page where the request is for a
    page (it returns None for API requests, which get the one JSON error shape).
    """
    proxies = trusted_proxies(settings)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    storage_uri, storage_options = storage_uri_of(settings)
    limiter = Limiter(
        key_func=client_address,
        storage_uri=storage_uri,
        storage_options=storage_options,
        strategy="fixed-window",
        key_prefix=KEY_PREFIX,
        swallow_errors=False,
    )
    limiter.init_app(app)
    wrong = checked_limit(settings, "WRONG_CODE_LIMIT")
    attempts = checked_limit(settings, "CODE_ATTEMPT_LIMIT")
    for endpoint, view in list(app.view_functions.items()):
        for method, guard in guarded_methods(view).items():
            key = per_target_key(guard.per)
            counted = limiter.shared_limit(
                wrong, scope=f"wrong-{guard.kind}", key_func=key, methods=[method],
                deduct_when=refused_secret,
                error_message=f"too many wrong {guard.noun} from your address",
            )(view)
            counted = limiter.shared_limit(
                attempts, scope=f"attempts-{guard.kind}", key_func=key, methods=[method],
                error_message=f"too many attempts with {guard.noun} from your address",
            )(counted)
            app.view_functions[endpoint] = view = counted

    def too_many_attempts(error: RateLimitExceeded):
        breached = limiter.current_limit
        wait = max(1, math.ceil(breached.window.reset_time - time.time())) if breached else 60
        page = page_for(429) if page_for is not None else None
        if page is not None:
            body, code = page
            return body, code, {"Retry-After": str(wait)}
        payload, code = error_payload(
            429, "Too Many Requests", f"{error.description}; try again in {wait} seconds"
        )
        return payload, code, {"Retry-After": str(wait)}

    app.register_error_handler(RateLimitExceeded, too_many_attempts)
    app.register_error_handler(StorageError, counts_unavailable)
    return limiter


def close_rate_limits(app: Flask) -> None:
    """Close the connections to the counts that `app` holds in this process."""
    for limiter in app.extensions.get("limiter", ()):
        storage = limiter.storage
        if isinstance(storage, DatabaseCounterStorage):
            storage.close()
        elif isinstance(storage, RedisStorage):
            storage.storage.close()  # the redis client and its connection pool


def guarded_methods(view: Any) -> dict[str, SecretGuard]:
    """HTTP method -> guard, for the methods of a class-based view marked with guards_secret."""
    view_class = getattr(view, "view_class", None)
    guards = {}
    for method in getattr(view_class, "methods", None) or ():
        guard = getattr(getattr(view_class, method.lower(), None), "secret_guard", None)
        if guard is not None:
            guards[method] = guard
    return guards


def per_target_key(per: str) -> Callable[[], str]:
    """The count key: the client's address and the round (or proposal) the secret is for."""

    def key() -> str:
        return f"{client_address()}/{(request.view_args or {}).get(per, '')}"

    return key


def refused_secret(response: Response) -> bool:
    return response.status_code == REFUSED_SECRET


def counts_unavailable(error: StorageError):
    log.error("rate-limit counts unavailable: %s", error)
    return error_payload(
        503, "Service Unavailable", "attempts cannot be counted right now; please try again later"
    )
