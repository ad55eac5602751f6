"""The canonical bytes of a stored event: what a leaf of the Merkle log hashes (docs/audit.md).

One JSON object, keys sorted by code point, no whitespace, UTF-8 without escaping, no NaN:
{"originator_id": "<uuid with dashes>", "originator_version": N, "state": <the stored body as JSON>,
 "timestamp": "<ISO 8601 from the body>", "topic": "<topic>"}. Anyone holding the stored event (or
an export line) recomputes it with any JSON library that can sort keys, so the tree does not depend
on this code, on the database, or on how the body was spaced when it was written.
"""
from __future__ import annotations

import json
from typing import Any
from uuid import UUID

FORMAT = "buurtbudget-event/1"


def event_timestamp(state: dict[str, Any]) -> str | None:
    """The event's own time, as the event store's transcoder wrote it into the body."""
    value = state.get("timestamp")
    if isinstance(value, dict) and isinstance(value.get("_data_"), str):
        return value["_data_"]
    return value if isinstance(value, str) else None


def canonical_document(
    topic: str, originator_id: UUID | str, originator_version: int, state: dict[str, Any]
) -> dict[str, Any]:
    return {
        "originator_id": str(UUID(str(originator_id))),
        "originator_version": int(originator_version),
        "state": state,
        "timestamp": event_timestamp(state),
        "topic": topic,
    }


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(document: Any) -> bytes:
    return _ENCODER.encode(document).encode("utf-8")


def canonical_event_bytes(
    topic: str, originator_id: UUID | str, originator_version: int, state: bytes | dict[str, Any]
) -> bytes:
    """The bytes a leaf hashes, from a stored event's fields (its body as stored, or parsed)."""
    body = json.loads(state) if isinstance(state, (bytes, bytearray, str)) else state
    return canonical_parts(topic, originator_id, originator_version, body)[1]


def canonical_parts(
    topic: str, originator_id: UUID | str, originator_version: int, state: dict[str, Any]
) -> tuple[bytes, bytes]:
    """The canonical bytes of the body alone, and of the whole event (which contains them).

    The same bytes as `canonical_json(canonical_document(...))`, composed around the body's so a
    reader that needs both (the verifier replays the body) serialises the body once. The keys are
    written in their sorted order.
    """
    body = canonical_json(state)
    uuid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
    whole = b"".join((
        b'{"originator_id":', canonical_json(str(uuid)),
        # An integer's JSON is its decimal digits; str() spares the encoder's overhead per leaf.
        b',"originator_version":', str(int(originator_version)).encode(),
        b',"state":', body,
        b',"timestamp":', canonical_json(event_timestamp(state)),
        b',"topic":', canonical_json(topic), b"}",
    ))
    return body, whole
