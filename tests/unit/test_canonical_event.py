"""The canonical bytes of a stored event do not depend on how its body was spaced or ordered."""
from __future__ import annotations

import json
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.canonical_event import (
    canonical_document,
    canonical_event_bytes,
    canonical_json,
    canonical_parts,
)

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


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(state=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
       topic=st.text(min_size=1, max_size=30), version=st.integers(1, 10**9))
def test_the_composed_bytes_are_the_sorted_document(state, topic, version):
    body, whole = canonical_parts(topic, ID, version, state)
    assert whole == canonical_json(canonical_document(topic, ID, version, state))
    assert body == canonical_json(state)
