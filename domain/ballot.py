"""A resident's ballot: one per voting code per round, replaceable until voting closes.

The ballot's identity derives from the round and a keyed hash of the voting code, never from a
person: the code's holder can find the ballot again, nobody else can. Two requests racing with the
same code address the same aggregate, so the event store's optimistic concurrency lets exactly one
of them write each version.
"""
from __future__ import annotations

import hashlib
import json
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.budget_round import BudgetRound
from domain.errors import Conflict
from domain.event_topics import keep_module_path_topics

BALLOT_NAMESPACE = uuid5(NAMESPACE_URL, "https://buurtbudget.nl/ballot")


def ballot_id_for(round_id: UUID, code_hash: str) -> UUID:
    """The id of the ballot that a voting code (by its keyed hash) opens in a round."""
    return uuid5(BALLOT_NAMESPACE, f"{round_id}:{code_hash}")


# The same output as json.dumps(..., sort_keys=True, separators=(",", ":")), without building
# an encoder per call: a rebuild computes a receipt for every ballot ever cast.
CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def canonical_choices(choices: dict[str, int]) -> str:
    """The choices as the one JSON text that a receipt digests."""
    return CANONICAL_JSON.encode(choices)


def receipt_for(ballot_id: UUID, version: int, choices: dict[str, int]) -> str:
    """A digest a voter keeps to check that exactly this ballot version was counted."""
    return receipt_of_canonical(ballot_id, version, canonical_choices(choices))


def receipt_of_canonical(ballot_id: UUID | str, version: int, canonical: str) -> str:
    """`receipt_for`, given the choices' canonical JSON text (`canonical_choices`)."""
    return hashlib.sha256(f"{ballot_id}:{version}:{canonical}".encode()).hexdigest()


def counts_in_tally(cast_position: int, voting_closed_position: int | None) -> bool:
    """Whether a cast counts: only if the log stored it before its round's VotingClosed.

    A cast that raced the close of voting stays in the log, but the count, the read models and
    the voter's answer all leave it out.
    """
    return voting_closed_position is None or cast_position < voting_closed_position


class Ballot(Aggregate):
    """The ballot a voting code opens; each cast is a new version, the last one counts."""

    TOPIC = "buurtbudget/Ballot"

    class Created(Aggregate.Created):  # the library's; never stored, but it must have a topic
        TOPIC = "buurtbudget/Ballot.Created"

    @classmethod
    def issue(cls, *, round_id: UUID, code_hash: str) -> Ballot:
        return cls(id=ballot_id_for(round_id, code_hash), round_id=round_id)

    @event("Issued", topic="buurtbudget/Ballot.Issued")
    def __init__(self, *, id: UUID, round_id: UUID) -> None:
        self.round_id = round_id
        self.choices: dict[str, int] | None = None

    def cast(self, *, budget_round: BudgetRound, choices: dict[str, int]) -> str:
        """Cast (or replace) the ballot while voting is open; returns the voter's receipt."""
        if budget_round.id != self.round_id:
            raise Conflict("this voting code belongs to another round")
        budget_round.check_accepts_ballots()
        budget_round.settings.check_ballot(budget_round.ballot_costs, choices)
        self._cast(round_id=self.round_id, choices=dict(choices))
        return receipt_for(self.id, self.version, self.choices or {})

    @event("Cast", topic="buurtbudget/Ballot.Cast")
    def _cast(self, *, round_id: UUID, choices: dict[str, int]) -> None:
        self.choices = choices


keep_module_path_topics(Ballot, "domain.ballot:Ballot", (
    "Issued", "Cast",
))
