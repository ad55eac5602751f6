"""Schema pieces every blueprint uses: money, ids, the error response and the bearer requirement."""
from __future__ import annotations

from typing import Any
from uuid import UUID

import marshmallow as ma
from marshmallow import fields, validate

from domain.errors import NotFound

BEARER = [{"bearerAuth": []}]


class Cents(fields.Integer):
    """Money as a whole number of euro cents; floats and strings are refused."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("metadata", {}).setdefault("description", "amount in euro cents")
        super().__init__(strict=True, validate=validate.Range(min=1), **kwargs)


class StrictSchema(ma.Schema):
    """Unknown fields are an error, so a typo never silently drops what the caller meant."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class ActionSchema(StrictSchema):
    """An empty body (actions whose meaning is all in the URL)."""


class ReasonSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


def found(item: dict[str, Any] | None, what: str, key: Any) -> dict[str, Any]:
    if item is None:
        raise NotFound(f"{what} {key} not found")
    return item


def as_uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"{what} {value} not found") from None
