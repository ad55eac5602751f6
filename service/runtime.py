"""What one worker process holds: the event-sourced application, the read-model engine, the projector.

It is built on first use in each process, never at import time, so gunicorn workers each open
their own database connections after the fork.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from projections.catalogue import build_projector
from projections.tracking import Failure, Projector, ReadModelStopped
from service.application import BuurtbudgetApplication
from service.checkpoints import signer_of
from service.config import secret_key_of, storage_of
from service.database_tables import bring_up_to_date
from service.event_store import EventStore, TransactionWriter
from service.merkle_store import MerkleLeafWriter, backfill_leaves
from service.personal_data_keys import KeyShredder, PersonalDataKeys


class Runtime:
    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        create_tables: bool = False,
        transaction_writers: Sequence[TransactionWriter] = (),
    ):
        storage = storage_of(settings)
        self.storage = storage
        self.checkpoint_signer = signer_of(settings, create=create_tables)
        # Every stored event is a leaf of the tamper-evident log, written in its transaction.
        # An erasure's keys are deleted in the transaction of its event.
        self.leaf_writer = (
            MerkleLeafWriter(self.checkpoint_signer) if storage.kind != "memory" else None
        )
        in_transaction = [self.leaf_writer, KeyShredder()] if self.leaf_writer is not None else []
        self.event_store = EventStore(storage, writers=[*in_transaction, *transaction_writers])
        secret_key = secret_key_of(settings, create=create_tables)
        self.engine = storage.create_engine()
        self.personal_data = PersonalDataKeys(self.engine, secret_key)
        self.application = BuurtbudgetApplication(
            event_store=self.event_store,
            secret_key=secret_key,
            personal_data=self.personal_data,
            create_tables=create_tables,
        )
        self.projector: Projector = build_projector(self.engine, self.application)
        # The one place every process passes at start: missing tables are created and read
        # models whose table shapes changed are rebuilt, before anything reads them.
        self.rebuilt_read_models = bring_up_to_date(
            storage, self.event_store, self.engine, self.application.recorder, self.projector
        )

    def backfill_audit_log(self) -> int:
        """Leaves for events stored before the log existed (0 when every event has one)."""
        if self.leaf_writer is None:
            return 0
        return backfill_leaves(self.application.recorder, self.leaf_writer)

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A connection to read models that include every event written so far.

        Catching up here, before each read, is what gives a client that has just written a
        read of its own write, whichever worker served the write. A statement that reads a
        table of a stopped read model raises ReadModelStopped; the others are served as usual.
        """
        stopped = self.projector.catch_up_for_reading()
        with self.engine.connect() as conn:
            if stopped:
                sa.event.listen(conn, "before_execute", self._refuse_reads_of(stopped))
            yield conn

    def _refuse_reads_of(self, stopped: Mapping[str, Failure]) -> Callable[..., None]:
        def refuse(_conn: sa.Connection, statement: Any, *_args: Any) -> None:
            for element in sa.sql.visitors.iterate(statement):
                if isinstance(element, sa.Table):
                    failure = stopped.get(self.projector.model_of_table(element.name) or "")
                    if failure is not None:
                        raise ReadModelStopped(failure.name, failure.position, failure.incident)

        return refuse

    def close(self) -> None:
        self.application.close()
        self.engine.dispose()
        self.event_store.close()


class RuntimeHolder:
    """Builds the Runtime lazily, once per process (a forked child builds its own)."""

    def __init__(self, settings: Mapping[str, Any]):
        self.settings = settings
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None
        self._pid: int | None = None

    def get(self) -> Runtime:
        if self._runtime is None or self._pid != os.getpid():
            with self._lock:
                if self._runtime is None or self._pid != os.getpid():
                    self._runtime = Runtime(self.settings)
                    self._pid = os.getpid()
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None and self._pid == os.getpid():
            self._runtime.close()
        self._runtime = None
