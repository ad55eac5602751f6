"""Schema pieces every blueprint uses: text, money and other numbers, ids, the bearer requirement.

Every text field of a write schema is `Text` and every number has a range below, so nothing a
read model on SQLite or PostgreSQL cannot store ever reaches an event (docs/api.md lists them).
"""
from __future__ import annotations

import re
import unicodedata
from copy import deepcopy
from datetime import UTC
from http import HTTPStatus
from typing import Any
from uuid import UUID

import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from flask_smorest.utils import resolve_schema_instance
from marshmallow import ValidationError, fields, validate
from werkzeug.routing import BaseConverter

from domain.money import MAX_CENTS
from service.api.request_body import StrictJsonParser
from service.iban import compact_iban

BEARER = [{"bearerAuth": []}]

# The documented ranges (docs/api.md). Money is capped by domain.money.MAX_CENTS; points of a
# cumulative or ordinal ballot by MAX_POINTS, so that the points of every ballot of a round summed
# stay far inside a 64-bit column; choices, ranks and list lengths by MAX_CHOICES.
MAX_POINTS = 1_000_000
MAX_CHOICES = 1_000
# Positions in the event log are 64-bit signed integers on every backend.
MAX_POSITION = 2**63 - 1


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, parsing every request with one schema instance.

    Given a schema class, webargs builds a new instance for each request, which was a third of
    the web layer's CPU per ballot; schemas hold no per-request state, so one instance serves all.
    """

    ARGUMENTS_PARSER = StrictJsonParser()

    def arguments(self, schema: Any, **kwargs: Any) -> Any:
        # A query string that does not fit is a malformed URL (400); a body that does not
        # fit its schema stays 422.
        if kwargs.get("location") == "query":
            kwargs.setdefault("error_status_code", 400)
        return super().arguments(resolve_schema_instance(schema), **kwargs)


# C0 and C1 control characters except tab and line breaks, and UTF-16 surrogates (which only occur
# alone in a Python string, as from a JSON escape "\ud800": no database can encode them).
_NOT_STORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The same rule as OpenAPI states it (surrogates cannot occur in UTF-8 JSON text).
_CONTROL = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
TEXT_PATTERN = rf"^[^{_CONTROL}]*$"
NOT_BLANK_TEXT_PATTERN = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"


class Pattern(validate.Regexp):
    """A regular expression with JSON Schema's meaning: found anywhere unless anchored.

    OpenAPI shows `pattern` as given; a final `$` is checked as the end of the text, where Python's
    `$` would also let a trailing newline through.
    """

    def __init__(self, pattern: str, *, error: str | None = None):
        super().__init__(pattern, error=error)
        self._checked = re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)

    def __call__(self, value: str) -> str:
        if self._checked.search(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


class Text(fields.String):
    """Text every read model can store: Unicode NFC, no control characters but newline and tab.

    Line breaks are stored as LF (a browser's textarea sends CRLF); NUL, other control
    characters and lone surrogates are refused. Lengths are checked after normalization. With
    `blank=False`, text of only whitespace is refused too (the domain would call it empty).
    OpenAPI states the rule as the field's `pattern`, unless a Pattern validator gives its own.
    """

    default_error_messages = {
        "not_storable": "must not contain control characters (other than newline and tab), "
        "NUL or lone surrogates; found U+{codepoint:04X} at position {position}",
        "blank": "must not be empty or only whitespace",
    }

    def __init__(self, *, blank: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.blank = blank
        if not any(isinstance(v, validate.Regexp) for v in self.validators):
            self.metadata.setdefault("pattern", TEXT_PATTERN if blank else NOT_BLANK_TEXT_PATTERN)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        bad = _NOT_STORABLE.search(text)
        if bad:
            raise self.make_error(
                "not_storable", codepoint=ord(bad.group()), position=bad.start()
            )
        if not self.blank and not text.strip():
            raise self.make_error("blank")
        if unicodedata.is_normalized("NFC", text):
            return text
        return unicodedata.normalize("NFC", text)


class Email(Text):
    """An e-mail address as the domain takes it (something@domain.tld), as `Text`."""

    PATTERN = rf"^[^@\s{_CONTROL}]+@[^@\s{_CONTROL}]+\.[^@\s{_CONTROL}]+$"

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("metadata", {}).setdefault("format", "email")
        super().__init__(**kwargs)
        self.validators.insert(0, Pattern(self.PATTERN, error="not an e-mail address"))


class Id(fields.UUID):
    """A UUID in any accepted spelling, handed on in canonical form (ids are compared as text)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs))


class Cents(fields.Integer):
    """Money as a whole number of euro cents; floats and strings are refused."""

    def __init__(self, *, minimum: int = 1, **kwargs: Any):
        kwargs.setdefault("metadata", {}).setdefault("description", "amount in euro cents")
        super().__init__(strict=True, validate=validate.Range(min=minimum, max=MAX_CENTS), **kwargs)


