"""A budget round of one neighbourhood: its phases, its money and its decision.

The round is the consistency boundary for money: deposits, reservations for winners, payouts and
returns are all events of this one aggregate, so optimistic concurrency on the round decides every
race for the last euro, and the invariants below are checked against one consistent state:

- the round never reserves more than was deposited (and not returned);
- a proposal is never paid beyond its reservation (pending + paid <= reserved).
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.balance import Balance
from domain.eligibility import EligibilityRules
from domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from domain.event_topics import keep_module_path_topics
from domain.money import format_euros, require_cents
from domain.personal_data import DataSubject, PersonalDataSealer, plain_envelope
from domain.voting import VotingSettings

PHASES = ("submission", "review", "voting", "decided", "execution", "closed")
AFTER_VOTING = ("decided", "execution", "closed")
PAYOUT_KINDS = ("invoice", "advance")
# Iv3 task field "Samenkracht en burgerparticipatie": where residents' budgets belong, unless
# the round says otherwise. Iv3 task fields are a digit, a dot and one or two digits (0.10, 6.72).
DEFAULT_TASK_FIELD = "6.1"
IV3_TASK_FIELD = re.compile(r"^[0-8]\.[0-9]{1,2}$")
# Each code issued is a ballot event written in the batch's one transaction, so a batch is kept
# to what both stores write in seconds: PostgreSQL (psycopg's pipeline) took 5 s for 30,000 and
# stalled for good on one transaction of 40,000 events.
MAX_CODES_PER_BATCH = 20_000


def check_schedule(schedule: dict[str, str] | None) -> dict[str, str]:
    """Return a schedule (phase -> ISO start date) whose dates do not run backwards."""
    schedule = dict(schedule or {})
    unknown = sorted(set(schedule) - set(PHASES))
    if unknown:
        raise RuleViolation(f"unknown phase(s) in schedule: {', '.join(unknown)}", field="schedule")
    previous: tuple[str, date] | None = None
    for phase in PHASES:
        if phase not in schedule:
            continue
        try:
            starts = date.fromisoformat(schedule[phase])
        except (TypeError, ValueError):
            raise RuleViolation(
                f"schedule.{phase} must be a date like 2026-03-01", field="schedule"
            ) from None
        if previous and starts < previous[1]:
            raise RuleViolation(
                f"schedule.{phase} ({starts}) is before schedule.{previous[0]} ({previous[1]})",
                field="schedule",
            )
        previous = (phase, starts)
    return schedule


def check_text(value: object, *, field: str, max_length: int, required: bool = True) -> str:
    """Return trimmed text, or raise if it is missing or too long."""
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise RuleViolation(f"{field} must not be empty", field=field)
    if len(value) > max_length:
        raise RuleViolation(f"{field} must be at most {max_length} characters", field=field)
    return value.strip()


class BudgetRound(Aggregate):
    """One round of a neighbourhood's residents' budget, from submissions to closing."""

    TOPIC = "buurtbudget/BudgetRound"

    class Created(Aggregate.Created):  # the library's; never stored, but it must have a topic
        TOPIC = "buurtbudget/BudgetRound.Created"

    @classmethod
    def open(
        cls,
        *,
        municipality_id: UUID,
        neighbourhood_id: UUID,
        title: str,
        description: str,
        schedule: dict[str, str] | None,
        voting: dict[str, Any] | None,
        lot_seed: str,
        actor: str,
    ) -> BudgetRound:
        return cls(
            municipality_id=municipality_id,
            neighbourhood_id=neighbourhood_id,
            title=check_text(title, field="title", max_length=200),
            description=check_text(description, field="description", max_length=5000, required=False),
            schedule=check_schedule(schedule),
            voting=VotingSettings.from_dict(voting).to_dict(),
            lot_seed=lot_seed,
            actor=actor,
        )

    @event("Opened", topic="buurtbudget/BudgetRound.Opened")
    def __init__(
        self,
        *,
        municipality_id: UUID,
        neighbourhood_id: UUID,
        title: str,
        description: str,
        schedule: dict[str, str],
        voting: dict[str, Any],
        lot_seed: str,
        actor: str,
    ) -> None:
        self.municipality_id = municipality_id
        self.neighbourhood_id = neighbourhood_id
        self.title = title
        self.description = description
        self.schedule = schedule
        self.voting = voting
        self.lot_seed = lot_seed
        self.phase = "submission"
        self.proposals: dict[str, dict[str, Any]] = {}  # id -> status and ballot cost
        self.balance = Balance()
        self.deposit_ids: set[str] = set()
        self.ballot_costs: dict[str, int] = {}  # proposal id -> cost, frozen when voting opens
        self.codes_issued = 0
        self.tallies: dict[str, dict[str, Any]] = {}
        self.tally_recorded_by: dict[str, str] = {}  # tally id -> the official who recorded it
        self.confirmed_tally_id: str | None = None
        self.winner_balances: dict[str, Balance] = {}  # proposal id -> its reservation's money
        self.completed: set[str] = set()
        self.payouts: dict[str, dict[str, Any]] = {}
        self.payment_batches: dict[str, dict[str, Any]] = {}
        self.task_field = DEFAULT_TASK_FIELD

    # -- state derived from the events -------------------------------------------------------

    @property
    def settings(self) -> VotingSettings:
        return VotingSettings.from_dict(self.voting)

    @property
    def deposited(self) -> int:
        return self.balance.deposited

    @property
    def returned(self) -> int:
        return self.balance.returned

    @property
    def reserved(self) -> dict[str, int]:
        """proposal id -> amount reserved for it (what was paid out of it included)."""
        return {pid: balance.reserved for pid, balance in self.winner_balances.items()}

    def paid(self, proposal_id: str) -> int:
        return self.winner_balances.get(proposal_id, Balance()).paid

    def pending(self, proposal_id: str) -> int:
        return self.winner_balances.get(proposal_id, Balance()).pending

    @property
    def total_reserved(self) -> int:
        return self.balance.reserved

    @property
    def available(self) -> int:
        """Money deposited and neither reserved for a winner nor returned."""
        return self.balance.available

    @property
    def total_paid(self) -> int:
        return self.balance.paid

    def _move_payout_money(self, proposal_id: str, move: str, amount: int) -> None:
        """Move a payout's money on the round's balance and on its winner's alike."""
        self.balance = getattr(self.balance, move)(amount)
        self.winner_balances[proposal_id] = getattr(self.winner_balances[proposal_id], move)(amount)

    # -- guards -------------------------------------------------------------------------------

    def check_phase(self, *phases: str, doing: str) -> None:
        if self.phase not in phases:
            raise Conflict(
                f"cannot {doing} while the round is in phase '{self.phase}' "
                f"(allowed in: {', '.join(phases)})"
            )

    def _payout(self, payout_id: str) -> dict[str, Any]:
        try:
            return self.payouts[payout_id]
        except KeyError:
            raise NotFound(f"payout {payout_id} not found in this round") from None

    # -- set-up -------------------------------------------------------------------------------

    def change_settings(
        self, *, schedule: dict[str, str] | None, voting: dict[str, Any] | None, actor: str
    ) -> bool:
        """Change the schedule (until closed) or the voting rules (only before voting opens).

        Like a PATCH: the rules named change, the others stay as they were. Settings that are
        already as asked are no change at all, in any phase: False, and no event (a client that
        repeats its request gets the same answer, not a conflict or a second event).
        """
        if self._settings_unchanged(schedule, voting):
            return False
        self.check_phase(*PHASES[:-1], doing="change the settings")
        if voting is not None:
            self.check_phase("submission", "review", doing="change the voting rules")
        new_schedule = (
            check_schedule({**self.schedule, **schedule}) if schedule is not None else self.schedule
        )
        new_voting = (
            VotingSettings.from_dict({**self.voting, **voting}).to_dict()
            if voting is not None else self.voting
        )
        if new_schedule == self.schedule and new_voting == self.voting:
            return False
        self._settings_changed(schedule=new_schedule, voting=new_voting, actor=actor)
        return True

    def _settings_unchanged(
        self, schedule: dict[str, str] | None, voting: dict[str, Any] | None
    ) -> bool:
        """Every setting named already has the value asked (nothing named: nothing to change)."""
        return all(
            self.schedule.get(phase) == value for phase, value in (schedule or {}).items()
        ) and all(self.voting.get(rule) == value for rule, value in (voting or {}).items())

    @event("SettingsChanged", topic="buurtbudget/BudgetRound.SettingsChanged")
    def _settings_changed(self, *, schedule: dict[str, str], voting: dict[str, Any], actor: str) -> None:
        self.schedule = schedule
        self.voting = voting

    def set_task_field(self, *, task_field: str, actor: str) -> bool:
        """Book the round's money from now on under this Iv3 task field; False if it already is.

        Lines booked before keep the task field they were booked under: the ledger is never edited.
        """
        self.check_phase(*PHASES[:-1], doing="change the task field")
        if not isinstance(task_field, str) or not IV3_TASK_FIELD.match(task_field.strip()):
            raise RuleViolation(
                "an Iv3 task field looks like 6.1 or 0.10", field="task_field"
            )
        if task_field.strip() == self.task_field:
            return False
        self._task_field_set(task_field=task_field.strip(), actor=actor)
        return True

    @event("TaskFieldSet", topic="buurtbudget/BudgetRound.TaskFieldSet")
    def _task_field_set(self, *, task_field: str, actor: str) -> None:
        self.task_field = task_field

    def deposit(self, *, deposit_id: str, amount: int, source: str, reference: str, actor: str) -> None:
        """Put money into the round from a named source (municipal budget, fund, sponsor)."""
        self.check_phase(*PHASES[:-1], doing="deposit funds")
        if deposit_id in self.deposit_ids:
            raise Conflict(f"deposit {deposit_id} was already recorded")
        require_cents(amount, field="amount")
        source = check_text(source, field="source", max_length=200)
        reference = check_text(reference, field="reference", max_length=200, required=False)
        self._funds_deposited(
            deposit_id=deposit_id, amount=amount, source=source, reference=reference, actor=actor
        )

    @event("FundsDeposited", topic="buurtbudget/BudgetRound.FundsDeposited")
    def _funds_deposited(
        self, *, deposit_id: str, amount: int, source: str, reference: str, actor: str
    ) -> None:
        self.balance = self.balance.deposit(amount)
        self.deposit_ids.add(deposit_id)

    # -- proposals and voting -----------------------------------------------------------------

    def receive_proposal(self, *, proposal_id: UUID, amount: int) -> None:
        """Register a newly submitted proposal; only while submissions are open."""
        self.check_phase("submission", doing="submit a proposal")
        self._proposal_received(proposal_id=proposal_id, amount=amount, actor="resident")

    @event("ProposalReceived", topic="buurtbudget/BudgetRound.ProposalReceived")
    def _proposal_received(self, *, proposal_id: UUID, amount: int, actor: str) -> None:
        self.proposals[str(proposal_id)] = {"status": "submitted", "amount": amount}

    # The round keeps each proposal's review outcome so that the ballot it freezes, and the race
    # between a late review and opening the vote, are decided on the round alone.
    def note_review(self, *, proposal_id: UUID, status: str, amount: int) -> None:
        self.check_phase("submission", "review", doing="review or withdraw a proposal")
        if str(proposal_id) not in self.proposals:
            raise NotFound(f"proposal {proposal_id} is not part of this round")
        self._proposal_reviewed(proposal_id=proposal_id, status=status, amount=amount)

    @event("ProposalReviewed", topic="buurtbudget/BudgetRound.ProposalReviewed")
    def _proposal_reviewed(self, *, proposal_id: UUID, status: str, amount: int) -> None:
        self.proposals[str(proposal_id)] = {"status": status, "amount": amount}

    def close_submissions(self, *, actor: str) -> None:
        self.check_phase("submission", doing="close submissions")
        self._submissions_closed(actor=actor)

    @event("SubmissionsClosed", topic="buurtbudget/BudgetRound.SubmissionsClosed")
    def _submissions_closed(self, *, actor: str) -> None:
        self.phase = "review"

    def open_voting(self, *, actor: str) -> dict[str, int]:
        """Freeze the rules and put the admitted proposals on the ballot at their reviewed cost."""
        self.check_phase("review", doing="open voting")
        unreviewed = sorted(pid for pid, p in self.proposals.items() if p["status"] == "submitted")
        if unreviewed:
            raise Conflict(f"review these proposals first: {', '.join(unreviewed)}")
        admitted = {pid: p["amount"] for pid, p in self.proposals.items() if p["status"] == "admitted"}
        if not admitted:
            raise Conflict("no admitted proposals: there is nothing to vote on")
        if self.settings.min_choices > len(admitted):
            raise Conflict(
                f"the rules ask for at least {self.settings.min_choices} choices "
                f"but only {len(admitted)} proposals are admitted"
            )
        self._voting_opened(ballot=admitted, actor=actor)
        return dict(admitted)

    @event("VotingOpened", topic="buurtbudget/BudgetRound.VotingOpened")
    def _voting_opened(self, *, ballot: dict[str, int], actor: str) -> None:
        self.phase = "voting"
        self.ballot_costs = ballot

    def issue_codes(self, *, batch_id: str, count: int, actor: str) -> None:
        """Record that `count` more voting codes were issued (the codes themselves are not kept)."""
        self.check_phase("submission", "review", "voting", doing="issue voting codes")
        if not isinstance(count, int) or isinstance(count, bool) or not (
            1 <= count <= MAX_CODES_PER_BATCH
        ):
            raise RuleViolation(
                f"count must be between 1 and {MAX_CODES_PER_BATCH}; issue more in several batches",
                field="count",
            )
        self._codes_issued(batch_id=batch_id, count=count, actor=actor)

    @event("VotingCodesIssued", topic="buurtbudget/BudgetRound.VotingCodesIssued")
    def _codes_issued(self, *, batch_id: str, count: int, actor: str) -> None:
        self.codes_issued += count

    # Rounds opened before registers existed have neither rules nor enrolled voters.
    eligibility: dict[str, Any] | None = None
    eligible = 0
    paper_ballots = 0

    def set_eligibility(self, *, rules: dict[str, Any], actor: str) -> None:
        """Who may vote: fixed once a register has been turned into codes."""
        self.check_phase("submission", "review", "voting", doing="set who may vote")
        if self.eligible:
            raise Conflict(
                "codes were already issued from a register under the current rules; "
                "they cannot change for the residents still to come"
            )
        checked = EligibilityRules.from_dict(rules).to_dict()
        self._eligibility_set(**checked, actor=actor)

    @event("EligibilitySet", topic="buurtbudget/BudgetRound.EligibilitySet")
    def _eligibility_set(
        self, *, minimum_age: int, reference_date: str, postcodes: list[str], actor: str
    ) -> None:
        self.eligibility = {
            "minimum_age": minimum_age, "reference_date": reference_date, "postcodes": postcodes,
        }

    def eligibility_rules(self) -> EligibilityRules:
        if self.eligibility is None:
            raise Conflict("set who may vote (minimum age, postcodes) before importing a register")
        return EligibilityRules.from_dict(self.eligibility)

    def import_register(self, *, batch_id: str, enrolled: int, actor: str) -> None:
        """Record that `enrolled` more eligible residents got a code from a register."""
        self.check_phase("submission", "review", "voting", doing="issue voting codes")
        self.eligibility_rules()
        if not isinstance(enrolled, int) or isinstance(enrolled, bool) or not (
            0 <= enrolled <= MAX_CODES_PER_BATCH
        ):
            raise RuleViolation(f"a register batch enrols 0 to {MAX_CODES_PER_BATCH} residents")
        self._register_imported(batch_id=batch_id, enrolled=enrolled, actor=actor)

    @event("RegisterImported", topic="buurtbudget/BudgetRound.RegisterImported")
    def _register_imported(self, *, batch_id: str, enrolled: int, actor: str) -> None:
        self.eligible += enrolled
        self.codes_issued += enrolled

    def count_paper_ballots(self, *, batch_id: str, count: int, actor: str) -> None:
        """Record that a confirmed batch of paper ballots was cast (in the same transaction)."""
        self.check_accepts_ballots()
        self._paper_ballots_counted(batch_id=batch_id, count=count, actor=actor)

    @event("PaperBallotsCounted", topic="buurtbudget/BudgetRound.PaperBallotsCounted")
    def _paper_ballots_counted(self, *, batch_id: str, count: int, actor: str) -> None:
        # Written with the ballots, so that closing the vote and counting a batch are ordered by
        # the round's own version: a batch confirmed as voting closes is refused, not lost.
        self.paper_ballots += count

    def check_accepts_ballots(self) -> None:
        if self.phase != "voting":
            raise Conflict(f"voting is not open (the round is in phase '{self.phase}')")

    def close_voting(self, *, actor: str) -> None:
        self.check_phase("voting", doing="close voting")
        self._voting_closed(actor=actor)

    @event("VotingClosed", topic="buurtbudget/BudgetRound.VotingClosed")
    def _voting_closed(self, *, actor: str) -> None:
        self.phase = "decided"

    # -- decision -----------------------------------------------------------------------------

    def record_tally(self, *, tally_id: str, result: dict[str, Any], actor: str) -> None:
        """Record a computed tally (rule, winners, counts, ballot digest); confirmed separately."""
        self.check_phase("decided", doing="run the tally")
        if self.confirmed_tally_id is not None:
            raise Conflict("the result is already confirmed")
        for winner in result.get("winners", []):
            if self.ballot_costs.get(winner["proposal_id"]) != winner["cost"]:
                raise RuleViolation(
                    f"winner {winner['proposal_id']} is not on the ballot at cost {winner['cost']}"
                )
        self._tally_recorded(tally_id=tally_id, result=result, actor=actor)

    @event("TallyRecorded", topic="buurtbudget/BudgetRound.TallyRecorded")
    def _tally_recorded(self, *, tally_id: str, result: dict[str, Any], actor: str) -> None:
        self.tallies[tally_id] = result
        self.tally_recorded_by[tally_id] = actor

    def confirm_tally(self, *, tally_id: str, actor: str) -> dict[str, int]:
        """Reserve funds for each winner of a recorded tally; returns proposal id -> amount."""
        self.check_phase("decided", doing="confirm the result")
        if tally_id not in self.tallies:
            raise NotFound(f"tally {tally_id} not found in this round")
        if tally_id != list(self.tallies)[-1]:
            raise Conflict("only the latest tally can be confirmed")
        if self.tally_recorded_by[tally_id] == actor:
            raise Forbidden(
                "a different official than the one who recorded the tally must confirm it"
            )
        winners = {w["proposal_id"]: w["cost"] for w in self.tallies[tally_id]["winners"]}
        total = sum(winners.values())
        if total > self.available:
            raise RuleViolation(
                f"the winners need {format_euros(total)} but only "
                f"{format_euros(self.available)} is available"
            )
        self._tally_confirmed(tally_id=tally_id, reservations=winners, actor=actor)
        return winners

    @event("TallyConfirmed", topic="buurtbudget/BudgetRound.TallyConfirmed")
    def _tally_confirmed(self, *, tally_id: str, reservations: dict[str, int], actor: str) -> None:
        self.confirmed_tally_id = tally_id
        for proposal_id, amount in reservations.items():
            self.winner_balances[proposal_id] = Balance().reserve(amount)
        self.balance = self.balance.reserve(sum(reservations.values()))
        self.phase = "execution"

    # -- payouts ------------------------------------------------------------------------------

    def request_payout(
        self,
        *,
        payout_id: str,
        proposal_id: str,
        amount: int,
        payee_name: str,
        iban: str,
        kind: str,
        reference: str,
        description: str,
        actor: str,
        personal_data: PersonalDataSealer,
    ) -> None:
        """Ask to pay part of a winner's reservation to a payee; a second official must approve.

        The payee's name and IBAN are sealed under the key of the IBAN's holder
        (`domain/personal_data.py`).
        """
        self.check_phase("execution", doing="request a payout")
        if payout_id in self.payouts:
            raise Conflict(f"payout {payout_id} already exists")
        require_cents(amount, field="amount")
        if kind not in PAYOUT_KINDS:
            raise RuleViolation(f"kind must be one of {', '.join(PAYOUT_KINDS)}", field="kind")
        if proposal_id not in self.winner_balances:
            raise Conflict("this proposal has no funds reserved in this round")
        if proposal_id in self.completed:
            raise Conflict("this proposal is completed; its unspent funds went back to the round")
        room = self.winner_balances[proposal_id].requestable
        if amount > room:
            raise RuleViolation(
                f"the payout of {format_euros(amount)} exceeds what is left of the proposal's "
                f"reservation ({format_euros(room)})",
                field="amount",
            )
        payee_name = check_text(payee_name, field="payee_name", max_length=140)
        if not isinstance(iban, str) or not iban.strip():
            raise RuleViolation("the payout needs the payee's IBAN", field="iban")
        payee = DataSubject.payee(iban)
        self._payout_requested(
            payout_id=payout_id,
            proposal_id=proposal_id,
            amount=amount,
            payee_name_sealed=personal_data.seal(payee, "payee_name", payee_name),
            iban_sealed=personal_data.seal(payee, "iban", payee.identifier),
            kind=kind,
            reference=check_text(reference, field="reference", max_length=140),
            description=check_text(description, field="description", max_length=140, required=False),
            actor=actor,
        )

    class PayoutRequested(Aggregate.Event):
        """A payout to a payee was requested.

        Version 2 holds the payee's name and IBAN sealed (`payee_name_sealed`, `iban_sealed`)
        instead of in plaintext (`payee_name`, `iban`); events stored as version 1 read with
        their plaintext in `plain:` envelopes.
        """

        TOPIC = "buurtbudget/BudgetRound.PayoutRequested"
        class_version = 2

        payout_id: str
        proposal_id: str
        amount: int
        payee_name_sealed: str
        iban_sealed: str
        kind: str
        reference: str
        description: str
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["payee_name_sealed"] = plain_envelope(state.pop("payee_name"))
            state["iban_sealed"] = plain_envelope(state.pop("iban"))

    @event(PayoutRequested)
    def _payout_requested(
        self,
        *,
        payout_id: str,
        proposal_id: str,
        amount: int,
        payee_name_sealed: str,
        iban_sealed: str,
        kind: str,
        reference: str,
        description: str,
        actor: str,
    ) -> None:
        self.payouts[payout_id] = {
            "proposal_id": proposal_id,
            "amount": amount,
            "status": "requested",
            "requested_by": actor,
            "approved_by": None,
            "iban_sealed": iban_sealed,  # a batch for the bank is refused once it is erased
        }
        self._move_payout_money(proposal_id, "request_payout", amount)

    @staticmethod
    def _payout_facts(payout: dict[str, Any]) -> dict[str, Any]:
        # Every payout event names its proposal and amount, so read models and auditors can
        # follow a euro without joining back to the request.
        return {"proposal_id": payout["proposal_id"], "amount": payout["amount"]}

    def _check_second_official(self, payout: dict[str, Any], actor: str, doing: str) -> None:
        if payout["requested_by"] == actor:
            raise Forbidden(f"a different official than the one who requested it must {doing} a payout")

    def _check_neither_requester_nor_approver(self, payout: dict[str, Any], actor: str) -> None:
        if actor in (payout["requested_by"], payout["approved_by"]):
            raise Forbidden(
                "a payout must be marked paid by a different official than the ones who "
                "requested and approved it"
            )

    def _check_payout_status(self, payout: dict[str, Any], status: str, doing: str) -> None:
        if payout["status"] != status:
            raise Conflict(f"cannot {doing} a payout that is {payout['status']}")

    def approve_payout(self, *, payout_id: str, actor: str) -> None:
        payout = self._payout(payout_id)
        self._check_payout_status(payout, "requested", "approve")
        self._check_second_official(payout, actor, "approve")
        self._payout_approved(payout_id=payout_id, **self._payout_facts(payout), actor=actor)

    @event("PayoutApproved", topic="buurtbudget/BudgetRound.PayoutApproved")
    def _payout_approved(
        self, *, payout_id: str, proposal_id: str, amount: int, actor: str
    ) -> None:
        self.payouts[payout_id].update(status="approved", approved_by=actor)

    def reject_payout(self, *, payout_id: str, reason: str, actor: str) -> None:
        payout = self._payout(payout_id)
        self._check_payout_status(payout, "requested", "reject")
        self._check_second_official(payout, actor, "reject")
        reason = check_text(reason, field="reason", max_length=1000)
        self._payout_rejected(
            payout_id=payout_id, **self._payout_facts(payout), reason=reason, actor=actor
        )

    @event("PayoutRejected", topic="buurtbudget/BudgetRound.PayoutRejected")
    def _payout_rejected(
        self, *, payout_id: str, proposal_id: str, amount: int, reason: str, actor: str
    ) -> None:
        self.payouts[payout_id]["status"] = "rejected"
        self._move_payout_money(proposal_id, "reject_payout", amount)

    def mark_payout_paid(
        self, *, payout_id: str, bank_reference: str, paid_on: date | None = None, actor: str
    ) -> None:
        """Record that the bank paid an approved payout, on `paid_on` when that date is known."""
        payout = self._payout(payout_id)
        self._check_payout_status(payout, "approved", "mark as paid")
        self._check_neither_requester_nor_approver(payout, actor)
        bank_reference = check_text(bank_reference, field="bank_reference", max_length=140)
        self._payout_paid(
            payout_id=payout_id, **self._payout_facts(payout), bank_reference=bank_reference,
            paid_on=None if paid_on is None else paid_on.isoformat(), actor=actor,
        )

    def record_bank_payment(
        self, *, payout_id: str, bank_reference: str, paid_on: date, actor: str
    ) -> None:
        """Record a payment the bank's own statement shows booked on `paid_on`.

        The statement is the second pair of eyes here, so the official who imports it may be
        the one who requested or approved the payout.
        """
        payout = self._payout(payout_id)
        self._check_payout_status(payout, "approved", "mark as paid")
        bank_reference = check_text(bank_reference, field="bank_reference", max_length=140)
        self._payout_paid(
            payout_id=payout_id, **self._payout_facts(payout), bank_reference=bank_reference,
            paid_on=paid_on.isoformat(), actor=actor,
        )

    class PayoutPaid(Aggregate.Event):
        """The bank paid an approved payout.

        Version 2 added `paid_on`, the bank's booking date (ISO) when it is known; events stored
        as version 1 did not say, and read as `paid_on` None.
        """

        TOPIC = "buurtbudget/BudgetRound.PayoutPaid"
        class_version = 2

        payout_id: str
        proposal_id: str
        amount: int
        bank_reference: str
        paid_on: str | None
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["paid_on"] = None

    @event(PayoutPaid)
    def _payout_paid(
        self,
        *,
        payout_id: str,
        proposal_id: str,
        amount: int,
        bank_reference: str,
        paid_on: str | None,
        actor: str,
    ) -> None:
        self.payouts[payout_id]["status"] = "paid"
        self._move_payout_money(proposal_id, "pay", amount)

    def reverse_payout(self, *, payout_id: str, reason: str, actor: str) -> None:
        """Undo a paid payout (returned by the bank, paid in error); the money is reserved again."""
        payout = self._payout(payout_id)
        self._check_payout_status(payout, "paid", "reverse")
        if payout["proposal_id"] in self.completed:
            raise Conflict("the proposal is completed; reverse payouts before completing it")
        reason = check_text(reason, field="reason", max_length=1000)
        self._payout_reversed(
            payout_id=payout_id, **self._payout_facts(payout), reason=reason, actor=actor
        )

    @event("PayoutReversed", topic="buurtbudget/BudgetRound.PayoutReversed")
    def _payout_reversed(
        self, *, payout_id: str, proposal_id: str, amount: int, reason: str, actor: str
    ) -> None:
        self.payouts[payout_id]["status"] = "reversed"
        self._move_payout_money(proposal_id, "reverse_payout", amount)

    # -- payment batches (SEPA credit transfers) -----------------------------------------------

    def payable_payouts(self) -> list[str]:
        """Approved payouts that are not in an exported batch, in the order they were requested."""
        return [
            payout_id for payout_id, p in self.payouts.items()
            if p["status"] == "approved" and not p.get("batch_id")
        ]

    def export_payment_batch(
        self, *, execution_date: str, debtor_name: str, debtor_iban: str, created_at: str,
        actor: str, payees_erased: Collection[str] = (),
    ) -> str:
        """Put every payable payout into one credit-transfer batch; returns the batch's id.

        The id is also the file's message id: it is derived from the batch's contents and its
        number in the round, so the same batch always renders the same file, and a batch that
        replaces a cancelled one still gets a message id of its own. Payouts in `payees_erased`
        (whose payee's name and IBAN were erased) cannot be paid and stay out.
        """
        self.check_phase("execution", doing="export a payment batch")
        erased = [p for p in self.payable_payouts() if p in payees_erased]
        payout_ids = [p for p in self.payable_payouts() if p not in payees_erased]
        if not payout_ids and erased:
            raise Conflict(
                f"payouts {', '.join(erased)} cannot be paid: their payee's personal data was "
                "erased"
            )
        if not payout_ids:
            raise Conflict("there are no approved payouts outside an exported payment batch")
        try:
            date.fromisoformat(execution_date)
        except (TypeError, ValueError):
            raise RuleViolation(
                "execution_date must be a date like 2026-06-01", field="execution_date"
            ) from None
        debtor_name = check_text(debtor_name, field="debtor_name", max_length=70)
        payouts = [{"payout_id": p, "amount": self.payouts[p]["amount"]} for p in payout_ids]
        contents = "|".join([
            str(self.id), str(len(self.payment_batches) + 1), execution_date, debtor_iban,
            *(f"{p['payout_id']}:{p['amount']}" for p in payouts),
        ])
        batch_id = "BB" + hashlib.sha256(contents.encode()).hexdigest()[:30]
        self._payment_batch_exported(
            batch_id=batch_id, payouts=payouts, total=sum(p["amount"] for p in payouts),
            execution_date=execution_date, debtor_name=debtor_name, debtor_iban=debtor_iban,
            created_at=created_at, actor=actor,
        )
        return batch_id

    @event("PaymentBatchExported", topic="buurtbudget/BudgetRound.PaymentBatchExported")
    def _payment_batch_exported(
        self, *, batch_id: str, payouts: list[dict[str, Any]], total: int, execution_date: str,
        debtor_name: str, debtor_iban: str, created_at: str, actor: str,
    ) -> None:
        self.payment_batches[batch_id] = {
            "payouts": payouts, "total": total, "execution_date": execution_date,
            "debtor_name": debtor_name, "debtor_iban": debtor_iban, "created_at": created_at,
            "cancelled": False,
        }
        for payout in payouts:
            self.payouts[payout["payout_id"]]["batch_id"] = batch_id

    def payment_batch(self, batch_id: str) -> dict[str, Any]:
        try:
            return self.payment_batches[batch_id]
        except KeyError:
            raise NotFound(f"payment batch {batch_id} not found in this round") from None

    def cancel_payment_batch(self, *, batch_id: str, reason: str, actor: str) -> None:
        """Withdraw a batch the bank did not execute; its unpaid payouts can be batched again."""
        batch = self.payment_batch(batch_id)
        if batch["cancelled"]:
            raise Conflict(f"payment batch {batch_id} is already cancelled")
        reason = check_text(reason, field="reason", max_length=1000)
        self._payment_batch_cancelled(batch_id=batch_id, reason=reason, actor=actor)

    @event("PaymentBatchCancelled", topic="buurtbudget/BudgetRound.PaymentBatchCancelled")
    def _payment_batch_cancelled(self, *, batch_id: str, reason: str, actor: str) -> None:
        batch = self.payment_batches[batch_id]
        batch["cancelled"] = True
        for payout in batch["payouts"]:
            self.payouts[payout["payout_id"]].pop("batch_id", None)

    # -- completion and closing ---------------------------------------------------------------

    def release_unspent(self, *, proposal_id: str, actor: str) -> int:
        """On a proposal's completion, give its unspent reservation back to the round."""
        self.check_phase("execution", doing="complete a proposal")
        if proposal_id not in self.winner_balances:
            raise Conflict("this proposal has no funds reserved in this round")
        if proposal_id in self.completed:
            raise Conflict("this proposal is already completed")
        if self.pending(proposal_id):
            raise Conflict("decide on its pending payouts first")
        unspent = self.winner_balances[proposal_id].unspent_reservation
        self._unspent_released(proposal_id=proposal_id, amount=unspent, actor=actor)
        return unspent

    @event("UnspentReleased", topic="buurtbudget/BudgetRound.UnspentReleased")
    def _unspent_released(self, *, proposal_id: str, amount: int, actor: str) -> None:
        self.winner_balances[proposal_id] = self.winner_balances[proposal_id].release(amount)
        self.balance = self.balance.release(amount)
        self.completed.add(proposal_id)

    def close(self, *, destination: str, actor: str) -> int:
        """Close the round and return every euro not paid out to `destination`; returns the amount."""
        self.check_phase("execution", doing="close the round")
        open_ = sorted(set(self.winner_balances) - self.completed)
        if open_:
            raise Conflict(f"complete these proposals first: {', '.join(open_)}")
        destination = check_text(destination, field="destination", max_length=200)
        unspent = self.balance.unspent
        self._closed(returned=unspent, destination=destination, actor=actor)
        return unspent

    @event("Closed", topic="buurtbudget/BudgetRound.Closed")
    def _closed(self, *, returned: int, destination: str, actor: str) -> None:
        self.balance = self.balance.give_back(returned)
        self.phase = "closed"


keep_module_path_topics(BudgetRound, "domain.budget_round:BudgetRound", (
    "Opened", "SettingsChanged", "FundsDeposited", "ProposalReceived", "ProposalReviewed",
    "SubmissionsClosed", "VotingOpened", "VotingCodesIssued", "VotingClosed", "TallyRecorded",
    "TallyConfirmed", "PayoutRequested", "PayoutApproved", "PayoutRejected", "PayoutPaid",
    "PayoutReversed", "UnspentReleased", "Closed",
))
