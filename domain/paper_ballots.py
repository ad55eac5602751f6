"""A batch of paper ballots: entered by one official, counted only once a second one confirms it.

Each paper ballot consumes a voting code from a letter (the resident voted on paper instead of
online) or a paper-ballot serial of the round (printed on the ballot papers of a polling place);
either can be used once. Entering records the choices; nothing counts until another official
than the one who entered the batch confirms it, which casts every ballot of the batch. Every
event of a batch names its round, so the batch is sealed with the round's other ballots while
voting is open (docs/privacy.md).
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.budget_round import check_text
from domain.errors import Conflict, Forbidden, RuleViolation

MAX_BATCH = 1000


class PaperBatch(Aggregate):
    """Paper ballots entered together; `entries` are {"ballot_id" or "serial_hash", "choices"}."""

    TOPIC = "buurtbudget/PaperBatch"

    class Created(Aggregate.Created):  # the library's; never stored, but it must have a topic
        TOPIC = "buurtbudget/PaperBatch.Created"

    @classmethod
    def enter(cls, *, round_id: UUID, entries: list[dict[str, Any]], actor: str) -> PaperBatch:
        if not 1 <= len(entries) <= MAX_BATCH:
            raise RuleViolation(f"a batch holds 1 to {MAX_BATCH} paper ballots", field="ballots")
        return cls(round_id=round_id, entries=entries, actor=actor)

    @event("Entered", topic="buurtbudget/PaperBatch.Entered")
    def __init__(self, *, round_id: UUID, entries: list[dict[str, Any]], actor: str) -> None:
        self.round_id = round_id
        self.entries = entries
        self.entered_by = actor
        self.status = "entered"

    def confirm(self, *, actor: str) -> None:
        """The second pair of eyes: from now on the batch's ballots count."""
        self._check_open()
        if actor == self.entered_by:
            raise Forbidden("another official than the one who entered the batch must confirm it")
        self._confirmed(round_id=self.round_id, actor=actor)

    @event("Confirmed", topic="buurtbudget/PaperBatch.Confirmed")
    def _confirmed(self, *, round_id: UUID, actor: str) -> None:
        self.status = "confirmed"

    def discard(self, *, reason: str, actor: str) -> None:
        """A batch entered wrongly is discarded (and entered again); its codes stay unused."""
        self._check_open()
        self._discarded(round_id=self.round_id,
                        reason=check_text(reason, field="reason", max_length=500), actor=actor)

    @event("Discarded", topic="buurtbudget/PaperBatch.Discarded")
    def _discarded(self, *, round_id: UUID, reason: str, actor: str) -> None:
        self.status = "discarded"

    def _check_open(self) -> None:
        if self.status != "entered":
            raise Conflict(f"this batch is already {self.status}")
