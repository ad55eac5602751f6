"""Ballot rules of a round: the voting method, its limits, and the check every ballot must pass."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

from domain.errors import RuleViolation

VOTING_METHODS = ("approval", "knapsack", "cumulative", "ordinal", "choose-one")
TALLY_RULES = ("greedy", "mes", "phragmen")
TALLY_COMPLETIONS = ("none", "add1", "add1-exhaustive", "add1u")
TIE_BREAK_KEYS = ("cost", "votes", "id", "lot")
DEFAULT_TIE_BREAK = ("cost", "votes", "lot")


@dataclass(frozen=True)
class VotingSettings:
    """How residents vote in a round and how the winners are counted; frozen once voting opens.

    A ballot is always stored as a mapping proposal id -> points: 1 for each approved proposal
    (approval, knapsack, choose-one), the points given (cumulative), or the rank, 1 being best
    (ordinal).
    """

    method: str = "approval"
    min_choices: int = 1
    max_choices: int | None = None
    max_total_cost: int | None = None  # cents; required for knapsack
    points_total: int | None = None  # cumulative: points each voter may distribute
    min_points: int = 1  # cumulative: per proposal that gets points
    max_points: int | None = None  # cumulative: per proposal
    scoring: list[int] | None = None  # ordinal: points per rank, e.g. [3, 2, 1]; None = Borda
    rule: str = "greedy"
    completion: str = "none"
    tie_break: list[str] = field(default_factory=lambda: list(DEFAULT_TIE_BREAK))

    def __post_init__(self) -> None:
        self._check()

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> VotingSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data or {}) - known)
        if unknown:
            raise RuleViolation(f"unknown voting setting(s): {', '.join(unknown)}", field="voting")
        return cls(**dict(data or {}))

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def vote_type(self) -> str:
        """The pabulib vote type of ballots cast under these settings."""
        return {
            "approval": "approval",
            "knapsack": "approval",
            "choose-one": "choose-1",
            "cumulative": "cumulative",
            "ordinal": "ordinal",
        }[self.method]

    def _check(self) -> None:
        def bad(message: str, name: str) -> RuleViolation:
            return RuleViolation(message, field=f"voting.{name}")

        def whole(name: str, value: object, minimum: int) -> None:
            if value is None:
                return
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise bad(f"{name} must be a whole number of at least {minimum}", name)

        if self.method not in VOTING_METHODS:
            raise bad(f"method must be one of {', '.join(VOTING_METHODS)}", "method")
        whole("min_choices", self.min_choices, 0)
        whole("max_choices", self.max_choices, 1)
        whole("max_total_cost", self.max_total_cost, 1)
        whole("points_total", self.points_total, 1)
        whole("min_points", self.min_points, 1)
        whole("max_points", self.max_points, 1)
        if self.max_choices is not None and self.max_choices < self.min_choices:
            raise bad("max_choices must not be below min_choices", "max_choices")
        if self.method == "choose-one" and (self.min_choices > 1 or self.max_choices not in (None, 1)):
            raise bad("a choose-one vote has exactly one choice per ballot", "max_choices")
        if self.method == "knapsack" and self.max_total_cost is None:
            raise bad("a knapsack vote needs max_total_cost", "max_total_cost")
        if self.method == "cumulative" and self.points_total is None:
            raise bad("a cumulative vote needs points_total", "points_total")
        if self.max_points is not None and self.max_points < self.min_points:
            raise bad("max_points must not be below min_points", "max_points")
        if self.scoring is not None:
            if (
                not isinstance(self.scoring, list)
                or not self.scoring
                or not all(isinstance(s, int) and not isinstance(s, bool) for s in self.scoring)
            ):
                raise bad("scoring must be a non-empty list of whole numbers", "scoring")
        if self.rule not in TALLY_RULES:
            raise bad(f"rule must be one of {', '.join(TALLY_RULES)}", "rule")
        if self.completion not in TALLY_COMPLETIONS:
            raise bad(f"completion must be one of {', '.join(TALLY_COMPLETIONS)}", "completion")
        if self.rule != "mes" and self.completion != "none":
            raise bad("a completion applies to the Method of Equal Shares only", "completion")
        if self.rule in ("mes", "phragmen") and self.vote_type not in ("approval", "choose-1"):
            raise bad(f"the {self.rule} rule counts approval ballots only", "rule")
        if not self.tie_break or any(k not in TIE_BREAK_KEYS for k in self.tie_break):
            raise bad(f"tie_break must list keys from {', '.join(TIE_BREAK_KEYS)}", "tie_break")

    def check_ballot(self, costs: Mapping[str, int], choices: Mapping[str, int]) -> None:
        """Raise RuleViolation naming the broken rule if `choices` is not a valid ballot.

        `costs` are the proposals on the ballot (id -> cost in cents).
        """

        def broken(message: str) -> RuleViolation:
            return RuleViolation(message, field="choices")

        unknown = [pid for pid in choices if pid not in costs]
        if unknown:
            raise broken(f"not on the ballot: {', '.join(sorted(unknown))}")
        count = len(choices)
        max_choices = 1 if self.method == "choose-one" else self.max_choices
        min_choices = 1 if self.method == "choose-one" else self.min_choices
        if count < min_choices:
            raise broken(f"choose at least {min_choices} proposal(s); this ballot has {count}")
        if max_choices is not None and count > max_choices:
            raise broken(f"choose at most {max_choices} proposal(s); this ballot has {count}")
        values = list(choices.values())
        if any(not isinstance(v, int) or isinstance(v, bool) for v in values):
            raise broken("points must be whole numbers")
        if self.method in ("approval", "knapsack", "choose-one"):
            if any(v != 1 for v in values):
                raise broken("an approval ballot gives each chosen proposal exactly 1")
        elif self.method == "cumulative":
            for pid, points in choices.items():
                if points < self.min_points:
                    raise broken(f"{pid}: give at least {self.min_points} point(s) or leave it out")
                if self.max_points is not None and points > self.max_points:
                    raise broken(f"{pid}: at most {self.max_points} point(s) per proposal")
            total = sum(values)
            if self.points_total is not None and total > self.points_total:
                raise broken(f"at most {self.points_total} points in total; this ballot gives {total}")
        elif self.method == "ordinal":
            if sorted(values) != list(range(1, count + 1)):
                raise broken("ranks must be 1, 2, 3, ... without gaps or repeats")
        if self.max_total_cost is not None:
            total_cost = sum(costs[pid] for pid in choices)
            if total_cost > self.max_total_cost:
                raise broken(
                    f"the chosen proposals cost {total_cost} cents together; "
                    f"at most {self.max_total_cost} cents allowed"
                )
