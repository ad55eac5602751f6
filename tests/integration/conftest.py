"""Rounds driven through the application's commands, second workers, and racing threads.

Every fixture here runs on both backends through the `runtime`/`settings` fixtures of
tests/conftest.py.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from domain.budget_round import PHASES
from projections.tracking import metadata
from service.application import BuurtbudgetApplication
from service.runtime import Runtime

OFFICIAL = "official:anna"
SECOND_OFFICIAL = "official:bram"
THIRD_OFFICIAL = "official:carla"  # marks paid what the other two requested and approved

# The standard round: three proposals compete for a deposit; the voters' favourites
# (playground, then benches) fit the budget together, the mural no longer does.
DEPOSIT = 5_000_00
PROPOSALS = {"playground": 3_000_00, "benches": 1_500_00, "mural": 2_000_00}
WINNERS = ("playground", "benches")
APPROVALS = (("playground", "benches"), ("playground", "benches"), ("playground", "mural"))
VOTING = {"method": "approval", "min_choices": 1, "max_choices": 3}


@dataclass
class DrivenRound:
    """A round that the application's own commands carried to a phase, and what they returned."""

    app: BuurtbudgetApplication
    round_id: UUID
    proposals: dict[str, UUID] = field(default_factory=dict)
    proposer_keys: dict[str, str] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)
    tally: dict[str, Any] | None = None

    def pid(self, name: str) -> str:
        """The named proposal's id as the round and the ballots key it."""
        return str(self.proposals[name])

    def choices(self, *names: str) -> dict[str, int]:
        """An approval ballot for the named proposals."""
        return {self.pid(name): 1 for name in names}

    def payout_fields(self, name: str, amount: int, **overrides: Any) -> dict[str, Any]:
        return {
            "proposal_id": self.pid(name),
            "amount": amount,
            "payee_name": "Speeltoestellen BV",
            "iban": "NL91ABNA0417164300",
            "kind": "invoice",
            "reference": "FACT-2026-017",
            "description": "",
            **overrides,
        }

    def pay(self, name: str, amount: int) -> str:
        """Request, approve and pay a payout, each by another official; returns its id."""
        payout_id = self.app.request_payout(
            self.round_id, actor=OFFICIAL, **self.payout_fields(name, amount)
        )
        self.app.approve_payout(self.round_id, payout_id, actor=SECOND_OFFICIAL)
        self.app.mark_payout_paid(
            self.round_id, payout_id, bank_reference=f"BANK-{payout_id[:8]}", actor=THIRD_OFFICIAL
        )
        return payout_id


def drive_round(
    app: BuurtbudgetApplication,
    phase: str,
    *,
    codes: int = len(APPROVALS),
    title: str = "Oosterpark 2026",
    voting: dict[str, Any] | None = None,
) -> DrivenRound:
    """Carry a new standard round from opening up to `phase` with the application's commands.

    "voting" issues `codes` voting codes; "decided" has cast APPROVALS with the first codes and
    closed voting (no tally yet); "execution" has run and confirmed the tally. `voting` replaces
    the standard approval rules (the approvals of "decided" must then fit them).
    """
    municipality_id = app.register_municipality(name="Amsterdam", cbs_code="GM0363", actor=OFFICIAL)
    neighbourhood_id = app.register_neighbourhood(
        municipality_id=municipality_id, name="Oosterparkbuurt", cbs_code=None, actor=OFFICIAL
    )
    driven = DrivenRound(app, app.open_round(
        neighbourhood_id=neighbourhood_id, title=f"Buurtbudget {title}",
        description="Ideas for the park and the streets around it.",
        schedule={"submission": "2026-03-01", "voting": "2026-05-01"}, voting=voting or VOTING,
        actor=OFFICIAL,
    ))
    rid = driven.round_id

    def submissions() -> None:
        app.deposit(rid, amount=DEPOSIT, source="Gemeente Amsterdam", reference="BB-2026",
                    actor=OFFICIAL)
        for name, amount in PROPOSALS.items():
            driven.proposals[name], driven.proposer_keys[name] = app.submit_proposal(
                rid, title=name.title(), summary=f"A {name} for the neighbourhood",
                description="", category="Openbare ruimte",
                cost_lines=[{"description": "materials and work", "amount": amount}],
                proposer_name="Fatima", proposer_email="fatima@example.org",
            )

    def voting() -> None:
        for proposal_id in driven.proposals.values():
            app.admit_proposal(proposal_id, amount=None, note="", actor=OFFICIAL)
        app.open_voting(rid, actor=OFFICIAL)
        driven.codes = app.issue_voting_codes(rid, count=max(codes, len(APPROVALS)), actor=OFFICIAL)

    def decided() -> None:
        for code, names in zip(driven.codes, APPROVALS):
            app.cast_ballot(rid, code=code, choices=driven.choices(*names))
        app.close_voting(rid, actor=OFFICIAL)

    def execution() -> None:
        driven.tally = app.run_tally(rid, actor=OFFICIAL)
        app.confirm_tally(rid, tally_id=driven.tally["tally_id"], actor=SECOND_OFFICIAL)

    def closed() -> None:
        for name in WINNERS:
            app.complete_proposal(driven.proposals[name], report="Done.", actor=OFFICIAL)
        app.close_round(rid, destination="Gemeente Amsterdam", actor=OFFICIAL)

    steps: dict[str, Callable[[], None]] = {
        "submission": submissions,
        "review": lambda: app.close_submissions(rid, actor=OFFICIAL),
        "voting": voting,
        "decided": decided,
        "execution": execution,
        "closed": closed,
    }
    for step in PHASES[: PHASES.index(phase) + 1]:
        steps[step]()
    return driven


@pytest.fixture
def app(runtime: Runtime) -> BuurtbudgetApplication:
    return runtime.application


@pytest.fixture
def round_in(app: BuurtbudgetApplication) -> Callable[..., DrivenRound]:
    """Drive a new standard round to a phase: round_in("execution"), round_in("voting", codes=8)."""
    return lambda phase, **options: drive_round(app, phase, **options)


@pytest.fixture
def second_runtime(runtime: Runtime, settings: dict[str, Any]) -> Iterator[Runtime]:
    """Another worker process' worth of connections on the same database and secret key."""
    other = Runtime(settings)
    yield other
    other.close()


def dump_read_models(
    engine: sa.Engine, tables: list[sa.Table] | None = None
) -> dict[str, list[str]]:
    """Every row of every read-model table (and the tracking positions), canonical and sorted."""
    dumped = {}
    with engine.connect() as conn:
        for table in tables or metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).mappings()
            dumped[table.name] = sorted(json.dumps(dict(row), sort_keys=True) for row in rows)
    return dumped


@dataclass
class Outcome:
    """What one racer's call returned, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None


def race(*contenders: Callable[[], Any], timeout: float = 60) -> list[Outcome]:
    """Run the callables in threads released together by a barrier; collect each outcome.

    Exceptions are caught and returned rather than left to the thread, where pytest would only
    see them as an unhandled-thread warning.
    """
    barrier = threading.Barrier(len(contenders))
    outcomes = [Outcome() for _ in contenders]

    def run(outcome: Outcome, contender: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout)
            outcome.value = contender()
        except BaseException as error:  # noqa: BLE001 - handed back to the test, not swallowed
            outcome.error = error

    threads = [
        threading.Thread(target=run, args=(outcome, contender), daemon=True)
        for outcome, contender in zip(outcomes, contenders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if any(thread.is_alive() for thread in threads):
        pytest.fail(f"a racer was still running after {timeout}s")
    return outcomes
