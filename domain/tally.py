"""Counting rules for participatory budgeting: greedy, Method of Equal Shares, sequential Phragmén.

Every decision is exact (integers and fractions, never floats) and the Method of Equal Shares is
fast enough to step its "add one" completion through real city-wide elections. `docs/tally.md`
describes the rules, the completions and the tie-breaking in words.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from heapq import heapify, heappop, heappush, heapreplace
from itertools import accumulate, chain
from operator import mul

Ballot = Mapping[str, int]

RULES = ("greedy", "mes", "phragmen")
COMPLETIONS = ("none", "add1", "add1-exhaustive", "add1u")
VOTE_TYPES = ("approval", "cumulative", "ordinal", "choose-1")
TIE_BREAK_KEYS = ("cost", "votes", "id", "lot")
DEFAULT_TIE_BREAK = ("cost", "votes", "lot")

# Ballots that name one project at most are approval ballots with a length limit.
_APPROVAL_LIKE = ("approval", "choose-1")


class TallyError(ValueError):
    """The election or the requested count is not valid (unknown rule, wrong ballots, bad input)."""


@dataclass(frozen=True)
class Election:
    """What a count needs: the budget, the projects' costs and the ballots.

    A ballot maps project ids to points: 1 per approved project (approval, choose-1), the points
    given (cumulative), or, for ordinal ballots, anything: the insertion order is the ranking, best
    first (see `ballot_from_ranking`). `scoring` gives the points per rank of ordinal ballots;
    None means Borda-like points k, k-1, ..., 1 with k the longest ballot.
    """

    budget: int
    costs: Mapping[str, int]
    ballots: Sequence[Ballot]
    vote_type: str = "approval"
    scoring: Sequence[int] | None = None


@dataclass(frozen=True)
class TallyOutcome:
    """The winners of a count and everything needed to explain and repeat it."""

    rule: str
    completion: str
    tie_break: tuple[str, ...]
    seed: str
    winners: tuple[str, ...]  # in the order the rule selected them
    total_cost: int
    scores: Mapping[str, int]  # votes (approval) or points (cumulative, ordinal) of every project
    budget: int
    # MES only: the per-voter budget of the returned run (for add1, the last feasible one).
    per_voter_budget: Fraction | None


def ballot_from_ranking(ranking: Sequence[str]) -> dict[str, int]:
    """An ordinal ballot from project ids listed best first (values: the rank, 1 = best)."""
    if len(set(ranking)) != len(ranking):
        raise TallyError("a ranking names each project once")
    return {project_id: position for position, project_id in enumerate(ranking, start=1)}


def run_tally(
    election: Election,
    rule: str = "greedy",
    completion: str = "none",
    tie_break: Sequence[str] = DEFAULT_TIE_BREAK,
    seed: str = "",
    increment: int = 1,
) -> TallyOutcome:
    """Count `election` with `rule` (and, for MES, `completion`); ties follow `tie_break`.

    `increment` is the add1 step in money units: 1 for whole currency units, 100 when counting in
    cents. Raises TallyError for an invalid election or an impossible combination.
    """
    tie_break = _checked_tie_break(tie_break)
    if rule not in RULES:
        raise TallyError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    if completion not in COMPLETIONS:
        raise TallyError(
            f"unknown completion {completion!r}; choose one of {', '.join(COMPLETIONS)}"
        )
    if completion != "none" and rule != "mes":
        raise TallyError("a completion applies to the Method of Equal Shares (rule 'mes') only")
    if not isinstance(seed, str):
        raise TallyError("the seed must be a string")
    if not _is_int(increment) or increment < 1:
        raise TallyError("the add1 increment must be a whole number of money units, at least 1")
    profile = _Profile.of(election)
    if rule in ("mes", "phragmen") and profile.vote_type not in _APPROVAL_LIKE:
        raise TallyError(
            f"rule {rule!r} counts approval ballots only, not {profile.vote_type!r} ballots "
            "(use rule 'greedy' for points)"
        )
    rank = _tie_break_ranks(profile, tie_break, seed)
    per_voter_budget = None
    if rule == "greedy":
        winners = _greedy(profile, rank)
    elif rule == "phragmen":
        winners = _sequential_phragmen(profile, rank)
    else:
        winners, per_voter_budget = _method_of_equal_shares(profile, rank, completion, increment)
    return TallyOutcome(
        rule=rule,
        completion=completion,
        tie_break=tie_break,
        seed=seed,
        winners=tuple(profile.ids[p] for p in winners),
        total_cost=sum(profile.costs[p] for p in winners),
        scores=dict(zip(profile.ids, profile.scores)),
        budget=profile.budget,
        per_voter_budget=per_voter_budget,
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_tie_break(tie_break: Sequence[str]) -> tuple[str, ...]:
    if isinstance(tie_break, str):
        raise TallyError("tie_break is a sequence of keys, e.g. ('cost', 'votes', 'lot')")
    keys = tuple(tie_break)
    unknown = [key for key in keys if key not in TIE_BREAK_KEYS]
    if unknown:
        raise TallyError(
            f"unknown tie-break key(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(TIE_BREAK_KEYS)}"
        )
    if len(set(keys)) != len(keys):
        raise TallyError("each tie-break key may appear once")
    return keys


# --- the election, indexed ------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """An election checked and indexed: projects are numbered in the order of `Election.costs`."""

    vote_type: str
    ids: tuple[str, ...]
    costs: tuple[int, ...]
    budget: int
    num_voters: int
    scores: tuple[int, ...]  # votes or points per project
    supporters: tuple[int, ...]  # ballots naming the project (the tie-break key "votes")
    # Approval ballots only: the distinct ballots (project numbers) and how often each was cast.
    distinct_ballots: tuple[tuple[tuple[int, ...], int], ...]

    @classmethod
    def of(cls, election: Election) -> _Profile:
        if not isinstance(election, Election):
            raise TallyError("expected an Election")
        vote_type = election.vote_type
        if vote_type not in VOTE_TYPES:
            raise TallyError(
                f"unknown vote type {vote_type!r}; choose one of {', '.join(VOTE_TYPES)}"
            )
        if not _is_int(election.budget) or election.budget < 0:
            raise TallyError("the budget must be a whole, non-negative amount of money units")
        if not isinstance(election.costs, Mapping):
            raise TallyError("costs must map project ids to whole amounts")
        ids = tuple(election.costs)
        for project_id in ids:
            cost = election.costs[project_id]
            if not isinstance(project_id, str):
                raise TallyError(f"project ids are strings, not {project_id!r}")
            if not _is_int(cost) or cost <= 0:
                raise TallyError(f"project {project_id!r}: the cost must be a whole amount above 0")
        if election.scoring is not None and vote_type != "ordinal":
            raise TallyError("scoring (points per rank) applies to ordinal ballots only")
        number = {project_id: index for index, project_id in enumerate(ids)}
        scores = [0] * len(ids)
        supporters = [0] * len(ids)
        distinct: tuple[tuple[tuple[int, ...], int], ...] = ()
        if vote_type in _APPROVAL_LIKE:
            approved = [_approval_ballot(ballot, number, vote_type) for ballot in election.ballots]
            for project, votes in Counter(chain.from_iterable(approved)).items():
                scores[project] = supporters[project] = votes
            distinct = tuple(Counter(map(tuple, map(sorted, approved))).items())
        else:
            if vote_type == "cumulative":
                points = [_cumulative_ballot(ballot, number) for ballot in election.ballots]
            else:
                points = _ordinal_points(election.ballots, number, election.scoring)
            for ballot in points:
                for project, given in ballot.items():
                    scores[project] += given
                    supporters[project] += 1
        return cls(
            vote_type=vote_type,
            ids=ids,
            costs=tuple(election.costs[project_id] for project_id in ids),
            budget=election.budget,
            num_voters=len(election.ballots),
            scores=tuple(scores),
            supporters=tuple(supporters),
            distinct_ballots=distinct,
        )


def _checked_ballot(ballot: object) -> Mapping:
    if not isinstance(ballot, Mapping):
        raise TallyError("a ballot maps project ids to points")
    return ballot


def _project_number(project_id: object, number: Mapping[str, int]) -> int:
    try:
        return number[project_id]  # type: ignore[index]
    except (KeyError, TypeError):
        raise TallyError(f"a ballot names an unknown project {project_id!r}") from None


def _approval_ballot(ballot: Ballot, number: Mapping[str, int], vote_type: str) -> list[int]:
    ballot = _checked_ballot(ballot)
    if vote_type == "choose-1" and len(ballot) > 1:
        raise TallyError("a choose-1 ballot names one project at most")
    marks = list(ballot.values())
    # Checked in bulk (real elections have many ballots); a bad mark is then looked up.
    if marks.count(1) != len(marks) or not set(map(type, marks)) <= {int}:
        mark = next(mark for mark in marks if mark != 1 or not _is_int(mark))
        raise TallyError(f"an approval ballot marks each approved project with 1, not {mark!r}")
    try:
        return list(map(number.__getitem__, ballot))
    except (KeyError, TypeError):
        unknown = next(project_id for project_id in ballot if project_id not in number)
        raise TallyError(f"a ballot names an unknown project {unknown!r}") from None


def _cumulative_ballot(ballot: Ballot, number: Mapping[str, int]) -> dict[int, int]:
    points = {}
    for project_id, given in _checked_ballot(ballot).items():
        if not _is_int(given) or given < 0:
            raise TallyError(f"cumulative points are whole numbers of at least 0, not {given!r}")
        if given:
            points[_project_number(project_id, number)] = given
    return points


def _ordinal_points(
    ballots: Sequence[Ballot], number: Mapping[str, int], scoring: Sequence[int] | None
) -> list[dict[int, int]]:
    rankings = [
        [_project_number(project_id, number) for project_id in _checked_ballot(ballot)]
        for ballot in ballots
    ]
    if scoring is None:
        longest = max((len(ranking) for ranking in rankings), default=0)
        scoring = range(longest, 0, -1)
    elif isinstance(scoring, (str, bytes)) or not all(_is_int(s) and s >= 0 for s in scoring):
        raise TallyError("scoring lists whole, non-negative points per rank, best rank first")
    per_rank = list(scoring)
    # Ranks beyond the scoring list earn nothing but still count the project as named.
    return [
        {
            project: per_rank[rank] if rank < len(per_rank) else 0
            for rank, project in enumerate(ranking)
        }
        for ranking in rankings
    ]


def _tie_break_ranks(profile: _Profile, keys: tuple[str, ...], seed: str) -> list[int]:
    """Each project's place in the tie-break order (0 = preferred); ties left over go by id."""

    def lot(project: int) -> str:
        return hashlib.sha256((seed + profile.ids[project]).encode("utf-8")).hexdigest()

    key_of = {
        "cost": lambda project: profile.costs[project],
        "votes": lambda project: -profile.supporters[project],
        "id": lambda project: profile.ids[project],
        "lot": lot,
    }
    parts = [key_of[key] for key in keys] + [key_of["id"]]
    order = sorted(
        range(len(profile.ids)), key=lambda project: tuple(part(project) for part in parts)
    )
    rank = [0] * len(order)
    for place, project in enumerate(order):
        rank[project] = place
    return rank


