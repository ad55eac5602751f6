"""The machinery every read model shares: tracked positions, batches of events, and failures.

The projector reads a page of the event log once, decodes each event once, and hands every read
model the events it handles. A read model's handlers change rows in memory (`TableRows`); at the
end of the batch the rows are written with one bulk statement per table and kind, in the same
database transaction as the read model's new tracking position. The position only moves forward
from the value read under a lock, so an event is applied exactly once even when several workers
catch up at the same time or a process dies halfway.

A read model that cannot apply an event (the database refuses a row, a handler breaks) stops just
before it and records the failure; the other read models go on. It stays stopped until an
operator retries it or rebuilds it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import attrgetter, itemgetter
from typing import Any

import sqlalchemy as sa
from eventsourcing.utils import resolve_topic
from sqlalchemy.dialects import postgresql, sqlite

from domain.event_topics import topics_of

log = logging.getLogger(__name__)

metadata = sa.MetaData()

tracking = sa.Table(
    "projection_tracking",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

# One row per stopped read model: the event it could not apply. What went wrong in detail is in
# the server log under the incident id, never here: the error may quote personal data.
failures = sa.Table(
    "projection_failures",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("incident", sa.Text, nullable=False),
    sa.Column("failed_at", sa.Text, nullable=False),
)

# Per read model: the fingerprint of the table shapes its rows were written for, and the names of
# those tables. A read model whose code declares other shapes is rebuilt when the service starts
# (`Projector.rebuild_outdated`); the names tell which tables it no longer uses may be dropped.
schemas = sa.Table(
    "projection_schemas",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("tables", sa.JSON, nullable=False),
)

BATCH_SIZE = 1000
# A rebuild writes many rows per event page: bigger pages mean fewer commits (each an fsync on
# SQLite) while memory stays bounded by the page, not by the log.
REBUILD_BATCH_SIZE = 10_000
SQLITE_BULK_CACHE_KIB = 32 * 1024
# A page reads at most this many log ids per event it holds: the topics no read model handles
# are skipped, about half of a ballot-heavy log.
SELECTED_IDS_PER_PAGE = 3
# Bound parameters per statement stay well under SQLite's limit (32,766).
KEYS_PER_SELECT = 500


def new_incident_id() -> str:
    return uuid.uuid4().hex[:12]


class ProjectionError(RuntimeError):
    """Read models could not be brought up to date; the incident id points into the server log."""

    def __init__(self, message: str, *, incident: str | None = None):
        super().__init__(message)
        self.incident = incident or new_incident_id()


class ReadModelStopped(ProjectionError):
    """A read model stopped before an event it cannot apply."""

    def __init__(self, name: str, position: int, incident: str):
        super().__init__(
            f"read model '{name}' stopped before event {position}", incident=incident
        )
        self.name = name
        self.position = position


class DuplicateRow(RuntimeError):
    """A handler inserted a row whose key its table already holds."""


# -- the rows a batch changes ---------------------------------------------------------------------


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows with the driver's fastest path: COPY on PostgreSQL, executemany on SQLite.

    Values are written as SQLAlchemy would write them (JSON columns as JSON text), so the rows
    read back the same whichever way they went in.
    """
    if not rows:
        return
    columns = list(table.columns)
    names = ", ".join(c.name for c in columns)
    values = list(map(itemgetter(*(c.name for c in columns)), rows))
    # In key order the primary key index is written page after page instead of all over.
    key_positions = [columns.index(c) for c in table.primary_key.columns]
    values.sort(key=itemgetter(*key_positions))
    json_columns = [i for i, c in enumerate(columns) if isinstance(c.type, sa.JSON)]
    if json_columns:
        values = [tuple(_as_json_text(row, json_columns)) for row in values]
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", values)


def _as_json_text(row: tuple[Any, ...], json_columns: list[int]) -> list[Any]:
    encoded = list(row)
    for index in json_columns:
        encoded[index] = json.dumps(encoded[index])
    return encoded


