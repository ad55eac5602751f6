"""The counting rules on small hand-made elections: given an election, when it is counted, then ...

Every expected result here was worked out by hand (the comments show the arithmetic); the parity
tests compare the same rules with pabutools on random and real elections.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import pytest

from domain.tally import (
    COMPLETIONS,
    DEFAULT_TIE_BREAK,
    Election,
    TallyError,
    ballot_from_ranking,
    run_tally,
)


def approval(budget: int, costs: dict[str, int], *ballots: str | list[str]) -> Election:
    """An approval election; a ballot lists the approved project ids ("ab": projects a and b)."""
    return Election(
        budget=budget, costs=costs, ballots=[dict.fromkeys(ballot, 1) for ballot in ballots]
    )


def lot_order(seed: str, *project_ids: str) -> list[str]:
    """The documented lot: ascending sha256 of the seed followed by the project id."""
    return sorted(
        project_ids, key=lambda pid: hashlib.sha256((seed + pid).encode("utf-8")).hexdigest()
    )


# -- greedy ----------------------------------------------------------------------------------------


def test_greedy_takes_the_most_voted_projects_and_skips_one_that_no_longer_fits():
    # Given a (3 votes, 60), b (2 votes, 50) and c (1 vote, 40) and 100 to spend
    election = approval(100, {"a": 60, "b": 50, "c": 40}, "ab", "ab", "ac")
    # When counted greedily
    outcome = run_tally(election, "greedy")
    # Then b no longer fits after a, and c, which does, is taken instead
    assert outcome.winners == ("a", "c")
    assert outcome.total_cost == 100
    assert outcome.scores == {"a": 3, "b": 2, "c": 1}
    assert outcome.per_voter_budget is None


def test_greedy_never_funds_a_project_nobody_voted_for():
    election = approval(100, {"a": 10, "unwanted": 5}, "a")
    assert run_tally(election, "greedy").winners == ("a",)


@pytest.mark.parametrize(
    ("tie_break", "winner"),
    [(("cost",), "cheap"), (("id",), "10"), (DEFAULT_TIE_BREAK, "cheap")],
)
def test_greedy_breaks_a_tie_in_votes_by_the_first_tie_break_key_that_differs(tie_break, winner):
    # Given three projects with one vote each and money for one of them
    election = approval(30, {"cheap": 20, "10": 30, "9": 30}, ["cheap"], ["10"], ["9"])
    # Then "cost" prefers the cheapest and "id" compares ids as text ("10" before "9")
    assert run_tally(election, "greedy", tie_break=tie_break).winners[0] == winner


def test_the_lot_is_the_sha256_of_seed_and_project_id_and_the_same_seed_gives_the_same_order():
    election = approval(10, {"a": 10, "b": 10, "c": 10}, "a", "b", "c")
    for seed in ["", "oosterpark-2026", "1", "2"]:
        outcome = run_tally(election, "greedy", tie_break=("lot",), seed=seed)
        assert outcome.winners == (lot_order(seed, "a", "b", "c")[0],)
        assert run_tally(election, "greedy", tie_break=("lot",), seed=seed) == outcome
    # The seed really matters: these two seeds draw different winners.
    assert lot_order("1", "a", "b", "c")[0] != lot_order("2", "a", "b", "c")[0]


def test_ties_the_keys_leave_open_go_by_project_id():
    election = approval(10, {"b": 10, "a": 10}, "a", "b")
    assert run_tally(election, "greedy", tie_break=("cost",)).winners == ("a",)
    assert run_tally(election, "greedy", tie_break=()).winners == ("a",)


def test_greedy_on_cumulative_ballots_ranks_by_points_and_breaks_ties_by_the_number_of_voters():
    # Given a and b with 4 points each: a from one voter, b from two
    election = Election(
        budget=10,
        costs={"a": 10, "b": 10, "c": 1},
        ballots=[{"a": 4}, {"b": 2, "c": 1}, {"b": 2}],
        vote_type="cumulative",
    )
    outcome = run_tally(election, "greedy", tie_break=("votes", "id"))
    # Then b (more voters) wins the tie and takes the whole budget
    assert outcome.winners == ("b",)
    assert outcome.scores == {"a": 4, "b": 4, "c": 1}


def test_greedy_on_ordinal_ballots_scores_each_rank():
    # Given rankings of three, scored 3/2/1 (Borda-like: the longest ballot has three ranks)
    ballots = [ballot_from_ranking(r) for r in (["x", "y", "z"], ["y", "x", "z"], ["y", "z", "x"])]
    election = Election(
        budget=2, costs={"x": 1, "y": 1, "z": 1}, ballots=ballots, vote_type="ordinal"
    )
    # Then y has 2+3+3 = 8 points, x 3+2+1 = 6, z 1+1+2 = 4
    outcome = run_tally(election, "greedy")
    assert outcome.scores == {"x": 6, "y": 8, "z": 4}
    assert outcome.winners == ("y", "x")


def test_ordinal_points_follow_the_given_scoring_and_ranks_beyond_it_earn_nothing():
    ballots = [ballot_from_ranking(["x", "y", "z"]), ballot_from_ranking(["z", "y"])]
    election = Election(
        budget=3,
        costs={"x": 1, "y": 1, "z": 1},
        ballots=ballots,
        vote_type="ordinal",
        scoring=(5, 1),
    )
    outcome = run_tally(election, "greedy")
    assert outcome.scores == {"x": 5, "y": 2, "z": 5}
    # x and z tie at 5 points and cost; z is named on more ballots (the "votes" key)
    assert outcome.winners == ("z", "x", "y")


def test_a_ranking_is_kept_best_first():
    assert list(ballot_from_ranking(["b", "a", "c"])) == ["b", "a", "c"]
    with pytest.raises(TallyError, match="once"):
        ballot_from_ranking(["a", "a"])


# -- Method of Equal Shares ------------------------------------------------------------------------


def test_mes_gives_a_minority_its_share_where_greedy_gives_everything_to_the_majority():
    # Given 40 for 4 voters (10 each): three want a (30), two of them also c (10), one wants b (10)
    election = approval(40, {"a": 30, "b": 10, "c": 10}, "ac", "ac", "a", "b")
    # When greedy: a (3 votes) and c (2 votes) use everything
    assert run_tally(election, "greedy").winners == ("a", "c")
    # When MES: a costs its three voters 10 each; c's voters have nothing left, b's voter has 10
    outcome = run_tally(election, "mes")
    assert outcome.winners == ("a", "b")
    assert outcome.per_voter_budget == 10


def test_mes_lets_poorer_supporters_pay_all_they_have_and_splits_the_rest_equally():
    # Given 50 for 5 voters (10 each); w (12) is wanted by voters 1-4, q (24) by voters 1, 2 and 5
    election = approval(50, {"w": 12, "q": 24}, "wq", "wq", "w", "w", "q")
    # w first (3 each, 1/4 of its cost per voter); then voters 1 and 2 have 7 left: they pay 7 each
    # and voter 5 pays the remaining 10, exactly what voter 5 has.
    assert run_tally(election, "mes").winners == ("w", "q")


def test_mes_counts_exactly_even_where_the_share_is_a_third():
    # Given 10 for 3 voters: 10/3 each, and a project of exactly 10 they all want
    outcome = run_tally(approval(10, {"x": 10}, "x", "x", "x"), "mes")
    # Then their three thirds pay for it exactly (floats would fall 0.000...1 short)
    assert outcome.per_voter_budget == Fraction(10, 3)
    assert outcome.winners == ("x",)


@pytest.mark.parametrize("seed", ["", "1", "2", "oosterpark-2026"])
def test_mes_breaks_equal_prices_with_the_tie_break(seed):
    # Given a and b, same cost, same voters: each costs both voters everything they have
    election = approval(5, {"a": 5, "b": 5}, "ab", "ab")
    assert run_tally(election, "mes", tie_break=("id",)).winners == ("a",)
    assert run_tally(election, "mes", tie_break=("lot",), seed=seed).winners == (
        lot_order(seed, "a", "b")[0],
    )


def test_add1_raises_each_voters_budget_until_more_would_overspend():
    # Given 30 for 3 voters (10 each): a (12) wanted by voter 1 alone, b (9) by voters 2 and 3
    election = approval(30, {"a": 12, "b": 9}, "a", "b", "b")
    # Then MES alone funds b only (voter 1 holds 10 < 12)
    assert run_tally(election, "mes").winners == ("b",)
    # add1: from 12 each, a is affordable too; everything fits, so (like pabutools) the per-voter
    # budget rises as far as the whole budget: 10 + 30
    add1 = run_tally(election, "mes", "add1")
    assert (add1.winners, add1.per_voter_budget) == (("b", "a"), 40)
    # with the exhaustive stop it stops at 12, where nothing more could be added
    exhaustive = run_tally(election, "mes", "add1-exhaustive")
    assert (exhaustive.winners, exhaustive.per_voter_budget) == (("b", "a"), 12)


def test_add1_returns_the_last_result_that_fits_and_add1u_fills_up_greedily():
    # Given 10 for 2 voters (5 each) and two projects of 6, one per voter
    election = approval(10, {"a": 6, "b": 6}, "a", "b")
    # At 5 each nothing is affordable; at 6 each both are, costing 12 > 10: add1 keeps nothing
    for completion in ("none", "add1", "add1-exhaustive"):
        outcome = run_tally(election, "mes", completion)
        assert (outcome.winners, outcome.per_voter_budget) == ((), 5)
    # add1u then adds projects by votes; a and b tie, the lot decides
    outcome = run_tally(election, "mes", "add1u", seed="s")
    assert outcome.winners == (lot_order("s", "a", "b")[0],)


def test_add1_steps_by_the_given_increment():
    # Counting in cents, the service steps by 100: 10.00 + 2.00 each is the first affordable step
    election = approval(30_00, {"a": 12_00, "b": 9_00}, "a", "b", "b")
    outcome = run_tally(election, "mes", "add1-exhaustive", increment=100)
    assert outcome.per_voter_budget == 12_00


def test_mes_without_ballots_funds_nothing():
    outcome = run_tally(approval(100, {"a": 10}), "mes", "add1")
    assert (outcome.winners, outcome.per_voter_budget) == ((), None)


def test_every_completion_of_mes_stays_within_the_budget():
    election = approval(20, {"a": 7, "b": 7, "c": 7, "d": 3}, "ab", "bc", "cd", "da", "abcd")
    for completion in COMPLETIONS:
        assert run_tally(election, "mes", completion).total_cost <= 20


# -- sequential Phragmén ---------------------------------------------------------------------------


def test_phragmen_buys_the_project_whose_voters_end_with_the_lowest_load():
    # Given 9: voter 1 wants a (4) and b (2), voter 2 wants a, voter 3 wants c (3)
    election = approval(9, {"a": 4, "b": 2, "c": 3}, "ab", "a", "c")
    # Round 1: a would load its 2 voters with 4/2 = 2, b its voter with 2, c with 3: a and b tie.
    # By cost, b; then a loads (2 + 0 + 4)/2 = 3 and c 3: by cost c; then a.
    assert run_tally(election, "phragmen").winners == ("b", "c", "a")
    # By id, a; then b would load voter 1 with 2 + 2 = 4, c 3: c; then b (4 + 3 + 2 = 9 fits).
    assert run_tally(election, "phragmen", tie_break=("id",)).winners == ("a", "c", "b")
    # With 8, b no longer fits after a and c, and Phragmén stops.
    assert run_tally(
        approval(8, election.costs, "ab", "a", "c"), "phragmen", tie_break=("id",)
    ).winners == ("a", "c")


def test_phragmen_stops_when_any_project_tied_for_the_lowest_load_no_longer_fits():
    # Given z (2, three voters) first; then x (2, one voter) and y (4, two voters) tie at load 2,
    # and y would overspend 5: pabutools' rule stops there, whatever the tie order would pick.
    election = approval(5, {"x": 2, "y": 4, "z": 2}, "x", "y", "y", "z", "z", "z")
    assert run_tally(election, "phragmen").winners == ("z",)


# -- what cannot be counted ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"rule": "knapsack"}, "unknown rule"),
        ({"rule": "mes", "completion": "add2"}, "unknown completion"),
        ({"rule": "greedy", "completion": "add1"}, "Method of Equal Shares"),
        ({"tie_break": ("cost", "age")}, "unknown tie-break key"),
        ({"tie_break": ("cost", "cost")}, "once"),
        ({"tie_break": "cost"}, "sequence of keys"),
        ({"rule": "mes", "completion": "add1", "increment": 0}, "increment"),
        ({"seed": 7}, "seed"),
    ],
)
def test_an_impossible_count_is_refused_with_the_reason(arguments, message):
    with pytest.raises(TallyError, match=message):
        run_tally(approval(10, {"a": 5}, "a"), **arguments)


@pytest.mark.parametrize("rule", ["mes", "phragmen"])
def test_mes_and_phragmen_refuse_ballots_with_points(rule):
    election = Election(budget=10, costs={"a": 5}, ballots=[{"a": 3}], vote_type="cumulative")
    with pytest.raises(TallyError, match="approval ballots only"):
        run_tally(election, rule)


@pytest.mark.parametrize(
    ("election", "message"),
    [
        (Election(budget=-1, costs={"a": 5}, ballots=[]), "budget"),
        (Election(budget=10.0, costs={"a": 5}, ballots=[]), "budget"),  # type: ignore[arg-type]
        (Election(budget=10, costs={"a": 0}, ballots=[]), "cost"),
        (Election(budget=10, costs={"a": 2.5}, ballots=[]), "cost"),  # type: ignore[dict-item]
        (Election(budget=10, costs={"a": 5}, ballots=[{"b": 1}]), "unknown project"),
        (Election(budget=10, costs={"a": 5}, ballots=[{"a": 2}]), "with 1"),
        (Election(budget=10, costs={"a": 5}, ballots=[["a"]]), "maps project ids"),  # type: ignore[list-item]
        (
            Election(
                budget=10, costs={"a": 5, "b": 5}, ballots=[{"a": 1, "b": 1}], vote_type="choose-1"
            ),
            "one project",
        ),
        (
            Election(budget=10, costs={"a": 5}, ballots=[{"a": -1}], vote_type="cumulative"),
            "at least 0",
        ),
        (Election(budget=10, costs={"a": 5}, ballots=[], vote_type="ranked"), "vote type"),
        (
            Election(budget=10, costs={"a": 5}, ballots=[], scoring=(3, 2, 1)),
            "ordinal ballots only",
        ),
        (
            Election(budget=10, costs={"a": 5}, ballots=[], vote_type="ordinal", scoring=(3, -1)),
            "non-negative",
        ),
    ],
)
def test_an_invalid_election_is_refused_with_the_reason(election, message):
    with pytest.raises(TallyError, match=message):
        run_tally(election)


def test_the_outcome_repeats_the_count_settings_and_scores_every_project():
    outcome = run_tally(
        approval(10, {"a": 5, "b": 5, "c": 20}, "a", "ab"),
        "mes",
        "add1u",
        tie_break=("id",),
        seed="round-7",
    )
    assert (outcome.rule, outcome.completion, outcome.tie_break, outcome.seed) == (
        "mes",
        "add1u",
        ("id",),
        "round-7",
    )
    assert outcome.budget == 10
    assert outcome.scores == {"a": 2, "b": 1, "c": 0}
