"""The real elections in ../shared/data/pabulib counted by the tally and its command, three ways.

1. Against pabutools 1.2.3 as the oracle, with the same tie order: Buurtbudget's default order
   (lower cost, more votes, lot) and pabutools' own default (project id as a string).
2. Against the winner sets of REFERENCE_RESULTS.md (pabutools and the equalshares.net tool agree
   on them), read from that file.
3. Against the officially funded projects (`selected`) where the counting rule is known.

pabutools needs minutes and gigabytes on the big files, so those oracle runs are marked slow
(`pytest -m slow`); the default run checks the big files against the reference results instead.
"""

from __future__ import annotations

import json
import os
import re
from fractions import Fraction
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner
from pabutools.election import Cost_Sat, parse_pabulib

from domain.pabulib import PabulibInstance, parse_pb
from domain.tally import DEFAULT_TIE_BREAK, Election, run_tally
from service.cli_tally import tally_command
from tests.parity import pabutools_winners, points_times_cost, tie_breaking, tie_order

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pabulib"
FILES = sorted(path.name for path in DATA.glob("*.pb")) if DATA.is_dir() else ["(no data folder)"]

APPROVAL_COUNTS = [
    ("greedy", "none"),
    ("mes", "none"),
    ("phragmen", "none"),
    ("mes", "add1"),
    ("mes", "add1-exhaustive"),
    ("mes", "add1u"),
]
TIE_ORDERS = {"buurtbudget": (DEFAULT_TIE_BREAK, "pabulib-parity"), "pabutools": (("id",), "")}
# Files on which pabutools answers in well under a second for a single MES run, greedy or Phragmén.
QUICK_FILES = {
    "France_Toulouse_2022_17_-_Mirail-Universite_Reynerie_Bellefontaine.pb",
    "france_toulouse_2019_.pb",
    "netherlands_amsterdam_166_.pb",
    "netherlands_assen_2024_.pb",
    "poland_gdansk_2020_strzyza.pb",
    "poland_krakow_2018_wzgorza-krzeslawickie.pb",
    "poland_warszawa_2017_kolo.pb",
    "poland_warszawa_2022_rembertow.pb",
    "poland_wieliczka_2023_green-budget.pb",
    "us_stanford-dataset_your-voice-your-choice-parks-and-streets-seattle-2017-district-7_vote-approvals.pb",
}
# ... and on which even its add1 completions (hundreds of MES runs) take about a second.
TINY_FILES = {
    "netherlands_assen_2024_.pb",
    "us_stanford-dataset_your-voice-your-choice-parks-and-streets-seattle-2017-district-7_vote-approvals.pb",
}
# Files whose MES add1 takes Buurtbudget seconds, not milliseconds: counted with one tie order.
BIG_FILES = {"poland_warszawa_2020_praga-poludnie.pb", "poland_lodz_2022_.pb"}
# The rule each city used, where the file's `selected` column shows its result (SOURCES.md).
OFFICIAL_RULES = {
    "poland_wieliczka_2023_green-budget.pb": ("mes", "add1"),
    "poland_warszawa_2017_kolo.pb": ("greedy", "none"),
    "poland_warszawa_2022_rembertow.pb": ("greedy", "none"),
    "poland_warszawa_2020_praga-poludnie.pb": ("greedy", "none"),
    "poland_lodz_2022_.pb": ("greedy", "none"),
    "poland_krakow_2022_.pb": ("greedy", "none"),  # ordinal ballots, 3/2/1 points per rank
}
REFERENCE_VARIANTS = {
    "greedy by vote count (skip if unaffordable)": ("greedy", "none"),
    "MES, none": ("mes", "none"),
    "MES, add1 (exhaustive stop)": ("mes", "add1-exhaustive"),
    "MES, add1 (no exhaustive stop)": ("mes", "add1"),
    "MES, add1u": ("mes", "add1u"),
}


@pytest.fixture(autouse=True)
def data_folder() -> None:
    if DATA.is_dir():
        return
    reason = f"the real elections are not there: {DATA.resolve()} is missing"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the parity tests must run)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def slow_only_on_request(request: pytest.FixtureRequest) -> None:
    """Slow tests run when a marker expression names them (`-m slow`), not in the default run."""
    if request.node.get_closest_marker("slow") and "slow" not in (
        request.config.getoption("-m") or ""
    ):
        pytest.skip("slow: pabutools needs minutes on this file; run with -m slow")


@cache
def ours(name: str) -> PabulibInstance:
    return parse_pb((DATA / name).read_text(encoding="utf-8"))


@cache
def theirs(name: str):
    instance, profile = parse_pabulib(str(DATA / name))
    if instance.meta["vote_type"] in ("approval", "choose-1"):
        profile = profile.as_multiprofile()  # the same count, much faster in pabutools
    return instance, profile


