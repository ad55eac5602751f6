"""One writer at a time on an SQLite event store, across threads and worker processes.

SQLite allows one writer; when several gunicorn workers write at once, the losers wait in SQLite's
busy handler, which sleeps 1 to 100 ms between tries instead of waking when the lock is free. An
advisory file lock hands the write over as soon as it is released (docs/performance.md has the
measurement). The event store (service/event_store.py) takes it around each event transaction.
"""
from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class FileWriteLock:
    """An exclusive lock held by one thread of one process at a time (flock + a thread lock)."""

    def __init__(self, path: str):
        self.path = path
        self._thread_lock = threading.Lock()  # flock does not exclude threads sharing a descriptor
        self._fd: int | None = None
        self._pid: int | None = None

    def _descriptor(self) -> int:
        # Opened per process: a descriptor inherited over fork shares the lock with the parent.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None
