"""The `limits` storage over SQLite and PostgreSQL: registered by URL, atomic, windows that expire."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from service.rate_limit_storage import DatabaseCounterStorage, counter_storage_url


@pytest.fixture
def storage(settings: dict[str, Any]) -> Iterator[DatabaseCounterStorage]:
    options = {"schema": settings["DATABASE_SCHEMA"]} if settings.get("DATABASE_SCHEMA") else {}
    made = storage_from_string(counter_storage_url(settings["DATABASE_URL"]), **options)
    assert isinstance(made, DatabaseCounterStorage)
    yield made
    made.close()


def test_counts_within_a_window_and_forgets_cleared_keys(storage: DatabaseCounterStorage):
    assert storage.get("a") == 0
    assert [storage.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("a", 60, amount=5) == 8
    assert storage.incr("b", 60) == 1
    assert storage.get("a") == 8
    assert storage.get_expiry("a") > storage.get_expiry("missing")
    storage.clear("a")
    assert (storage.get("a"), storage.get("b")) == (0, 1)
    assert storage.reset() == 1
    assert storage.get("b") == 0
    assert storage.check()


def test_an_expired_window_starts_again(storage: DatabaseCounterStorage):
    storage.incr("a", 0, amount=7)  # a window of no length has ended when it is read
    assert storage.get("a") == 0
    assert storage.incr("a", 60) == 1


def test_the_fixed_window_strategy_refuses_past_the_limit(storage: DatabaseCounterStorage):
    limiter = FixedWindowRateLimiter(storage)
    three = parse("3 per hour")
    assert [limiter.hit(three, "client") for _ in range(4)] == [True, True, True, False]
    assert not limiter.test(three, "client")
    assert limiter.test(three, "another client")
    assert limiter.get_window_stats(three, "client").remaining == 0


def test_concurrent_increments_never_lose_a_count(storage: DatabaseCounterStorage):
    threads, increments = 6, 25
    seen: list[int] = []
    lock = threading.Lock()

    def count() -> None:
        for _ in range(increments):
            value = storage.incr("shared", 60)
            with lock:
                seen.append(value)

    workers = [threading.Thread(target=count) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # Atomic increments: every one of them saw a different count, and none was lost.
    assert sorted(seen) == list(range(1, threads * increments + 1))
    assert storage.get("shared") == threads * increments
