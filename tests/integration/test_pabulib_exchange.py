"""Real elections through the service: import a .pb file as a round, tally, verify, export back."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from domain.pabulib import parse_pb
from domain.tally import run_tally
from service.cli import cli
from service.pabulib_exchange import export_pabulib, import_pabulib
from service.runtime import Runtime
from tests.conftest import cli_environment

PABULIB = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pabulib"


def election_text(name: str) -> str:
    path = PABULIB / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing (CI=true: the real elections must be there)")
        pytest.skip(f"{path} is missing: the real elections live in ../shared/data/pabulib")
    return path.read_text(encoding="utf-8")


# Small real elections of every ballot type, with the rule each is known to have used.
CASES = [
    ("poland_warszawa_2017_kolo.pb", "greedy", "none"),  # official `selected` is greedy's
    ("poland_wieliczka_2023_green-budget.pb", "mes", "add1"),  # official `selected` is MES add1
    ("netherlands_assen_2024_.pb", "mes", "add1u"),
    ("poland_gdansk_2020_strzyza.pb", "greedy", "none"),  # cumulative
    ("poland_krakow_2018_wzgorza-krzeslawickie.pb", "greedy", "none"),  # ordinal
    ("netherlands_amsterdam_166_.pb", "phragmen", "none"),  # knapsack
]


# Files whose `selected` column was decided by the rule given for them in CASES.
OFFICIAL_RULE = {"poland_warszawa_2017_kolo.pb", "poland_wieliczka_2023_green-budget.pb"}


@pytest.mark.parametrize(("name", "rule", "completion"), CASES)
def test_an_imported_election_is_decided_as_the_file_and_the_reference_count_decide_it(
    runtime: Runtime, name: str, rule: str, completion: str
) -> None:
    text = election_text(name)
    imported = import_pabulib(runtime.application, text, rule=rule, completion=completion)

    instance = parse_pb(text)
    reference = run_tally(instance.election(), rule=rule, completion=completion)
    assert sorted(imported.winners) == sorted(reference.winners)
    if name in OFFICIAL_RULE:
        assert sorted(imported.winners) == sorted(instance.selected)
    assert imported.tally["ballots_counted"] == len(instance.votes)
    assert runtime.application.verify_tally(imported.round_id)["matches"]


def test_limits_a_file_states_but_its_ballots_break_are_reported_not_imposed(runtime: Runtime) -> None:
    text = election_text("netherlands_amsterdam_252_.pb")  # caps cost per neighbourhood, not per ballot
    imported = import_pabulib(runtime.application, text)
    assert imported.dropped_limits == ["max_total_cost=25000000"]
    assert imported.tally["ballots_counted"] == 8520


@pytest.mark.parametrize(("name", "rule", "completion"), CASES[:5])
def test_an_exported_round_reads_back_to_the_same_result(
    runtime: Runtime, name: str, rule: str, completion: str
) -> None:
    imported = import_pabulib(runtime.application, election_text(name), rule=rule, completion=completion)
    exported = export_pabulib(runtime.application, imported.round_id)

    back = parse_pb(exported)
    assert len(back.votes) == imported.tally["ballots_counted"]
    assert sorted(back.selected) == sorted(imported.winners)
    recount = run_tally(back.election(), rule=rule, completion=completion)
    assert sorted(recount.winners) == sorted(imported.winners)
    # Voters are numbered, not named: nothing in the file points at a code or a ballot id.
    assert [v["voter_id"] for v in back.votes] == [str(n) for n in range(1, len(back.votes) + 1)]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pabutools_reads_an_exported_round_back_to_the_same_greedy_result(
    runtime: Runtime, tmp_path: Path
) -> None:
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import greedy_utilitarian_welfare

    imported = import_pabulib(runtime.application, election_text("poland_warszawa_2017_kolo.pb"))
    exported = tmp_path / "round.pb"
    exported.write_text(export_pabulib(runtime.application, imported.round_id), encoding="utf-8")

    instance, profile = parse_pabulib(str(exported))
    winners = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    assert sorted(p.name for p in winners) == sorted(imported.winners)


def test_the_cli_imports_verifies_and_exports(settings: dict, tmp_path: Path) -> None:
    election_text("netherlands_assen_2024_.pb")
    runner = CliRunner()
    env = cli_environment(settings)
    imported = runner.invoke(
        cli, ["import-pabulib", str(PABULIB / "netherlands_assen_2024_.pb"), "--rule", "mes",
              "--completion", "add1", "--json"], env=env,
    )
    assert imported.exit_code == 0, imported.output
    round_id = __import__("json").loads(imported.output)["round_id"]

    verified = runner.invoke(cli, ["verify-tally", round_id], env=env)
    assert verified.exit_code == 0 and "matches the recount of 84 ballots" in verified.output

    output = tmp_path / "assen.pb"
    exported = runner.invoke(cli, ["export-pabulib", round_id, "-o", str(output)], env=env)
    assert exported.exit_code == 0, exported.output
    assert len(parse_pb(output.read_text(encoding="utf-8")).votes) == 84

    unknown = runner.invoke(cli, ["verify-tally", "00000000-0000-0000-0000-000000000000"], env=env)
    assert unknown.exit_code == 1 and "not found" in unknown.output
