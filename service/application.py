"""The event-sourced application: every command of Buurtbudget, each one transaction on the log."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib import metadata
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, OriginatorVersionError
from eventsourcing.persistence import (
    ApplicationRecorder, IntegrityError, MapperDeserialisationError,
)

from domain.ballot import Ballot, CountedBallot, ballot_id_for
from domain.budget_round import BudgetRound
from domain.errors import Conflict, DamagedHistory, Forbidden, NotFound, RuleViolation
from domain.municipality import Municipality
from domain.neighbourhood import Neighbourhood
from domain.paper_ballots import PaperBatch
from domain.personal_data import PersonalDataErasure, records_of_kind
from domain.proposal import Proposal
from domain.round_result import comparable, count_round
from domain.voter import Voter, voter_id_for
from service.ballot_box import BallotBox
from service.ballot_seal import BallotSeal
from service.conflict_retry import RetryPolicy
from service.event_store import EventStore
from service.personal_data_keys import ERASED_TOPICS, PersonalDataKeys

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")
log = logging.getLogger(__name__)

# Voting codes are printed on letters: no 0/O or 1/I/L to misread. 12 symbols of 32 = 60 bits.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


def software_version() -> str:
    try:
        return metadata.version("buurtbudget")
    except metadata.PackageNotFoundError:
        return "unknown"


def normalise_code(code: str) -> str:
    """Codes are typed by people: ignore case, spaces and dashes."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_voting_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


