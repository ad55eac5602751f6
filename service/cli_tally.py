"""`buurtbudget tally FILE`: count a pabulib .pb election with any rule, to check a result."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from domain.pabulib import PabulibFormatError, PabulibInstance, parse_pb
from domain.tally import (
    COMPLETIONS,
    DEFAULT_TIE_BREAK,
    RULES,
    TIE_BREAK_KEYS,
    Election,
    TallyError,
    TallyOutcome,
    run_tally,
)


@click.command("tally")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rule", type=click.Choice(RULES), default="greedy", show_default=True, help="counting rule"
)
@click.option(
    "--completion",
    type=click.Choice(COMPLETIONS),
    default="none",
    show_default=True,
    help="MES only: how to spend what one run leaves",
)
@click.option(
    "--tie-break",
    default=",".join(DEFAULT_TIE_BREAK),
    show_default=True,
    help=f"comma-separated keys from {', '.join(TIE_BREAK_KEYS)}, first decides first",
)
@click.option("--seed", default="", help="seed of the lot (tie-break key 'lot')")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def tally_command(
    file: Path, rule: str, completion: str, tie_break: str, seed: str, as_json: bool
) -> None:
    """Count the election in FILE (pabulib .pb format) and print the winners."""
    keys = tuple(key.strip() for key in tie_break.split(",") if key.strip())
    unknown = [key for key in keys if key not in TIE_BREAK_KEYS]
    if unknown:
        raise click.BadParameter(
            f"unknown key(s) {', '.join(unknown)}; choose from {', '.join(TIE_BREAK_KEYS)}",
            param_hint="--tie-break",
        )
    try:
        instance = parse_pb(file.read_text(encoding="utf-8"))
        election = instance.election()
    except (PabulibFormatError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{file.name} cannot be counted: {error}") from None
    try:
        outcome = run_tally(election, rule, completion, tie_break=keys, seed=seed)
    except TallyError as error:
        raise click.UsageError(str(error)) from None
    result = _result(outcome, num_voters=len(election.ballots))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(_table(file.name, instance, election, outcome))


def _result(outcome: TallyOutcome, *, num_voters: int) -> dict[str, Any]:
    return {
        "winners": list(outcome.winners),
        "total_cost": outcome.total_cost,
        "rule": outcome.rule,
        "completion": outcome.completion,
        "tie_break": list(outcome.tie_break),
        "seed": outcome.seed,
        "scores": dict(outcome.scores),
        "budget": outcome.budget,
        "num_voters": num_voters,
        # Exact, as "numerator/denominator" (or a whole number); null for greedy and Phragmén.
        "per_voter_budget": None
        if outcome.per_voter_budget is None
        else str(outcome.per_voter_budget),
    }


def _table(
    file_name: str, instance: PabulibInstance, election: Election, outcome: TallyOutcome
) -> str:
    counted = (
        outcome.rule if outcome.completion == "none" else f"{outcome.rule} + {outcome.completion}"
    )
    seed = f" (seed {outcome.seed!r})" if "lot" in outcome.tie_break else ""
    lines = [
        f"{file_name}: {counted}, ties by {', '.join(outcome.tie_break) or 'id'}{seed}",
        f"budget {outcome.budget:,} · {len(election.ballots):,} voters"
        + (
            ""
            if outcome.per_voter_budget is None
            else f" · per voter {_decimal(outcome.per_voter_budget)}"
        ),
        "",
        f"{'#':>3}  {'project':<10} {'cost':>12} {'score':>9}  name",
    ]
    for place, project_id in enumerate(outcome.winners, start=1):
        name = instance.projects.get(project_id, {}).get("name", "")
        lines.append(
            f"{place:>3}  {project_id:<10} {election.costs[project_id]:>12,} "
            f"{outcome.scores[project_id]:>9,}  {name[:50]}"
        )
    left = outcome.budget - outcome.total_cost
    lines += [
        "",
        (
            f"{len(outcome.winners)} winners, total cost {outcome.total_cost:,} "
            f"of {outcome.budget:,} ({left:,} left)"
        ),
    ]
    return "\n".join(lines)


def _decimal(amount: Fraction) -> str:
    """Two decimals, rounded half to even, without floats."""
    cents = round(amount * 100)
    return f"{cents // 100:,}.{cents % 100:02d}"