class Count(fields.Integer):
    """A whole number in [minimum, maximum]: every number a write schema takes has a range."""

    def __init__(self, *, minimum: int, maximum: int, strict: bool = True, **kwargs: Any):
        super().__init__(strict=strict, validate=validate.Range(min=minimum, max=maximum), **kwargs)


class CheckedFormat(Text):
    """Text whose rule includes a check no JSON Schema pattern can state (a checksum, a hash).

    OpenAPI names the rule as the field's `format` and says it in the description, with no
    pattern or length beside it: a client or test generator that knows the format makes valid
    values from it (`tests/e2e/schemathesis_hooks.py` registers ours), where a pattern would have
    it make values of the right shape that the check then refuses. `check` gives the stored form
    or raises ValueError with the reason.
    """

    FORMAT: str
    DESCRIPTION: str

    def __init__(self, **kwargs: Any):
        metadata = kwargs.setdefault("metadata", {})
        metadata["format"] = self.FORMAT
        metadata["description"] = " ".join(filter(None, [self.DESCRIPTION,
                                                         metadata.get("description")]))
        super().__init__(**kwargs)
        self.metadata.pop("pattern", None)

    def check(self, text: str) -> str:
        raise NotImplementedError

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        try:
            return self.check(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as error:
            raise ValidationError(str(error)) from None


class IbanField(CheckedFormat):
    """An IBAN with a valid checksum and country format, stored in compact form.

    Spaces between characters and lower case, as people copy IBANs, are accepted.
    """

    FORMAT = "iban"
    DESCRIPTION = ("An IBAN (ISO 13616): 2 letters, 2 check digits, 11-30 letters or digits, "
                   "spaces allowed; the country's length and the check digits must hold.")

    def check(self, text: str) -> str:
        return compact_iban(text)  # InvalidIban is a ValueError with the reason


class StrictSchema(ma.Schema):
    """Unknown fields are an error, so a typo never silently drops what the caller meant."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class AsOfQuery(StrictSchema):
    """Time travel: answer from the log as it stood at a moment and/or a log position.

    Each parameter bounds the part of the log the answer is replayed from; given both, both
    bounds hold (the earlier of the two moments answers), as filters combine.
    """

    as_of = fields.AwareDateTime(load_default=None, default_timezone=UTC, metadata={
        "description": "ISO 8601 timestamp (UTC unless it has an offset): the log up to this "
        "moment. With as_of_position, the earlier of the two bounds answers.",
    })
    as_of_position = fields.Integer(load_default=None, validate=validate.Range(min=0, max=2**62),
                                    metadata={
        "description": "position in the Merkle log: the log up to the moment of the event "
        "stored there (404 past the end of the log). With as_of, the earlier of the two bounds "
        "answers.",
    })


class CrossFieldRules(BasePlugin):
    """apispec plugin: a schema's `OPENAPI_RULES` (oneOf, anyOf, ...) join its OpenAPI component.

    JSON Schema can say "exactly one of these fields" or "this field needs that one", which
    marshmallow says in a `validates_schema` method; the schema class states both, side by side.
    """

    def schema_helper(self, name: str, definition: dict, **kwargs: Any) -> dict | None:
        schema = kwargs.get("schema")
        rules = getattr(schema, "OPENAPI_RULES", None)
        return deepcopy(rules) if rules else None


def no_default_a_client_may_not_send(_converter: Any, field: ma.fields.Field, ret: dict,
                                     **_kwargs: Any) -> dict:
    """apispec attribute function: no `default: null` on a field that refuses null.

    Such a field is None inside the service when left out, but a documented default is a value
    a client may send, and this one would be refused.
    """
    if "default" in ret and ret["default"] is None and not field.allow_none:
        del ret["default"]
    return {}


class ErrorResponses(BasePlugin):
    """apispec plugin: each operation lists the error statuses it can answer, in the error shape.

    They follow from what the operation takes, the same way for every endpoint: any request may
    carry an invalid token (401) or a query parameter the endpoint does not take (400), and the
    store may be unreachable (503); a request body may be malformed (400), too large (413), not
    JSON (415) or not fit its schema (422); an id in the path may not exist (404); a token may have
    the wrong role (403); a command may break a rule (422), come in the wrong phase or lose a race
    (409), or be refused to this caller (403: four eyes, an invalid voting code or proposer key,
    a cosignature that does not verify).
    """

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            statuses = {400, 401, 503}
            if "requestBody" in operation:
                statuses |= {413, 415, 422}
            if path and "{" in path:
                statuses.add(404)
            if operation.get("security"):
                statuses.add(403)
            if method != "get":
                statuses |= {403, 409, 422}
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(str(status), HTTPStatus(status).name)


class ActionSchema(StrictSchema):
    """An empty body (actions whose meaning is all in the URL)."""


class ReasonSchema(StrictSchema):
    reason = Text(required=True, blank=False, validate=validate.Length(min=1, max=2000))


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
