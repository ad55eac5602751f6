"""Counting a round: its final ballots through its rule, as a result anyone can recompute."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from domain.ballot import CountedBallot
from domain.budget_round import BudgetRound
from domain.tally import Election, run_tally

# The service counts in cents; the Method of Equal Shares "add one" completion raises each
# voter's budget by one whole currency unit per step, as the reference implementations do.
CENTS_PER_UNIT = 100


def ballot_digest(receipts: list[str]) -> str:
    """One digest of the exact set of ballot versions counted (order-independent)."""
    return hashlib.sha256("\n".join(sorted(receipts)).encode()).hexdigest()


def count_round(
    budget_round: BudgetRound,
    final_ballots: Mapping[UUID, CountedBallot],
    *,
    budget: int,
    software_version: str,
) -> dict[str, Any]:
    """Count the final ballot versions (ballot id -> version, choices, receipt) with the round's rules.

    The returned dict is what the TallyRecorded event stores: an auditor recomputes it from the
    ballot events and compares.
    """
    settings = budget_round.settings
    ballots = []
    receipts = []
    # By the UUIDs' integers: their own order, without UUID's comparison methods (many ballots).
    for _ballot_id, (_version, choices, receipt) in sorted(
        final_ballots.items(), key=lambda b: b[0].int
    ):
        receipts.append(receipt)
        # Ordinal choices are stored as ranks (1 = best); the tally wants best-first order.
        ballots.append(dict(sorted(choices.items(), key=lambda item: item[1])))
    costs = dict(budget_round.ballot_costs)
    outcome = run_tally(
        Election(
            budget=budget,
            costs=costs,
            ballots=ballots,
            vote_type=settings.vote_type,
            scoring=settings.scoring,
        ),
        rule=settings.rule,
        completion=settings.completion,
        tie_break=tuple(settings.tie_break),
        seed=budget_round.lot_seed,
        increment=CENTS_PER_UNIT,
    )
    return {
        "rule": outcome.rule,
        "completion": outcome.completion,
        "tie_break": list(outcome.tie_break),
        "seed": outcome.seed,
        "method": settings.method,
        "software_version": software_version,
        "budget": budget,
        "winners": [{"proposal_id": pid, "cost": costs[pid]} for pid in outcome.winners],
        "total_cost": outcome.total_cost,
        "scores": {pid: int(outcome.scores.get(pid, 0)) for pid in sorted(costs)},
        "ballots_counted": len(receipts),
        "ballot_digest": ballot_digest(receipts),
    }


def comparable(result: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a result that a recount must reproduce (everything but the software version)."""
    return {key: value for key, value in result.items() if key != "software_version"}
