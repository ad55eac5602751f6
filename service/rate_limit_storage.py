"""Rate-limit counters in SQL: a `limits` storage over SQLite or PostgreSQL, for the fixed window.

Registered with the `limits` package under the URL schemes `buurtbudget+sqlite://` and
`buurtbudget+postgresql://` (the rest of the URL is a database URL as the service spells it), so
Flask-Limiter counts in the database the service already has when no Redis is configured: every
gunicorn worker, and every app server on one PostgreSQL, sees the same counts.

Each counter is one row (key, count, expires_at). An increment is a single
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` statement, which both databases run atomically:
concurrent increments of one key from any number of processes never lose a count, and a window
that has expired starts again at the increment's own amount. Counts need no durability: on
PostgreSQL the table is UNLOGGED (no WAL), and on SQLite the counters live in a file of their
own beside the database (see `service.rate_limits`), with synchronous=NORMAL.
"""
from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from limits.storage import Storage as LimitsStorage
from sqlalchemy.dialects import postgresql, sqlite

from service.storage import Storage as DatabaseStorage

SCHEME_PREFIX = "buurtbudget+"
# Expired rows are dropped by the process that increments, at most this often.
PURGE_INTERVAL = 60.0
# The PostgreSQL advisory lock under which a process checks for and creates the table.
COUNTERS_LOCK = 0x62757572

metadata = sa.MetaData()
counters = sa.Table(
    "rate_limit_counters",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# The statements of every count, built once: SQLAlchemy then reuses their compiled SQL.
LIVE_COUNT = sa.select(counters.c.count, counters.c.expires_at).where(
    counters.c.key == sa.bindparam("k", type_=sa.Text),
    counters.c.expires_at > sa.bindparam("now", type_=sa.Float),
)


@functools.cache
def increment_statement(dialect_name: str) -> Any:
    """Add `n` to the count of `k`, or start a new window at `n` if its window ended by `now`."""
    amount = sa.bindparam("n", type_=sa.BigInteger)
    until = sa.bindparam("until", type_=sa.Float)
    expired = counters.c.expires_at <= sa.bindparam("now", type_=sa.Float)
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    return (
        dialect.insert(counters)
        .values(key=sa.bindparam("k", type_=sa.Text), count=amount, expires_at=until)
        .on_conflict_do_update(
            index_elements=[counters.c.key],
            set_={
                "count": sa.case((expired, amount), else_=counters.c.count + amount),
                "expires_at": sa.case((expired, until), else_=counters.c.expires_at),
            },
        )
        .returning(counters.c.count)
    )


def counter_storage_url(database_url: str) -> str:
    """The storage URL of the counters kept in the database at `database_url`."""
    return SCHEME_PREFIX + database_url


class DatabaseCounterStorage(LimitsStorage):
    """Fixed-window counters in a table of a SQLite or PostgreSQL database."""

    STORAGE_SCHEME = [SCHEME_PREFIX + "sqlite", SCHEME_PREFIX + "postgresql"]

    def __init__(
        self,
        uri: str,
        wrap_exceptions: bool = False,
        schema: str | None = None,
        engine_of: Callable[[], sa.Engine] | None = None,
        **options: float | str | bool,
    ):
        """`engine_of`, if given, returns the engine the service already has for this database."""
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.database = DatabaseStorage(uri.removeprefix(SCHEME_PREFIX), schema or None)
        self._engine_of = engine_of
        self._lock = threading.Lock()
        self._own_engine: sa.Engine | None = None
        self._own_pid: int | None = None
        self._ready_in: int | None = None  # the process that has checked the table exists
        self._last_purge = 0.0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa.exc.SQLAlchemyError

    @contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        """A connection in autocommit mode: an increment is one statement, its own transaction."""
        engine = self._engine()
        if self._ready_in != os.getpid():
            with self._lock:
                if self._ready_in != os.getpid():
                    with engine.connect() as conn:
                        _create_table(conn.execution_options(isolation_level="AUTOCOMMIT"))
                    self._ready_in = os.getpid()
        with engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def _engine(self) -> sa.Engine:
        if self._engine_of is not None:
            return self._engine_of()
        if self._own_engine is None or self._own_pid != os.getpid():
            with self._lock:
                if self._own_engine is None or self._own_pid != os.getpid():
                    self._own_engine = self._create_engine()
                    self._own_pid = os.getpid()
        return self._own_engine

    def _create_engine(self) -> sa.Engine:
        if self.database.kind != "sqlite":
            return self.database.create_engine()
        # Pooled connections keep the WAL open: closing the last connection to a WAL database
        # checkpoints and deletes the WAL, which would cost an fsync per count.
        engine = sa.create_engine(
            f"sqlite:///{self.database.sqlite_path}", connect_args={"timeout": 30}
        )
        sa.event.listen(engine, "connect", _tune_sqlite_counters)
        return engine

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self.connection() as conn:
            count = conn.execute(
                increment_statement(conn.dialect.name),
                {"k": key, "n": amount, "now": now, "until": now + expiry},
            ).scalar_one()
            if now - self._last_purge > PURGE_INTERVAL:
                self._last_purge = now
                conn.execute(sa.delete(counters).where(counters.c.expires_at <= now))
        return int(count)

    def _live(self, key: str) -> sa.Row | None:
        with self.connection() as conn:
            return conn.execute(LIVE_COUNT, {"k": key, "now": time.time()}).first()

    def get(self, key: str) -> int:
        row = self._live(key)
        return int(row.count) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return float(row.expires_at) if row else time.time()

    def check(self) -> bool:
        try:
            with self.connection() as conn:
                conn.execute(sa.select(1))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self.connection() as conn:
            return conn.execute(sa.delete(counters)).rowcount

    def clear(self, key: str) -> None:
        with self.connection() as conn:
            conn.execute(sa.delete(counters).where(counters.c.key == key))

    def close(self) -> None:
        """Close the connections of an engine of its own (the storage stays usable)."""
        if self._own_engine is not None and self._own_pid == os.getpid():
            self._own_engine.dispose()
        self._own_engine = None


def _create_table(conn: sa.Connection) -> None:
    """Create the counters table unless it exists, once, however many processes start at once."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(COUNTERS_LOCK)))
    if not sa.inspect(conn).has_table(counters.name):
        counters.create(conn)
        if conn.dialect.name == "postgresql":
            # Counts need no crash safety, so they need no write-ahead log either.
            conn.exec_driver_sql(f"ALTER TABLE {counters.name} SET UNLOGGED")
    conn.exec_driver_sql("COMMIT")


def _tune_sqlite_counters(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers never wait for the writer; NORMAL: no fsync per increment (counts may be
    # lost in a power cut, which only forgets some wrong attempts).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