def _column_default(column: sa.Column) -> Any:
    default = column.default
    return default.arg if isinstance(default, sa.ColumnDefault) and default.is_scalar else None


class TableRows:
    """The rows of one table that a batch reads or writes, kept in memory until the batch ends.

    Rows are plain dicts keyed by the table's primary key (a tuple when it has several columns).
    `flush` writes what changed with one executemany per kind: DELETE, INSERT, UPDATE.
    """

    def __init__(self, conn: sa.Connection, table: sa.Table):
        self.conn = conn
        self.table = table
        self.key_columns = list(table.primary_key.columns)
        self._rows: dict[Any, dict[str, Any] | None] = {}
        self._stored: dict[Any, bool] = {}  # was the row in the database when the batch began?
        self._changed: set[Any] = set()
        self._defaults = {c.name: _column_default(c) for c in table.columns}

    def key_of(self, row: dict[str, Any]) -> Any:
        if len(self.key_columns) == 1:
            return row[self.key_columns[0].name]
        return tuple(row[c.name] for c in self.key_columns)

    def preload(self, keys: Iterable[Any]) -> None:
        """Read the rows of these keys (those not already in memory) in a few bulk SELECTs."""
        missing = list(dict.fromkeys(k for k in keys if k not in self._rows))
        if len(self.key_columns) == 1:
            key_expression: Any = self.key_columns[0]
        else:
            key_expression = sa.tuple_(*self.key_columns)
        for start in range(0, len(missing), KEYS_PER_SELECT):
            chunk = missing[start:start + KEYS_PER_SELECT]
            for row in self.conn.execute(
                sa.select(self.table).where(key_expression.in_(chunk))
            ).mappings():
                found = dict(row)
                key = self.key_of(found)
                self._rows[key] = found
                self._stored[key] = True
            for key in chunk:
                if key not in self._rows:
                    self._rows[key] = None
                    self._stored[key] = False

    def get(self, key: Any) -> dict[str, Any] | None:
        if key not in self._rows:
            self.preload([key])
        return self._rows[key]

    def stored(self, key: Any) -> bool:
        """Whether the database holds a row with this key (as of the last flush)."""
        self.get(key)
        return self._stored[key]

    def insert(self, row: dict[str, Any]) -> None:
        key = self.key_of(row)
        if self._rows.get(key) is not None:
            raise DuplicateRow(f"{self.table.name} already has a row with this key")
        self._stored.setdefault(key, False)
        self._rows[key] = {**self._defaults, **row}
        self._changed.add(key)

    def update(self, key: Any, **values: Any) -> dict[str, Any] | None:
        """Change a row's columns; like SQL's UPDATE, a missing row is left missing."""
        row = self.get(key)
        if row is not None:
            row.update(values)
            self._changed.add(key)
        return row

    def delete(self, key: Any) -> None:
        if self.get(key) is not None:
            self._rows[key] = None
            self._changed.add(key)

    def flush(self) -> None:
        deletes, inserts, updates = [], [], []
        for key in self._changed:
            row, stored = self._rows[key], self._stored[key]
            if row is None:
                if stored:
                    deletes.append(self._key_params(key))
            elif stored:
                updates.append({**row, **self._key_params(key)})
            else:
                inserts.append(row)
            self._stored[key] = row is not None
        self._changed.clear()
        by_key = sa.and_(*(c == sa.bindparam(f"key_{c.name}") for c in self.key_columns))
        if deletes:
            self.conn.execute(sa.delete(self.table).where(by_key), deletes)
        bulk_insert(self.conn, self.table, inserts)
        if updates:
            values = {c.name: sa.bindparam(c.name) for c in self.table.columns}
            self.conn.execute(sa.update(self.table).where(by_key).values(values), updates)

    def _key_params(self, key: Any) -> dict[str, Any]:
        parts = key if len(self.key_columns) > 1 else (key,)
        return {f"key_{c.name}": part for c, part in zip(self.key_columns, parts)}


