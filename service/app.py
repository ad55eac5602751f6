"""The Flask application factory."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_smorest import Api

from service import extension, pages
from service.api import BLUEPRINTS
from service.api.common import IdConverter
from service.application import software_version
from service.auth import current_principal
from service.config import load_settings
from service.errors import register_error_handlers


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
    extension.init_app(app, settings)
    app.url_map.converters["id"] = IdConverter
    api = Api(app)
    api.register_converter(IdConverter, lambda _converter: {"type": "string", "format": "uuid"})
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    pages.init_app(app)
    app.before_request(check_bearer_token)
    return app


def check_bearer_token() -> None:
    """A bearer token that is sent must be valid, even where the endpoint is public."""
    current_principal()
