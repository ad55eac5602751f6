"""The event store: how events are written to SQLite or PostgreSQL, and what else goes in their transaction.

Everything that decides how an event reaches the database lives here: the settings of the
`eventsourcing` library's recorders, the recorders themselves (subclasses of the library's, for
SQLite and PostgreSQL), the write lock that queues SQLite writers, and the hook for rows that must
be written in the same transaction as the events.

Transaction writers
-------------------
A `TransactionWriter` adds rows of its own to every transaction that stores events (e.g. the
leaves of a tamper-evident log). Pass writers when building the event store::

    store = EventStore(storage, writers=[my_writer])
    app = BuurtbudgetApplication(event_store=store, secret_key=key, create_tables=True)

`create_tables(transaction)` is called whenever the event tables are created (`buurtbudget init`,
`create_tables=True`), inside the transaction that creates them; use `CREATE TABLE IF NOT EXISTS`.

`write(transaction, stored_events, notification_ids)` is called once per transaction that stores
events, after the events were inserted and before the commit:

- `stored_events`: the `eventsourcing.persistence.StoredEvent`s just inserted, in insert order
  (originator_id, originator_version, topic, state as stored: compressed/encrypted if configured);
- `notification_ids`: their log positions, one per stored event, in the same order and ascending;
  no transaction that commits later gets a lower position (SQLite has one writer at a time;
  PostgreSQL holds an exclusive lock of the event table until the commit).

The writer's rows are committed if and only if the events are: if `write` raises, the whole
transaction rolls back, the events are not stored, and the exception reaches the caller of
`Application.save` (a command then fails as it would on a database error). Several writers run in
the order given, all in the one transaction.

`transaction` is a `Transaction`: `cursor` is the DB-API cursor of the open transaction
(`sqlite3.Cursor` with `?` or `:name` parameters on SQLite; a `psycopg.Cursor` returning dict rows,
with `%s` or `%(name)s` parameters, on PostgreSQL, in pipeline mode: fetching a result syncs);
`backend` is "sqlite" or "postgresql"; `table(name)` quotes and qualifies a table name with the
PostgreSQL schema the events live in (tests run each in a schema of their own); `events_table` and
`notification_id_column` name where the events themselves are (columns `originator_id`,
`originator_version`, `topic`, `state`), for a writer that reads events stored before it existed.
Never commit or roll back on the cursor.

`recorder.write_transaction()` (both recorders here) opens such a transaction without storing
events, holding what serialises the writers of events (SQLite's write lock, PostgreSQL's lock of
the event table), for work that must not interleave with them (e.g. writing the leaves of events
stored before the log existed).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import retry

from service.storage import Storage
from service.write_lock import FileWriteLock

Backend = Literal["sqlite", "postgresql"]

# Every ballot cast loads its round; cached aggregates are fast-forwarded with the events stored
# since (one query, usually empty), so the round is not replayed from its first event each time.
AGGREGATE_CACHE = {"AGGREGATE_CACHE_MAXSIZE": "500", "AGGREGATE_CACHE_FASTFORWARD": "y"}


@dataclass(frozen=True)
class Transaction:
    """The open database transaction in which events are being stored (or tables created)."""

    cursor: Any
    backend: Backend
    schema: str | None = None
    events_table: str = "stored_events"

    @property
    def notification_id_column(self) -> str:
        return "rowid" if self.backend == "sqlite" else "notification_id"

    def table(self, name: str) -> str:
        """`name` quoted, and qualified with the event store's schema on PostgreSQL."""
        quoted = '"' + name.replace('"', '""') + '"'
        if self.schema is None:
            return quoted
        return '"' + self.schema.replace('"', '""') + '".' + quoted


class TransactionWriter(Protocol):
    """Rows written in the same transaction as events (see the module's docstring)."""

    def create_tables(self, transaction: Transaction) -> None: ...

    def write(
        self,
        transaction: Transaction,
        stored_events: Sequence[StoredEvent],
        notification_ids: Sequence[int],
    ) -> None: ...


class _WritesInTransaction:
    """What both recorders do with transaction writers."""

    writers: Sequence[TransactionWriter] = ()

    def _transaction(self, cursor: Any) -> Transaction:
        raise NotImplementedError

    def _create_writer_tables(self, cursor: Any) -> None:
        for writer in self.writers:
            writer.create_tables(self._transaction(cursor))

    def _write_with_events(
        self, cursor: Any, stored_events: Sequence[StoredEvent], notification_ids: Sequence[int]
    ) -> None:
        if len(notification_ids) != len(stored_events):
            raise RuntimeError("the recorder lost track of the notification ids of its events")
        for writer in self.writers:
            writer.write(self._transaction(cursor), stored_events, notification_ids)