@dataclass
class Batch:
    """What a read model's handlers write to while one batch of events is applied."""

    conn: sa.Connection
    _tables: dict[str, TableRows] = field(default_factory=dict)
    scratch: dict[str, Any] = field(default_factory=dict)  # a read model's own per-batch state

    def rows(self, table: sa.Table) -> TableRows:
        if table.name not in self._tables:
            self._tables[table.name] = TableRows(self.conn, table)
        return self._tables[table.name]

    def flush(self) -> None:
        for rows in self._tables.values():
            rows.flush()


Handler = Callable[[Batch, Any, int], None]


def handles(*event_classes: type) -> Callable[[Handler], Handler]:
    """Mark a read model method as the handler of these event classes (under any stored topic)."""

    def mark(method: Handler) -> Handler:
        method.handled_classes = event_classes  # type: ignore[attr-defined]
        return method

    return mark


def schema_fingerprint(tables: Iterable[sa.Table], version: int = 1) -> str:
    """A hash of the tables' shapes (columns, types, nullability, keys, constraints, indexes).

    Built from the declarations alone (never from a database), so every process and both
    backends compute the same value for the same code. `version` is a read model's own
    (`ReadModel.version`): it changes the fingerprint when the rows change but the shapes do not.
    """

    def shape(table: sa.Table) -> dict[str, Any]:
        return {
            "name": table.name,
            "columns": [
                [c.name, repr(c.type), c.nullable, c.primary_key,
                 None if c.server_default is None else str(getattr(c.server_default, "arg", ""))]
                for c in table.columns
            ],
            "foreign_keys": sorted(
                [fk.parent.name, fk.target_fullname] for fk in table.foreign_keys
            ),
            "constraints": sorted(
                [type(c).__name__, sorted(col.name for col in getattr(c, "columns", ())),
                 str(getattr(c, "sqltext", ""))]
                for c in table.constraints
            ),
            "indexes": sorted(
                [sorted(col.name for col in index.columns), bool(index.unique)]
                for index in table.indexes
            ),
        }

    described = sorted((shape(table) for table in tables), key=itemgetter("name"))
    return hashlib.sha256(json.dumps([version, described], sort_keys=True).encode()).hexdigest()


class ReadModel:
    """A read model: its tables, one handler per event class, and a tracked position."""

    name: str
    tables: Sequence[sa.Table]
    # Raised when what the handlers write changes while the tables keep their shapes: the read
    # model is then rebuilt at the next start, as when its tables change.
    version: int = 1
    # Tables earlier releases kept for this read model, from before their names were recorded
    # in `projection_schemas`: dropped when the read model is rebuilt for a new shape.
    former_tables: Sequence[str] = ()

    def fingerprint(self) -> str:
        return schema_fingerprint(self.tables, self.version)

    def handlers(self) -> dict[type, Handler]:
        found: dict[type, Handler] = {}
        for attribute in dir(type(self)):
            method = getattr(self, attribute)
            for cls in getattr(method, "handled_classes", ()):
                found[cls] = method
        return found

    def prepare(self, batch: Batch, events: Sequence[tuple[int, Any]]) -> None:
        """Read in bulk the rows the batch's events will touch (optional; rows load lazily)."""

    def finish(self, batch: Batch) -> None:
        """Write what the read model kept in `batch.scratch` (after the handlers, before flush)."""


# -- the projector ---------------------------------------------------------------------------------


@dataclass
class Lag:
    name: str
    position: int
    behind: int
    failure: Failure | None = None


@dataclass(frozen=True)
class Failure:
    name: str
    position: int  # the event the read model could not apply
    topic: str
    error: str
    incident: str
    failed_at: str


