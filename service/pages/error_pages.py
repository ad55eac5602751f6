"""Errors on page URLs as HTML pages in the page's language; the JSON API keeps its error shape.

The app's handlers in `service.errors` answer every error as JSON. For a request that is not
for the API (nor the health check), the same errors are shown as a page: 404, 429, 500, 503
when a read model has stopped (202 when a form's change was stored all the same), and the
others with their status, never a trace or a database message.
"""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from domain.errors import BudgetError
from projections.tracking import ProjectionError
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
    503: (_l("Temporarily unavailable"), _l("This information cannot be shown right now. "
                                            "The operators have been told. Please try again "
                                            "in a few minutes.")),
}
# A page form whose change was stored while the page that shows it cannot be read (202).
STORED_NOT_SHOWN = (
    _l("Your change was saved"),
    _l("What you sent was stored, but it cannot be shown right now. The operators have been "
       "told. Please look again in a few minutes; do not send it again."),
)


def wants_page() -> bool:
    return not request.path.startswith(JSON_PREFIXES)


def error_page(code: int, message: str | None = None):
    title, explanation = (STORED_NOT_SHOWN if code == 202 else EXPLAINED.get(code)) or (
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


def handle_read_model_unavailable(error: ProjectionError):
    """A stopped read model: 503 for a page, 202 for a form whose change was stored."""
    if not wants_page():
        return json_errors.handle_read_model_unavailable(error)
    code = json_errors.read_model_status(error)
    # Only the incident id: what went wrong may quote personal data; it is in the server log.
    body, code = error_page(code, _("Incident number: %(incident)s", incident=error.incident))
    return body, code, {} if code == 202 else {"Retry-After": json_errors.READ_MODEL_RETRY_AFTER}


def handle_unexpected(error: Exception):
    if not wants_page():
        return json_errors.handle_unexpected(error)
    log.exception("unexpected error on a page")
    return error_page(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(BudgetError, handle_budget_error)
    app.register_error_handler(ProjectionError, handle_read_model_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