def counts_of(name: str) -> list[tuple[str, str]]:
    if name not in FILES or not DATA.is_dir():
        return []
    return (
        APPROVAL_COUNTS
        if ours(name).vote_type in ("approval", "choose-1")
        else [("greedy", "none")]
    )


def rank_points(election: Election) -> range | tuple[int, ...]:
    """The points per rank an ordinal election is scored with (Borda-like unless given)."""
    if election.scoring is not None:
        return tuple(election.scoring)
    return range(max((len(ballot) for ballot in election.ballots), default=0), 0, -1)


def oracle_cases():
    for name in FILES:
        for rule, completion in counts_of(name) or [("greedy", "none")]:
            quick = name in TINY_FILES or (name in QUICK_FILES and completion == "none")
            for order in TIE_ORDERS:
                yield pytest.param(
                    name,
                    rule,
                    completion,
                    order,
                    id=f"{name[:30]}-{rule}-{completion}-{order}",
                    marks=() if quick else pytest.mark.slow,
                )


@pytest.mark.parametrize(("name", "rule", "completion", "order"), list(oracle_cases()))
def test_the_winners_are_those_pabutools_selects_with_the_same_tie_order(
    name, rule, completion, order
):
    election = ours(name).election()
    keys, seed = TIE_ORDERS[order]
    winners = list(run_tally(election, rule, completion, tie_break=keys, seed=seed).winners)
    instance, profile = theirs(name)
    sat_class = (
        Cost_Sat
        if election.vote_type in ("approval", "choose-1")
        else points_times_cost(rank_points(election))
    )
    expected = pabutools_winners(
        instance,
        profile,
        rule,
        completion,
        tie_breaking(tie_order(election, keys, seed)),
        sat_class=sat_class,
    )
    if rule == "phragmen":  # pabutools returns Phragmén's winners sorted by id
        winners, expected = sorted(winners), sorted(expected)
    assert winners == expected


def parser_cases():
    for name in FILES:
        yield pytest.param(
            name, id=name[:40], marks=() if name in QUICK_FILES else pytest.mark.slow
        )


@pytest.mark.parametrize("name", list(parser_cases()))
def test_our_parser_reads_the_same_election_as_pabutools(name):
    election = ours(name).election()
    instance, profile = parse_pabulib(str(DATA / name))
    assert election.budget == instance.budget_limit
    assert dict(election.costs) == {project.name: project.cost for project in instance}
    if election.vote_type in ("approval", "choose-1"):
        assert [sorted(ballot) for ballot in election.ballots] == [
            sorted(p.name for p in b) for b in profile
        ]
    elif election.vote_type == "cumulative":
        assert [dict(ballot) for ballot in election.ballots] == [
            {p.name: v for p, v in b.items()} for b in profile
        ]
    else:
        assert [list(ballot) for ballot in election.ballots] == [
            [p.name for p in b] for b in profile
        ]


@pytest.mark.parametrize("name", FILES)
def test_every_file_holds_as_many_projects_and_votes_as_its_meta_says(name):
    instance = ours(name)
    assert len(instance.projects) == int(instance.meta["num_projects"])
    assert len(instance.votes) == int(instance.meta["num_votes"])


def reference_rows() -> list[tuple[str, str, int, int, list[str]]]:
    """(file, variant, number of winners, total cost, winners) rows of REFERENCE_RESULTS.md."""
    path = DATA / "REFERENCE_RESULTS.md"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"`[^`]+\.pb`", cells[0]) and cells[2].isdigit():
            rows.append(
                (
                    cells[0].strip("`"),
                    cells[1],
                    int(cells[2]),
                    int(cells[3]),
                    [pid.strip() for pid in cells[4].split(",")],
                )
            )
    return rows


REFERENCE = reference_rows()


def test_the_reference_results_were_read():
    assert len(REFERENCE) >= 25
    assert {variant for _, variant, *_ in REFERENCE} >= set(REFERENCE_VARIANTS) | {
        "official `selected` column"
    }


def reference_cases():
    for row in REFERENCE:
        if row[1] in REFERENCE_VARIANTS:
            for order in ["buurtbudget"] if row[0] in BIG_FILES else TIE_ORDERS:
                yield pytest.param(*row, order, id=f"{row[0][:30]}-{row[1][:28]}-{order}")