class _Page:
    """A page of the log: its notifications by event class, each decoded at most once."""

    def __init__(self, notifications: Sequence[Any], end: int, mapper: Any, classes: dict[str, type]):
        self.end = end
        self.mapper = mapper
        self._by_class: dict[type, list[Any]] = {}
        for notification in notifications:
            cls = classes.get(notification.topic)
            if cls is None:
                # Resolving the stored topic (not comparing strings) keeps events stored under
                # a topic that was later renamed or registered as an alias.
                cls = classes[notification.topic] = resolve_topic(notification.topic)
            self._by_class.setdefault(cls, []).append(notification)
        self._decoded: dict[int, Any] = {}
        self._size = len(notifications)

    def __len__(self) -> int:
        return self._size

    def events_for(self, handlers: dict[type, Handler], after: int) -> list[tuple[int, str, Any]]:
        """(position, topic, event) of the events after `after` that `handlers` handle, in order."""
        chosen = [
            n for cls, found in self._by_class.items() if cls in handlers for n in found
            if n.id > after
        ]
        chosen.sort(key=attrgetter("id"))
        events = []
        for notification in chosen:
            event = self._decoded.get(notification.id)
            if event is None:
                event = self._decoded[notification.id] = self.mapper.to_domain_event(notification)
            events.append((notification.id, notification.topic, event))
        return events


class _HandlerFailed(Exception):
    def __init__(self, index: int):
        self.index = index


