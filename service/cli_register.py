"""`buurtbudget register ...`: who may vote, a voter register turned into codes and letters."""
from __future__ import annotations

import json
import os
from typing import Any
from uuid import UUID

import click

from domain.errors import BudgetError
from service.principal import Principal
from service.receipt_check import check_receipt
from service.voter_register import import_register
from service.voting_letters import vote_url, write_letters


def _round(_ctx: click.Context, param: click.Parameter, value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a round id (a UUID)", param=param) from None


def _fail(error: BudgetError) -> click.ClickException:
    details = "".join(f"\n  {line}" for line in (error.details or []))
    return click.ClickException(error.message + details)


@click.group("register")
def register_group() -> None:
    """Voter registers: eligibility rules, codes and letters, reissuing a lost letter's code."""


@register_group.command("rules")
@click.option("--round", "round_id", required=True, callback=_round, help="round id")
@click.option("--official", required=True, help="your official name; the actor")
@click.option("--minimum-age", type=int, required=True, help="age on the reference date")
@click.option("--reference-date", required=True, help="YYYY-MM-DD, e.g. the first day of voting")
@click.option("--postcode", "postcodes", multiple=True, required=True,
              help="1091AB, 1091 (all its letters), 1091-1094 or 1091AA-1091GZ; repeat")
@click.pass_obj
def register_rules(state: Any, round_id: UUID, official: str, minimum_age: int,
                   reference_date: str, postcodes: tuple[str, ...]) -> None:
    """Set who may vote in the round (before any register was imported)."""
    try:
        state.runtime().application.set_eligibility(round_id, rules={
            "minimum_age": minimum_age, "reference_date": reference_date,
            "postcodes": list(postcodes),
        }, actor=Principal(official, "official").actor)
    except BudgetError as error:
        raise _fail(error) from None
    click.echo(f"round {round_id}: residents aged {minimum_age}+ on {reference_date} "
               f"in {', '.join(postcodes)}")


@register_group.command("import")
@click.argument("register", type=click.Path(exists=True, dir_okay=False))
@click.option("--round", "round_id", required=True, callback=_round, help="round id")
@click.option("--official", required=True, help="your official name; the actor")
@click.option("--base-url", required=True, help="the service's public address, for the letters")
@click.option("--letters", type=click.Path(dir_okay=False), help="write the letters (PDF) here")
@click.option("--mail-merge", type=click.Path(dir_okay=False), help="write the mail-merge CSV here")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.pass_obj
def register_import(state: Any, register: str, round_id: UUID, official: str, base_url: str,
                    letters: str | None, mail_merge: str | None, as_json: bool) -> None:
    """Check a register (CSV) line by line; if all is well, give each new eligible resident a
    code and write the letters. The codes are in these files only: keep them safe."""
    if not letters and not mail_merge:
        raise click.UsageError("give --letters and/or --mail-merge: the codes are shown once")
    app = state.runtime().application
    try:
        with open(register, "rb") as stream:
            done = import_register(app, round_id, stream,
                                   actor=Principal(official, "official").actor)
    except BudgetError as error:
        raise _fail(error) from None
    try:
        for path, kind in ((letters, "pdf"), (mail_merge, "mail_merge")):
            if path:
                with open(f"{path}.part", "wb") as handle:
                    write_letters(app, round_id, done.staged, base_url=base_url, **{kind: handle})
                os.replace(f"{path}.part", path)
    finally:
        done.staged.close()
    report = done.report()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{report['rows']} residents: {report['eligible']} eligible, "
               f"{report['already_enrolled']} had a code already, {report['enrolled']} new codes")


@register_group.command("reissue")
@click.option("--round", "round_id", required=True, callback=_round, help="round id")
@click.option("--official", required=True, help="your official name; the actor")
@click.option("--person-key", required=True, help="the register's key of the resident")
@click.option("--reason", required=True, help="e.g. 'letter lost, reported by phone 3 May'")
@click.option("--base-url", required=True, help="the service's public address")
@click.pass_obj
def register_reissue(state: Any, round_id: UUID, official: str, person_key: str, reason: str,
                     base_url: str) -> None:
    """Void the code of a lost letter and print the resident's new code."""
    try:
        code = state.runtime().application.reissue_code(
            round_id, person_key=person_key, reason=reason,
            actor=Principal(official, "official").actor,
        )
    except BudgetError as error:
        raise _fail(error) from None
    click.echo(f"new code: {code}\nvote at: {vote_url(base_url, str(round_id))}")


@click.command("check-receipt")
@click.option("--url", required=True, help="the service, e.g. https://stem.example.nl")
@click.option("--round", "round_id", required=True, callback=_round, help="round id")
@click.option("--receipt", required=True, help="the receipt you were shown when you voted")
@click.option("--verifier-key", help="the log's key as the municipality publishes it")
def check_receipt_command(url: str, round_id: UUID, receipt: str, verifier_key: str | None) -> None:
    """Check, as a voter, that your ballot was counted as cast (exit 1 if not)."""
    check = check_receipt(url, str(round_id), "".join(receipt.split()).lower(),
                          verifier_key=verifier_key)
    if check.ok:
        click.echo(f"counted as cast: {json.dumps(check.choices, sort_keys=True)} "
                   f"(in the signed log of {check.tree_size} entries)")
        return
    for finding in check.findings:
        click.echo(f"NOT OK: {finding}", err=True)
    raise SystemExit(1)
