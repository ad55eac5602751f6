"""The service's tables brought up to the code's shapes when a process starts, one at a time.

Every process that builds a Runtime (each gunicorn worker, every command) creates the tables it
needs that are missing (events, tamper-evident log, tokens, personal-data keys, read models) and
rebuilds from the log the read models whose table shapes changed since their rows were written
(`Projector.rebuild_outdated`). Workers starting together take turns under one lock: the first
rebuilds, the others wait and then find the read models up to date.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from projections.tracking import Projector
from service.console_sessions import token_metadata
from service.event_store import EventStore
from service.personal_data_keys import key_metadata
from service.storage import Storage


def bring_up_to_date(
    storage: Storage, event_store: EventStore, engine: sa.Engine, recorder: object,
    projector: Projector,
) -> list[str]:
    """Create missing tables and rebuild outdated read models; returns the names rebuilt."""
    with _one_process_at_a_time(storage, event_store, engine):
        create_table = getattr(recorder, "create_table", None)  # the in-memory store has none
        if create_table is not None:
            create_table()
        token_metadata.create_all(engine, checkfirst=True)
        key_metadata.create_all(engine, checkfirst=True)
        return projector.rebuild_outdated()


@contextmanager
def _one_process_at_a_time(
    storage: Storage, event_store: EventStore, engine: sa.Engine
) -> Iterator[None]:
    if storage.kind == "postgresql":
        # A session lock: released by the server if the process dies while holding it. Its key
        # is the schema's, so databases in other schemas of the same server do not wait.
        with engine.connect() as conn:
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
            digest = hashlib.sha256(f"buurtbudget tables {schema}".encode()).digest()
            key = int.from_bytes(digest[:8], "big", signed=True)
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
    elif event_store.write_lock is not None:
        # SQLite: the lock every event write takes, so no event is stored during a rebuild either.
        with event_store.write_lock.held():
            yield
    else:
        yield
