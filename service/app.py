"""The Flask application factory."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, request
from flask_smorest import Api
from werkzeug.exceptions import BadRequest

from service import console, extension, pages
from service.api import BLUEPRINTS
from service.api.common import (
    CrossFieldRules,
    ErrorResponses,
    IdConverter,
    no_default_a_client_may_not_send,
)
from service.application import software_version
from service.auth import current_principal
from service.config import load_settings
from service.errors import register_error_handlers
from service.rate_limits import init_rate_limits
from service.security_headers import init_security_headers


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; nothing touches the database until the first request in each process."""
    app = Flask(__name__)
    settings = load_settings(config)
    app.config.update(
        API_TITLE="Buurtbudget",
        API_VERSION=software_version(),
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Residents' budgets: propose, vote, decide, and follow every euro. "
                    "Officials, auditors and admins authenticate with a bearer token."
                )
            },
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
            },
        },
        JSON_SORT_KEYS=False,
    )
    limit_request_bodies(app, settings)
    extension.init_app(app, settings)
    app.url_map.converters["id"] = IdConverter
    api = Api(app, spec_kwargs={"extra_plugins": [CrossFieldRules(), ErrorResponses()]})
    api.register_converter(IdConverter, lambda _converter: {"type": "string", "format": "uuid"})
    api.ma_plugin.converter.add_attribute_function(no_default_a_client_may_not_send)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    pages.init_app(app)
    console.init_app(app, settings)
    app.before_request(check_bearer_token)
    app.before_request(refuse_unknown_query_parameters)
    init_rate_limits(app, settings, page_for=pages.error_pages.page_for)
    init_security_headers(app, settings)
    return app


def check_bearer_token() -> None:
    """A bearer token that is sent must be valid, even where the endpoint is public."""
    current_principal()


def limit_request_bodies(app: Flask, settings: Mapping[str, Any]) -> None:
    """Bodies over MAX_BODY_BYTES are refused with 413 before they are read."""
    app.config["MAX_CONTENT_LENGTH"] = int(settings["MAX_BODY_BYTES"])


def refuse_unknown_query_parameters() -> None:
    """A query parameter an API endpoint does not take is a 400 naming it, never ignored."""
    if not request.args or request.endpoint is None:
        return
    known = known_query_parameters(request.endpoint, request.method)
    unknown = sorted(set(request.args) - known) if known is not None else []
    if unknown:
        error = BadRequest(f"unknown query parameter(s): {', '.join(unknown)}")
        error.data = {"messages": {"query": {name: ["Unknown field."] for name in unknown}}}
        raise error


def known_query_parameters(endpoint: str, method: str) -> frozenset[str] | None:
    """The query parameters an API endpoint's schema declares; None for other views (pages).

    flask-smorest keeps what `arguments` and `response` declare in the view's `_apidoc`.
    """
    cache = current_app.extensions.setdefault("query_parameters", {})
    key = (endpoint, method)
    if key not in cache:
        view = current_app.view_functions[endpoint]
        view_class = getattr(view, "view_class", None)
        name = "get" if method == "HEAD" else method.lower()
        function = getattr(view_class, name, None) if view_class else view
        apidoc = getattr(function, "_apidoc", None)
        cache[key] = None if apidoc is None else frozenset(
            field.data_key or field_name
            for parameter in apidoc.get("arguments", {}).get("parameters", [])
            if parameter["in"] == "query"
            for field_name, field in parameter["schema"].fields.items()
        )
    return cache[key]
