"""Group commit: what the threads of one process save at the same moment goes in one transaction.

A ballot costs one transaction: on SQLite one fsync under the database's single write lock, on
PostgreSQL one exclusive lock of the event table until the commit is flushed. When residents vote
at the same time, the threads of a worker hand their ballots to whichever of them is writing
next, so N concurrent ballots cost one transaction, one fsync and one check instead of N.
Nothing waits for company: a thread that finds nobody writing writes at once, alone if need be.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


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
    """Hands items from concurrent threads to `write` in groups, one group at a time.

    `write(items)` stores the whole group at once (one transaction) and returns, per item, its
    result or the exception that item's caller should get. If `write` itself raises, every
    caller in that group gets the exception: one transaction means all or nothing.

    The thread that finds nobody writing leads: it writes every item queued so far. Items that
    arrive meanwhile form the next group; when the write ends, the leader wakes the callers of
    its group and hands the next group to the first caller in it, who writes it. So nobody
    waits for more than the write in progress plus their own.
    """

    def __init__(self, write: Callable[[Sequence[T]], Sequence[R | BaseException]]):
        self._write = write
        self._mutex = threading.Lock()
        self._queue: list[_Entry[T, R]] = []
        self._writing = False

    def submit(self, item: T) -> R:
        entry: _Entry[T, R] = _Entry(item)
        with self._mutex:
            self._queue.append(entry)
            if self._writing:
                group = None
            else:
                self._writing = True
                group, self._queue = self._queue, []
        if group is None:
            entry.wait()  # until our group is written, or we are to write the next one
            group = entry.group
        if group is not None:
            self._lead(group)
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
            # The leader's entry is always first in its group and its thread is not waiting:
            # a group is taken either whole by a thread that found nobody writing (alone in it)
            # or handed to the first entry of the queue.
            for entry in group[1:]:
                entry.wake()
            if successor is not None:
                successor.wake()
