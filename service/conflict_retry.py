"""Running a load-decide-save command again when another writer changed its aggregates first.

Each attempt reloads and re-checks every guard, so a retry can only succeed if the command is
still valid on the newer state: the loser of a race for the last euro gets the rule violation, not
a silent overspend. Independent commands on one aggregate (fifty deposits into one round) each win
eventually; the attempts are spread with jittered, growing pauses so that the losers of one
commit do not all collide again on the next, and a command gives up with Conflict only after a
deadline.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from domain.errors import Conflict

T = TypeVar("T")


@dataclass
class RetryPolicy:
    """How long and how often a command is retried after losing a write."""

    deadline_seconds: float = 10.0
    first_pause_seconds: float = 0.001
    longest_pause_seconds: float = 0.05

    def run(self, command: Callable[[], T]) -> T:
        """`command()`, again after each lost write, until it succeeds or the deadline passes."""
        give_up_at = time.monotonic() + self.deadline_seconds
        attempt = 0
        while True:
            try:
                return command()
            except IntegrityError:
                attempt += 1
                # "Full jitter": a pause drawn anywhere up to a bound that doubles per attempt.
                bound = min(self.longest_pause_seconds, self.first_pause_seconds * 2**attempt)
                pause = random.uniform(0, bound)  # noqa: S311 - spreading retries, not secrecy
                if time.monotonic() + pause >= give_up_at:
                    raise Conflict(
                        "someone else changed this at the same time; please try again"
                    ) from None
                time.sleep(pause)
