"""VotingSettings: the rules a round may choose, and the check every ballot must pass under them."""

from __future__ import annotations

import pytest

from domain.errors import RuleViolation
from domain.voting import DEFAULT_TIE_BREAK, VotingSettings

# -- the rules a round may choose ------------------------------------------------------------


def test_the_default_is_an_approval_vote_counted_greedily():
    settings = VotingSettings.from_dict(None)
    assert (settings.method, settings.min_choices, settings.max_choices) == ("approval", 1, None)
    assert (settings.rule, settings.completion, settings.tie_break) == (
        "greedy",
        "none",
        list(DEFAULT_TIE_BREAK),
    )


def test_settings_survive_a_round_trip_through_a_plain_dict():
    settings = VotingSettings(
        method="ordinal", max_choices=3, scoring=[5, 3, 1], tie_break=["votes", "id"]
    )
    assert VotingSettings.from_dict(settings.to_dict()) == settings


def test_unknown_settings_are_named():
    with pytest.raises(
        RuleViolation, match=r"unknown voting setting\(s\): budget, colour"
    ) as refused:
        VotingSettings.from_dict({"method": "approval", "colour": "red", "budget": 1})
    assert refused.value.field == "voting"


@pytest.mark.parametrize(
    ("settings", "field", "broken_rule"),
    [
        ({"method": "score"}, "method", "method must be one of approval, knapsack"),
        ({"min_choices": -1}, "min_choices", "min_choices must be a whole number of at least 0"),
        ({"min_choices": True}, "min_choices", "min_choices must be a whole number"),
        ({"max_choices": 0}, "max_choices", "max_choices must be a whole number of at least 1"),
        ({"max_choices": 2.0}, "max_choices", "max_choices must be a whole number"),
        (
            {"min_choices": 3, "max_choices": 2},
            "max_choices",
            "max_choices must not be below min_choices",
        ),
        ({"method": "knapsack"}, "max_total_cost", "a knapsack vote needs max_total_cost"),
        (
            {"method": "choose-one", "max_choices": 3},
            "max_choices",
            "a choose-one vote has exactly one choice per ballot",
        ),
        (
            {"method": "choose-one", "min_choices": 3, "max_choices": 3},
            "max_choices",
            "a choose-one vote has exactly one choice per ballot",
        ),
        (
            {"method": "knapsack", "max_total_cost": 99.99},
            "max_total_cost",
            "max_total_cost must be a whole",
        ),
        ({"method": "cumulative"}, "points_total", "a cumulative vote needs points_total"),
        (
            {"min_points": 3, "max_points": 2},
            "max_points",
            "max_points must not be below min_points",
        ),
        ({"scoring": []}, "scoring", "scoring must be a non-empty list of whole numbers"),
        ({"scoring": [3, "2", 1]}, "scoring", "scoring must be a non-empty list of whole numbers"),
        ({"scoring": [True]}, "scoring", "scoring must be a non-empty list of whole numbers"),
        ({"rule": "borda"}, "rule", "rule must be one of greedy, mes, phragmen"),
        ({"rule": "mes", "completion": "add2"}, "completion", "completion must be one of"),
        (
            {"completion": "add1"},
            "completion",
            "a completion applies to the Method of Equal Shares only",
        ),
        (
            {"method": "cumulative", "points_total": 10, "rule": "mes"},
            "rule",
            "the mes rule counts approval ballots only",
        ),
        (
            {"method": "ordinal", "rule": "phragmen"},
            "rule",
            "the phragmen rule counts approval ballots only",
        ),
        ({"tie_break": []}, "tie_break", "tie_break must list keys from cost, votes, id, lot"),
        ({"tie_break": ["cost", "age"]}, "tie_break", "tie_break must list keys from"),
    ],
)
def test_invalid_settings_are_refused_naming_the_setting(settings, field, broken_rule):
    with pytest.raises(RuleViolation) as refused:
        VotingSettings.from_dict(settings)
    assert broken_rule in refused.value.message
    assert refused.value.field == f"voting.{field}"


@pytest.mark.parametrize(
    "settings",
    [
        {"rule": "mes", "completion": "add1"},
        {"method": "knapsack", "max_total_cost": 500_00, "rule": "mes", "completion": "add1u"},
        {"method": "knapsack", "max_total_cost": 500_00, "rule": "phragmen"},
        {"method": "cumulative", "points_total": 10, "min_points": 2, "max_points": 5},
        {"method": "approval", "min_choices": 0},
    ],
)
def test_valid_combinations_are_accepted(settings):
    chosen = VotingSettings.from_dict(settings).to_dict()
    assert {name: chosen[name] for name in settings} == settings


