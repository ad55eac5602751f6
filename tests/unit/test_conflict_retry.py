"""A command that loses a write is run again until it wins or the deadline passes."""
from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError

from domain.errors import Conflict, RuleViolation
from service.conflict_retry import RetryPolicy


def losing(times: int, then: object = "saved") -> tuple[list[int], object]:
    attempts: list[int] = []

    def command() -> object:
        attempts.append(1)
        if len(attempts) <= times:
            raise IntegrityError("another writer got there first")
        if isinstance(then, BaseException):
            raise then
        return then

    return attempts, command


def test_a_command_that_loses_some_writes_is_run_until_it_wins() -> None:
    attempts, command = losing(times=12)
    assert RetryPolicy(first_pause_seconds=0, longest_pause_seconds=0).run(command) == "saved"
    assert len(attempts) == 13


def test_a_refusal_by_a_rule_is_not_retried() -> None:
    attempts, command = losing(times=1, then=RuleViolation("the reservation is used up"))
    with pytest.raises(RuleViolation):
        RetryPolicy(first_pause_seconds=0, longest_pause_seconds=0).run(command)
    assert len(attempts) == 2


def test_after_the_deadline_the_caller_hears_of_the_conflict() -> None:
    attempts, command = losing(times=10**9)
    with pytest.raises(Conflict, match="someone else changed this") as caught:
        RetryPolicy(deadline_seconds=0).run(command)
    assert isinstance(caught.value.__context__, IntegrityError)
    assert len(attempts) == 1