class SQLiteEventRecorder(_WritesInTransaction, SQLiteApplicationRecorder):
    """The library's SQLite recorder, with a write lock and transaction writers."""

    def __init__(
        self,
        datastore: SQLiteDatastore,
        *,
        writers: Sequence[TransactionWriter] = (),
        write_lock: FileWriteLock | None = None,
    ):
        super().__init__(datastore)
        self.writers = tuple(writers)
        self.write_lock = write_lock

    def _transaction(self, cursor: Any) -> Transaction:
        return Transaction(cursor, "sqlite", events_table=self.events_table_name)

    @contextmanager
    def write_transaction(self) -> Iterator[Transaction]:
        """A transaction that holds the write lock from its start, as an insert of events does."""
        with self._write_lock_held(), self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            # IMMEDIATE: the database's own write lock now, so that reads and writes that follow
            # see one state (a deferred transaction could fail to upgrade after reading).
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield self._transaction(cursor.sqlite_cursor)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def _write_lock_held(self) -> Iterator[None]:
        if self.write_lock is None:
            yield
            return
        with self.write_lock.held():
            yield

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if self.write_lock is None:
            return super().insert_events(stored_events, **kwargs)
        with self.write_lock.held():
            return super().insert_events(stored_events, **kwargs)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs) or []
        self._write_with_events(c.sqlite_cursor, stored_events, notification_ids)
        return notification_ids

    def _create_table(self, c: SQLiteCursor) -> None:
        super()._create_table(c)
        self._create_writer_tables(c.sqlite_cursor)


class PostgresEventRecorder(_WritesInTransaction, PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, with transaction writers."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str,
        writers: Sequence[TransactionWriter] = (),
    ):
        super().__init__(datastore, events_table_name=events_table_name)
        self.writers = tuple(writers)

    def _transaction(self, cursor: Any) -> Transaction:
        return Transaction(cursor, "postgresql", self.datastore.schema, self.events_table_name)

    @contextmanager
    def write_transaction(self) -> Iterator[Transaction]:
        """A transaction that holds the event table's lock from its start, as an insert does."""
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            yield self._transaction(curs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        # As the library's pipelined insert, except that an exception raised after the insert
        # (by a writer) rolls the transaction back: the library's own version would commit it.
        if not stored_events:
            return []
        failure: Exception | None = None
        notification_ids: Sequence[int] = []
        with self.datastore.get_connection() as conn:  # which maps psycopg's errors to the library's
            with conn.pipeline() as pipeline:
                try:
                    with conn.transaction(), conn.cursor() as curs:
                        self._insert_stored_events(curs, stored_events, **kwargs)
                        # Sync now, so a conflict raises IntegrityError here, not at commit.
                        pipeline.sync()
                        notification_ids = self._fetch_ids_after_insert_events(
                            curs, stored_events, **kwargs
                        ) or []
                        self._write_with_events(curs, stored_events, notification_ids)
                except Exception as error:  # noqa: BLE001 - re-raised below, outside the pipeline
                    # Raised inside the pipeline, psycopg would log another error closing it.
                    failure = error
            if failure is not None:
                raise failure
        return notification_ids

    def _create_table(self, curs: Any) -> None:
        super()._create_table(curs)
        self._create_writer_tables(curs)


class EventStore:
    """Where one process' application stores its events: settings, recorder, write lock, writers."""

    def __init__(self, storage: Storage, *, writers: Sequence[TransactionWriter] = ()):
        if writers and storage.kind not in ("sqlite", "postgresql"):
            raise ValueError(f"transaction writers need SQLite or PostgreSQL, not {storage.kind}")
        self.storage = storage
        self.writers = tuple(writers)
        self.write_lock = (
            FileWriteLock(storage.sqlite_path + ".write-lock") if storage.kind == "sqlite" else None
        )

    def env(self, *, create_tables: bool) -> dict[str, str]:
        """Settings for the eventsourcing library (its factory and the application's cache)."""
        return {**self._recorder_env(create_tables), **AGGREGATE_CACHE}

    def _recorder_env(self, create_tables: bool) -> dict[str, str]:
        storage, create = self.storage, "y" if create_tables else "n"
        if storage.kind == "memory":
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if storage.kind == "sqlite":
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": storage.sqlite_path,
                "SQLITE_LOCK_TIMEOUT": "30",
                "CREATE_TABLE": create,
            }
        parts = urlsplit(storage.url)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_POOL_SIZE": "3",
            "POSTGRES_MAX_OVERFLOW": "3",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "CREATE_TABLE": create,
        }
        if storage.schema:
            env["POSTGRES_SCHEMA"] = storage.schema
        return env

    def application_recorder(self, factory: InfrastructureFactory) -> ApplicationRecorder:
        """The recorder of the application's events, built on the library factory's datastore."""
        recorder: ApplicationRecorder
        if self.storage.kind == "sqlite":
            recorder = SQLiteEventRecorder(
                factory.datastore,  # type: ignore[attr-defined]
                writers=self.writers, write_lock=self.write_lock,
            )
        elif self.storage.kind == "postgresql":
            # The table name the library's PostgreSQL factory would give the application's events.
            recorder = PostgresEventRecorder(
                factory.datastore,  # type: ignore[attr-defined]
                events_table_name=f"{factory.env.name.lower()}_events", writers=self.writers,
            )
        else:
            return factory.application_recorder()
        if factory.env_create_table():  # type: ignore[attr-defined]
            recorder.create_table()
        return recorder

    def close(self) -> None:
        if self.write_lock is not None:
            self.write_lock.close()
