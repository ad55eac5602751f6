"""Rounds built by running their real commands, so tests start from histories the domain wrote."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.budget_round import PHASES, BudgetRound
from domain.personal_data import DataSubject
from domain.proposal import Proposal

OFFICIAL = "official-anna"
SECOND_OFFICIAL = "official-bram"
THIRD_OFFICIAL = "official-carla"
PROPOSER_KEY = "hash-of-the-proposers-key"


class LabellingSealer:
    """Stands in for the key store in the pure domain's tests: labels instead of encrypting."""

    def seal(self, subject: DataSubject, field: str, text: str) -> str:
        return f"sealed:{subject.kind}:{subject.identifier}:{field}:{text}"


LABELLING_SEALER = LabellingSealer()

# The standard round: three proposals compete for a deposit; the first two win.
DEPOSIT = 5_000_00
PROPOSALS = {"playground": 3_000_00, "benches": 1_500_00, "mural": 2_000_00}
WINNERS = ("playground", "benches")


class RoundStory:
    """A real round (and its proposals) driven through commands; every event is kept as history."""

    # OFFICIAL runs the round, records the tally and requests payouts; SECOND_OFFICIAL confirms
    # the tally and approves payouts; THIRD_OFFICIAL marks them paid (four eyes, and then some).
    official = OFFICIAL
    proposer_key = PROPOSER_KEY

    def __init__(self, *, voting: dict[str, Any] | None = None) -> None:
        self.round = BudgetRound.open(
            municipality_id=uuid4(),
            neighbourhood_id=uuid4(),
            title="Buurtbudget Oosterpark 2026",
            description="Ideas for the park and the streets around it.",
            schedule={"submission": "2026-03-01", "voting": "2026-05-01"},
            voting=voting,
            lot_seed="oosterpark-2026",
            actor=OFFICIAL,
        )
        self.proposals: dict[str, Proposal] = {}
        self.tally_id: str | None = None
        self._recorded: dict[UUID, list[Any]] = {}

    # -- what tests start from ----------------------------------------------------------------

    def history(self, name: str | None = None) -> list[Any]:
        """Every event so far of the round (or of the named proposal), oldest first."""
        aggregate = self.round if name is None else self.proposals[name]
        recorded = self._recorded.setdefault(aggregate.id, [])
        recorded.extend(aggregate.collect_events())
        return list(recorded)

    def pid(self, name: str) -> str:
        """The named proposal's id as the round keys it."""
        return str(self.proposals[name].id)

    # -- arguments of the commands tests run --------------------------------------------------

    @staticmethod
    def proposal_fields(title: str, amount: int, **overrides: Any) -> dict[str, Any]:
        return {
            "title": title,
            "summary": f"{title} for everyone in the neighbourhood",
            "description": "",
            "category": "green",
            "cost_lines": [{"description": "materials and work", "amount": amount}],
            "proposer_name": "Fatima",
            "proposer_email": "fatima@example.org",
            "proposer_key_hash": PROPOSER_KEY,
            "personal_data": LABELLING_SEALER,
            **overrides,
        }

    def payout_fields(
        self, name: str, amount: int, *, actor: str = OFFICIAL, **overrides: Any
    ) -> dict[str, Any]:
        return {
            "payout_id": f"payout-{uuid4()}",
            "proposal_id": self.pid(name),
            "amount": amount,
            "payee_name": "Speeltoestellen BV",
            "iban": "NL91ABNA0417164300",
            "kind": "invoice",
            "reference": "invoice 2026-17",
            "description": "",
            "actor": actor,
            "personal_data": LABELLING_SEALER,
            **overrides,
        }

    # -- commands that move the story on ------------------------------------------------------

    def deposit(self, amount: int) -> None:
        self.round.deposit(
            deposit_id=str(uuid4()),
            amount=amount,
            source="Gemeente Amsterdam",
            reference="",
            actor=OFFICIAL,
        )

    def submit(self, name: str, amount: int) -> Proposal:
        proposal = Proposal.submit(budget_round=self.round, **self.proposal_fields(name, amount))
        self.proposals[name] = proposal
        return proposal

    def admit(self, *names: str) -> None:
        for name in names:
            self.proposals[name].admit(
                budget_round=self.round, amount=None, note="", actor=OFFICIAL
            )

    def reject(self, name: str) -> None:
        self.proposals[name].reject(
            budget_round=self.round, reason="not public space", actor=OFFICIAL
        )

    def withdraw(self, name: str) -> None:
        self.proposals[name].withdraw(
            budget_round=self.round, key_hash=self.proposer_key, reason=""
        )

    def record_tally(self, *winners: str) -> str:
        self.tally_id = f"tally-{len(self.round.tallies) + 1}"
        result = {
            "winners": [
                {"proposal_id": self.pid(n), "cost": self.round.ballot_costs[self.pid(n)]}
                for n in winners
            ]
        }
        self.round.record_tally(tally_id=self.tally_id, result=result, actor=OFFICIAL)
        return self.tally_id

    def request_payout(self, name: str, amount: int) -> str:
        fields = self.payout_fields(name, amount)
        self.round.request_payout(**fields)
        return fields["payout_id"]

    def pay_out(self, name: str, amount: int) -> str:
        """Request, approve (second official) and pay (third official) a payout; returns its id."""
        payout_id = self.request_payout(name, amount)
        self.approve(payout_id)
        self.pay(payout_id)
        return payout_id

    def approve(self, payout_id: str) -> None:
        self.round.approve_payout(payout_id=payout_id, actor=SECOND_OFFICIAL)

    def pay(self, payout_id: str) -> None:
        self.round.mark_payout_paid(
            payout_id=payout_id, bank_reference="BANK-1", actor=THIRD_OFFICIAL
        )

    def complete(self, *names: str) -> None:
        for name in names:
            self.round.release_unspent(proposal_id=self.pid(name), actor=OFFICIAL)

    def advance_to(self, phase: str) -> RoundStory:
        """Play the standard round (see PROPOSALS, WINNERS) from submission up to `phase`."""
        steps: dict[str, Callable[[], None]] = {
            "submission": self._submissions,
            "review": lambda: self.round.close_submissions(actor=OFFICIAL),
            "voting": self._admissions_and_vote,
            "decided": self._count,
            "execution": lambda: self.round.confirm_tally(
                tally_id=self.tally_id, actor=SECOND_OFFICIAL
            ),
            "closed": self._wind_up,
        }
        for step in PHASES[: PHASES.index(phase) + 1]:
            steps[step]()
        assert self.round.phase == phase
        return self

    def _submissions(self) -> None:
        self.deposit(DEPOSIT)
        for name, amount in PROPOSALS.items():
            self.submit(name, amount)

    def _admissions_and_vote(self) -> None:
        self.admit(*PROPOSALS)
        self.round.open_voting(actor=OFFICIAL)

    def _count(self) -> None:
        self.round.close_voting(actor=OFFICIAL)
        self.record_tally(*WINNERS)

    def _wind_up(self) -> None:
        self.complete(*WINNERS)
        self.round.close(destination="Gemeente Amsterdam", actor=OFFICIAL)


@pytest.fixture
def story() -> RoundStory:
    """A round just opened: submissions open, no money, no proposals."""
    return RoundStory()


@pytest.fixture
def story_in() -> Callable[..., RoundStory]:
    """Build the standard round up to a phase: story_in("voting", voting={...})."""
    return lambda phase, **round_options: RoundStory(**round_options).advance_to(phase)


@pytest.fixture(scope="session")
def execution_story() -> RoundStory:
    """One standard round in execution, built once; replay `history()` to get a fresh copy."""
    return RoundStory().advance_to("execution")
