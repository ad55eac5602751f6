"""TEMPORARY placeholder (greedy only) until the real tally module lands; the tally helper overwrites this file."""
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping, Sequence
@dataclass(frozen=True)
class Election:
    budget: int; costs: Mapping[str,int]; ballots: Sequence[Mapping[str,int]]; vote_type: str="approval"; scoring: Any=None
@dataclass(frozen=True)
class TallyOutcome:
    rule: str; completion: str; tie_break: tuple; seed: str; winners: tuple; total_cost: int; scores: Mapping[str,int]; budget: int; per_voter_budget: Any=None
def run_tally(e, rule="greedy", completion="none", tie_break=("cost","votes","lot"), seed="", increment=1):
    scores = {p: 0 for p in e.costs}
    for b in e.ballots:
        for p, v in b.items(): scores[p] += v
    order = sorted(e.costs, key=lambda p: (-scores[p], e.costs[p], p))
    winners=[]; total=0
    for p in order:
        if total + e.costs[p] <= e.budget: winners.append(p); total += e.costs[p]
    return TallyOutcome(rule, completion, tuple(tie_break), seed, tuple(winners), total, scores, e.budget)
