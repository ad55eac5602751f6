"""The canonical bytes of a stored event do not depend on how its body was spaced or ordered."""
from __future__ import annotations

import json
from uuid import UUID

from domain.canonical_event import canonical_event_bytes

STATE = {
    "timestamp": {"_type_": "datetime_iso", "_data_": "2026-11-29T14:14:37.548721+00:00"},
    "originator_topic": "domain.municipality:Municipality",
    "name": "Zuidoost \u2014 \u00e9\u00e9n",
    "actor": "official:anna",
}
ID = UUID("cb89274b-a71b-46e9-98a1-71dedb4b816c")


def test_canonical_bytes_are_documented_sorted_compact_json():
    stored = json.dumps(STATE).encode()
    assert canonical_event_bytes("domain.municipality:Municipality.Registered", ID, 1, stored) == (
        '{"originator_id":"cb89274b-a71b-46e9-98a1-71dedb4b816c","originator_version":1,'
        '"state":{"actor":"official:anna","name":"Zuidoost \u2014 \u00e9\u00e9n",'
        '"originator_topic":"domain.municipality:Municipality",'
        '"timestamp":{"_data_":"2026-11-29T14:14:37.548721+00:00","_type_":"datetime_iso"}},'
        '"timestamp":"2026-11-29T14:14:37.548721+00:00",'
        '"topic":"domain.municipality:Municipality.Registered"}'
    ).encode()


def test_spacing_key_order_and_id_spelling_do_not_change_the_bytes():
    topic = "domain.municipality:Municipality.Registered"
    compact = json.dumps(STATE, separators=(",", ":")).encode()
    reordered = json.dumps(dict(reversed(list(STATE.items()))), indent=2).encode()
    assert canonical_event_bytes(topic, ID, 1, compact) == canonical_event_bytes(
        topic, ID.hex, 1, reordered
    )
    assert canonical_event_bytes(topic, ID, 1, compact) != canonical_event_bytes(topic, ID, 2, compact)
