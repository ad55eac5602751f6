"""Where events and read models live: one database URL selects SQLite or PostgreSQL for both."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import sqlalchemy
from sqlalchemy import event as sqlalchemy_event

DEFAULT_DATABASE_URL = "sqlite:///buurtbudget.db"

@dataclass(frozen=True)
class Storage:
    """A parsed BUURTBUDGET_DATABASE_URL (plus an optional PostgreSQL schema)."""

    url: str
    schema: str | None = None

    @property
    def kind(self) -> str:
        scheme = urlsplit(self.url).scheme.split("+")[0]
        if scheme in ("postgres", "postgresql"):
            return "postgresql"
        if scheme == "sqlite":
            return "sqlite"
        if scheme == "memory":
            return "memory"
        raise ValueError(
            f"unsupported database URL {self.url!r}: use sqlite:///FILE or postgresql://..."
        )

    @property
    def sqlite_path(self) -> str:
        # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy spells them.
        return unquote(urlsplit(self.url).path[1:])

    def create_engine(self) -> sqlalchemy.Engine:
        """The SQLAlchemy engine for the read models, in the same database as the events."""
        if self.kind == "memory":
            engine = sqlalchemy.create_engine(
                "sqlite://", poolclass=sqlalchemy.StaticPool,
                connect_args={"check_same_thread": False},
            )
        elif self.kind == "sqlite":
            Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
            engine = sqlalchemy.create_engine(
                f"sqlite:///{self.sqlite_path}", connect_args={"timeout": 30}
            )
            _tune_sqlite(engine)
        else:
            parts = urlsplit(self.url)
            url = parts._replace(scheme="postgresql+psycopg").geturl()
            connect_args = {"connect_timeout": 5}
            if self.schema:
                connect_args["options"] = f"-csearch_path={self.schema}"
            engine = sqlalchemy.create_engine(
                url, connect_args=connect_args, pool_size=3, max_overflow=3, pool_pre_ping=True
            )
        return engine


def _tune_sqlite(engine: sqlalchemy.Engine) -> None:
    @sqlalchemy_event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # WAL lets readers go on while one writer commits; FULL keeps commits durable.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @sqlalchemy_event.listens_for(engine, "begin")
    def begin(connection):  # type: ignore[no-untyped-def]
        # Writers (execution option `write`) take the write lock at BEGIN, so two of them queue
        # on the busy timeout instead of failing with "database is locked" halfway; readers
        # begin deferred and never wait for a writer.
        immediate = connection.get_execution_options().get("write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