@pytest.mark.parametrize(
    ("name", "variant", "size", "total", "winners", "order"), list(reference_cases())
)
def test_the_winners_are_the_reference_results(name, variant, size, total, winners, order):
    rule, completion = REFERENCE_VARIANTS[variant]
    keys, seed = TIE_ORDERS[order]
    outcome = run_tally(ours(name).election(), rule, completion, tie_break=keys, seed=seed)
    assert sorted(outcome.winners) == sorted(winners)
    assert (len(outcome.winners), outcome.total_cost) == (size, total)


@pytest.mark.parametrize(
    ("name", "size", "total", "winners"),
    [
        pytest.param(row[0], *row[2:], id=row[0][:40])
        for row in REFERENCE
        if row[1] == "official `selected` column"
    ],
)
def test_the_parser_finds_the_officially_selected_projects(name, size, total, winners):
    instance = ours(name)
    assert sorted(instance.selected) == sorted(winners)
    assert sum(int(instance.projects[pid]["cost"]) for pid in instance.selected) == total


@pytest.mark.parametrize(
    ("name", "rule", "completion"), [(name, *count) for name, count in OFFICIAL_RULES.items()]
)
def test_the_citys_own_rule_reproduces_the_officially_selected_projects(name, rule, completion):
    instance = ours(name)
    outcome = run_tally(instance.election(), rule, completion)
    assert sorted(outcome.winners) == sorted(instance.selected)


def test_krakow_counted_greedy_by_3_2_1_points_per_rank():
    election = ours("poland_krakow_2022_.pb").election()
    assert election.vote_type == "ordinal" and tuple(rank_points(election)) == (3, 2, 1)
    # The file's own points column says the same: 3 for the first rank, 2, then 1.
    assert {vote["points"] for vote in ours("poland_krakow_2022_.pb").votes} <= {
        "3,2,1",
        "3,2",
        "3",
    }


def test_wieliczka_add1_stops_before_the_first_per_voter_budget_that_overspends():
    election = ours("poland_wieliczka_2023_green-budget.pb").election()
    outcome = run_tally(election, "mes", "add1")
    voters = len(election.ballots)
    # The last feasible run is at B/n + 164 (315.84 PLN each); at B/n + 165 they cost 1,045,079.
    assert outcome.per_voter_budget * voters == election.budget + 164 * voters
    assert outcome.total_cost == 995079


# -- the `buurtbudget tally` command on the same files ---------------------------------------------


def test_the_tally_command_reproduces_wieliczka_as_json():
    result = CliRunner().invoke(
        tally_command,
        [
            str(DATA / "poland_wieliczka_2023_green-budget.pb"),
            "--rule",
            "mes",
            "--completion",
            "add1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    counted = json.loads(result.output)
    assert sorted(counted["winners"]) == sorted(
        ours("poland_wieliczka_2023_green-budget.pb").selected
    )
    assert (counted["total_cost"], counted["budget"], counted["num_voters"]) == (
        995079,
        1000000,
        6586,
    )
    assert (counted["rule"], counted["completion"], counted["tie_break"]) == (
        "mes",
        "add1",
        list(DEFAULT_TIE_BREAK),
    )
    assert Fraction(counted["per_voter_budget"]) == Fraction(1000000, 6586) + 164
    assert counted["scores"]["24"] == 720


def test_the_tally_command_prints_a_table_by_default():
    result = CliRunner().invoke(
        tally_command, [str(DATA / "poland_warszawa_2017_kolo.pb"), "--tie-break", "id"]
    )
    assert result.exit_code == 0, result.output
    assert "poland_warszawa_2017_kolo.pb: greedy, ties by id" in result.output
    assert "13 winners, total cost 800,535 of 827,525 (26,990 left)" in result.output


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message"),
    [
        (
            ["poland_krakow_2018_wzgorza-krzeslawickie.pb", "--rule", "mes"],
            2,
            "approval ballots only",
        ),
        (["netherlands_assen_2024_.pb", "--tie-break", "cost,size"], 2, "unknown key(s) size"),
        (["netherlands_assen_2024_.pb", "--completion", "add1"], 2, "Method of Equal Shares"),
        (["no_such_file.pb"], 2, "does not exist"),
    ],
)
def test_the_tally_command_refuses_what_it_cannot_count(arguments, exit_code, message):
    result = CliRunner().invoke(tally_command, [str(DATA / arguments[0]), *arguments[1:]])
    assert result.exit_code == exit_code
    assert message in result.output


def test_the_tally_command_says_why_a_file_cannot_be_counted(tmp_path):
    broken = tmp_path / "broken.pb"
    broken.write_text(
        "META\nkey;value\nbudget;10\nPROJECTS\nproject_id;cost\na;5\n", encoding="utf-8"
    )
    result = CliRunner().invoke(tally_command, [str(broken)])
    assert result.exit_code == 1
    assert "broken.pb cannot be counted: missing section(s): VOTES" in result.output
