"""Rows of a transaction writer are stored with the events, in their transaction, or not at all."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from copy import deepcopy
from typing import Any

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.municipality import Municipality
from service.event_store import Transaction
from service.runtime import Runtime

OFFICIAL = "official:anna"


class PositionsWriter:
    """A transaction writer that keeps each stored event's log position in a table of its own."""

    table = "test_event_positions"

    def __init__(self) -> None:
        self.fail_after_writing = False

    def create_tables(self, transaction: Transaction) -> None:
        transaction.cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {transaction.table(self.table)} "
            "(notification_id BIGINT PRIMARY KEY, originator_id TEXT, originator_version BIGINT)"
        )

    def write(
        self,
        transaction: Transaction,
        stored_events: Sequence[StoredEvent],
        notification_ids: Sequence[int],
    ) -> None:
        mark = "?" if transaction.backend == "sqlite" else "%s"
        transaction.cursor.executemany(
            f"INSERT INTO {transaction.table(self.table)} VALUES ({mark}, {mark}, {mark})",
            [
                (position, str(event.originator_id), event.originator_version)
                for position, event in zip(notification_ids, stored_events, strict=True)
            ],
        )
        if self.fail_after_writing:
            raise RuntimeError("the writer failed after writing its rows")


@pytest.fixture
def writer() -> PositionsWriter:
    return PositionsWriter()


@pytest.fixture
def runtime_with_writer(settings: dict[str, Any], writer: PositionsWriter) -> Iterator[Runtime]:
    runtime = Runtime(settings, create_tables=True, transaction_writers=[writer])
    yield runtime
    runtime.close()


def written_rows(runtime: Runtime) -> list[tuple[int, str, int]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT notification_id, originator_id, originator_version FROM {PositionsWriter.table} "
            "ORDER BY notification_id"
        ))
        return [tuple(row) for row in rows]


def log(runtime: Runtime) -> list[tuple[int, str, int]]:
    notifications = runtime.application.recorder.select_notifications(start=1, limit=1000)
    return [(n.id, str(n.originator_id), n.originator_version) for n in notifications]


def test_the_writer_gets_every_stored_event_with_its_log_position(
    runtime_with_writer: Runtime,
) -> None:
    app = runtime_with_writer.application
    municipality_id = app.register_municipality(name="Amsterdam", cbs_code="GM0363", actor=OFFICIAL)
    app.register_neighbourhood(
        municipality_id=municipality_id, name="Oost", cbs_code=None, actor=OFFICIAL
    )

    assert len(log(runtime_with_writer)) == 2
    assert written_rows(runtime_with_writer) == log(runtime_with_writer)


def test_a_refused_save_writes_no_rows(runtime_with_writer: Runtime) -> None:
    app = runtime_with_writer.application
    municipality = Municipality.register(name="Amsterdam", cbs_code="GM0363", actor=OFFICIAL)
    registered_twice = deepcopy(municipality)  # the same aggregate, its first event still pending
    app.save(municipality)

    with pytest.raises(IntegrityError):
        app.save(registered_twice)

    assert written_rows(runtime_with_writer) == log(runtime_with_writer)
    assert len(log(runtime_with_writer)) == 1


def test_a_failing_writer_rolls_the_events_back(
    runtime_with_writer: Runtime, writer: PositionsWriter
) -> None:
    app = runtime_with_writer.application
    app.register_municipality(name="Amsterdam", cbs_code="GM0363", actor=OFFICIAL)
    writer.fail_after_writing = True

    with pytest.raises(RuntimeError, match="the writer failed"):
        app.register_municipality(name="Utrecht", cbs_code="GM0344", actor=OFFICIAL)

    assert names_in_log(runtime_with_writer) == ["Amsterdam"]
    assert written_rows(runtime_with_writer) == log(runtime_with_writer)

    writer.fail_after_writing = False
    app.register_municipality(name="Utrecht", cbs_code="GM0344", actor=OFFICIAL)
    assert names_in_log(runtime_with_writer) == ["Amsterdam", "Utrecht"]
    assert written_rows(runtime_with_writer) == log(runtime_with_writer)


def names_in_log(runtime: Runtime) -> list[str]:
    app = runtime.application
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    return [app.mapper.to_domain_event(n).name for n in notifications]
