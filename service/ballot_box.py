"""The ballot box: how residents' ballots are written fast, and which stored ballots count.

Casting is the one command that thousands of residents run at the same moment, so it has a write
path of its own, behind `BallotBox.cast`:

- ballots cast at the same moment by the requests of a process are saved in one transaction
  (service/group_commit.py);
- a ballot is read past the application's aggregate cache unless it was cast before, so a code's
  first cast costs no deep copy and the cache keeps the rounds;
- the round a ballot is checked against is the round as this process last saw it voting (its
  rules and costs are frozen while it votes); whether voting is still open is read once per group;
- the round is not saved with its ballots, so a close of voting can slip in between the check and
  the save: after the save, each ballot's log position is compared with the round's VotingClosed,
  and a voter whose ballot came too late hears so instead of getting a receipt.

Which casts count is `domain.ballot.counts_in_tally`, applied here to the voter's answer and to the
ballots the tally counts (`final_ballots`), and by the ballots read model.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository

from domain.ballot import Ballot, CountedBallot, counted, counts_in_tally
from domain.budget_round import BudgetRound
from domain.errors import Conflict, Forbidden
from domain.event_topics import topics_of
from service.conflict_retry import RetryPolicy
from service.group_commit import GroupCommit, cooperative_gather

# Every topic these events are stored under, older logs' included.
BALLOT_CAST_TOPICS = topics_of(Ballot.Cast)  # type: ignore[attr-defined]
VOTING_CLOSED_TOPICS = topics_of(BudgetRound.VotingClosed)  # type: ignore[attr-defined]


class BallotBox:
    """Casting ballots into an application's log, and reading back the ones that count."""

    def __init__(
        self,
        application: Application[UUID],
        retry: RetryPolicy,
        *,
        read_round: Callable[[UUID], BudgetRound],
    ):
        self._application = application
        self._retry = retry
        # The round as stored now, shared with the application's cache: for reading only.
        self._read_round = read_round
        # Ballots cast at the same moment by requests of this process share one transaction.
        self._group: GroupCommit[Ballot, int] = GroupCommit(
            self._write, gather=cooperative_gather()
        )
        # Rounds as this process last saw them voting (see _round_seen_voting).
        self._rounds_seen_voting: dict[UUID, BudgetRound] = {}
        # Ballots not cast before in this process are read past the aggregate cache.
        self.uncached: Repository[UUID] = Repository(application.events)

    def cast(self, round_id: UUID, ballot_id: UUID, choices: dict[str, int]) -> dict[str, Any]:
        """Cast or replace a ballot; returns its version, the receipt and the receipt's nonce."""
        attempts = 0

        def command() -> dict[str, Any]:
            nonlocal attempts
            attempts += 1
            try:
                ballot = self._load(ballot_id)
            except AggregateNotFoundError:
                raise Forbidden("this voting code is not valid for this round") from None
            nonce = secrets.token_hex(16)
            receipt = ballot.cast(
                budget_round=self._round_seen_voting(round_id), choices=choices, nonce=nonce
            )
            if attempts == 1:
                self._group.submit(ballot)
            else:
                # After a conflict, write alone: the group may have held the racing ballot.
                (outcome,) = self._write([ballot])
                if isinstance(outcome, BaseException):
                    raise outcome
            return {"ballot_version": ballot.version - 1, "receipt": receipt, "nonce": nonce}

        return self._retry.run(command)

    def _load(self, ballot_id: UUID) -> Ballot:
        """A ballot to cast on, read past the aggregate cache unless it was cast before.

        Most codes are cast once: reading their ballot past the cache saves a deep copy and
        keeps the rounds cached. A ballot that has been cast is cached, so that recasting a code
        costs a fast-forward, not a replay of every earlier version.
        """
        repository = self._application.repository
        if repository.cache is None:
            return self.uncached.get(ballot_id)
        try:
            repository.cache.get(ballot_id)
        except KeyError:
            ballot = self.uncached.get(ballot_id)
            if ballot.version > 1:
                repository.cache.put(ballot_id, deepcopy(ballot))
            return ballot
        return repository.get(ballot_id)

    def _round_seen_voting(self, round_id: UUID) -> BudgetRound:
        """The round to check a ballot's rules against, read from the store only if not voting.

        While a round is voting, what a ballot is checked against (its voting rules and the
        costs on the ballot) is frozen and the phase can only move on, so the round as this
        process last saw it voting judges a ballot as the current round would. Whether voting is
        still open is read by the writer of each group (`_write`), once per group.
        """
        budget_round = self._rounds_seen_voting.get(round_id)
        if budget_round is None:
            budget_round = self._read_round(round_id)
            if budget_round.phase == "voting":
                self._rounds_seen_voting[round_id] = budget_round
        return budget_round

    def _write(self, ballots: Sequence[Ballot]) -> list[int | BaseException]:
        """Save ballots in one transaction; per ballot its log position, or why it was refused.

        The round is read once before the write (is it still voting?) and once after: the
        ballots are saved without their round, so a close of voting can slip in between. Such a
        ballot stays in the log but does not count, and the voter must hear that rather than get
        a receipt that will not appear.
        """
        outcomes: dict[UUID, int | BaseException] = {}
        for round_id in {ballot.round_id for ballot in ballots}:
            try:
                self._read_round(round_id).check_accepts_ballots()
            except Conflict as refusal:
                self._rounds_seen_voting.pop(round_id, None)
                outcomes.update({b.id: refusal for b in ballots if b.round_id == round_id})
        accepted = [ballot for ballot in ballots if ballot.id not in outcomes]
        if accepted:
            recordings = self._application.save(*accepted)
            positions = {r.domain_event.originator_id: r.notification.id for r in recordings}
            closed_at = {
                rid: self._voting_closed_since_save(rid) for rid in {b.round_id for b in accepted}
            }
            for ballot in accepted:
                position = positions[ballot.id]
                outcomes[ballot.id] = (
                    position if counts_in_tally(position, closed_at[ballot.round_id])
                    else Conflict("voting closed before your ballot was stored; it was not counted")
                )
        return [outcomes[ballot.id] for ballot in ballots]

    def _voting_closed_since_save(self, round_id: UUID) -> int | None:
        """The log position of the round's VotingClosed, or None while it is voting."""
        if self._read_round(round_id).phase == "voting":
            return None
        self._rounds_seen_voting.pop(round_id, None)
        return self.voting_closed_position(round_id)

    def voting_closed_position(self, round_id: UUID) -> int | None:
        """Where the round's VotingClosed is in the log, or None if voting was never closed."""
        for notification in self.notifications_with_topics(VOTING_CLOSED_TOPICS):
            if notification.originator_id == round_id:
                return notification.id
        return None

    def final_ballots(self, round_id: UUID) -> dict[UUID, CountedBallot]:
        """The last version of every ballot of a round that counts, from the log."""
        closed_at = self.voting_closed_position(round_id)
        final: dict[UUID, CountedBallot] = {}
        for notification in self.notifications_with_topics(BALLOT_CAST_TOPICS):
            if not counts_in_tally(notification.id, closed_at):
                break  # later casts of every round are later still
            domain_event = self._application.mapper.to_domain_event(notification)
            if domain_event.round_id == round_id:
                final[domain_event.originator_id] = counted(domain_event)
        return final

    def notifications_with_topics(self, topics: list[str], page: int = 5000) -> Iterator[Any]:
        """The log's notifications of the given topics, in log order, read a page at a time."""
        recorder, start = self._application.recorder, 1
        while True:
            notifications = recorder.select_notifications(start=start, limit=page, topics=topics)
            yield from notifications
            if len(notifications) < page:
                return
            start = notifications[-1].id + 1


