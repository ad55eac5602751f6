"""Shared fixtures: every integration and API test runs on SQLite and on PostgreSQL.

PostgreSQL tests get a schema of their own that is dropped afterwards. Without a reachable
server they skip with the reason, except under CI=true, where they fail: CI must prove both.
"""
from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from service.runtime import Runtime

POSTGRES_URL = os.environ.get("BUURTBUDGET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def postgres_unavailable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL.replace("postgresql://", "postgresql://", 1), connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {str(error).strip().splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_check() -> str | None:
    reason = postgres_unavailable()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)")
    return reason


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A new, empty PostgreSQL schema, dropped with everything in it afterwards."""
    schema = f"bb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def copy_of_database(settings: dict[str, Any], directory: Path) -> Iterator[dict[str, Any]]:
    """Settings for a copy of the database of `settings`, as whoever took a backup would hold it.

    SQLite: the file, through SQLite's backup. PostgreSQL: every table of the schema, with its
    rows, in a new schema (dropped afterwards). The keys stay the ones of `settings`.
    """
    if not settings.get("DATABASE_SCHEMA"):
        copy = directory / "copy.db"
        with sqlite3.connect(settings["DATABASE_URL"].removeprefix("sqlite:///")) as source, \
                sqlite3.connect(copy) as target:
            source.backup(target)
        yield {**settings, "DATABASE_URL": f"sqlite:///{copy}"}
        return
    original = settings["DATABASE_SCHEMA"]
    with fresh_schema() as schema:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_type = 'BASE TABLE'", (original,))]
            for table in tables:
                conn.execute(f'CREATE TABLE "{schema}"."{table}" '
                             f'(LIKE "{original}"."{table}" INCLUDING ALL)')
                conn.execute(
                    f'INSERT INTO "{schema}"."{table}" SELECT * FROM "{original}"."{table}"')
        yield {**settings, "DATABASE_SCHEMA": schema}


@pytest.fixture
def postgres_schema(postgres_check: str | None) -> Iterator[str]:
    if postgres_check:
        pytest.skip(postgres_check)
    with fresh_schema() as schema:
        yield schema


def settings_for(backend: str, directory: Path, schema: str | None) -> dict[str, Any]:
    """Explicit settings for one fresh database (no os.environ involved)."""
    common = {
        "SECRET_KEY": "test-secret-key", "KEY_FILE": str(directory / "unused.key"),
        "AUDIT_KEY_FILE": str(directory / "audit.key"),
    }
    if backend == "sqlite":
        return {"DATABASE_URL": f"sqlite:///{directory / 'buurtbudget.db'}", **common}
    return {"DATABASE_URL": POSTGRES_URL, "DATABASE_SCHEMA": schema, **common}


def cli_environment(settings: dict[str, Any]) -> dict[str, str]:
    """The environment that gives the command line the test's database and keys."""
    from service.config import ENVIRONMENT_KEYS

    return {variable: str(settings[key]) if settings.get(key) else ""
            for key, variable in ENVIRONMENT_KEYS.items() if key in settings}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Explicit settings for one fresh database (no os.environ involved)."""
    schema = request.getfixturevalue("postgres_schema") if backend == "postgresql" else None
    return settings_for(backend, tmp_path, schema)


@pytest.fixture
def runtime(settings: dict[str, Any]) -> Iterator[Runtime]:
    rt = Runtime(settings, create_tables=True)
    yield rt
    rt.close()
