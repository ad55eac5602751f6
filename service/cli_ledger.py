"""`buurtbudget ledger ...`: the double-entry ledger for finance officers, from the command line."""
from __future__ import annotations

import json
import os
from datetime import date
from typing import Any
from uuid import UUID

import click

from domain.errors import BudgetError
from domain.money import format_euros
from service.principal import Principal
from service.ledger_export import FORMATS
from service.queries import ledger as ledger_queries

# Whoever can run the command holds the database itself; the ledger reads as for an auditor.
COMMAND_LINE = Principal("command-line", "auditor")


def _uuid(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(UUID(value))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an id (a UUID)", param=param) from None


def _date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-01-31", param=param) from None


def scope_options(command: Any) -> Any:
    """--municipality | --round, --from and --to: which lines a ledger command reads."""
    for option in reversed((
        click.option("--municipality", callback=_uuid, help="municipality id"),
        click.option("--round", "round_", callback=_uuid, help="round id"),
        click.option("--from", "date_from", callback=_date, help="first booking date, inclusive"),
        click.option("--to", "date_to", callback=_date, help="last booking date, inclusive (as of)"),
    )):
        command = option(command)
    return command


def _scope(municipality: str | None, round_: str | None, date_from: date | None,
           date_to: date | None) -> ledger_queries.LedgerScope:
    if municipality and round_:
        raise click.UsageError("give --municipality or --round, not both")
    return ledger_queries.scope_for(
        municipality_id=municipality, round_id=round_, date_from=date_from, date_to=date_to
    )


@click.group("ledger")
def ledger_group() -> None:
    """The double-entry ledger: exports and the trial balance."""


@ledger_group.command("export")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), required=True)
@scope_options
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), required=True,
              help="file to write")
@click.pass_obj
def ledger_export(state: Any, fmt: str, municipality: str | None, round_: str | None,
                  date_from: date | None, date_to: date | None, output: str) -> None:
    """Write the journal lines as csv, csv-nl, json, xaf, xaf-4.0 or beancount."""
    scope = _scope(municipality, round_, date_from, date_to)
    partial = f"{output}.part"
    try:
        export = ledger_queries.export_ledger(state.runtime(), COMMAND_LINE, fmt, scope)
        size = 0
        with open(partial, "wb") as handle:
            for chunk in export.chunks:
                handle.write(chunk)
                size += len(chunk)
        # A file that is there is a whole export, never the first half of one.
        os.replace(partial, output)
    except BudgetError as error:
        raise click.ClickException(error.message) from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    click.echo(f"wrote {output} ({fmt}, {size} bytes)")


@ledger_group.command("trial-balance")
@scope_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def ledger_trial_balance(state: Any, municipality: str | None, round_: str | None,
                         date_from: date | None, date_to: date | None, as_json: bool) -> None:
    """Opening balance, debits, credits and closing balance per account."""
    scope = _scope(municipality, round_, date_from, date_to)
    try:
        trial = ledger_queries.trial_balance(state.runtime(), COMMAND_LINE, scope)
    except BudgetError as error:
        raise click.ClickException(error.message) from None
    if as_json:
        click.echo(json.dumps(trial, default=str, indent=2))
        return
    click.echo(f"{trial['organisation']}  {date_from or '...'} - {date_to or '...'}")
    for row in trial["accounts"]:
        click.echo(
            f"{row['account']}  {row['name'][:44]:<44} {format_euros(row['opening']):>16} "
            f"{format_euros(row['debit']):>16} {format_euros(row['credit']):>16} "
            f"{format_euros(row['closing']):>16}"
        )
    click.echo(f"{'total':<50} {'':>16} {format_euros(trial['total_debit']):>16} "
               f"{format_euros(trial['total_credit']):>16}")