class Projector:
    """Keeps a set of read models up to date with an application's notification log."""

    def __init__(self, engine: sa.Engine, recorder: Any, mapper: Any, models: Iterable[ReadModel]):
        self.engine = engine
        self.recorder = recorder
        self.mapper = mapper
        self.models = list(models)
        self._handlers = {model.name: model.handlers() for model in self.models}
        # Events no read model handles (a ballot's issue: half of a ballot-heavy log) are not
        # even read.
        self._topics = {name: topics_of(*handlers) for name, handlers in self._handlers.items()}
        self._classes: dict[str, type] = {}  # stored topic -> event class (old topics included)
        self._tables_of = {table.name: model.name for model in self.models for table in model.tables}

    def create_tables(self) -> None:
        metadata.create_all(self.engine, checkfirst=True)
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            for model in self.models:
                self._ensure_tracking_row(conn, model.name)

    @staticmethod
    def _ensure_tracking_row(conn: sa.Connection, name: str) -> None:
        # A missing row cannot be locked with FOR UPDATE, so two workers could both insert it;
        # "on conflict do nothing" lets the second one find the first one's row instead.
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(
            dialect.insert(tracking).values(name=name, position=0).on_conflict_do_nothing()
        )

    def model_of_table(self, table_name: str) -> str | None:
        return self._tables_of.get(table_name)

    # -- where each read model stands ----------------------------------------------------------

    def log_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def positions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(tracking.c.name, tracking.c.position)).all()
        return {row.name: row.position for row in rows}

    def failures(self) -> dict[str, Failure]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(failures)).mappings().all()
        return {row["name"]: Failure(**row) for row in rows}

    def lag(self) -> list[Lag]:
        head = self.log_position()
        positions = self.positions()
        stopped = self.failures()
        return [
            Lag(m.name, positions.get(m.name, 0), head - positions.get(m.name, 0), stopped.get(m.name))
            for m in self.models
        ]

    # -- catching up -----------------------------------------------------------------------------

    def catch_up(self, until: int | None = None, *, batch_size: int | None = None) -> int:
        """Apply every event up to `until` (default: the log's head) to every running read model.

        A read model that fails on an event is stopped there (see `failures`); the others go on.
        Raises ProjectionError only when the failure could not be pinned to one event (the
        database went away, say): then nothing is recorded and the next call tries again.
        """
        return self._catch_up(until, batch_size)[0]

    def catch_up_for_reading(self) -> dict[str, Failure]:
        """`catch_up` to the log's head; then the read models that are stopped (`failures`)."""
        return self._catch_up(None, None)[1]

    def caught_up_state(self) -> tuple[int, tuple[tuple[str, int], ...]]:
        """`catch_up` to the log's head; then that head and each stopped read model's position.

        Two reads that find the same state read the same rows: read models only change when
        they apply events up to a new head, or when one stops or starts again.
        """
        head = self.log_position()
        stopped = self._catch_up(head, None)[1]
        return head, tuple(sorted((name, failure.position) for name, failure in stopped.items()))

    def _standing(self) -> tuple[dict[str, int], dict[str, Failure]]:
        """`positions` and `failures` in one visit to the database (before every read)."""
        with self.engine.connect() as conn:
            positions = conn.execute(sa.select(tracking.c.name, tracking.c.position)).all()
            stopped = conn.execute(sa.select(failures)).mappings().all()
        return (
            {row.name: row.position for row in positions},
            {row["name"]: Failure(**row) for row in stopped},
        )

    def _catch_up(
        self, until: int | None, batch_size: int | None
    ) -> tuple[int, dict[str, Failure]]:
        head = self.log_position() if until is None else until
        page_size = batch_size or BATCH_SIZE
        applied = 0
        while True:
            positions, stopped = self._standing()
            behind = [
                m for m in self.models
                if m.name not in stopped and positions.get(m.name, 0) < head
            ]
            if not behind:
                return applied, stopped
            start = min(positions.get(m.name, 0) for m in behind)
            topics = sorted({topic for m in behind for topic in self._topics[m.name]})
            # The ids are bounded above too: asked for the whole rest of the log, PostgreSQL may
            # scan and sort all of it for every page (it does on a table not yet analysed).
            stop = min(head, start + SELECTED_IDS_PER_PAGE * page_size)
            notifications = self.recorder.select_notifications(
                start=start + 1, limit=page_size, stop=stop, topics=topics
            )
            # Fewer than a full page means everything up to `stop` has been seen (ids can have
            # gaps where a transaction rolled back).
            end = stop if len(notifications) < page_size else notifications[-1].id
            page = _Page(notifications, end, self.mapper, self._classes)
            for model in behind:
                applied += self._apply_page(model, page)

    def _apply_page(self, model: ReadModel, page: _Page) -> int:
        try:
            return self._apply(model, page, stop_before=None)
        except ProjectionError:
            raise
        except _HandlerFailed as failed:
            cause = failed.__cause__
        except Exception as error:  # a row the database refuses, whatever its driver raises
            cause = error
        return self._stop_at_failure(model, page, cause)

    def _apply(self, model: ReadModel, page: _Page, *, stop_before: int | None) -> int:
        """Apply the model's events of the page in one transaction; returns how many.

        With `stop_before`, apply only the events before that index and move the position to
        just before it.
        """
        # `write` makes SQLite take its write lock at BEGIN, so concurrent catch-ups queue up
        # instead of failing halfway; PostgreSQL gets the same from FOR UPDATE.
        with self.engine.connect().execution_options(write=True) as conn:
            with self._bulk_settings(conn, bulk=len(page) > BATCH_SIZE), conn.begin():
                return self._apply_in(conn, model, page, stop_before)

    @staticmethod
    @contextmanager
    def _bulk_settings(conn: sa.Connection, *, bulk: bool) -> Iterator[None]:
        """For a rebuild's big pages on SQLite: a bigger page cache and commits without fsync.

        A big page writes rows all over the tables' B-trees, which SQLite's default 2 MB cache
        would read again for every few rows. Without an fsync per commit (WAL, synchronous
        NORMAL) a crash can lose the last pages' rows, but never corrupt the file, and their
        positions are lost with them: the next catch-up writes them again.
        """
        if not bulk or conn.dialect.name != "sqlite":
            yield
            return
        raw = conn.connection.driver_connection
        raw.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
        raw.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            raw.execute("PRAGMA synchronous = FULL")
            raw.execute("PRAGMA cache_size = -2000")

    def _apply_in(
        self, conn: sa.Connection, model: ReadModel, page: _Page, stop_before: int | None
    ) -> int:
        handlers = self._handlers[model.name]
        self._ensure_tracking_row(conn, model.name)
        position = conn.execute(
            sa.select(tracking.c.position).where(tracking.c.name == model.name).with_for_update()
        ).scalar_one()
        if position >= page.end:
            return 0  # another worker got here first
        events = page.events_for(handlers, position)
        new_position = page.end
        if stop_before is not None:
            new_position = events[stop_before][0] - 1
            events = events[:stop_before]
        batch = Batch(conn)
        model.prepare(batch, [(pos, event) for pos, _topic, event in events])
        for index, (pos, _topic, event) in enumerate(events):
            try:
                handlers[type(event)](batch, event, pos)
            except Exception as error:
                raise _HandlerFailed(index) from error
        model.finish(batch)
        batch.flush()
        moved = conn.execute(
            sa.update(tracking)
            .where(tracking.c.name == model.name, tracking.c.position == position)
            .values(position=new_position)
        ).rowcount
        if moved != 1:
            raise ProjectionError(f"read model '{model.name}' was moved on by someone else")
        return len(events)

    def _failing_index(self, model: ReadModel, page: _Page) -> int | None:
        """Apply the model's events one at a time, writing each, to find the one that fails."""
        handlers = self._handlers[model.name]
        with self.engine.connect().execution_options(write=True) as conn:
            with conn.begin() as transaction:
                position = conn.execute(
                    sa.select(tracking.c.position).where(tracking.c.name == model.name)
                    .with_for_update()
                ).scalar_one()
                events = page.events_for(handlers, position)
                batch = Batch(conn)
                try:
                    for index, (pos, _topic, event) in enumerate(events):
                        handlers[type(event)](batch, event, pos)
                        model.finish(batch)
                        batch.flush()
                except Exception:
                    return index
                finally:
                    transaction.rollback()
        return None

    def _stop_at_failure(self, model: ReadModel, page: _Page, cause: BaseException | None) -> int:
        try:
            index = self._failing_index(model, page)
        except Exception:  # the database itself is not answering; try again next time
            index = None
        if index is None:
            incident = new_incident_id()
            log.error(
                "incident %s: read model '%s' could not apply events up to %d (not pinned to "
                "one event; will retry)", incident, model.name, page.end, exc_info=cause,
            )
            raise ProjectionError(
                f"read model '{model.name}' could not catch up", incident=incident
            ) from cause
        applied = self._apply(model, page, stop_before=index) if index else 0
        with self.engine.connect() as conn:
            position = conn.execute(
                sa.select(tracking.c.position).where(tracking.c.name == model.name)
            ).scalar_one()
        events = page.events_for(self._handlers[model.name], position)
        failing_position, topic, _event = events[0]
        failure = Failure(
            name=model.name, position=failing_position, topic=topic,
            error=type(cause).__name__ if cause else "unknown", incident=new_incident_id(),
            failed_at=datetime.now(timezone.utc).isoformat(),
        )
        self._record_failure(failure)
        log.error(
            "incident %s: read model '%s' stopped before event %d (%s)",
            failure.incident, model.name, failing_position, topic, exc_info=cause,
        )
        return applied

    def _record_failure(self, failure: Failure) -> None:
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(
                dialect.insert(failures).values(**failure.__dict__).on_conflict_do_nothing()
            )

    # -- operators' actions ------------------------------------------------------------------------

    def _chosen(self, names: Iterable[str] | None) -> list[ReadModel]:
        wanted = None if names is None else set(names)
        return [m for m in self.models if wanted is None or m.name in wanted]

    def retry(self, names: Iterable[str] | None = None) -> int:
        """Clear the failures of read models (all, or `names`) and catch up again."""
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            chosen = [m.name for m in self._chosen(names)]
            conn.execute(sa.delete(failures).where(failures.c.name.in_(chosen)))
        return self.catch_up()

    def rebuild(self, names: Iterable[str] | None = None) -> int:
        """Drop the read models' tables, positions and failures, then replay the whole log.

        Tables a read model kept in an earlier release and no longer declares are dropped too.
        """
        chosen = self._chosen(names)
        tables = [table for model in chosen for table in model.tables]
        self.create_tables()
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            quote = conn.dialect.identifier_preparer.quote
            for name in self._abandoned_tables(conn, chosen):
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {quote(name)}"))
            for table in reversed(tables):
                table.drop(conn, checkfirst=True)
            # Secondary indexes are built once after the rows are in: far cheaper than keeping
            # them up to date row by row.
            for table in tables:
                conn.execute(sa.schema.CreateTable(table))
            for model in chosen:
                conn.execute(
                    sa.update(tracking).where(tracking.c.name == model.name).values(position=0)
                )
                conn.execute(sa.delete(failures).where(failures.c.name == model.name))
                self._record_schema(conn, model)
        try:
            return self.catch_up(batch_size=REBUILD_BATCH_SIZE)
        finally:
            with self.engine.connect().execution_options(write=True) as conn, conn.begin():
                for table in tables:
                    for index in table.indexes:
                        index.create(conn, checkfirst=True)

    # -- table shapes ------------------------------------------------------------------------------

    def rebuild_outdated(self) -> list[str]:
        """Rebuild the read models whose tables' shapes differ from those their rows were made for.

        A read model whose recorded fingerprint differs from its code's (or that has none, or
        whose tables are missing) is dropped and replayed from the log; one whose tables were
        only now created, empty, just records its fingerprint. Returns the names rebuilt.
        Callers hold a lock that keeps other processes from doing the same at the same time.
        """
        existing = set(sa.inspect(self.engine).get_table_names())
        self.create_tables()
        with self.engine.connect() as conn:
            recorded = dict(conn.execute(sa.select(schemas.c.name, schemas.c.fingerprint)).all())
            positions = dict(conn.execute(sa.select(tracking.c.name, tracking.c.position)).all())
        fresh, outdated = [], []
        for model in self.models:
            declared = {table.name for table in model.tables}
            unchanged = recorded.get(model.name) == model.fingerprint()
            if unchanged and declared <= existing:
                continue
            if positions.get(model.name, 0) == 0 and not declared & existing:
                fresh.append(model)
            else:
                outdated.append(model)
        if fresh:
            with self.engine.connect().execution_options(write=True) as conn, conn.begin():
                for model in fresh:
                    self._record_schema(conn, model)
        if outdated:
            names = [model.name for model in outdated]
            log.warning("read models %s: tables changed shape; rebuilding them from the log",
                        ", ".join(names))
            self.rebuild(names)
        return [model.name for model in outdated]

    def _abandoned_tables(self, conn: sa.Connection, models: Sequence[ReadModel]) -> list[str]:
        """Tables the models kept before (as recorded, or named in `former_tables`), now unused."""
        recorded = dict(conn.execute(
            sa.select(schemas.c.name, schemas.c.tables)
            .where(schemas.c.name.in_([model.name for model in models]))
        ).all())
        declared = set(metadata.tables)
        return sorted({
            name
            for model in models
            for name in [*recorded.get(model.name, ()), *model.former_tables]
            if name not in declared
        })

    @staticmethod
    def _record_schema(conn: sa.Connection, model: ReadModel) -> None:
        conn.execute(sa.delete(schemas).where(schemas.c.name == model.name))
        conn.execute(sa.insert(schemas).values(
            name=model.name, fingerprint=model.fingerprint(),
            tables=sorted(table.name for table in model.tables),
        ))
