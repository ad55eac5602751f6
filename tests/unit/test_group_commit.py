"""Group commit: concurrent callers share writes, and each gets exactly its own outcome."""
from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from service.group_commit import GroupCommit, cooperative_gather

TIMEOUT = 30


class Refused(Exception):
    pass


class Store:
    """A `write` for GroupCommit that records each group; odd items are refused one by one."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.first_write_started = threading.Event()
        self.release_first_write = threading.Event()
        self.release_first_write.set()
        self.fail_next_write: Exception | None = None

    def write(self, items: Sequence[int]) -> list[int | BaseException]:
        if not self.groups:
            self.first_write_started.set()
            assert self.release_first_write.wait(TIMEOUT)
        self.groups.append(list(items))
        if self.fail_next_write is not None:
            error, self.fail_next_write = self.fail_next_write, None
            raise error
        return [Refused(item) if item % 2 else item * 10 for item in items]


def submit_in_threads(commit: GroupCommit[int, int], items: Sequence[int]) -> dict[int, object]:
    outcomes: dict[int, object] = {}

    def run(item: int) -> None:
        try:
            outcomes[item] = commit.submit(item)
        except BaseException as error:  # noqa: BLE001 - the outcome under test
            outcomes[item] = error

    threads = [threading.Thread(target=run, args=(item,), daemon=True) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a caller never returned"
    return outcomes


def test_a_caller_alone_writes_at_once_in_a_group_of_one() -> None:
    store = Store()
    commit = GroupCommit(store.write)
    assert commit.submit(4) == 40
    with pytest.raises(Refused):
        commit.submit(3)
    assert store.groups == [[4], [3]]


def test_callers_arriving_during_a_write_share_the_next_write() -> None:
    store = Store()
    store.release_first_write.clear()
    commit = GroupCommit(store.write)
    first = threading.Thread(target=commit.submit, args=(0,), daemon=True)
    first.start()
    assert store.first_write_started.wait(TIMEOUT)

    waiting = threading.Thread(target=lambda: outcomes.update(submit_in_threads(commit, range(2, 12))))
    outcomes: dict[int, object] = {}
    waiting.start()
    # Let the ten callers queue behind the write in progress, then let it finish.
    deadline = time.monotonic() + TIMEOUT
    while len(commit._queue) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    store.release_first_write.set()
    waiting.join(TIMEOUT)
    first.join(TIMEOUT)

    assert store.groups[0] == [0]
    assert sorted(store.groups[1]) == list(range(2, 12)), "the queued callers were not grouped"
    assert len(store.groups) == 2
    for item in range(2, 12):
        if item % 2:
            assert isinstance(outcomes[item], Refused) and outcomes[item].args == (item,)
        else:
            assert outcomes[item] == item * 10


def test_a_failed_write_fails_its_whole_group_and_nothing_after_it() -> None:
    store = Store()
    commit = GroupCommit(store.write)
    store.fail_next_write = OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        commit.submit(2)
    assert commit.submit(2) == 20  # the next group is written as usual


def test_a_write_that_loses_track_of_items_fails_loudly() -> None:
    commit: GroupCommit[int, int] = GroupCommit(lambda items: [])
    with pytest.raises(RuntimeError, match="one outcome per item"):
        commit.submit(1)


@pytest.mark.parametrize("seed", range(5))
def test_many_callers_each_get_their_own_outcome_and_every_item_is_written_once(seed: int) -> None:
    rng = random.Random(seed)
    store = Store()
    failing = {rng.randrange(200) for _ in range(3)}

    def flaky_write(items: Sequence[int]) -> list[int | BaseException]:
        time.sleep(0.002)  # a write takes a while, as an fsync does, so callers pile up
        if failing & set(items):
            store.groups.append(list(items))
            raise ConnectionError(f"lost the database while writing {sorted(items)}")
        return store.write(items)

    commit = GroupCommit(flaky_write)
    items = list(range(200))
    outcomes = submit_in_threads(commit, items)

    written = [item for group in store.groups for item in group]
    assert sorted(written) == items, "an item was written twice or never"
    assert max(map(len, store.groups)) > 1, "no group formed: the test proved nothing"
    failed_groups = [set(group) for group in store.groups if failing & set(group)]
    for item in items:
        outcome = outcomes[item]
        if any(item in group for group in failed_groups):
            assert isinstance(outcome, ConnectionError)
        elif item % 2:
            assert isinstance(outcome, Refused) and outcome.args == (item,)
        else:
            assert outcome == item * 10


def test_a_leader_that_gathers_writes_everyone_who_queued_meanwhile_in_its_own_group() -> None:
    """Under gevent the leader must let the other ready requests queue before it writes."""
    store = Store()
    gathering, queued = threading.Event(), threading.Event()

    def gather() -> None:  # stands in for gevent.idle(): others run until they block
        gathering.set()
        assert queued.wait(TIMEOUT)

    commit = GroupCommit(store.write, gather=gather)
    outcomes: dict[int, object] = {}
    leader = threading.Thread(target=lambda: outcomes.update({0: commit.submit(0)}), daemon=True)
    leader.start()
    assert gathering.wait(TIMEOUT)
    others = threading.Thread(target=lambda: outcomes.update(submit_in_threads(commit, range(2, 7))))
    others.start()
    deadline = time.monotonic() + TIMEOUT
    while len(commit._queue) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    queued.set()
    others.join(TIMEOUT)
    leader.join(TIMEOUT)

    assert store.groups == [[0, *store.groups[0][1:]]], "one group, the leader's own item first"
    assert sorted(store.groups[0]) == [0, 2, 3, 4, 5, 6]
    assert outcomes[0] == 0 and outcomes[4] == 40 and isinstance(outcomes[5], Refused)


def test_a_leader_interrupted_while_gathering_still_writes_the_callers_queued_behind_it() -> None:
    store = Store()
    waiting_callers: list[threading.Thread] = []
    outcomes: dict[int, object] = {}

    def interrupted_gather() -> None:
        if waiting_callers:  # interrupted once only
            return
        caller = threading.Thread(target=lambda: outcomes.update({2: commit.submit(2)}), daemon=True)
        caller.start()
        waiting_callers.append(caller)
        deadline = time.monotonic() + TIMEOUT
        while len(commit._queue) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        raise TimeoutError("the worker is shutting down")

    commit = GroupCommit(store.write, gather=interrupted_gather)
    with pytest.raises(TimeoutError):
        commit.submit(0)
    waiting_callers[0].join(TIMEOUT)
    assert store.groups == [[0, 2]] and outcomes == {2: 20}
    assert commit.submit(4) == 40, "the commit is stuck after the interruption"


# Run in a process of its own: gevent's monkey patching cannot be undone in the test process.
UNDER_GEVENT = """
from gevent import monkey
monkey.patch_all()
import json, sys
import gevent
from service.group_commit import GroupCommit, cooperative_gather

