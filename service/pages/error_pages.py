"""Errors on page URLs as HTML pages in the page's language; the JSON API keeps its error shape.

The app's handlers in `service.errors` answer every error as JSON. For a request that is not
for the API (nor the health check), the same errors are shown as a page: 404, 429, 500 and the
others with their status, never a trace or a database message.
"""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from domain.errors import BudgetError
from service import errors as json_errors
from service.errors import STATUS_OF
from service.pages.security import JSON_PREFIXES

log = logging.getLogger(__name__)
EXPLAINED = {
    403: (_l("Not allowed"), _l("Your role does not allow this. Ask an official with the "
                                "right role, or sign in with another account.")),
    404: (_l("Page not found"), _l("There is no page at this address. It may have been "
                                   "mistyped, or the item is not public.")),
    429: (_l("Too many attempts"), _l("You have tried too often in a short time. Please wait "
                                      "a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error happened on our side. It has "
                                         "been logged. Please try again later.")),
}


def wants_page() -> bool:
    return not request.path.startswith(JSON_PREFIXES)


def error_page(code: int, message: str | None = None):
    title, explanation = EXPLAINED.get(code) or (
        _("This did not work"), _("The request could not be handled (error %(code)s).", code=code)
    )
    return render_template(
        "errors/error.html", title=title, explanation=explanation, message=message
    ), code


def page_for(code: int):
    """The error page for `code` when the request is for a page; None for API requests."""
    return error_page(code) if wants_page() else None


def handle_http_exception(error: HTTPException):
    if not wants_page():
        return json_errors.handle_http_exception(error)
    body, code = error_page(error.code or 500)
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return body, code, headers


def handle_budget_error(error: BudgetError):
    if not wants_page():
        return json_errors.handle_budget_error(error)
    code = next((code for cls, code, _ in STATUS_OF if isinstance(error, cls)), 400)
    # A domain error's message names the rule that was broken, never personal data.
    return error_page(code, error.message)


def handle_unexpected(error: Exception):
    if not wants_page():
        return json_errors.handle_unexpected(error)
    log.exception("unexpected error on a page")
    return error_page(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(BudgetError, handle_budget_error)
    app.register_error_handler(Exception, handle_unexpected)
