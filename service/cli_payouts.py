"""`buurtbudget payouts ...`: SEPA payment batches and bank statement reconciliation."""
from __future__ import annotations

import datetime
import json
import os
from typing import Any
from uuid import UUID

import click

from domain.errors import BudgetError
from domain.money import format_euros
from service.iban import InvalidIban, compact_iban
from service.principal import Principal
from service.queries import payment_batches
from service.reconciliation import reconcile_statement
from service.sepa_export import PAIN_VERSIONS


def _iban(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return compact_iban(value)
    except InvalidIban as error:
        raise click.BadParameter(str(error), param=param) from None


def _round(_ctx: click.Context, param: click.Parameter, value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a round id (a UUID)", param=param) from None


@click.group("payouts")
def payouts_group() -> None:
    """Payouts: SEPA credit-transfer batches for the bank."""


@payouts_group.command("sepa")
@click.option("--round", "round_id", required=True, callback=_round, help="round id")
@click.option("--official", required=True, help="your official name; the actor of the batch")
@click.option("--debtor-name", help="name of the paying account (default: the municipality's)")
@click.option("--debtor-iban", callback=_iban, help="IBAN of the paying account (default: the municipality's)")
@click.option("--execution-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="when the bank should pay (default: the next day)")
@click.option("--version", type=click.Choice(PAIN_VERSIONS), default=PAIN_VERSIONS[0],
              show_default=True)
@click.option("--batch", "batch_id", default=None,
              help="write this exported batch again instead of making a new one")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True)
@click.pass_obj
def payouts_sepa(state: Any, round_id: UUID, official: str, debtor_name: str | None,
                 debtor_iban: str | None,
                 execution_date: datetime.datetime | None, version: str, batch_id: str | None,
                 output: str) -> None:
    """Batch the approved payouts not yet in a batch and write the pain.001 file."""
    rt = state.runtime()
    principal = Principal(official, "official")
    when = (execution_date.date() if execution_date
            else datetime.date.today() + datetime.timedelta(days=1))
    try:
        if batch_id is None:
            batch_id = rt.application.export_payment_batch(
                round_id, execution_date=when.isoformat(), debtor_name=debtor_name or "",
                debtor_iban=debtor_iban or "", actor=principal.actor,
            )
        document = payment_batches.payment_batch_file(rt, principal, str(round_id), batch_id, version)
    except BudgetError as error:
        raise click.ClickException(error.message) from None
    partial = f"{output}.part"
    with open(partial, "wb") as handle:
        handle.write(document)
    os.replace(partial, output)
    click.echo(f"wrote {output}: payment batch {batch_id} ({version})")


@payouts_group.command("reconcile")
@click.argument("statement", type=click.Path(exists=True, dir_okay=False))
@click.option("--official", required=True, help="your official name; the actor of each payment")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.pass_obj
def payouts_reconcile(state: Any, statement: str, official: str, as_json: bool) -> None:
    """Mark paid the approved payouts a CAMT.053 statement shows booked; report every line."""
    with open(statement, "rb") as handle:
        document = handle.read()
    try:
        report = reconcile_statement(
            state.runtime(), document, actor=Principal(official, "official").actor
        )
    except BudgetError as error:
        raise click.ClickException(error.message) from None
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for line in report["lines"]:
        click.echo(f"line {line['line']}: {line['outcome']}  {line['end_to_end_id'] or '-'}  "
                   f"{format_euros(line['amount'])}  {line['booking_date'] or ''}")
    click.echo(f"{report['paid']} payout(s) marked paid, {report['unchanged']} line(s) unchanged")
