"""`buurtbudget privacy ...`: erasing a person's personal data (docs/privacy.md)."""
from __future__ import annotations

import json
from typing import Any

import click

from domain.errors import BudgetError
from service.erasure import erase_personal_data
from service.principal import Principal


@click.group("privacy")
def privacy_group() -> None:
    """Personal data: erasure by destroying a person's key."""


@privacy_group.command("erase")
@click.option("--email", default=None, help="the proposer's e-mail address")
@click.option("--iban", default=None, help="the payee's IBAN")
@click.option("--reason", required=True, help="why (e.g. the request's case number); no personal data")
@click.option("--admin", required=True, help="your admin name; the actor of the erasure")
@click.pass_obj
def privacy_erase(
    state: Any, email: str | None, iban: str | None, reason: str, admin: str
) -> None:
    """Destroy the person's key and redact their records; prints what was erased as JSON."""
    try:
        outcome = erase_personal_data(
            state.runtime(), email=email, iban=iban, reason=reason,
            actor=Principal(admin, "admin").actor,
        )
    except BudgetError as error:
        raise click.ClickException(error.message) from None
    click.echo(json.dumps(outcome, indent=2))
