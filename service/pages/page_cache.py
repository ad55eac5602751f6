"""Public pages rendered once per state of the log: a repeated read costs a lookup, not a render.

A page read without a bearer token shows the same to everyone: what it shows follows from its
path, its language and the read models, and the read models only change when they catch up to a
new head of the log (or one of them stops, or starts again). So each worker process keeps the
rendered HTML of its recent pages under (path, language, head of the log, stopped read models),
and serves it again while that state lasts; once an event is stored, the next read renders the
page afresh. The state is looked up, after catching the read models up, on every request: a
page is never older than the log, whichever worker stored the last event.

What is per request stays out of the stored HTML: the CSRF token of a form on the page is
rendered as a slot (a random string of this process) and filled in for each response, which
also puts the token in that reader's session; cookies and security headers are added to each
response by the app's after-request hooks as for any page. Pages for a token holder, who may
see more than the public, are rendered every time.
"""
from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from cachetools import LRUCache
from flask import Flask, current_app, g, request
from flask_wtf.csrf import generate_csrf

from service.extension import runtime
from service.pages.language import current_language

EXTENSION = "buurtbudget.page_cache"
# Pages are under 100 KB each: at most a few tens of MB per worker.
MAX_PAGES = 256


class PageCache:
    """The rendered pages of one process, least recently used first out."""

    def __init__(self, max_pages: int = MAX_PAGES):
        self._pages: LRUCache[tuple[Any, ...], str] = LRUCache(maxsize=max_pages)
        self._lock = threading.Lock()
        # Hex only, so escaping leaves it as it is, and unguessable, so no text on a page has it.
        self.csrf_slot = f"csrf-slot-{secrets.token_hex(16)}"

    def get(self, key: tuple[Any, ...]) -> str | None:
        with self._lock:
            return self._pages.get(key)

    def put(self, key: tuple[Any, ...], html: str) -> None:
        with self._lock:
            self._pages[key] = html

    def __len__(self) -> int:
        return len(self._pages)


def page_cache() -> PageCache:
    return current_app.extensions[EXTENSION]


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve `view`'s HTML from the page cache while the log stands still (public readers only)."""

    @wraps(view)
    def serve(**view_args: Any) -> Any:
        if "Authorization" in request.headers:
            return view(**view_args)
        cache = page_cache()
        key = (request.path, current_language(), runtime().projector.caught_up_state())
        html = cache.get(key)
        if html is None:
            g.rendering_for_page_cache = True
            try:
                rendered = view(**view_args)
            finally:
                g.rendering_for_page_cache = False
            # Not a page, or one with a form that drew a token of this reader's session itself.
            if not isinstance(rendered, str) or current_app.config["WTF_CSRF_FIELD_NAME"] in g:
                return rendered
            html = rendered
            cache.put(key, html)
        if cache.csrf_slot in html:
            html = html.replace(cache.csrf_slot, generate_csrf())
        return html

    return serve


def csrf_token() -> str:
    """The templates' `csrf_token()`: the slot while a page is rendered for the cache."""
    if g.get("rendering_for_page_cache"):
        return page_cache().csrf_slot
    return generate_csrf()


def init_app(app: Flask) -> None:
    """Call after Flask-WTF's init_app, whose `csrf_token` of the templates this replaces."""
    app.extensions[EXTENSION] = PageCache()
    # Flask-WTF puts it in both places: the context of a render, and the globals that macros
    # imported without context see.
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
