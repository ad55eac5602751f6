"""A residents' initiative: submitted with a cost estimate, reviewed, voted on, funded, completed."""
from __future__ import annotations

import hmac
import re
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.budget_round import BudgetRound, check_text
from domain.errors import Conflict, Forbidden, RuleViolation
from domain.event_topics import keep_module_path_topics
from domain.money import require_cents
from domain.personal_data import DataSubject, PersonalDataSealer, plain_envelope

STATUSES = ("submitted", "admitted", "rejected", "withdrawn", "funded", "not_selected", "completed")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_COST_LINES = 50


def check_cost_lines(cost_lines: object) -> list[dict[str, Any]]:
    """Return cost lines [{description, amount}] with amounts in cents; at least one line."""
    if not isinstance(cost_lines, list) or not cost_lines:
        raise RuleViolation("give at least one cost line", field="cost_lines")
    if len(cost_lines) > MAX_COST_LINES:
        raise RuleViolation(f"at most {MAX_COST_LINES} cost lines", field="cost_lines")
    checked = []
    for number, line in enumerate(cost_lines, start=1):
        if not isinstance(line, dict):
            raise RuleViolation(f"cost line {number} must be an object", field="cost_lines")
        checked.append({
            "description": check_text(
                line.get("description"), field=f"cost_lines[{number}].description", max_length=200
            ),
            "amount": require_cents(line.get("amount"), field=f"cost_lines[{number}].amount"),
        })
    return checked


