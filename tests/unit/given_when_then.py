"""Aggregate tests written as given(events) / when(command) / then(new events, or a refusal).

    given(round_history).when(lambda r: r.close_voting(actor="anna")).then(BudgetRound.VotingClosed)
    given(round_history).when(lambda r: r.open_voting(actor="anna")).then_refused(Conflict, "phase")

`given` rebuilds each aggregate from its events exactly as the event store would (each event
mutates the result of the one before), so a test's starting state is nothing but its history.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from eventsourcing.domain import Aggregate

from domain.errors import BudgetError

History = Sequence[Any]  # one aggregate's events, its created event first


def replay(history: History) -> Any:
    """Rebuild an aggregate from its events."""
    # Replay copies: the rebuilt aggregate must share no dict or list with the events (or with
    # the aggregate that produced them), or one test's command could change another's history.
    return reduce(
        lambda aggregate, event: event.mutate(aggregate), copy.deepcopy(list(history)), None
    )


def name_of(event_class: type) -> str:
    """An event class as tests and reports name it, e.g. 'BudgetRound.FundsDeposited'."""
    return event_class.__qualname__


@dataclass(frozen=True)
class Expected:
    """An expected event: its exact class and the attribute values that matter to the test."""

    event_class: type
    attributes: dict[str, Any]

    def mismatches(self, event: Any) -> list[str]:
        return [
            f"{name_of(self.event_class)}.{key} is {getattr(event, key, '<missing>')!r}, "
            f"expected {value!r}"
            for key, value in self.attributes.items()
            if getattr(event, key, object()) != value
        ]


def event(event_class: type, **attributes: Any) -> Expected:
    """Expect an event of exactly `event_class` whose named attributes have these values."""
    return Expected(event_class, attributes)


def given(*histories: History) -> Scenario:
    """Start from aggregates rebuilt from these histories; `when` receives them in this order."""
    return Scenario([replay(history) for history in histories])


class Scenario:
    def __init__(self, aggregates: list[Any]) -> None:
        self.aggregates = aggregates

    def when(self, command: Callable[..., Any]) -> Outcome:
        """Run `command(*aggregates)`; a domain error is kept for `then_refused` to judge."""
        try:
            result = command(*self.aggregates)
        except BudgetError as error:
            return Outcome(self.aggregates, result=None, error=error)
        return Outcome(self.aggregates, result=result, error=None)


class Outcome:
    """What a command did: its new events, its return value, or the domain error it raised."""

    def __init__(self, aggregates: list[Any], *, result: Any, error: BudgetError | None) -> None:
        self.aggregates = aggregates
        self.result = result
        self.error = error
        created = (
            [result]
            if isinstance(result, Aggregate)
            and not any(result is aggregate for aggregate in aggregates)
            else []
        )
        # A created aggregate's events come first: it exists before the others can record it.
        self.new_events = [
            e for aggregate in created + aggregates for e in aggregate.collect_events()
        ]

    @property
    def aggregate(self) -> Any:
        """The first given aggregate (or the created one), for checking derived state."""
        return self.aggregates[0] if self.aggregates else self.result

    def then(self, *expected: type | Expected) -> Outcome:
        """Assert the command succeeded and triggered exactly these events, in this order."""
        if self.error is not None:
            raise AssertionError(
                f"expected {self._names(expected)} but the command was refused: "
                f"{type(self.error).__name__}: {self.error}"
            ) from self.error
        wanted = [e if isinstance(e, Expected) else Expected(e, {}) for e in expected]
        got = [type(e) for e in self.new_events]
        assert got == [w.event_class for w in wanted], (
            f"expected events {self._names(expected)}, got {[name_of(c) for c in got]}"
        )
        problems = [
            p for w, e in zip(wanted, self.new_events, strict=True) if (p := w.mismatches(e))
        ]
        assert not problems, "; ".join(p for ps in problems for p in ps)
        return self

    def then_refused(self, error_class: type[BudgetError], message_fragment: str) -> Outcome:
        """Assert the command raised `error_class` with this in its message, and no events."""
        if self.error is None:
            raise AssertionError(
                f"expected {error_class.__name__} ({message_fragment!r}) but the command "
                f"succeeded with {[name_of(type(e)) for e in self.new_events]}"
            )
        assert isinstance(self.error, error_class), (
            f"expected {error_class.__name__}, got {type(self.error).__name__}: {self.error}"
        )
        assert message_fragment in str(self.error), (
            f"{message_fragment!r} is not in the message {str(self.error)!r}"
        )
        assert not self.new_events, (
            f"the refused command still triggered {[name_of(type(e)) for e in self.new_events]}"
        )
        return self

    @staticmethod
    def _names(expected: Sequence[type | Expected]) -> list[str]:
        return [name_of(e.event_class if isinstance(e, Expected) else e) for e in expected]