groups = []
def write(items):
    groups.append(list(items))
    return [item * 10 for item in items]

gather = cooperative_gather(limit_seconds=10)  # the mechanism, not the 2 ms bound, is tested
commit = GroupCommit(write, gather=gather if sys.argv[1] == "gather" else None)
def request(item):
    gevent.sleep(0)  # every request becomes ready in the same turn of the event loop
    return commit.submit(item)
requests = [gevent.spawn(request, item) for item in range(20)]
gevent.joinall(requests, timeout=10)
print(json.dumps({"gather": gather is not None, "groups": groups,
                  "results": [request.value for request in requests]}))
"""


@pytest.mark.parametrize("mode", ["gather", "no-gather"])
def test_under_gevent_the_leader_gathers_the_ready_requests_into_one_write(mode: str) -> None:
    done = subprocess.run([sys.executable, "-c", UNDER_GEVENT, mode], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).parents[2], check=True)
    outcome = json.loads(done.stdout)
    assert outcome["results"] == [item * 10 for item in range(20)]
    if mode == "gather":
        assert outcome["gather"] and outcome["groups"] == [list(range(20))]
    else:  # what the gathering is for: without it, nothing queues while the leader writes
        assert outcome["groups"] == [[item] for item in range(20)]


def test_an_ordinary_process_needs_no_gathering() -> None:
    assert cooperative_gather() is None
