"""A resident's ballot: one per voting code per round, replaceable until voting closes.

The ballot's identity derives from the round and a keyed hash of the voting code, never from a
person: the code's holder can find the ballot again, nobody else can. Two requests racing with the
same code address the same aggregate, so the event store's optimistic concurrency lets exactly one
of them write each version.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, NamedTuple
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.budget_round import BudgetRound
from domain.errors import Conflict, Forbidden
from domain.event_topics import keep_module_path_topics

BALLOT_NAMESPACE = uuid5(NAMESPACE_URL, "https://buurtbudget.nl/ballot")


def ballot_id_for(round_id: UUID, code_hash: str) -> UUID:
    """The id of the ballot that a voting code (by its keyed hash) opens in a round."""
    return uuid5(BALLOT_NAMESPACE, f"{round_id}:{code_hash}")


# The same output as json.dumps(..., sort_keys=True, separators=(",", ":")), without building
# an encoder per call: a rebuild computes a receipt for every ballot ever cast.
CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def canonical_choices(choices: dict[str, int]) -> str:
    """The choices as the one JSON text that receipts digest."""
    return CANONICAL_JSON.encode(choices)


RECEIPT_SCHEME = "buurtbudget-receipt/2"


def receipt_for(ballot_id: UUID, version: int, choices: dict[str, int]) -> str:
    """The receipt of a ballot cast before receipts had a nonce (Cast version 1).

    It hashes the ballot's id, which derives from a server key, so a voter cannot recompute it;
    ballots cast since carry a nonce instead (`voter_receipt`).
    """
    return _v1_receipt(ballot_id, version, canonical_choices(choices))


def _v1_receipt(ballot_id: UUID | str, version: int, canonical: str) -> str:
    return hashlib.sha256(f"{ballot_id}:{version}:{canonical}".encode()).hexdigest()


def voter_receipt(round_id: UUID | str, choices: dict[str, int], nonce: str) -> str:
    """A receipt anyone can recompute from what it commits to (docs/privacy.md):

    SHA-256 of the lines `buurtbudget-receipt/2`, the round id, the choices as canonical JSON
    (keys sorted, no spaces) and the ballot's random nonce, joined by newlines, as hex.
    """
    return _v2_receipt(round_id, canonical_choices(choices), nonce)


def _v2_receipt(round_id: UUID | str, canonical: str, nonce: str) -> str:
    text = "\n".join((RECEIPT_SCHEME, str(round_id), canonical, nonce))
    return hashlib.sha256(text.encode()).hexdigest()


def receipt_of_cast(ballot_id: UUID, version: int, event: Any, canonical: str | None = None) -> str:
    """The receipt of a stored cast, of either version; `canonical` spares encoding the choices
    again where the caller has their `canonical_choices` text already."""
    if canonical is None:
        canonical = canonical_choices(event.choices)
    if event.nonce is None:
        return _v1_receipt(ballot_id, version, canonical)
    return _v2_receipt(event.round_id, canonical, event.nonce)


class CountedBallot(NamedTuple):
    """The version of a ballot that counts: its number, its choices and its receipt."""

    version: int
    choices: dict[str, int]
    receipt: str


def counted(cast: Any) -> CountedBallot:
    """A stored cast as the ballot version that counts."""
    return CountedBallot(
        cast.originator_version, dict(cast.choices),
        receipt_of_cast(cast.originator_id, cast.originator_version, cast),
    )


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

    voided = False
    paper_batch: str | None = None

    def cast(
        self, *, budget_round: BudgetRound, choices: dict[str, int], nonce: str,
        paper_batch: str | None = None,
    ) -> str:
        """Cast (or replace) the ballot while voting is open; returns the voter's receipt.

        `nonce` is fresh randomness for this version, shown to the voter with the receipt.
        `paper_batch` names the confirmed batch of a paper ballot: its code is then used up.
        """
        if budget_round.id != self.round_id:
            raise Conflict("this voting code belongs to another round")
        if self.voided:
            raise Forbidden("this voting code was replaced by a new letter and is no longer valid")
        if self.paper_batch is not None:
            raise Forbidden("this voting code was used on a paper ballot")
        budget_round.check_accepts_ballots()
        budget_round.settings.check_ballot(budget_round.ballot_costs, choices)
        self._cast(round_id=self.round_id, choices=dict(choices), nonce=nonce,
                   paper_batch=paper_batch)
        return voter_receipt(self.round_id, self.choices or {}, nonce)

    class Cast(Aggregate.Event):
        """The ballot was cast or replaced.

        Version 2 added `nonce`, the randomness of the voter's receipt, and `paper_batch`, the
        batch of a paper ballot; casts stored as version 1 read as both None (cast online, with
        the old receipt).
        """

        TOPIC = "buurtbudget/Ballot.Cast"
        class_version = 2

        round_id: UUID
        choices: dict[str, int]
        nonce: str | None
        paper_batch: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["nonce"] = None
            state["paper_batch"] = None

    @event(Cast)
    def _cast(
        self, *, round_id: UUID, choices: dict[str, int], nonce: str | None,
        paper_batch: str | None,
    ) -> None:
        self.choices = choices
        self.nonce = nonce
        self.paper_batch = paper_batch

    def void(self, *, reason: str, actor: str) -> None:
        """Withdraw the code of a lost letter; a code that has voted cannot be withdrawn."""
        if self.voided:
            raise Conflict("this code was already replaced")
        if self.choices is not None:
            raise Conflict("the code of this letter has already been used to vote; it stays valid")
        self._voided(round_id=self.round_id, reason=reason, actor=actor)

    # The round is named so that the event is sealed with the round's other ballot events while
    # it votes (an export must not hold a ballot's later event without its first).
    @event("Voided", topic="buurtbudget/Ballot.Voided")
    def _voided(self, *, round_id: UUID, reason: str, actor: str) -> None:
        self.voided = True


keep_module_path_topics(Ballot, "domain.ballot:Ballot", (
    "Issued", "Cast",
))
