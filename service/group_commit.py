"""Group commit: what the requests of one process save at the same moment goes in one transaction.

A ballot costs one transaction: on SQLite one fsync under the database's single write lock, on
PostgreSQL one exclusive lock of the event table until the commit is flushed. When residents vote
at the same time, the requests of a worker hand their ballots to whichever of them is writing
next, so N concurrent ballots cost one transaction, one fsync and one check instead of N.

Requests run on OS threads (tests, the Flask development server) or on greenlets (gunicorn's
gevent workers, see service/gunicorn_conf.py). Under threads, others keep running while a group
is written, so the next group fills by itself. Under gevent nothing else in the process runs
while the writer is inside SQLite, so the writer first lets every request that is ready reach
the queue (`cooperative_gather`); without that, every group would hold one ballot.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# How long a writer under gevent waits at most for the other ready requests: the event loop is
# normally idle within a fraction of a millisecond, but under a flood of new connections it
# might never be, and the queued ballots must not wait for a quiet moment.
GATHER_LIMIT_SECONDS = 0.002


def cooperative_gather(limit_seconds: float = GATHER_LIMIT_SECONDS) -> Callable[[], None] | None:
    """In a process whose threads gevent has replaced by greenlets, how a writer gathers a group.

    None in an ordinary process: OS threads need no help to queue up behind a writer.
    """
    try:
        from gevent import monkey
    except ImportError:
        return None
    if not monkey.is_module_patched("threading"):
        return None
    import gevent

    def gather() -> None:
        # Every greenlet whose request is ready runs until it blocks, which for a ballot is
        # its place in this queue; then the loop is idle and the writer goes on.
        with gevent.Timeout(limit_seconds, False):
            gevent.idle()

    return gather


class _Entry(Generic[T, R]):
    __slots__ = ("item", "result", "error", "group", "_wake")

    def __init__(self, item: T):
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.group: list[_Entry[T, R]] | None = None  # set when this entry's thread must lead
        # A lock taken at birth and released once, to wake exactly this thread: cheaper than
        # a Condition that wakes every waiter whenever a group is done.
        self._wake = threading.Lock()
        self._wake.acquire()

    def wait(self) -> None:
        self._wake.acquire()

    def wake(self) -> None:
        self._wake.release()


class GroupCommit(Generic[T, R]):
    """Hands items from concurrent callers to `write` in groups, one group at a time.

    `write(items)` stores the whole group at once (one transaction) and returns, per item, its
    result or the exception that item's caller should get. If `write` itself raises, every
    caller in that group gets the exception: one transaction means all or nothing.

    The caller that finds nobody writing leads: it calls `gather` if given (see
    `cooperative_gather`), then writes every item queued so far. Items that arrive meanwhile form
    the next group; when the write ends, the leader wakes the callers of its group and hands the
    next group to the first caller in it, who writes it. So nobody waits for more than the write
    in progress plus their own.
    """

    def __init__(self, write: Callable[[Sequence[T]], Sequence[R | BaseException]],
                 gather: Callable[[], None] | None = None):
        self._write = write
        self._gather = gather
        self._mutex = threading.Lock()
        self._queue: list[_Entry[T, R]] = []
        self._writing = False

    def submit(self, item: T) -> R:
        entry: _Entry[T, R] = _Entry(item)
        with self._mutex:
            self._queue.append(entry)
            leads, self._writing = not self._writing, True
        if leads:
            try:
                if self._gather is not None:
                    self._gather()
            finally:  # the queued callers wait for this write, whatever happened meanwhile
                with self._mutex:
                    group, self._queue = self._queue, []
                self._lead(group)
        else:
            entry.wait()  # until our group is written, or we are to write the next one
            if entry.group is not None:
                self._lead(entry.group)
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]

    def _lead(self, group: list[_Entry[T, R]]) -> None:
        try:
            outcomes = self._write([entry.item for entry in group])
            if len(outcomes) != len(group):
                raise RuntimeError("write must return one outcome per item")
            for entry, outcome in zip(group, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    entry.error = outcome
                else:
                    entry.result = outcome
        except BaseException as error:  # every caller of the group must hear of it
            for entry in group:
                entry.error = error
        finally:
            with self._mutex:
                if self._queue:
                    successor: _Entry[T, R] | None = self._queue[0]
                    successor.group, self._queue = self._queue, []  # type: ignore[union-attr]
                else:
                    successor = None
                    self._writing = False
            # The leader's entry is always first in its group and its caller is not waiting:
            # the queue is empty whenever nobody is writing, so a caller that finds nobody
            # writing is first in it, and a group handed on starts with its first entry.
            for entry in group[1:]:
                entry.wake()
            if successor is not None:
                successor.wake()
