"""Parity tests: Buurtbudget's counting rules checked against pabutools 1.2.3 as the oracle.

This package module holds what both parity test modules need: turning an election into
pabutools objects and running the pabutools rule that corresponds to a rule and completion,
with the tie-breaking order Buurtbudget documents (computed here independently of domain.tally).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from pabutools.election import (
    AdditiveSatisfaction,
    ApprovalBallot,
    ApprovalProfile,
    Cost_Sat,
    CumulativeBallot,
    CumulativeProfile,
    Instance,
    OrdinalBallot,
    OrdinalProfile,
    Project,
)
from pabutools.rules import (
    completion_by_rule_combination,
    exhaustion_by_budget_increase,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
    sequential_phragmen,
)
from pabutools.tiebreaking import TieBreakingRule

from domain.tally import Election


def supporters_of(election: Election) -> dict[str, int]:
    """How many ballots name each project (with positive points): the tie-break key "votes"."""
    counts = dict.fromkeys(election.costs, 0)
    for ballot in election.ballots:
        for project_id, points in ballot.items():
            if election.vote_type == "ordinal" or points > 0:
                counts[project_id] += 1
    return counts


def tie_order(election: Election, keys: Sequence[str], seed: str = "") -> dict[str, int]:
    """Each project's place in the documented tie-break order (0 first); leftover ties go by id."""
    supporters = supporters_of(election)
    key_of = {
        "cost": lambda pid: election.costs[pid],
        "votes": lambda pid: -supporters[pid],
        "id": lambda pid: pid,
        "lot": lambda pid: hashlib.sha256((seed + pid).encode("utf-8")).hexdigest(),
    }
    ordered = sorted(election.costs, key=lambda pid: [key_of[k](pid) for k in [*keys, "id"]])
    return {pid: place for place, pid in enumerate(ordered)}


def tie_breaking(places: Mapping[str, int]) -> TieBreakingRule:
    """A pabutools tie-breaking rule putting projects in the given order."""
    return TieBreakingRule(lambda instance, profile, project: places[project.name])


def pabutools_election(election: Election) -> tuple[Instance, object]:
    """The same election as a pabutools instance and profile (ordinal: best first)."""
    projects = {pid: Project(pid, cost) for pid, cost in election.costs.items()}
    instance = Instance(projects.values(), budget_limit=election.budget)
    if election.vote_type in ("approval", "choose-1"):
        profile = ApprovalProfile(
            [ApprovalBallot(projects[pid] for pid in ballot) for ballot in election.ballots]
        )
    elif election.vote_type == "cumulative":
        profile = CumulativeProfile(
            [
                CumulativeBallot({projects[pid]: points for pid, points in ballot.items()})
                for ballot in election.ballots
            ]
        )
    else:
        profile = OrdinalProfile(
            [OrdinalBallot(projects[pid] for pid in ballot) for ballot in election.ballots]
        )
    return instance, profile


class PointsTimesCost(AdditiveSatisfaction):
    """Satisfaction = points x cost, so pabutools' greedy (score / cost) ranks by points.

    Cumulative ballots give their points; ordinal ballots the points of the rank, from the
    `scoring` class attribute (set per test through `points_times_cost`).
    """

    scoring: tuple[int, ...] = ()

    def __init__(self, instance, profile, ballot):
        super().__init__(instance, profile, ballot, self._score)

    def _score(self, instance, profile, ballot, project, precomputed_values):
        if project not in ballot:
            return 0
        if isinstance(ballot, OrdinalBallot):
            rank = ballot.position(project)
            return (self.scoring[rank] if rank < len(self.scoring) else 0) * project.cost
        return ballot[project] * project.cost


def points_times_cost(scoring: Sequence[int] = ()) -> type[PointsTimesCost]:
    return type("PointsTimesCostScored", (PointsTimesCost,), {"scoring": tuple(scoring)})


def pabutools_winners(
    instance: Instance,
    profile,
    rule: str,
    completion: str,
    rule_tie_breaking: TieBreakingRule,
    *,
    increment: int = 1,
    sat_class: type = Cost_Sat,
) -> list[str]:
    """The winners pabutools selects (in its selection order) for one of our rules/completions.

    Projects without a vote (or points) are left out: pabutools funds them last when money is
    left, Buurtbudget never funds them (see docs/tally.md); leaving them out changes nothing else.
    """
    mes = {"sat_class": Cost_Sat, "tie_breaking": rule_tie_breaking}
    if rule == "mes" and profile.num_ballots() == 0:
        return []  # nothing to share out (pabutools' add1 would step by 0 forever)
    if rule == "greedy":
        outcome = greedy_utilitarian_welfare(
            instance, profile, sat_class=sat_class, tie_breaking=rule_tie_breaking
        )
    elif rule == "phragmen":
        outcome = sequential_phragmen(instance, profile, tie_breaking=rule_tie_breaking)
    elif completion == "none":
        outcome = method_of_equal_shares(instance, profile, **mes)
    elif completion == "add1-exhaustive":
        outcome = method_of_equal_shares(instance, profile, voter_budget_increment=increment, **mes)
    elif completion == "add1":
        outcome = exhaustion_by_budget_increase(
            instance,
            profile,
            method_of_equal_shares,
            dict(mes),
            exhaustive_stop=False,
            budget_step=profile.num_ballots() * increment,
        )
    else:
        outcome = completion_by_rule_combination(
            instance,
            profile,
            [method_of_equal_shares, greedy_utilitarian_welfare],
            [
                {"voter_budget_increment": increment, **mes},
                {"sat_class": Cost_Sat, "tie_breaking": rule_tie_breaking},
            ],
        )
    scores = profile.as_sat_profile(sat_class)
    return [project.name for project in outcome if scores.total_satisfaction_project(project) > 0]