# --- greedy -------------------------------------------------------------------------------------


def _greedy(profile: _Profile, rank: Sequence[int], already: Sequence[int] = ()) -> list[int]:
    """Projects by score (ties by rank), each taken if it still fits; score 0 never wins."""
    taken = set(already)
    left = profile.budget - sum(profile.costs[p] for p in taken)
    candidates = [p for p, score in enumerate(profile.scores) if score > 0 and p not in taken]
    winners = []
    for project in sorted(candidates, key=lambda p: (-profile.scores[p], rank[p])):
        if profile.costs[project] <= left:
            winners.append(project)
            left -= profile.costs[project]
    return winners


# --- approval ballots, indexed for MES and Phragmén --------------------------------------------


class _ApprovalIndex:
    """Approval ballots as groups of identical ballots (with their count) and supporter lists."""

    # Groups cast at least this often are counted one by one with their weight; lighter groups are
    # listed once per voter so that counting them is a single C-level pass (collections.Counter).
    _HEAVY_GROUP = 8

    def __init__(self, profile: _Profile) -> None:
        self.group_weight = [count for _, count in profile.distinct_ballots]
        supporters: list[list[int]] = [[] for _ in profile.ids]
        for group, (projects, _) in enumerate(profile.distinct_ballots):
            for project in projects:
                supporters[project].append(group)
        self.supporters = supporters
        self.support = [sum(self.group_weight[g] for g in groups) for groups in supporters]
        self.light_voters = [
            [
                g
                for g in groups
                for _ in range(self.group_weight[g])
                if self.group_weight[g] < self._HEAVY_GROUP
            ]
            for groups in supporters
        ]
        self.heavy_groups = [
            [g for g in groups if self.group_weight[g] >= self._HEAVY_GROUP]
            for groups in supporters
        ]

    def overlapping(self) -> list[list[int]]:
        """For each project, the projects sharing a supporter with it (itself included)."""
        masks = []
        for groups in self.supporters:
            bits = bytearray(len(self.group_weight) // 8 + 1)
            for group in groups:
                bits[group >> 3] |= 1 << (group & 7)
            masks.append(int.from_bytes(bits, "little"))
        return [[q for q, other in enumerate(masks) if mask & other] for mask in masks]


# --- sequential Phragmén ------------------------------------------------------------------------


def _sequential_phragmen(profile: _Profile, rank: Sequence[int]) -> list[int]:
    """Sequential Phragmén as pabutools computes it, with exact loads.

    Each round selects the project whose supporters would end with the lowest common load
    (their loads plus its cost, shared). When several projects tie for that load and any of them
    no longer fits the budget, the count stops (pabutools' rule; the tie order does not matter).
    """
    index = _ApprovalIndex(profile)
    weight = index.group_weight
    # A voter's load is the load set by the last selected project they approved (0 before any).
    load_setter = [-1] * len(weight)
    load_of_setter: dict[int, Fraction] = {}

    def new_load(project: int) -> Fraction:
        carried: defaultdict[int, int] = defaultdict(int)
        for group in index.supporters[project]:
            carried[load_setter[group]] += weight[group]
        loads = sum((load_of_setter[s] * w for s, w in carried.items() if s >= 0), Fraction(0))
        return (loads + profile.costs[project]) / index.support[project]

    # Loads only grow, so a project's last computed load bounds its current one from below.
    heap = [
        (Fraction(profile.costs[p], index.support[p]), rank[p], p)
        for p in range(len(profile.ids))
        if index.support[p] and profile.costs[p] <= profile.budget
    ]
    heapify(heap)
    winners: list[int] = []
    spent = 0
    while heap:
        lowest: Fraction | None = None
        computed = []
        while heap and (lowest is None or heap[0][0] <= lowest):
            _, place, project = heappop(heap)
            load = new_load(project)
            computed.append((load, place, project))
            if lowest is None or load < lowest:
                lowest = load
        tied = [entry for entry in computed if entry[0] == lowest]
        if any(spent + profile.costs[project] > profile.budget for _, _, project in tied):
            break
        _, _, chosen = min(tied, key=lambda entry: entry[1])
        winners.append(chosen)
        spent += profile.costs[chosen]
        load_of_setter[chosen] = lowest  # type: ignore[assignment]
        for group in index.supporters[chosen]:
            load_setter[group] = chosen
        for entry in computed:
            if entry[2] != chosen:
                heappush(heap, entry)
    return winners


# --- the Method of Equal Shares -------------------------------------------------------------------


def _method_of_equal_shares(
    profile: _Profile, rank: Sequence[int], completion: str, increment: int
) -> tuple[list[int], Fraction | None]:
    if profile.num_voters == 0:
        return [], None
    counter = _EqualShares(profile, rank)
    start = Fraction(profile.budget, profile.num_voters)
    if completion == "none":
        return counter.run(start).winners, start
    final = _raise_voter_budget(
        counter, start, increment, stop_when_exhaustive=completion != "add1"
    )
    winners = final.winners
    if completion == "add1u":
        winners = winners + _greedy(profile, rank, already=winners)
    return winners, final.per_voter_budget


# Per-voter budgets are tracked in fixed point with this many fraction bits, with an error bound;
# a decision the bound cannot settle (a near or exact tie) makes the run start over in fractions.
_SCALE_BITS = 64
_ERROR_LIMIT = 1 << (_SCALE_BITS - 24)
# Lower bounds on a project's price per unit of cost (its "alpha") are kept as integers in units
# of 2**-64; a project that can no longer be bought gets a key above every possible alpha (<= 1).
_KEY_UNIT = 1 << 64
_NEVER = _KEY_UNIT + 1
# add1 steps are computed in blocks from the top down, so each run can borrow lower bounds from
# the run one step above it (see _EqualSharesRun); blocks grow towards the expected stop.
_FIRST_BLOCK = 8
_LONGEST_BLOCK = 32


class _Undecided(Exception):
    """The fixed-point pass cannot certify a decision; the run is repeated exactly."""


class _EqualShares:
    """MES with cost satisfaction on one election, runnable at any per-voter budget.

    Keeps what does not depend on the per-voter budget (supporter lists, which projects share
    supporters) across runs.
    """

    def __init__(self, profile: _Profile, rank: Sequence[int]) -> None:
        self.profile = profile
        self.rank = rank
        self.index = _ApprovalIndex(profile)
        self.overlapping = self.index.overlapping()
        self.candidates = [p for p, support in enumerate(self.index.support) if support]
        self.total_candidate_cost = sum(profile.costs[p] for p in self.candidates)

    def run(
        self, per_voter_budget: Fraction, donor: _EqualSharesRun | None = None
    ) -> _EqualSharesRun:
        try:
            return _EqualSharesRun(self, per_voter_budget, exact=False, donor=donor)
        except _Undecided:
            return _EqualSharesRun(self, per_voter_budget, exact=True, donor=donor)

    def is_exhaustive(self, run: _EqualSharesRun) -> bool:
        """No project someone approved could still be added within the budget."""
        left = self.profile.budget - run.total_cost
        chosen = set(run.winners)
        return all(self.profile.costs[p] > left for p in self.candidates if p not in chosen)


class _EqualSharesRun:
    """One run of MES at a fixed per-voter budget.

    Voters who approved the same selected projects so far hold the same budget: they form a budget
    class. A voter who cannot pay the full share pays all they have, so a class's budget is the
    per-voter budget minus the shares of its selected projects, floored at zero; classes at zero
    are merged into one. Pricing a project counts its supporters per class, so its cost grows with
    the number of classes among them, not with the number of voters.

    Fast pass: class budgets are integers in units of 2**-64 with a global error bound, so each
    project's payment is known within an interval and a decision is taken only when the intervals
    prove it (_Undecided otherwise). Exact pass (`exact=True`): the same steps in fractions.

    A run may follow a donor: a run with a higher per-voter budget. While both have selected the
    same projects, every budget here is at most the donor's, so every price at least the donor's:
    the donor's lower bounds hold here too. The classes are the same as well (they depend on the
    selections only), so the donor's class of each voter and its counts per class are reused.
    Once the selections differ, the donor's bounds hold again as soon as both have selected the
    same projects and no budget here exceeds the donor's (the classes then differ).
    """

    _EXHAUSTED = 0  # the class of voters with nothing left

    def __init__(
        self,
        counter: _EqualShares,
        per_voter_budget: Fraction,
        *,
        exact: bool,
        donor: _EqualSharesRun | None,
    ) -> None:
        self.counter = counter
        self.per_voter_budget = per_voter_budget
        self.exact = exact
        if exact:
            self.scale = 1
            self.error = 0
            start: int | Fraction = per_voter_budget
        else:
            self.scale = 1 << _SCALE_BITS
            start = per_voter_budget.numerator * self.scale // per_voter_budget.denominator
            self.error = 1  # the flooring of the per-voter budget
        self.scaled_costs = [cost * self.scale for cost in counter.profile.costs]
        self.class_budget: list[int | Fraction] = [0, start]
        self.class_of = [1] * len(counter.index.group_weight)
        # Payment bounds per project: (low numerator, low denominator, high numerator, high
        # denominator) of the equal payment, in scaled money units; None once a supporter paid.
        self.bounds: list[tuple | None] = [None] * len(self.scaled_costs)
        self.dirtied_in = [-1] * len(self.scaled_costs)  # the last round whose charge touched it
        # A lower bound on each project's price per unit of cost, in units of 1 / _KEY_UNIT.
        self.keys = [_NEVER] * len(self.scaled_costs)
        self.heap: list[tuple[int, int, int]] = []
        self.winners: list[int] = []
        self.total_cost = 0
        # What a run with a lower per-voter budget can reuse, per round: the lower bounds found,
        # each voter's class, the classes that paid, and the supporters counted per class.
        self.round_keys: list[list[int]] = []
        self.round_classes: list[list[int]] = []
        self.round_payers: list[list[int]] = []
        self.round_counts: list[dict[int, tuple[list[int], Counter]]] = []
        self.donor = donor
        self.rival: _EqualSharesRun | None = None  # the donor, once the selections differ
        self._count()
        self.donor = self.rival = None

    def forget_rounds(self) -> None:
        """Keep the result only: drop what the count and a following run needed."""
        self.round_keys, self.round_classes, self.round_payers, self.round_counts = [], [], [], []
        self.class_of, self.class_budget, self.bounds, self.keys, self.heap = [], [], [], [], []

    def _count(self) -> None:
        costs = self.counter.profile.costs
        support = self.counter.index.support
        each, per = self.per_voter_budget.numerator, self.per_voter_budget.denominator
        for project in self.counter.candidates:
            # Round one: every voter holds the per-voter budget, so a project is affordable iff its
            # supporters hold its cost, and then all pay the equal share cost / supporters.
            if support[project] * each >= costs[project] * per:
                share = (self.scaled_costs[project], support[project])
                self.bounds[project] = share + share
                self.keys[project] = _KEY_UNIT // support[project]
                self.heap.append((self.keys[project], self.counter.rank[project], project))
        heapify(self.heap)
        # The run whose lower bounds hold here: the donor, or after a divergence the donor again
        # once every budget is back at or below its own (_budgets_at_most_the_rivals).
        bounding = self.donor
        diverged_in = 0
        checked = False  # whether the budgets were compared since the selections last differed
        while True:
            turn = len(self.winners)
            donor = self.donor
            if bounding is None and self.rival is not None:
                same = self._same_selections(turn, diverged_in)
                if same and not checked and self._budgets_at_most_the_rivals(turn, diverged_in):
                    bounding = self.rival
                checked = same
            self.round_classes.append(donor.round_classes[turn] if donor else list(self.class_of))
            self.round_counts.append({})
            borrowed = bounding.round_keys[turn] if bounding else None
            chosen = self._select(borrowed)
            self.round_keys.append(
                list(map(max, self.keys, borrowed)) if borrowed else list(self.keys)
            )
            if chosen is None:
                return
            if bounding and (turn >= len(bounding.winners) or bounding.winners[turn] != chosen):
                if donor:
                    self.class_of = list(donor.round_classes[turn])
                    self.rival, self.donor, donor = donor, None, None
                bounding, diverged_in = None, turn
            self._charge(chosen, donor.round_payers[turn] if donor else None)

    def _same_selections(self, turn: int, diverged_in: int) -> bool:
        """Whether this run and the donor have selected the same projects (in any order)."""
        rival = self.rival
        if turn > len(rival.winners) or rival.scale != self.scale:
            self.rival = None
            return False
        return set(self.winners[diverged_in:]) == set(rival.winners[diverged_in:turn])

    def _budgets_at_most_the_rivals(self, turn: int, diverged_in: int) -> bool:
        """Whether the donor's lower bounds hold again after the two runs selected differently.

        With the same projects selected since `diverged_in`, only their supporters can hold
        different budgets; if none holds more here than in the donor, the donor bounds this run
        again, as at the start.
        """
        rival = self.rival
        since = self.winners[diverged_in:]
        groups = set().union(*(self.counter.index.supporters[p] for p in since))
        theirs_of = rival.round_classes[turn]
        pairs = set(zip(map(self.class_of.__getitem__, groups), map(theirs_of.__getitem__, groups)))
        mine, theirs = self.class_budget, rival.class_budget
        # Errors: this run's now, the donor's final one (at least what it was in that round).
        return all(
            own == self._EXHAUSTED
            or (other != self._EXHAUSTED and mine[own] + self.error <= theirs[other] - rival.error)
            for own, other in pairs
        )

    def _select(self, donor_keys: list[int] | None) -> int | None:
        """The project with the lowest price per unit of cost (ties by rank), or None."""
        heap, bounds, keys = self.heap, self.bounds, self.keys
        best = -1
        best_ceiling = 0
        examined = []
        while heap:
            key, place, project = heap[0]
            if donor_keys is not None and donor_keys[project] > key:
                # The donor knows better: raise this project's bound (drop it, if unaffordable).
                key = keys[project] = donor_keys[project]
                if key == _NEVER:
                    heappop(heap)
                else:
                    heapreplace(heap, (key, place, project))
                continue
            if best >= 0 and key > best_ceiling:
                break  # its lower bound already exceeds the best price: it cannot win this round
            heappop(heap)
            found = bounds[project]
            if found is None:
                found = self._payment_bounds(project)
                if found is None:
                    keys[project] = _NEVER  # unaffordable now, so for the rest of the run
                    continue
                bounds[project] = found
                key = keys[project] = max(
                    key, found[0] * _KEY_UNIT // (found[1] * self.scaled_costs[project])
                )
            examined.append((key, place, project))
            if best < 0 or self._cheaper(project, best):
                best = project
                high, high_den = found[2], found[3]
                best_ceiling = -(-high * _KEY_UNIT // (high_den * self.scaled_costs[project]))
        for entry in examined:
            if entry[2] != best:
                heappush(heap, entry)
        return best if best >= 0 else None

    def _cheaper(self, project: int, other: int) -> bool:
        """Whether `project` comes before `other`: a lower price per unit of cost, or tied and
        ranked first. Raises _Undecided when the bounds overlap without being one exact value."""
        low, low_den, high, high_den = self.bounds[project]
        o_low, o_low_den, o_high, o_high_den = self.bounds[other]
        cost, o_cost = self.counter.profile.costs[project], self.counter.profile.costs[other]
        if high * o_low_den * o_cost < o_low * high_den * cost:
            return True
        if low * o_high_den * o_cost > o_high * low_den * cost:
            return False
        exact = low * high_den == high * low_den and o_low * o_high_den == o_high * o_low_den
        if exact and low * o_low_den * o_cost == o_low * low_den * cost:
            return self.counter.rank[project] < self.counter.rank[other]
        raise _Undecided

    def _supporters_per_class(self, project: int) -> tuple[list[int], Counter]:
        """The classes of `project`'s supporters (in the donor's budget order if it has them) and
        how many voters each holds; the donor's count serves while no supporter paid since."""
        turn = len(self.winners)
        if self.donor is not None:
            for earlier in range(turn, self.dirtied_in[project], -1):
                counted = self.donor.round_counts[earlier].get(project)
                if counted is not None:
                    return counted
        index = self.counter.index
        class_of = self.round_classes[turn]
        voters = Counter(map(class_of.__getitem__, index.light_voters[project]))
        for group in index.heavy_groups[project]:
            voters[class_of[group]] += index.group_weight[group]
        voters.pop(self._EXHAUSTED, None)
        return list(voters), voters

    def _payment_bounds(self, project: int) -> tuple | None:
        """Bounds on the equal payment of `project`'s supporters, or None if they cannot afford it.

        The payment solves sum(min(budget, payment)) = cost; true budgets lie within `error` of
        the tracked ones, so solving with all budgets raised (lowered) by the error bounds it from
        below (above). Classes sorted by budget make the poor ones a prefix, found by bisection.
        """
        classes, voters = self._supporters_per_class(project)
        classes = sorted(classes, key=self.class_budget.__getitem__)
        self.round_counts[-1][project] = (classes, voters)
        values = list(map(self.class_budget.__getitem__, classes))
        error = self.error
        spent = bisect_right(values, -error)  # classes that certainly have nothing left
        if spent:
            classes, values = classes[spent:], values[spent:]
        if not values:
            return None
        weights = list(map(voters.__getitem__, classes))
        weight_before = list(accumulate(weights, initial=0))
        money_before = list(accumulate(map(mul, weights, values), initial=0))
        cost = self.scaled_costs[project]
        slack = error * weight_before[-1]
        if money_before[-1] + slack < cost:
            return None
        if money_before[-1] - slack < cost:
            raise _Undecided
        return _equal_payment(values, money_before, weight_before, cost, error) + _equal_payment(
            values, money_before, weight_before, cost, -error
        )

    def _charge(self, project: int, payers: list[int] | None) -> None:
        """Every supporter pays the equal share (or all they have): their class moves on.

        `payers`, from a donor with the same selections, are the classes that pay, in the order
        their successors are numbered; without them the classes are found and numbered here.
        """
        low, low_den, high, high_den = self.bounds[project]
        if self.exact:
            payment: int | Fraction = Fraction(low, low_den)
        else:
            payment = (low * high_den + high * low_den) // (2 * low_den * high_den)
            self.error += (high * low_den - low * high_den) // (2 * low_den * high_den) + 2
            if self.error > _ERROR_LIMIT:
                raise _Undecided
        class_budget = self.class_budget
        if payers is None:
            payers = self._move_supporters(project, payment)
        else:
            class_budget.extend([class_budget[old] - payment for old in payers])
        self.round_payers.append(payers)
        turn = len(self.winners)
        touched = self.counter.overlapping[project]
        if len(touched) == len(self.bounds):  # common in big elections: every project shares voters
            self.bounds = [None] * len(touched)
            self.dirtied_in = [turn] * len(touched)
        else:
            bounds, dirtied_in = self.bounds, self.dirtied_in
            for other in touched:
                bounds[other] = None
                dirtied_in[other] = turn
        self.winners.append(project)
        self.total_cost += self.counter.profile.costs[project]

    def _move_supporters(self, project: int, payment: int | Fraction) -> list[int]:
        """Give each paying class a successor with `payment` less (or the exhausted class) and move
        the supporters there; returns the paying classes in the order of their successors."""
        supporters = self.counter.index.supporters[project]
        class_of, class_budget = self.class_of, self.class_budget
        before = list(map(class_of.__getitem__, supporters))
        payers = list(set(before) - {self._EXHAUSTED})
        moved_to = dict(zip(payers, range(len(class_budget), len(class_budget) + len(payers))))
        moved_to[self._EXHAUSTED] = self._EXHAUSTED
        class_budget.extend([class_budget[old] - payment for old in payers])
        exhausted = -self.error  # at or below this a class certainly has nothing left
        if min(class_budget[-len(payers) :], default=0) <= exhausted:
            for old in payers:
                if class_budget[moved_to[old]] <= exhausted:
                    moved_to[old] = self._EXHAUSTED
        for group, new in zip(supporters, map(moved_to.__getitem__, before)):
            class_of[group] = new
        return payers


def _equal_payment(
    values: list, money_before: list, weight_before: Sequence[int], cost: int | Fraction, shift: int
) -> tuple:
    """The payment per rich supporter when every budget is `values[i] + shift`, as a fraction.

    The first supporter (in budget order) who can pay the share left after the poorer ones paid
    everything marks the split; the test is monotone along the order, hence the bisection.
    """
    voters = weight_before[-1]
    low, high = 0, len(values) - 1
    while low < high:
        middle = (low + high) // 2
        poorer = weight_before[middle]
        if (values[middle] + shift) * (voters - poorer) >= cost - money_before[
            middle
        ] - shift * poorer:
            high = middle
        else:
            low = middle + 1
    poorer = weight_before[low]
    return cost - money_before[low] - shift * poorer, voters - poorer


def _raise_voter_budget(
    counter: _EqualShares, start: Fraction, increment: int, *, stop_when_exhaustive: bool
) -> _EqualSharesRun:
    """The add1 completion: MES at start, start + increment, ... exactly as stepping one by one.

    Stops before the first run whose winners cost more than the budget and returns the run
    before it; with `stop_when_exhaustive`, also stops at the first run that leaves no approved
    project affordable (pabutools' voter_budget_increment). Without it, like pabutools'
    exhaustion_by_budget_increase, the per-voter budget is not raised by more than the budget.
    """
    budget = counter.profile.budget
    current = counter.run(start)
    current.forget_rounds()
    if stop_when_exhaustive and counter.is_exhaustive(current):
        return current
    last_step = None if stop_when_exhaustive else budget // increment
    if last_step is not None and counter.total_candidate_cost <= budget:
        return counter.run(start + last_step * increment)  # every step is feasible
    step, size = 0, _FIRST_BLOCK
    while last_step is None or step < last_step:
        top = step + size if last_step is None else min(step + size, last_step)
        block: dict[int, _EqualSharesRun] = {}
        donor = None
        for later in range(top, step, -1):
            block[later] = counter.run(start + later * increment, donor)
            if donor is not None:
                donor.forget_rounds()
            donor = block[later]
        donor.forget_rounds()
        for later in range(step + 1, top + 1):
            run = block[later]
            if run.total_cost > budget:
                return block.get(later - 1, current)
            if stop_when_exhaustive and counter.is_exhaustive(run):
                return run
        size = _next_block(
            size,
            top - step,
            block[top].total_cost - current.total_cost,
            budget - block[top].total_cost,
        )
        step, current = top, block[top]
    return current


def _next_block(size: int, steps: int, rise: int, left: int) -> int:
    """How many steps to count in the next block: about as many as the winners' cost, rising as
    over the last `steps`, needs to pass the budget (only the top run of a block has no donor,
    but a block overshooting the stop counts runs in vain)."""
    if rise <= 0:
        return min(2 * size, _LONGEST_BLOCK)
    return max(_FIRST_BLOCK, min(_LONGEST_BLOCK, (left * steps * 11) // (rise * 10) + 1))
