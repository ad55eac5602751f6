"""Web pages for residents: server-rendered HTML in Dutch (default) and English.

`init_app` adds everything pages need to the app that `create_app` builds: the language
(`service.pages.language`), CSRF protection, cookie flags and the page Content-Security-Policy
(`service.pages.security`), the cache of rendered public pages (`service.pages.page_cache`), HTML
error pages outside the JSON API (`service.pages.error_pages`), and the page blueprints. Each view calls one query of `service.queries` (or one command) with the
caller's principal; no page decides who may see what.
"""
from __future__ import annotations

from flask import Flask

from service.pages import error_pages, language, page_cache, security
from service.pages.browse import blp as browse
from service.pages.money import blp as money
from service.pages.results import blp as results
from service.pages.submit import blp as submit
from service.pages.voting import blp as vote

PAGE_BLUEPRINTS = (browse, submit, vote, results, money)


def init_app(app: Flask) -> None:
    """Register the pages at `/`; call after the API's error handlers so page URLs get HTML."""
    language.init_app(app)
    security.init_app(app)
    page_cache.init_app(app)
    error_pages.init_app(app)
    for blueprint in PAGE_BLUEPRINTS:
        app.register_blueprint(blueprint)
