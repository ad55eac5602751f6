"""The machinery every read model shares: tracked positions and catching up from the event log.

A read model's rows and its tracking position are written in the same database transaction, and
the position only moves forward from the value read under a lock, so an event is applied exactly
once even when several workers catch up at the same time or a process dies halfway.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from domain.event_topics import topics_of

metadata = sa.MetaData()

tracking = sa.Table(
    "projection_tracking",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

Handler = Callable[[sa.Connection, Any, int], None]
BATCH_SIZE = 1000


class ProjectionError(RuntimeError):
    """A read model could not apply an event; it stays at its last good position."""


def handles(*event_classes: type) -> Callable[[Handler], Handler]:
    """Mark a read model method as the handler of these event classes (under any stored topic)."""

    def mark(method: Handler) -> Handler:
        method.handled_topics = topics_of(*event_classes)  # type: ignore[attr-defined]
        return method

    return mark


class ReadModel:
    """A read model: its tables, one handler per event type, and a tracked position."""

    name: str
    tables: Sequence[sa.Table]

    def handlers(self) -> dict[str, Handler]:
        found: dict[str, Handler] = {}
        for attribute in dir(type(self)):
            method = getattr(self, attribute)
            for topic in getattr(method, "handled_topics", ()):
                found[topic] = method
        return found


@dataclass
class Lag:
    name: str
    position: int
    behind: int


class Projector:
    """Keeps a set of read models up to date with an application's notification log."""

    def __init__(self, engine: sa.Engine, recorder: Any, mapper: Any, models: Iterable[ReadModel]):
        self.engine = engine
        self.recorder = recorder
        self.mapper = mapper
        self.models = list(models)
        self._handlers = {model.name: model.handlers() for model in self.models}

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

    def log_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def positions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(tracking.c.name, tracking.c.position)).all()
        return {row.name: row.position for row in rows}

    def lag(self) -> list[Lag]:
        head = self.log_position()
        positions = self.positions()
        return [
            Lag(m.name, positions.get(m.name, 0), head - positions.get(m.name, 0))
            for m in self.models
        ]

    def catch_up(self, until: int | None = None) -> int:
        """Apply every event up to `until` (default: the log's head) to every read model."""
        head = self.log_position() if until is None else until
        positions = self.positions()
        applied = 0
        for model in self.models:
            while positions.get(model.name, 0) < head:
                done, position = self._apply_batch(model, head)
                applied += done
                positions[model.name] = position
        return applied

    def _apply_batch(self, model: ReadModel, head: int) -> tuple[int, int]:
        handlers = self._handlers[model.name]
        # `write` makes SQLite take its write lock at BEGIN, so concurrent catch-ups queue up
        # instead of failing halfway; PostgreSQL gets the same from FOR UPDATE.
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            self._ensure_tracking_row(conn, model.name)
            position = conn.execute(
                sa.select(tracking.c.position).where(tracking.c.name == model.name).with_for_update()
            ).scalar_one()
            if position >= head:
                return 0, position  # another worker got here first
            notifications = self.recorder.select_notifications(
                start=position + 1, limit=BATCH_SIZE, stop=head
            )
            applied = 0
            for notification in notifications:
                handler = handlers.get(notification.topic)
                if handler is not None:
                    try:
                        handler(conn, self.mapper.to_domain_event(notification), notification.id)
                    except Exception as error:
                        raise ProjectionError(
                            f"read model '{model.name}' failed on event {notification.id} "
                            f"({notification.topic}): {error}"
                        ) from error
                    applied += 1
            # Fewer than a full batch means everything up to `head` has been seen (ids can
            # have gaps where a transaction rolled back).
            new_position = head if len(notifications) < BATCH_SIZE else notifications[-1].id
            moved = conn.execute(
                sa.update(tracking)
                .where(tracking.c.name == model.name, tracking.c.position == position)
                .values(position=new_position)
            ).rowcount
            if moved != 1:
                raise ProjectionError(f"read model '{model.name}' was moved on by someone else")
        return applied, new_position

    def rebuild(self, names: Iterable[str] | None = None) -> int:
        """Drop the read models' tables and positions, then replay the whole log into them."""
        chosen = [m for m in self.models if names is None or m.name in set(names)]
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            for model in chosen:
                for table in reversed(model.tables):
                    table.drop(conn, checkfirst=True)
                conn.execute(
                    sa.update(tracking).where(tracking.c.name == model.name).values(position=0)
                )
        self.create_tables()
        return self.catch_up()
