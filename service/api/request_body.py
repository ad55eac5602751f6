"""Reading a request's JSON body strictly: one JSON object, no duplicate keys, no 5xx on any input.

Python's `json` takes the last of two equal keys, raises RecursionError on deep nesting and
ValueError on integer literals of more than 4,300 digits; each of these is the caller's mistake
and is answered 400 with a message that names it, in the one error shape.
"""
from __future__ import annotations

import json
from typing import Any

import flask
import marshmallow as ma
from webargs.flaskparser import FlaskParser, abort, is_json_request


class BodyNotAccepted(ValueError):
    """The body cannot be read as the JSON the endpoint expects; the message says why."""


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BodyNotAccepted(f"the key {json.dumps(key)} appears more than once")
        result[key] = value
    return result


def parse_json_body(raw: bytes) -> Any:
    """The decoded JSON document, or BodyNotAccepted naming what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyNotAccepted("the body is not valid UTF-8") from None
    if not text.strip():
        raise BodyNotAccepted("a JSON body is required (send {} when there is nothing to say)")
    try:
        return json.loads(text, object_pairs_hook=_object_without_duplicate_keys)
    except RecursionError:
        raise BodyNotAccepted("the JSON body is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise BodyNotAccepted(f"the body is not valid JSON ({error.msg} at {error.pos})") from None
    except ValueError as error:
        # int() refuses literals of more than sys.get_int_max_str_digits() digits.
        raise BodyNotAccepted(f"the JSON body has a number that is too long ({error})") from None


class StrictJsonParser(FlaskParser):
    """webargs' Flask parser, with a JSON body that is required, strict and never a 5xx."""

    def load_json(self, req: flask.Request, schema: ma.Schema) -> Any:
        raw = req.get_data(cache=True)
        if raw and not is_json_request(req):
            abort(415, messages={"json": ["send the body as Content-Type: application/json"]})
        try:
            return parse_json_body(raw)
        except BodyNotAccepted as error:
            abort(400, exc=error, messages={"json": [str(error)]})
