"""Random small elections, full of ties, counted by Buurtbudget and by pabutools: the same winners.

Costs, budgets and ballots are tiny so that equal prices, equal vote counts and budgets that
fit exactly are common; both sides break ties in the same documented order.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.tally import Election, ballot_from_ranking, run_tally
from tests.parity import (
    pabutools_election,
    pabutools_winners,
    points_times_cost,
    tie_breaking,
    tie_order,
)

# Project ids "1".."11": as strings "10" sorts before "2", which the "id" key must respect.
PROJECT_IDS = [str(number) for number in range(1, 12)]
TIE_BREAKS = [("id",), ("cost", "votes", "lot"), ("votes", "lot"), ("lot",)]
EXAMPLES = settings(max_examples=40, deadline=None)


@st.composite
def elections(draw, vote_type: str) -> Election:
    ids = draw(st.lists(st.sampled_from(PROJECT_IDS), min_size=1, max_size=6, unique=True))
    costs = {pid: draw(st.integers(1, 12)) for pid in ids}
    budget = draw(st.integers(0, 40))
    voters = draw(st.integers(0, 8))
    if vote_type == "approval":
        ballots = [dict.fromkeys(draw(st.sets(st.sampled_from(ids))), 1) for _ in range(voters)]
    elif vote_type == "cumulative":
        ballots = [
            draw(st.dictionaries(st.sampled_from(ids), st.integers(1, 4))) for _ in range(voters)
        ]
    else:
        ballots = [
            ballot_from_ranking(draw(st.lists(st.sampled_from(ids), unique=True, max_size=4)))
            for _ in range(voters)
        ]
    return Election(budget=budget, costs=costs, ballots=ballots, vote_type=vote_type)


tie_breaks = st.tuples(
    st.sampled_from(TIE_BREAKS), st.sampled_from(["", "seed-1", "oosterpark-2026"])
)


def both_counts(
    election: Election, rule: str, completion: str, keys, seed: str, **oracle
) -> tuple[list, list]:
    ours = list(run_tally(election, rule, completion, tie_break=keys, seed=seed).winners)
    instance, profile = pabutools_election(election)
    theirs = pabutools_winners(
        instance, profile, rule, completion, tie_breaking(tie_order(election, keys, seed)), **oracle
    )
    return ours, theirs


@pytest.mark.parametrize(
    ("rule", "completion"),
    [
        ("greedy", "none"),
        ("mes", "none"),
        ("mes", "add1"),
        ("mes", "add1-exhaustive"),
        ("mes", "add1u"),
    ],
)
@EXAMPLES
@given(election=elections("approval"), ties=tie_breaks)
def test_approval_rules_select_what_pabutools_selects_in_the_same_order(
    rule, completion, election, ties
):
    ours, theirs = both_counts(election, rule, completion, *ties)
    assert ours == theirs


@EXAMPLES
@given(election=elections("approval"), ties=tie_breaks)
def test_sequential_phragmen_selects_what_pabutools_selects(election, ties):
    # pabutools returns Phragmén's winners sorted by id, so only the sets can be compared.
    ours, theirs = both_counts(election, "phragmen", "none", *ties)
    assert sorted(ours) == sorted(theirs)


@EXAMPLES
@given(election=elections("approval"), ties=tie_breaks, increment=st.integers(2, 7))
def test_add1_in_larger_steps_matches_pabutools_with_the_same_step(election, ties, increment):
    ours = list(
        run_tally(
            election, "mes", "add1", tie_break=ties[0], seed=ties[1], increment=increment
        ).winners
    )
    instance, profile = pabutools_election(election)
    theirs = pabutools_winners(
        instance,
        profile,
        "mes",
        "add1",
        tie_breaking(tie_order(election, *ties)),
        increment=increment,
    )
    assert ours == theirs


@EXAMPLES
@given(election=elections("cumulative"), ties=tie_breaks)
def test_greedy_by_points_on_cumulative_ballots_matches_pabutools(election, ties):
    ours, theirs = both_counts(election, "greedy", "none", *ties, sat_class=points_times_cost())
    assert ours == theirs


@EXAMPLES
@given(
    election=elections("ordinal"),
    ties=tie_breaks,
    scoring=st.sampled_from([None, (3, 2, 1), (5, 1)]),
)
def test_greedy_by_rank_points_on_ordinal_ballots_matches_pabutools(election, ties, scoring):
    election = Election(election.budget, election.costs, election.ballots, "ordinal", scoring)
    longest = max((len(ballot) for ballot in election.ballots), default=0)
    points = scoring if scoring is not None else range(longest, 0, -1)
    ours, theirs = both_counts(
        election, "greedy", "none", *ties, sat_class=points_times_cost(points)
    )
    assert ours == theirs
