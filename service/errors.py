"""One JSON error shape for every error: {code, status, message, errors}; one status per class."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from domain.errors import (
    BudgetError,
    Conflict,
    DamagedHistory,
    Forbidden,
    NotFound,
    RuleViolation,
)
from projections.tracking import ProjectionError
from service.config import ConfigurationError
from service.principal import Unauthorized

log = logging.getLogger(__name__)

STATUS_OF: list[tuple[type[BudgetError], int, str]] = [
    (Unauthorized, 401, "Unauthorized"),
    (Forbidden, 403, "Forbidden"),
    (NotFound, 404, "Not Found"),
    (Conflict, 409, "Conflict"),
    (RuleViolation, 422, "Unprocessable Entity"),
    # Not the caller's doing: the stored history was changed behind the service's back.
    (DamagedHistory, 503, "Service Unavailable"),
]


def error_payload(code: int, status: str, message: str, errors: dict[str, Any] | None = None):
    payload: dict[str, Any] = {"code": code, "status": status, "message": message}
    if errors:
        payload["errors"] = errors
    return payload, code


def handle_budget_error(error: BudgetError):
    for cls, code, status in STATUS_OF:
        if isinstance(error, cls):
            errors = {error.field: error.details or [error.message]} if error.field else None
            headers = {"WWW-Authenticate": "Bearer"} if code == 401 else {}
            payload, code = error_payload(code, status, error.message, errors)
            return payload, code, headers
    return error_payload(400, "Bad Request", error.message)


def handle_http_exception(error: HTTPException):
    """Werkzeug's errors (404 for an unknown URL, 405, 400 for bad JSON) and webargs' 422."""
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    message = data.get("message") or error.description or error.name
    if errors and error.code in (400, 415, 422):
        message = "the request is not valid: " + describe(errors)
    if isinstance(error, RequestEntityTooLarge):
        message = too_large_message()
    payload, code = error_payload(error.code or 500, error.name, message, errors)
    # Keep werkzeug's own headers (Allow on a 405, WWW-Authenticate, ...).
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return payload, code, {**headers, **(data.get("headers") or {})}


def too_large_message() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return f"the request body is larger than the limit of {limit} bytes (Request Entity Too Large)"


def describe(errors: Any, path: str = "") -> str:
    """Flatten marshmallow's nested messages into one readable line."""
    if isinstance(errors, dict):
        parts = [describe(v, f"{path}.{k}" if path else str(k)) for k, v in errors.items()]
        return "; ".join(parts)
    if isinstance(errors, list):
        return f"{path}: {' '.join(str(e) for e in errors)}"
    return f"{path}: {errors}"


def handle_unavailable(error: Exception):
    log.error("service unavailable: %s", error)
    return error_payload(503, "Service Unavailable", str(error))


WRITES = ("POST", "PUT", "PATCH", "DELETE")


# How long a client is asked to wait before reading a stopped read model again.
READ_MODEL_RETRY_AFTER = "60"


def read_model_status(error: ProjectionError) -> int:
    """Log the incident; the status for it: 202 for a write, whose events are stored, else 503."""
    log.error("incident %s: %s", error.incident, error)
    return 202 if request.method in WRITES else 503


def handle_read_model_unavailable(error: ProjectionError):
    """A read model cannot answer: 503 for a read; for a write, whose events are stored, 202.

    The message is generic on purpose; what went wrong (which may quote stored personal data or
    SQL) is in the server log under the incident id.
    """
    if read_model_status(error) == 202:
        # Views read after their command succeeded: the change is in the log, only showing it
        # has to wait until the read model runs again.
        return error_payload(
            202, "Accepted",
            f"the change was stored but cannot be shown now (incident {error.incident})",
        )
    payload, code = error_payload(
        503, "Service Unavailable",
        f"this information is unavailable for now; the operators were told (incident {error.incident})",
    )
    return payload, code, {"Retry-After": READ_MODEL_RETRY_AFTER}


def handle_unexpected(error: Exception):
    log.exception("unexpected error")
    return error_payload(500, "Internal Server Error", "an unexpected error happened; it was logged")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(BudgetError, handle_budget_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ProjectionError, handle_read_model_unavailable)
    app.register_error_handler(ConfigurationError, handle_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
