"""A resident enrolled in a round from a voter register: that they got a code, not who they are.

The voter's id derives from the round and a keyed hash of the register's person key, so a second
upload of the same person finds the voter already enrolled and issues no second code, while the
log names nobody. Which ballot (code) the voter holds is stored only sealed (encrypted with a key
kept outside the database, by the service): it is needed to withdraw the code of a lost letter,
and must not let anyone holding the database link a person to a ballot.
"""
from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.budget_round import check_text

VOTER_NAMESPACE = uuid5(NAMESPACE_URL, "https://buurtbudget.nl/voter")


def voter_id_for(round_id: UUID, person_hash: str) -> UUID:
    """The id of the voter a register's person (by the keyed hash of their key) is in a round."""
    return uuid5(VOTER_NAMESPACE, f"{round_id}:{person_hash}")


class Voter(Aggregate):
    """An eligible resident of a round, holding one valid voting code at a time."""

    TOPIC = "buurtbudget/Voter"

    class Created(Aggregate.Created):  # the library's; never stored, but it must have a topic
        TOPIC = "buurtbudget/Voter.Created"

    @classmethod
    def enrol(cls, *, round_id: UUID, person_hash: str, batch_id: str, ballot_seal: str) -> Voter:
        return cls(
            id=voter_id_for(round_id, person_hash), round_id=round_id, batch_id=batch_id,
            ballot_seal=ballot_seal,
        )

    @event("Enrolled", topic="buurtbudget/Voter.Enrolled")
    def __init__(self, *, id: UUID, round_id: UUID, batch_id: str, ballot_seal: str) -> None:
        self.round_id = round_id
        self.ballot_seal = ballot_seal
        self.reissued = 0

    def reissue(self, *, ballot_seal: str, reason: str, actor: str) -> None:
        """Give the voter a new code (the old one is voided on its ballot, with the same reason)."""
        self._code_reissued(
            ballot_seal=ballot_seal, reason=check_text(reason, field="reason", max_length=500),
            actor=actor,
        )

    @event("CodeReissued", topic="buurtbudget/Voter.CodeReissued")
    def _code_reissued(self, *, ballot_seal: str, reason: str, actor: str) -> None:
        self.ballot_seal = ballot_seal
        self.reissued += 1
