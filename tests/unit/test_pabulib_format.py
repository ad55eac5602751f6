"""The pabulib .pb format: parsing (LF or CRLF, quoting, spaces), elections from it, writing it.

Written files must read back the same, in our parser and in pabutools' (the reference reader).
"""

from __future__ import annotations

import re

import pytest
from pabutools.election.pabulib import parse_pabulib_from_string

from domain.pabulib import (
    PabulibFormatError,
    PabulibInstance,
    instance_from_election,
    parse_pb,
    write_pb,
)
from domain.tally import Election, ballot_from_ranking

APPROVAL_FILE = """META
key;value
description;Buurtbudget test
country;Netherlands
unit;Amsterdam
instance;2026
num_projects;3
num_votes;3
budget;100000.0
vote_type;approval
rule;greedy
date_begin;01.03.2026
date_end;01.05.2026
PROJECTS
project_id;cost;name;selected
1;60000;"Playground; with benches";1
2;30000;Mural;1
10;50000.0;"Trees ""for"" the square";0
VOTES
voter_id;vote
v1;1,2
v2;10
v3;
"""


def test_a_file_becomes_meta_projects_and_votes_as_written():
    instance = parse_pb(APPROVAL_FILE)
    assert instance.meta["budget"] == "100000.0"
    assert instance.vote_type == "approval"
    assert list(instance.projects) == ["1", "2", "10"]
    assert instance.projects["1"]["name"] == "Playground; with benches"
    assert instance.projects["10"]["name"] == 'Trees "for" the square'
    assert [vote["vote"] for vote in instance.votes] == ["1,2", "10", ""]
    assert instance.selected == ("1", "2")


def test_a_file_becomes_an_election_with_whole_amounts():
    election = parse_pb(APPROVAL_FILE).election()
    assert election == Election(
        budget=100000,
        costs={"1": 60000, "2": 30000, "10": 50000},
        ballots=[{"1": 1, "2": 1}, {"10": 1}, {}],
        vote_type="approval",
    )


def test_crlf_line_ends_spaces_after_separators_and_a_byte_order_mark_read_the_same():
    spaced = re.sub(r";(?! )", "; ", APPROVAL_FILE)  # the quoted "; with" already has its space
    variant = "\ufeff" + spaced.replace("\n", "\r\n")
    assert parse_pb(variant) == parse_pb(APPROVAL_FILE)


def test_amounts_may_be_written_with_a_decimal_comma_and_be_scaled_to_cents():
    text = APPROVAL_FILE.replace("budget;100000.0", "budget;1000,50").replace(
        "30000;Mural", "12,25;Mural"
    )
    election = parse_pb(text).election(scale=100)
    assert election.budget == 100050
    assert election.costs["2"] == 1225


def test_an_amount_that_is_not_whole_in_the_counting_unit_is_refused():
    text = APPROVAL_FILE.replace("30000;Mural", "12.25;Mural")
    with pytest.raises(PabulibFormatError, match="not a whole amount"):
        parse_pb(text).election()


def test_cumulative_ballots_keep_their_points_and_ordinal_ballots_their_order():
    cumulative = APPROVAL_FILE.replace("vote_type;approval", "vote_type;cumulative").replace(
        "voter_id;vote\nv1;1,2\nv2;10\nv3;\n", 'voter_id;vote;points\nv1;1,2;"3,1"\nv2;10;4\n'
    )
    assert parse_pb(cumulative).election().ballots == [{"1": 3, "2": 1}, {"10": 4}]
    ordinal = APPROVAL_FILE.replace(
        "vote_type;approval", "vote_type;ordinal\nscoring_fn;5,2,1"
    ).replace("v1;1,2", 'v1;"2,1,10"')
    election = parse_pb(ordinal).election()
    assert list(election.ballots[0]) == ["2", "1", "10"]
    assert election.scoring == (5, 2, 1)
    assert (
        parse_pb(ordinal.replace("scoring_fn;5,2,1", "scoring_fn;Borda")).election().scoring is None
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("VOTES\nvoter_id;vote\nv1;1,2\nv2;10\nv3;\n", ""), "missing section"),
        (lambda t: t.replace("v2;10", "v2;11"), "unknown project"),
        (lambda t: t.replace("2;30000;Mural;1", "1;30000;Mural;1"), "appears twice"),
        (
            lambda t: t.replace("project_id;cost;name;selected", "project_id;price;name;selected"),
            "lacks cost",
        ),
        (lambda t: t.replace("v3;", "v3;1;extra"), "fields"),
        (lambda t: "description;orphan\n" + t, "section title"),
    ],
)
def test_a_broken_file_is_refused_with_the_reason(change, message):
    with pytest.raises(PabulibFormatError, match=message):
        parse_pb(change(APPROVAL_FILE))