class Proposal(Aggregate):
    """An initiative proposed by residents for one budget round."""

    TOPIC = "buurtbudget/Proposal"

    class Created(Aggregate.Created):  # the library's; never stored, but it must have a topic
        TOPIC = "buurtbudget/Proposal.Created"

    @classmethod
    def submit(
        cls,
        *,
        budget_round: BudgetRound,
        title: str,
        summary: str,
        description: str,
        category: str,
        cost_lines: list[dict[str, Any]],
        proposer_name: str,
        proposer_email: str,
        proposer_key_hash: str,
        personal_data: PersonalDataSealer,
        reference: str = "",
    ) -> Proposal:
        """Submit to an open round; the round registers the proposal in the same transaction.

        `reference` is an optional outside identifier (a municipal case number, a pabulib
        project id) that exports carry along. The proposer's name and e-mail address are sealed
        under the key of the proposer's e-mail address (`domain/personal_data.py`).
        """
        budget_round.check_phase("submission", doing="submit a proposal")
        lines = check_cost_lines(cost_lines)
        email = check_text(proposer_email, field="proposer_email", max_length=254)
        if not EMAIL.match(email):
            raise RuleViolation("proposer_email is not an e-mail address", field="proposer_email")
        name = check_text(proposer_name, field="proposer_name", max_length=200)
        proposer = DataSubject.proposer(email)
        proposal = cls(
            round_id=budget_round.id,
            title=check_text(title, field="title", max_length=200),
            summary=check_text(summary, field="summary", max_length=500),
            description=check_text(description, field="description", max_length=10000, required=False),
            category=check_text(category, field="category", max_length=100, required=False),
            cost_lines=lines,
            requested_amount=sum(line["amount"] for line in lines),
            proposer_name_sealed=personal_data.seal(proposer, "proposer_name", name),
            proposer_email_sealed=personal_data.seal(proposer, "proposer_email", email),
            proposer_key_hash=proposer_key_hash,
            reference=check_text(reference, field="reference", max_length=100, required=False),
            actor="resident",
        )
        budget_round.receive_proposal(proposal_id=proposal.id, amount=proposal.amount)
        return proposal

    class Submitted(Aggregate.Created):
        """Residents submitted an initiative.

        Version 2 holds the proposer's name and e-mail address sealed (`proposer_name_sealed`,
        `proposer_email_sealed`) instead of in plaintext (`proposer_name`, `proposer_email`);
        events stored as version 1 read with their plaintext in `plain:` envelopes.
        """

        TOPIC = "buurtbudget/Proposal.Submitted"
        class_version = 2

        round_id: UUID
        title: str
        summary: str
        description: str
        category: str
        cost_lines: list[dict[str, Any]]
        requested_amount: int
        proposer_name_sealed: str
        proposer_email_sealed: str
        proposer_key_hash: str
        reference: str
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["proposer_name_sealed"] = plain_envelope(state.pop("proposer_name"))
            state["proposer_email_sealed"] = plain_envelope(state.pop("proposer_email"))

    @event(Submitted)
    def __init__(
        self,
        *,
        round_id: UUID,
        title: str,
        summary: str,
        description: str,
        category: str,
        cost_lines: list[dict[str, Any]],
        requested_amount: int,
        proposer_name_sealed: str,
        proposer_email_sealed: str,
        proposer_key_hash: str,
        reference: str,
        actor: str,
    ) -> None:
        self.round_id = round_id
        self.reference = reference
        self.title = title
        self.requested_amount = requested_amount
        self.proposer_key_hash = proposer_key_hash
        self.status = "submitted"
        self.amount = requested_amount  # the cost on the ballot; officials may adjust it
        self.funded_amount = 0

    def _check_reviewable(self, budget_round: BudgetRound) -> None:
        budget_round.check_phase("submission", "review", doing="review a proposal")
        self._check_in(budget_round)
        if self.status not in ("submitted", "admitted", "rejected"):
            raise Conflict(f"cannot review a proposal that is {self.status}")

    def _check_in(self, budget_round: BudgetRound) -> None:
        if budget_round.id != self.round_id:
            raise Conflict("this proposal belongs to another round")

    def admit(
        self, *, budget_round: BudgetRound, amount: int | None, note: str, actor: str
    ) -> None:
        """Admit to the ballot, possibly with an adjusted cost; a later review replaces this one."""
        self._check_reviewable(budget_round)
        amount = self.requested_amount if amount is None else require_cents(amount, field="amount")
        note = check_text(note, field="note", max_length=2000, required=False)
        if amount != self.requested_amount and not note:
            raise RuleViolation("explain an adjusted amount in the note", field="note")
        self._admitted(amount=amount, note=note, actor=actor)
        budget_round.note_review(proposal_id=self.id, status=self.status, amount=amount)

    @event("Admitted", topic="buurtbudget/Proposal.Admitted")
    def _admitted(self, *, amount: int, note: str, actor: str) -> None:
        self.status = "admitted"
        self.amount = amount

    def reject(self, *, budget_round: BudgetRound, reason: str, actor: str) -> None:
        self._check_reviewable(budget_round)
        reason = check_text(reason, field="reason", max_length=2000)
        self._rejected(reason=reason, actor=actor)
        budget_round.note_review(proposal_id=self.id, status=self.status, amount=self.amount)

    @event("Rejected", topic="buurtbudget/Proposal.Rejected")
    def _rejected(self, *, reason: str, actor: str) -> None:
        self.status = "rejected"

    def withdraw(self, *, budget_round: BudgetRound, key_hash: str, reason: str) -> None:
        """The proposer withdraws it, proving who they are with the key given at submission."""
        # In constant time: how much of the hash matched must not show in the answer's timing.
        if not hmac.compare_digest(key_hash, self.proposer_key_hash):
            raise Forbidden("the proposer key does not match this proposal")
        budget_round.check_phase("submission", "review", doing="withdraw a proposal")
        if self.status == "withdrawn":
            raise Conflict("the proposal is already withdrawn")
        reason = check_text(reason, field="reason", max_length=2000, required=False)
        self._withdrawn(reason=reason, actor="proposer")
        budget_round.note_review(proposal_id=self.id, status=self.status, amount=self.amount)

    @event("Withdrawn", topic="buurtbudget/Proposal.Withdrawn")
    def _withdrawn(self, *, reason: str, actor: str) -> None:
        self.status = "withdrawn"

    def mark_decided(self, *, tally_id: str, funded_amount: int, actor: str) -> None:
        """Record the confirmed result for this proposal: funded (with the amount) or not."""
        if self.status != "admitted":
            raise Conflict(f"only admitted proposals are decided on; this one is {self.status}")
        if funded_amount:
            self._funded(tally_id=tally_id, amount=funded_amount, actor=actor)
        else:
            self._not_selected(tally_id=tally_id, actor=actor)

    @event("Funded", topic="buurtbudget/Proposal.Funded")
    def _funded(self, *, tally_id: str, amount: int, actor: str) -> None:
        self.status = "funded"
        self.funded_amount = amount

    @event("NotSelected", topic="buurtbudget/Proposal.NotSelected")
    def _not_selected(self, *, tally_id: str, actor: str) -> None:
        self.status = "not_selected"

    def complete(self, *, report: str, unspent: int, actor: str) -> None:
        """Close the initiative with a short report; `unspent` went back to the round."""
        if self.status != "funded":
            raise Conflict(f"only funded proposals can be completed; this one is {self.status}")
        report = check_text(report, field="report", max_length=5000)
        self._completed(report=report, unspent=unspent, actor=actor)

    @event("Completed", topic="buurtbudget/Proposal.Completed")
    def _completed(self, *, report: str, unspent: int, actor: str) -> None:
        self.status = "completed"


keep_module_path_topics(Proposal, "domain.proposal:Proposal", (
    "Submitted", "Admitted", "Rejected", "Withdrawn", "Funded", "NotSelected", "Completed",
))
