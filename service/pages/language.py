"""The language of a page (Dutch by default, English on request) and amounts and dates in it.

The language is chosen with `?lang=en` or `?lang=nl` on any page, which also sets the `lang`
cookie so that the choice sticks; without either, pages are in Dutch. Messages come from the
compiled catalogues in `service/translations/` (English is the source language of the texts).
"""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from flask import Flask, Response, current_app, request
from flask_babel import Babel, get_locale

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Babel locales with the country, so amounts come out as "€ 1.234,56" and "€1,234.56".
FORMAT_LOCALES = {"nl": Locale.parse("nl_NL"), "en": Locale.parse("en_GB")}


def chosen_language() -> str:
    """The language asked for with ?lang=, else the one in the cookie, else Dutch."""
    for wanted in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if wanted in LANGUAGES:
            return wanted
    return DEFAULT_LANGUAGE


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else DEFAULT_LANGUAGE


def money(cents: int | None) -> str:
    """Whole cents as euros in the page's language: € 1.234,56 or €1,234.56."""
    if cents is None:
        return ""
    return _euros(cents, current_language())


def day(value: str | date | datetime | None) -> str:
    """A date (or the date of an ISO timestamp) written out: 29 november 2026 / 29 November 2026."""
    if not value:
        return ""
    return _written_date(value, current_language())


# Babel takes about a millisecond per amount, and a round's page shows hundreds of them; the same
# amounts and dates come back on every page of a round, so each is formatted once per process.
@lru_cache(maxsize=16_384)
def _euros(cents: int, language: str) -> str:
    return format_currency(cents / 100, "EUR", locale=FORMAT_LOCALES[language])


@lru_cache(maxsize=4096)
def _written_date(value: str | date | datetime, language: str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value \
            else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format="long", locale=FORMAT_LOCALES[language])


def remember_choice(response: Response) -> Response:
    """Keep a language picked with ?lang= in a cookie for the next pages."""
    wanted = request.args.get("lang")
    if wanted in LANGUAGES and request.cookies.get(COOKIE) != wanted:
        response.set_cookie(
            COOKIE, wanted, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def template_helpers() -> dict[str, Any]:
    # The language is looked up once per page, not once per amount or date on it.
    language = current_language()
    return {
        "money": lambda cents: "" if cents is None else _euros(cents, language),
        "day": lambda value: _written_date(value, language) if value else "",
        "current_language": lambda: language, "LANGUAGES": LANGUAGES,
    }


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=chosen_language, default_translation_directories="translations")
    app.context_processor(template_helpers)
    app.after_request(remember_choice)
