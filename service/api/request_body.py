"""Reading a request's JSON body strictly: one JSON object, no duplicate keys, no 5xx on any input.

Python's `json` takes the last of two equal keys, raises RecursionError on deep nesting and
ValueError on integer literals of more than 4,300 digits, and decodes a lone surrogate escape
("\\ud800") into a string no database can encode; each of these is the caller's mistake
and is answered 400 with a message that names it, in the one error shape.
"""
from __future__ import annotations

import json
import re
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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(document: Any) -> bool:
    """Whether a decoded JSON document holds a string with a lone UTF-16 surrogate."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def parse_json_body(raw: bytes) -> Any:
    """The decoded JSON document, or BodyNotAccepted naming what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyNotAccepted("the body is not valid UTF-8") from None
    if not text.strip():
        raise BodyNotAccepted("a JSON body is required (send {} when there is nothing to say)")
    try:
        document = json.loads(text, object_pairs_hook=_object_without_duplicate_keys)
    except BodyNotAccepted:
        raise
    except RecursionError:
        raise BodyNotAccepted("the JSON body is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise BodyNotAccepted(f"the body is not valid JSON ({error.msg} at {error.pos})") from None
    except ValueError:
        # int() refuses literals of more than sys.get_int_max_str_digits() digits.
        raise BodyNotAccepted("a number in the JSON body has too many digits") from None
    # UTF-8 text cannot hold a lone surrogate, so only a \u escape can bring one in (I-JSON,
    # RFC 7493, forbids them); no database could store it.
    if "\\u" in text and _has_lone_surrogate(document):
        raise BodyNotAccepted("the JSON body has a lone surrogate escape (\\ud800-\\udfff)")
    return document


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