class BuurtbudgetApplication(Application[UUID]):
    """Commands and event-sourced queries for municipalities, rounds, proposals, ballots and money."""

    name = "buurtbudget"

    def __init__(
        self,
        *,
        event_store: EventStore,
        secret_key: bytes,
        personal_data: PersonalDataKeys,
        create_tables: bool = False,
    ) -> None:
        self.event_store = event_store
        self.personal_data = personal_data
        super().__init__(event_store.env(create_tables=create_tables))
        # The key of the keyed hashes of voting codes and proposer keys: without it, the hashes in
        # the log cannot be linked back to a code, not even by someone holding the database.
        self._secret_key = secret_key
        self._ballot_seal = BallotSeal(secret_key)
        self.retry = RetryPolicy()
        self.ballot_box = BallotBox(
            self, self.retry, read_round=lambda rid: self._get(rid, BudgetRound, "round", copy=False)
        )

    def construct_recorder(self) -> ApplicationRecorder:
        return self.event_store.application_recorder(self.factory)

    # -- loading and saving ---------------------------------------------------------------------

    def _get(self, aggregate_id: UUID, cls: type[A], what: str, *, copy: bool = True) -> A:
        """Load an aggregate; `copy=False` shares the cached instance, for reading only."""
        try:
            aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            raise NotFound(f"{what} {aggregate_id} not found") from None
        except (OriginatorVersionError, MapperDeserialisationError) as error:
            log.error("the stored events of %s %s do not replay: %r", what, aggregate_id, error)
            raise DamagedHistory(
                f"the stored history of {what} {aggregate_id} is damaged and cannot be replayed; "
                "the operators must restore it (`buurtbudget audit verify --database` names "
                "the change)"
            ) from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"{what} {aggregate_id} not found")
        return aggregate

    def get_round(self, round_id: UUID) -> BudgetRound:
        return self._get(round_id, BudgetRound, "round")

    def get_proposal(self, proposal_id: UUID) -> Proposal:
        return self._get(proposal_id, Proposal, "proposal")

    def _retrying(self, command: Callable[[], T]) -> T:
        return self.retry.run(command)

    def keyed_hash(self, purpose: str, value: str) -> str:
        return hmac.new(self._secret_key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    # -- places ---------------------------------------------------------------------------------

    def register_municipality(self, *, name: str, cbs_code: str | None, actor: str) -> UUID:
        municipality = Municipality.register(name=name, cbs_code=cbs_code, actor=actor)
        self.save(municipality)
        return municipality.id

    def set_paying_account(
        self, municipality_id: UUID, *, name: str, iban: str, actor: str
    ) -> None:
        """Set the account the municipality's payouts are paid from (IBAN already checked)."""
        municipality = self._get(municipality_id, Municipality, "municipality")
        municipality.set_paying_account(name=name, iban=iban, actor=actor)
        self.save(municipality)

    def paying_account(self, municipality_id: UUID) -> dict[str, str] | None:
        """The municipality's paying account as `{name, iban}`, or None if none was set."""
        municipality = self._get(municipality_id, Municipality, "municipality", copy=False)
        return getattr(municipality, "paying_account", None)

    def register_neighbourhood(
        self, *, municipality_id: UUID, name: str, cbs_code: str | None, actor: str
    ) -> UUID:
        municipality = self._get(municipality_id, Municipality, "municipality")
        neighbourhood = Neighbourhood.register(
            municipality=municipality, name=name, cbs_code=cbs_code, actor=actor
        )
        self.save(neighbourhood)
        return neighbourhood.id

    # -- rounds and funds -----------------------------------------------------------------------

    def open_round(
        self,
        *,
        neighbourhood_id: UUID,
        title: str,
        description: str,
        schedule: dict[str, str] | None,
        voting: dict[str, Any] | None,
        actor: str,
    ) -> UUID:
        neighbourhood = self._get(neighbourhood_id, Neighbourhood, "neighbourhood")
        budget_round = BudgetRound.open(
            municipality_id=neighbourhood.municipality_id,
            neighbourhood_id=neighbourhood.id,
            title=title,
            description=description,
            schedule=schedule,
            voting=voting,
            lot_seed=secrets.token_hex(16),
            actor=actor,
        )
        self.save(budget_round)
        return budget_round.id

    def _on_round(self, round_id: UUID, change: Callable[[BudgetRound], T]) -> T:
        def command() -> T:
            budget_round = self.get_round(round_id)
            result = change(budget_round)
            self.save(budget_round)
            return result

        return self._retrying(command)

    def change_round_settings(
        self,
        round_id: UUID,
        *,
        schedule: dict[str, str] | None,
        voting: dict[str, Any] | None,
        actor: str,
    ) -> None:
        self._on_round(
            round_id, lambda r: r.change_settings(schedule=schedule, voting=voting, actor=actor)
        )

    def set_task_field(self, round_id: UUID, *, task_field: str, actor: str) -> None:
        """Book the round's money from now on under this Iv3 task field (6.1 until set)."""
        self._on_round(round_id, lambda r: r.set_task_field(task_field=task_field, actor=actor))

    def deposit(
        self, round_id: UUID, *, amount: int, source: str, reference: str, actor: str
    ) -> str:
        deposit_id = str(uuid.uuid4())
        self._on_round(
            round_id,
            lambda r: r.deposit(
                deposit_id=deposit_id, amount=amount, source=source, reference=reference,
                actor=actor,
            ),
        )
        return deposit_id

    def close_submissions(self, round_id: UUID, *, actor: str) -> None:
        self._on_round(round_id, lambda r: r.close_submissions(actor=actor))

    def open_voting(self, round_id: UUID, *, actor: str) -> dict[str, int]:
        return self._on_round(round_id, lambda r: r.open_voting(actor=actor))

    def close_voting(self, round_id: UUID, *, actor: str) -> None:
        self._on_round(round_id, lambda r: r.close_voting(actor=actor))

    def close_round(self, round_id: UUID, *, destination: str, actor: str) -> int:
        return self._on_round(round_id, lambda r: r.close(destination=destination, actor=actor))

    def carry_over(self, round_id: UUID, *, to_round_id: UUID, actor: str) -> int:
        """Close a round and carry every euro not paid out to the next round of its neighbourhood.

        Two rounds change, in two transactions: the closing names the next round as the
        destination, and the next round receives a deposit whose id is derived from this round.
        Run again after a failure in between, it finds the round closed towards that same round
        and makes only the deposit; once both are done it changes nothing. Returns the amount.
        """
        source, target = self.get_round(round_id), self.get_round(to_round_id)
        if round_id == to_round_id or source.neighbourhood_id != target.neighbourhood_id:
            raise RuleViolation(
                "money is carried over to another round of the same neighbourhood",
                field="to_round_id",
            )
        if target.phase == "closed":
            raise Conflict("the next round is closed already")
        destination = f"Volgende ronde: {target.title}"[:160] + f" ({to_round_id})"
        if source.phase != "closed":
            self.close_round(round_id, destination=destination, actor=actor)
        closed = next(
            e for e in self.events.get(round_id, desc=True)
            if isinstance(e, BudgetRound.Closed)  # type: ignore[attr-defined]
        )
        if closed.destination != destination:
            raise Conflict(f"the round was closed already, its money went to {closed.destination}")
        # One deposit id per source round, so the deposit is made once however often this runs.
        deposit_id = str(uuid.uuid5(round_id, "carry-over"))
        if closed.returned:
            try:
                self._on_round(to_round_id, lambda r: r.deposit(
                    deposit_id=deposit_id, amount=closed.returned,
                    source=f"Overgeboekt uit {source.title}"[:200], reference=str(round_id),
                    actor=actor,
                ))
            except Conflict:
                if deposit_id not in self.get_round(to_round_id).deposit_ids:
                    raise
        return int(closed.returned)

    # -- proposals ------------------------------------------------------------------------------

    def submit_proposal(self, round_id: UUID, **fields: Any) -> tuple[UUID, str]:
        """Submit a proposal; returns its id and the proposer's key (shown once, only hashed)."""
        proposer_key = secrets.token_urlsafe(24)

        def command() -> UUID:
            budget_round = self.get_round(round_id)
            proposal = Proposal.submit(
                budget_round=budget_round,
                proposer_key_hash=self.keyed_hash("proposer", proposer_key),
                personal_data=self.personal_data,
                **fields,
            )
            self.save(budget_round, proposal)
            return proposal.id

        return self._retrying(command), proposer_key

    def _on_proposal(self, proposal_id: UUID, change: Callable[[Proposal, BudgetRound], T]) -> T:
        def command() -> T:
            proposal = self.get_proposal(proposal_id)
            budget_round = self.get_round(proposal.round_id)
            result = change(proposal, budget_round)
            self.save(proposal, budget_round)
            return result

        return self._retrying(command)

    def admit_proposal(
        self, proposal_id: UUID, *, amount: int | None, note: str, actor: str
    ) -> None:
        self._on_proposal(
            proposal_id, lambda p, r: p.admit(budget_round=r, amount=amount, note=note, actor=actor)
        )

    def reject_proposal(self, proposal_id: UUID, *, reason: str, actor: str) -> None:
        self._on_proposal(
            proposal_id, lambda p, r: p.reject(budget_round=r, reason=reason, actor=actor)
        )

    def withdraw_proposal(self, proposal_id: UUID, *, proposer_key: str, reason: str) -> None:
        key_hash = self.keyed_hash("proposer", proposer_key)
        self._on_proposal(
            proposal_id, lambda p, r: p.withdraw(budget_round=r, key_hash=key_hash, reason=reason)
        )

    def complete_proposal(self, proposal_id: UUID, *, report: str, actor: str) -> int:
        """Complete a funded proposal; its unspent reservation returns to the round."""

        def command() -> int:
            proposal = self.get_proposal(proposal_id)
            budget_round = self.get_round(proposal.round_id)
            if proposal.status != "funded":
                raise Conflict(f"only funded proposals can be completed; this one is {proposal.status}")
            unspent = budget_round.release_unspent(proposal_id=str(proposal.id), actor=actor)
            proposal.complete(report=report, unspent=unspent, actor=actor)
            self.save(budget_round, proposal)
            return unspent

        return self._retrying(command)

    # -- voting ---------------------------------------------------------------------------------

    def issue_voting_codes(self, round_id: UUID, *, count: int, actor: str) -> list[str]:
        """Create `count` one-time voting codes; the codes are returned once and never stored."""

        def command() -> list[str]:
            budget_round = self.get_round(round_id)
            budget_round.issue_codes(batch_id=str(uuid.uuid4()), count=count, actor=actor)
            codes = [new_voting_code() for _ in range(count)]
            ballots = [
                Ballot.issue(round_id=round_id, code_hash=self._code_hash(code)) for code in codes
            ]
            self.save(budget_round, *ballots)
            return codes

        return self._retrying(command)

    def set_eligibility(self, round_id: UUID, *, rules: dict[str, Any], actor: str) -> None:
        """Who may vote in the round: minimum age on a reference date, the area's postcodes."""

        def command() -> None:
            budget_round = self.get_round(round_id)
            budget_round.set_eligibility(rules=rules, actor=actor)
            self.save(budget_round)

        self._retrying(command)

    def person_hash(self, person_key: str) -> str:
        """The keyed hash that stands for a register's person: the key itself is never stored."""
        return self.keyed_hash("register-person", person_key.strip())

    def enrol_voters(
        self, round_id: UUID, person_hashes: list[str], *, batch_id: str, actor: str
    ) -> dict[str, str]:
        """Give each person not yet enrolled in the round a code; person hash -> new code.

        One transaction: the round's count of eligible residents, a voter and a ballot per
        person. A person enrolled before (an earlier upload, or a concurrent one) gets nothing.
        """
        check_each = False

        def command() -> dict[str, str]:
            nonlocal check_each
            budget_round = self.get_round(round_id)
            fresh = [
                person for person in dict.fromkeys(person_hashes)
                if not check_each or voter_id_for(round_id, person) not in self.repository
            ]
            budget_round.import_register(batch_id=batch_id, enrolled=len(fresh), actor=actor)
            codes: dict[str, str] = {}
            aggregates: list[Aggregate] = []
            for person in fresh:
                code = new_voting_code()
                ballot = Ballot.issue(round_id=round_id, code_hash=self._code_hash(code))
                voter_id = voter_id_for(round_id, person)
                aggregates += [ballot, Voter.enrol(
                    round_id=round_id, person_hash=person, batch_id=batch_id,
                    ballot_seal=self._ballot_seal.seal(voter_id, ballot.id),
                )]
                codes[person] = code
            try:
                self.save(budget_round, *aggregates)
            except IntegrityError:
                # Someone here is enrolled already (or the round moved on): look each one up.
                check_each = True
                raise
            return codes

        return self._retrying(command)

    def reissue_code(self, round_id: UUID, *, person_key: str, reason: str, actor: str) -> str:
        """A new code for a resident whose letter was lost; the old code is voided."""
        voter_id = voter_id_for(round_id, self.person_hash(person_key))

        def command() -> str:
            budget_round = self.get_round(round_id)
            budget_round.check_phase("submission", "review", "voting", doing="reissue a code")
            try:
                voter = self._get(voter_id, Voter, "voter")
            except NotFound:
                raise NotFound("nobody with this person key has a code in this round") from None
            old = self._get(self._ballot_seal.open(voter_id, voter.ballot_seal), Ballot, "ballot")
            old.void(reason=reason, actor=actor)
            code = new_voting_code()
            ballot = Ballot.issue(round_id=round_id, code_hash=self._code_hash(code))
            voter.reissue(
                ballot_seal=self._ballot_seal.seal(voter_id, ballot.id), reason=reason, actor=actor
            )
            self.save(voter, old, ballot)
            return code

        return self._retrying(command)

    # -- paper ballots ----------------------------------------------------------------------

    def enter_paper_ballots(
        self, round_id: UUID, ballots: list[dict[str, Any]], *, actor: str
    ) -> UUID:
        """Record a batch of paper ballots, each with a `code` or a `serial` and its `choices`.

        Every ballot is checked now (the rules of the round, a code issued and not used, a serial
        not used, nothing twice in the batch); none counts before another official confirms.
        """
        budget_round = self.get_round(round_id)
        budget_round.check_accepts_ballots()
        entries, seen = [], set()
        for number, paper in enumerate(ballots, start=1):
            where = f"ballot {number}"
            try:
                budget_round.settings.check_ballot(budget_round.ballot_costs, paper["choices"])
            except RuleViolation as error:
                raise RuleViolation(f"{where}: {error.message}", field="ballots") from None
            if paper.get("code"):
                try:
                    ballot_id = self.ballot_id_of_code(round_id, paper["code"])
                except Forbidden:
                    raise RuleViolation(f"{where}: this code was not issued for the round",
                                        field="ballots") from None
                ballot = self._get(ballot_id, Ballot, "ballot")
                if ballot.choices is not None or ballot.voided:
                    raise Conflict(f"{where}: this code has already voted or was replaced")
                entry = {"ballot_id": str(ballot_id)}
            else:
                serial_hash = self.keyed_hash("paper-serial", str(paper["serial"]).strip())
                if ballot_id_for(round_id, serial_hash) in self.repository:
                    raise Conflict(f"{where}: this paper-ballot serial was counted before")
                entry = {"serial_hash": serial_hash}
            key = next(iter(entry.values()))
            if key in seen:
                raise RuleViolation(f"{where}: the same code or serial twice", field="ballots")
            seen.add(key)
            entries.append({**entry, "choices": dict(paper["choices"])})
        batch = PaperBatch.enter(round_id=round_id, entries=entries, actor=actor)
        self.save(batch)
        return batch.id

    def confirm_paper_ballots(self, round_id: UUID, batch_id: UUID, *, actor: str) -> int:
        """A second official confirms a batch: each of its ballots is cast and counts."""

        def command() -> int:
            batch = self._paper_batch(round_id, batch_id)
            batch.confirm(actor=actor)
            budget_round = self.get_round(round_id)
            ballots = []
            for entry in batch.entries:
                if "ballot_id" in entry:
                    ballot = self._get(UUID(entry["ballot_id"]), Ballot, "ballot")
                    if ballot.choices is not None:
                        raise Conflict("a code of this batch has voted since; discard the batch")
                else:
                    ballot = Ballot.issue(round_id=round_id, code_hash=entry["serial_hash"])
                ballot.cast(budget_round=budget_round, choices=entry["choices"],
                            nonce=secrets.token_hex(16), paper_batch=str(batch_id))
                ballots.append(ballot)
            budget_round.count_paper_ballots(batch_id=str(batch_id), count=len(ballots),
                                             actor=actor)
            self.save(budget_round, batch, *ballots)
            return len(ballots)

        return self._retrying(command)

    def discard_paper_ballots(
        self, round_id: UUID, batch_id: UUID, *, reason: str, actor: str
    ) -> None:
        def command() -> None:
            batch = self._paper_batch(round_id, batch_id)
            batch.discard(reason=reason, actor=actor)
            self.save(batch)

        self._retrying(command)

    def _paper_batch(self, round_id: UUID, batch_id: UUID) -> PaperBatch:
        batch = self._get(batch_id, PaperBatch, "paper ballot batch")
        if batch.round_id != round_id:
            raise NotFound(f"paper ballot batch {batch_id} not found")
        return batch

    def _code_hash(self, code: str) -> str:
        return self.keyed_hash("voting-code", normalise_code(code))

    def ballot_id_of_code(self, round_id: UUID, code: str) -> UUID:
        """The ballot a voting code opens; Forbidden if the code was never issued for the round."""
        ballot_id = ballot_id_for(round_id, self._code_hash(code))
        if ballot_id not in self.repository:
            raise Forbidden("this voting code is not valid for this round")
        return ballot_id

    def cast_ballot(self, round_id: UUID, *, code: str, choices: dict[str, int]) -> dict[str, Any]:
        """Cast or replace the ballot of a voting code; returns its version and the receipt."""
        return self.ballot_box.cast(round_id, ballot_id_for(round_id, self._code_hash(code)), choices)

    def import_ballots(
        self, round_id: UUID, ballots: list[dict[str, int]], *, actor: str, batch_size: int = 2000
    ) -> int:
        """Cast ballots collected elsewhere (paper, another system, a pabulib file).

        Each ballot gets a fresh voting code that is never shown, and is checked against the
        round's rules by the same domain method as a resident's ballot; ballots are saved in
        batches, each batch one transaction with the round's count of issued codes.
        """
        for start in range(0, len(ballots), batch_size):
            batch = ballots[start : start + batch_size]

            def command(batch: list[dict[str, int]] = batch) -> None:
                budget_round = self.get_round(round_id)
                budget_round.issue_codes(batch_id=str(uuid.uuid4()), count=len(batch), actor=actor)
                cast = []
                for choices in batch:
                    ballot = Ballot.issue(round_id=round_id, code_hash=self._code_hash(new_voting_code()))
                    ballot.cast(
                        budget_round=budget_round, choices=choices, nonce=secrets.token_hex(16)
                    )
                    cast.append(ballot)
                self.save(budget_round, *cast)

            self._retrying(command)
        return len(ballots)

    def final_ballots(self, round_id: UUID) -> dict[UUID, CountedBallot]:
        """The last version of every ballot of a round that counts (cast before voting closed)."""
        return self.ballot_box.final_ballots(round_id)

    # -- decision -------------------------------------------------------------------------------

    def run_tally(self, round_id: UUID, *, actor: str) -> dict[str, Any]:
        """Count the final ballots with the round's rule and record the result as an event."""

        def command() -> dict[str, Any]:
            budget_round = self.get_round(round_id)
            budget_round.check_phase("decided", doing="run the tally")
            result = count_round(
                budget_round,
                self.final_ballots(round_id),
                budget=budget_round.available,
                software_version=software_version(),
            )
            tally_id = str(uuid.uuid4())
            budget_round.record_tally(tally_id=tally_id, result=result, actor=actor)
            self.save(budget_round)
            return {"tally_id": tally_id, **result}

        return self._retrying(command)

    def verify_tally(self, round_id: UUID, tally_id: str | None = None) -> dict[str, Any]:
        """Recount from the stored ballot events and compare with a recorded result."""
        budget_round = self.get_round(round_id)
        if not budget_round.tallies:
            raise NotFound("no tally has been recorded for this round")
        tally_id = tally_id or budget_round.confirmed_tally_id or list(budget_round.tallies)[-1]
        if tally_id not in budget_round.tallies:
            raise NotFound(f"tally {tally_id} not found in this round")
        recorded = budget_round.tallies[tally_id]
        recomputed = count_round(
            budget_round,
            self.final_ballots(round_id),
            budget=recorded["budget"],
            software_version=software_version(),
        )
        differences = sorted(
            key for key in set(comparable(recorded)) | set(comparable(recomputed))
            if comparable(recorded).get(key) != comparable(recomputed).get(key)
        )
        return {
            "tally_id": tally_id,
            "matches": not differences,
            "differences": differences,
            "recorded": recorded,
            "recomputed": recomputed,
        }

    def confirm_tally(self, round_id: UUID, *, tally_id: str, actor: str) -> dict[str, int]:
        """Confirm a recorded result: reserve funds for each winner, tell every proposal."""

        def command() -> dict[str, int]:
            budget_round = self.get_round(round_id)
            reservations = budget_round.confirm_tally(tally_id=tally_id, actor=actor)
            proposals = [self.get_proposal(UUID(pid)) for pid in budget_round.ballot_costs]
            for proposal in proposals:
                proposal.mark_decided(
                    tally_id=tally_id,
                    funded_amount=reservations.get(str(proposal.id), 0),
                    actor=actor,
                )
            self.save(budget_round, *proposals)
            return reservations

        return self._retrying(command)

    # -- payouts --------------------------------------------------------------------------------

    def request_payout(self, round_id: UUID, *, actor: str, **fields: Any) -> str:
        payout_id = str(uuid.uuid4())
        self._on_round(
            round_id,
            lambda r: r.request_payout(
                payout_id=payout_id, actor=actor, personal_data=self.personal_data, **fields
            ),
        )
        return payout_id

    def approve_payout(self, round_id: UUID, payout_id: str, *, actor: str) -> None:
        def approve(budget_round: BudgetRound) -> None:
            if self._payees_erased(budget_round, [payout_id]):
                raise Conflict(
                    f"payout {payout_id} cannot be approved: its payee's personal data was "
                    "erased; reject it and request a new payout with the payee's details"
                )
            budget_round.approve_payout(payout_id=payout_id, actor=actor)

        self._on_round(round_id, approve)

    def _payees_erased(self, budget_round: BudgetRound, payout_ids: list[str]) -> set[str]:
        """Those of the payouts whose payee's name and IBAN were erased (key or record)."""
        sealed = {p: budget_round.payouts[p]["iban_sealed"] for p in payout_ids
                  if p in budget_round.payouts}
        erased = self.personal_data.erased(sealed.values())
        records = set(records_of_kind(self.erased_records(), "payout"))
        return {p for p, envelope in sealed.items() if envelope in erased or p in records}

    # -- personal data --------------------------------------------------------------------------

    def erased_records(self) -> list[str]:
        """Every record an erasure named (`proposal:<id>`, `payout:<id>`), from the log."""
        records: list[str] = []
        start = 1
        while True:
            page = self.recorder.select_notifications(
                start=start, limit=500, topics=sorted(ERASED_TOPICS)
            )
            for notification in page:
                records.extend(self.mapper.to_domain_event(notification).records)
            if len(page) < 500:
                return records
            start = page[-1].id + 1

    def erase_personal_data(
        self, *, subject_ids: list[str], records: list[str], plaintext_remains: list[str],
        reason: str, actor: str,
    ) -> UUID:
        """Record an erasure; its subjects' keys are deleted in the same transaction."""
        erasure = PersonalDataErasure.erase(
            subject_ids=subject_ids, records=records, plaintext_remains=plaintext_remains,
            reason=reason, actor=actor,
        )
        self.save(erasure)
        self.personal_data.forget(subject_ids)  # already done in the transaction, but in memory
        return erasure.id

    def reject_payout(self, round_id: UUID, payout_id: str, *, reason: str, actor: str) -> None:
        self._on_round(
            round_id, lambda r: r.reject_payout(payout_id=payout_id, reason=reason, actor=actor)
        )

    def mark_payout_paid(
        self,
        round_id: UUID,
        payout_id: str,
        *,
        bank_reference: str,
        paid_on: date | None = None,
        actor: str,
    ) -> None:
        self._on_round(
            round_id,
            lambda r: r.mark_payout_paid(
                payout_id=payout_id, bank_reference=bank_reference, paid_on=paid_on, actor=actor
            ),
        )

    def reverse_payout(self, round_id: UUID, payout_id: str, *, reason: str, actor: str) -> None:
        self._on_round(
            round_id, lambda r: r.reverse_payout(payout_id=payout_id, reason=reason, actor=actor)
        )

    def record_bank_payment(
        self, round_id: UUID, payout_id: str, *, bank_reference: str, paid_on: date, actor: str
    ) -> None:
        """Mark a payout paid as the bank's statement shows it (no second official needed)."""
        self._on_round(
            round_id,
            lambda r: r.record_bank_payment(
                payout_id=payout_id, bank_reference=bank_reference, paid_on=paid_on, actor=actor
            ),
        )

    # -- payment batches ----------------------------------------------------------------------

    def export_payment_batch(
        self, round_id: UUID, *, execution_date: str, debtor_name: str, debtor_iban: str,
        actor: str,
    ) -> str:
        """Batch every approved payout not yet in a batch for a SEPA transfer; returns its id.

        An empty `debtor_name` or `debtor_iban` is taken from the municipality's paying account.
        """
        if not (debtor_name and debtor_iban):
            municipality_id = self._get(round_id, BudgetRound, "round", copy=False).municipality_id
            account = self.paying_account(municipality_id)
            if account is None:
                # The request is well-formed; the municipality is not ready for it yet.
                raise Conflict(
                    "the municipality has no paying account: set it, or give the debtor's "
                    "name and IBAN with the batch"
                )
            debtor_name = debtor_name or account["name"]
            debtor_iban = debtor_iban or account["iban"]
        created_at = datetime.now(UTC).replace(microsecond=0).isoformat()
        return self._on_round(
            round_id,
            lambda r: r.export_payment_batch(
                execution_date=execution_date, debtor_name=debtor_name, debtor_iban=debtor_iban,
                created_at=created_at, actor=actor,
                payees_erased=self._payees_erased(r, r.payable_payouts()),
            ),
        )

    def cancel_payment_batch(
        self, round_id: UUID, batch_id: str, *, reason: str, actor: str
    ) -> None:
        self._on_round(
            round_id,
            lambda r: r.cancel_payment_batch(batch_id=batch_id, reason=reason, actor=actor),
        )