def test_points_must_match_the_projects_they_are_given_to():
    text = APPROVAL_FILE.replace("vote_type;approval", "vote_type;cumulative").replace(
        "voter_id;vote\nv1;1,2", 'voter_id;vote;points\nv1;1,2;"3"'
    )
    with pytest.raises(PabulibFormatError, match="2 projects but 1 points"):
        parse_pb(text).election()


def test_a_written_file_reads_back_the_same_in_our_parser():
    instance = parse_pb(APPROVAL_FILE)
    assert parse_pb(write_pb(instance)) == instance


def test_a_written_file_is_complete_even_from_an_instance_without_meta():
    instance = PabulibInstance(
        projects={"a": {"project_id": "a", "cost": "5"}},
        votes=[{"voter_id": "1", "vote": "a"}],
        meta={"budget": "10"},
    )
    meta = parse_pb(write_pb(instance)).meta
    assert (
        meta["num_projects"] == "1" and meta["num_votes"] == "1" and meta["vote_type"] == "unknown"
    )
    assert {"description", "country", "unit", "instance", "rule", "date_begin", "date_end"} <= set(
        meta
    )


def test_a_field_with_a_line_break_cannot_be_written():
    instance = parse_pb(APPROVAL_FILE)
    instance.projects["2"]["name"] = "Mural\nfor the wall"
    with pytest.raises(PabulibFormatError, match="line break"):
        write_pb(instance)


def test_a_project_id_with_a_comma_cannot_be_written_since_votes_list_ids_with_commas():
    instance = instance_from_election(Election(budget=10, costs={"a,b": 5}, ballots=[{"a,b": 1}]))
    with pytest.raises(PabulibFormatError, match="cannot contain one"):
        write_pb(instance)


ELECTIONS = {
    "approval": Election(
        budget=100, costs={"a": 40, "b": 30, "c;d": 50}, ballots=[{"a": 1, "c;d": 1}, {"b": 1}, {}]
    ),
    "cumulative": Election(
        budget=100,
        costs={"a": 40, "b": 30},
        ballots=[{"a": 3, "b": 2}, {"b": 5}],
        vote_type="cumulative",
    ),
    "ordinal": Election(
        budget=100,
        costs={"a": 40, "b": 30, "c": 50},
        ballots=[ballot_from_ranking(["c", "a"]), ballot_from_ranking(["a", "b", "c"])],
        vote_type="ordinal",
        scoring=(3, 2, 1),
    ),
}


@pytest.mark.parametrize("vote_type", ELECTIONS)
def test_an_election_written_as_pb_reads_back_the_same_in_our_parser(vote_type):
    election = ELECTIONS[vote_type]
    text = write_pb(instance_from_election(election, {"description": "round-trip"}))
    assert parse_pb(text).election() == election


@pytest.mark.parametrize("vote_type", ELECTIONS)
def test_an_election_written_as_pb_reads_back_the_same_in_pabutools(vote_type):
    election = ELECTIONS[vote_type]
    instance, profile = parse_pabulib_from_string(write_pb(instance_from_election(election)))
    assert instance.budget_limit == election.budget
    assert {project.name: project.cost for project in instance} == dict(election.costs)
    if vote_type == "approval":
        assert [{p.name for p in ballot} for ballot in profile] == [
            set(ballot) for ballot in election.ballots
        ]
    elif vote_type == "cumulative":
        assert [{p.name: points for p, points in ballot.items()} for ballot in profile] == list(
            election.ballots
        )
    else:
        assert [[p.name for p in ballot] for ballot in profile] == [
            list(ballot) for ballot in election.ballots
        ]
        assert instance.meta["scoring_fn"] == "3,2,1"