@pytest.mark.parametrize(
    ("method", "vote_type"),
    [
        ("approval", "approval"),
        ("knapsack", "approval"),
        ("choose-one", "choose-1"),
        ("cumulative", "cumulative"),
        ("ordinal", "ordinal"),
    ],
)
def test_each_method_names_its_pabulib_vote_type(method, vote_type):
    settings = VotingSettings(method=method, max_total_cost=1_00, points_total=10)
    assert settings.vote_type == vote_type


# -- the check every ballot must pass --------------------------------------------------------

COSTS = {"a": 100_00, "b": 200_00, "c": 300_00}
APPROVAL = VotingSettings(method="approval", min_choices=1, max_choices=2)
KNAPSACK = VotingSettings(method="knapsack", max_total_cost=350_00)
CUMULATIVE = VotingSettings(method="cumulative", points_total=5, max_points=3)
ORDINAL = VotingSettings(method="ordinal")
CHOOSE_ONE = VotingSettings(method="choose-one")


@pytest.mark.parametrize(
    ("settings", "choices", "broken_rule"),
    [
        (APPROVAL, {"x": 1}, "not on the ballot: x"),
        (APPROVAL, {}, "choose at least 1 proposal(s); this ballot has 0"),
        (APPROVAL, {"a": 1, "b": 1, "c": 1}, "choose at most 2 proposal(s); this ballot has 3"),
        (APPROVAL, {"a": 2}, "an approval ballot gives each chosen proposal exactly 1"),
        (APPROVAL, {"a": 1.0}, "points must be whole numbers"),
        (APPROVAL, {"a": True}, "points must be whole numbers"),
        (
            KNAPSACK,
            {"a": 1, "c": 1},
            "the chosen proposals cost 40000 cents together; at most 35000 cents",
        ),
        (KNAPSACK, {"a": 0}, "an approval ballot gives each chosen proposal exactly 1"),
        (CUMULATIVE, {"a": 4}, "a: at most 3 point(s) per proposal"),
        (CUMULATIVE, {"a": 0, "b": 1}, "a: give at least 1 point(s) or leave it out"),
        (CUMULATIVE, {"a": -2, "b": 3}, "a: give at least 1 point(s) or leave it out"),
        (CUMULATIVE, {"a": 3, "b": 3}, "at most 5 points in total; this ballot gives 6"),
        (ORDINAL, {"a": 1, "b": 3}, "ranks must be 1, 2, 3, ... without gaps or repeats"),
        (ORDINAL, {"a": 1, "b": 1}, "ranks must be 1, 2, 3, ... without gaps or repeats"),
        (ORDINAL, {"a": 2}, "ranks must be 1, 2, 3, ... without gaps or repeats"),
        (CHOOSE_ONE, {"a": 1, "b": 1}, "choose at most 1 proposal(s); this ballot has 2"),
        (CHOOSE_ONE, {}, "choose at least 1 proposal(s); this ballot has 0"),
        (CHOOSE_ONE, {"a": 3}, "an approval ballot gives each chosen proposal exactly 1"),
    ],
)
def test_an_invalid_ballot_is_refused_naming_the_broken_rule(settings, choices, broken_rule):
    with pytest.raises(RuleViolation) as refused:
        settings.check_ballot(COSTS, choices)
    assert broken_rule in refused.value.message
    assert refused.value.field == "choices"


@pytest.mark.parametrize(
    ("settings", "choices"),
    [
        (APPROVAL, {"a": 1, "c": 1}),
        (VotingSettings(min_choices=0), {}),
        (KNAPSACK, {"a": 1, "b": 1}),  # exactly 300.00 of the 350.00 allowed
        (
            VotingSettings(method="knapsack", max_total_cost=300_00),
            {"a": 1, "b": 1},
        ),  # the limit itself
        (CUMULATIVE, {"a": 3, "b": 2}),
        (ORDINAL, {"c": 1, "a": 2, "b": 3}),
        (ORDINAL, {"b": 1}),
        (CHOOSE_ONE, {"b": 1}),
    ],
)
def test_a_valid_ballot_passes(settings, choices):
    settings.check_ballot(COSTS, choices)
