"""Stored topics of aggregates and events: the naming scheme, and the older topics logs still hold.

The topic stored with every event (and, in an aggregate's first event, the aggregate's own topic)
is part of the public contract of the event log. Each aggregate and each event it stores declares
its topic explicitly, in the form

    buurtbudget/<Aggregate>            e.g. buurtbudget/BudgetRound
    buurtbudget/<Aggregate>.<Event>    e.g. buurtbudget/BudgetRound.FundsDeposited

It names what the event is, not the Python module that declares it, so moving or renaming a
module or class never orphans stored events. A topic, once stored, is never changed; a changed
shape is a new `class_version` of the same topic with an upcaster (see docs/events.md).

Logs written before topics were explicit hold module paths instead
(`domain.budget_round:BudgetRound.FundsDeposited`). Each aggregate module registers those with
`keep_module_path_topics`, so they resolve to the same classes wherever the classes live, and
`stored_topics` gives every topic an event class can be stored under, for code that selects or
dispatches events by topic.

An event declared without a topic is refused by the library when its aggregate class is defined,
because every aggregate here has a topic of its own.
"""
from __future__ import annotations

from collections.abc import Iterable

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

_module_path_topics: dict[type, str] = {}


def stored_event_classes(aggregate: type[Aggregate]) -> list[type[Aggregate.Event]]:
    """The event classes an aggregate stores.

    The library's base classes `Event` and `Created` are never triggered (each aggregate's
    first event has its own name), so they are not part of the contract.
    """
    return [
        value for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event)
        and name not in ("Event", "Created")
    ]


def keep_module_path_topics(
    aggregate: type[Aggregate], module_path: str, event_names: Iterable[str]
) -> None:
    """Make the module-path topics of events stored before explicit topics resolve again.

    `module_path` is the aggregate's topic as it was stored then ("domain.ballot:Ballot"); the
    events were stored as that topic followed by "." and the event's name.
    """
    register_topic(module_path, aggregate)
    _module_path_topics[aggregate] = module_path
    for name in event_names:
        event_class = getattr(aggregate, name)
        topic = f"{module_path}.{name}"
        register_topic(topic, event_class)
        _module_path_topics[event_class] = topic


def stored_topics(cls: type) -> tuple[str, ...]:
    """Every topic under which this aggregate or event class may be stored: its own first.

    The library's base `Event` class of an aggregate has no topic, since it is never stored.
    """
    own: str | None = getattr(cls, "TOPIC", None)
    if own is None:
        return ()
    older = _module_path_topics.get(cls)
    return (own,) if older is None else (own, older)


def topics_of(*classes: type) -> list[str]:
    """Every stored topic of all these classes, e.g. to select them from the log."""
    return [topic for cls in classes for topic in stored_topics(cls)]
