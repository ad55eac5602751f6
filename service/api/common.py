"""Schema pieces every blueprint uses: money, ids, the error response and the bearer requirement."""
from __future__ import annotations

from typing import Any
from uuid import UUID

import flask_smorest
import marshmallow as ma
from flask_smorest.utils import resolve_schema_instance
from marshmallow import fields, validate
from werkzeug.routing import BaseConverter

from domain.money import MAX_CENTS

BEARER = [{"bearerAuth": []}]


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, parsing every request with one schema instance.

    Given a schema class, webargs builds a new instance for each request, which was a third of
    the web layer's CPU per ballot; schemas hold no per-request state, so one instance serves all.
    """

    def arguments(self, schema: Any, **kwargs: Any) -> Any:
        return super().arguments(resolve_schema_instance(schema), **kwargs)


class Cents(fields.Integer):
    """Money as a whole number of euro cents; floats and strings are refused."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("metadata", {}).setdefault("description", "amount in euro cents")
        super().__init__(strict=True, validate=validate.Range(min=1, max=MAX_CENTS), **kwargs)


class StrictSchema(ma.Schema):
    """Unknown fields are an error, so a typo never silently drops what the caller meant."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class ActionSchema(StrictSchema):
    """An empty body (actions whose meaning is all in the URL)."""


class ReasonSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class IdConverter(BaseConverter):
    """`<id:name>` in a route: a UUID in any case, handed to the view in canonical form.

    Ids are compared as strings in the read models, so `ABC...` and `abc...` must be one id; a
    path segment that is no UUID at all does not match the route and answers 404.
    """

    regex = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> str:
        return str(UUID(value))

    def to_url(self, value: object) -> str:
        return str(value)
