"""The `buurtbudget` command: set up the database, tokens, demo data, serving and read models."""
from __future__ import annotations

import json
import os
import sys
from typing import Any
from uuid import UUID

import click

from domain.errors import BudgetError
from domain.voting import DEFAULT_TIE_BREAK, TALLY_COMPLETIONS, TALLY_RULES
from service.cli_audit import audit_command
from service.cli_ledger import ledger_group
from service.cli_payouts import payouts_group
from service.cli_privacy import privacy_group
from service.cli_register import check_receipt_command, register_group
from service.cli_tally import tally_command
from service.config import load_settings
from service.principal import ROLES
from service.runtime import Runtime
from service.token_store import TOKEN_PREFIX, create_token, list_tokens, revoke_token


class State:
    """Settings from the environment and --database-url; the runtime is built on first use."""

    def __init__(self, database_url: str | None):
        self.settings = load_settings({"DATABASE_URL": database_url} if database_url else None)
        self._runtime: Runtime | None = None

    def runtime(self, *, create_tables: bool = False) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime(self.settings, create_tables=create_tables)
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


pass_state = click.make_pass_decorator(State)


@click.group()
@click.option(
    "--database-url", envvar="BUURTBUDGET_DATABASE_URL", default=None,
    help="sqlite:///FILE (default sqlite:///buurtbudget.db) or postgresql://USER@HOST/DB",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """Buurtbudget: residents' budgets, from the vote to the bank transfer."""
    state = State(database_url)
    ctx.obj = state
    ctx.call_on_close(state.close)


cli.add_command(tally_command)
cli.add_command(audit_command)
cli.add_command(ledger_group)
cli.add_command(payouts_group)
cli.add_command(register_group)
cli.add_command(check_receipt_command)
cli.add_command(privacy_group)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except BudgetError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(2)


@cli.command()
@pass_state
def init(state: State) -> None:
    """Create the event store, read-model and token tables and the keys (safe to run again)."""
    rt = state.runtime(create_tables=True)
    click.echo(f"initialised {rt.storage.kind} store: {state.settings['DATABASE_URL']}")
    backfilled = rt.backfill_audit_log()
    if backfilled:
        click.echo(f"audit log: wrote the leaves of {backfilled} events stored before it "
                   "and signed a checkpoint")
    click.echo(f"audit log signing key: {state.settings['AUDIT_KEY_FILE']} "
               f"(publish its public key: {rt.checkpoint_signer.verifier_key})")


@cli.group()
def token() -> None:
    """Bearer tokens for officials, auditors and admins."""


@token.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", required=True, help="who holds it; shown as the actor in every event")
@pass_state
def token_create(state: State, role: str, name: str) -> None:
    """Create a token and print it once (only its hash is stored)."""
    try:
        created = create_token(state.runtime().engine, name=name, role=role, created_by="cli")
    except BudgetError as error:
        raise click.ClickException(error.message) from None
    click.echo(created["token"])


@token.command("list")
@pass_state
def token_list(state: State) -> None:
    """List tokens (without the secrets)."""
    for row in list_tokens(state.runtime().engine):
        revoked = f" revoked {row['revoked_at']}" if row["revoked_at"] else ""
        click.echo(f"{row['token_id']}  {row['role']:<8} {row['name']}{revoked}")


@token.command("revoke")
@click.argument("token_id")
@pass_state
def token_revoke(state: State, token_id: str) -> None:
    """Revoke a token by its id."""
    try:
        revoke_token(state.runtime().engine, token_id)
    except BudgetError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"revoked {token_id}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="print ids, codes and tokens as JSON")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True,
              help="where the service will be served, for the console sign-in links")
@pass_state
def demo(state: State, as_json: bool, url: str) -> None:
    """Fill the store with a demo neighbourhood: one closed round, one open for voting."""
    from service.demo import run_demo

    rt = state.runtime(create_tables=True)
    result = run_demo(rt.application)
    tokens = {}
    for role, name in (("official", "demo-anna"), ("official", "demo-bram"), ("official", "demo-cas"),
                       ("auditor", "demo-audit"), ("admin", "demo-admin")):
        try:
            tokens[name] = create_token(rt.engine, name=name, role=role, created_by="demo")["token"]
        except BudgetError:
            tokens[name] = "(exists already)"
    rt.projector.catch_up()
    summary: dict[str, Any] = {
        "municipality_id": str(result.municipality_id),
        "neighbourhood_id": str(result.neighbourhood_id),
        "closed_round_id": str(result.closed_round_id),
        "voting_round_id": str(result.voting_round_id),
        "voting_codes": result.unused_codes,
        "tokens": tokens,
        # The token rides in the fragment, which browsers never send: the sign-in page fills it
        # in, and the server sees it once, in the sign-in form.
        "console_links": {
            name: f"{url.rstrip('/')}/console/sign-in#token={token}"
            for name, token in tokens.items() if token.startswith(TOKEN_PREFIX)
        },
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"closed round (2025): {summary['closed_round_id']}")
    click.echo(f"round open for voting (2026): {summary['voting_round_id']}")
    click.echo("unused voting codes: " + ", ".join(result.unused_codes[:5]) + ", ...")
    for name, value in tokens.items():
        click.echo(f"token {name}: {value}")
    for name, link in summary["console_links"].items():
        click.echo(f"console sign-in for {name}: {link}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", type=int, default=None,
              help="gunicorn worker processes [default: one per core]")
@pass_state
def serve(state: State, host: str, port: int, workers: int | None) -> None:
    """Run the service under gunicorn with service/gunicorn_conf.py (gevent workers, one per core)."""
    # Tables are brought up to date here, once, before any worker starts: a long rebuild of a
    # read model would otherwise run in a worker, against gunicorn's worker timeout.
    state.runtime()
    state.close()
    os.environ["BUURTBUDGET_DATABASE_URL"] = state.settings["DATABASE_URL"]
    os.execvp(sys.executable, [
        sys.executable, "-m", "gunicorn", "--config", "python:service.gunicorn_conf",
        *(["--workers", str(workers)] if workers else []), "--bind", f"{host}:{port}",
        "--access-logfile", "-", "service.app:create_app()",
    ])


@cli.group()
def projections() -> None:
    """Read models: status, catch up, rebuild."""


@projections.command("status")
@pass_state
def projections_status(state: State) -> None:
    """Each read model's position, how far it lags the event log, and whether it stopped."""
    stopped = False
    for lag in state.runtime().projector.lag():
        line = f"{lag.name:<12} position {lag.position:>8}  behind {lag.behind}"
        if lag.failure:
            stopped = True
            failure = lag.failure
            line += (
                f"  STOPPED before event {failure.position} ({failure.topic}): {failure.error}, "
                f"incident {failure.incident} at {failure.failed_at}"
            )
        click.echo(line)
    if stopped:
        click.echo(
            "a stopped read model waits for `projections retry` (once the cause is fixed) "
            "or `projections rebuild`; the server log has the details under the incident id"
        )
        sys.exit(1)


@projections.command("catch-up")
@pass_state
def projections_catch_up(state: State) -> None:
    """Apply every new event to every read model that has not stopped."""
    click.echo(f"applied {state.runtime().projector.catch_up()} events")


def _known_names(projector: Any, names: tuple[str, ...]) -> list[str] | None:
    known = {model.name for model in projector.models}
    unknown = sorted(set(names) - known)
    if unknown:
        raise click.BadParameter(f"unknown read model(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return list(names) or None


@projections.command("retry")
@click.argument("names", nargs=-1)
@pass_state
def projections_retry(state: State, names: tuple[str, ...]) -> None:
    """Let stopped read models (all, or NAMES) try their failed event again, and catch up."""
    projector = state.runtime().projector
    applied = projector.retry(_known_names(projector, names))
    click.echo(f"applied {applied} events")
    _exit_if_stopped(projector, "stopped again")


@projections.command("rebuild")
@click.argument("names", nargs=-1)
@pass_state
def projections_rebuild(state: State, names: tuple[str, ...]) -> None:
    """Drop read models (all, or NAMES) and replay the whole log into them."""
    projector = state.runtime().projector
    applied = projector.rebuild(_known_names(projector, names))
    click.echo(f"rebuilt {', '.join(names) or 'all read models'}: {applied} events applied")
    _exit_if_stopped(projector, "stopped")


def _exit_if_stopped(projector: Any, how: str) -> None:
    """Name every read model that stopped on an event (not only the first), then exit 1."""
    failures = projector.failures()
    for failure in failures.values():
        click.echo(f"{failure.name} {how} before event {failure.position} (incident {failure.incident})")
    if failures:
        sys.exit(1)


@cli.command("import-pabulib")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--rule", type=click.Choice(TALLY_RULES), default="greedy", show_default=True)
@click.option("--completion", type=click.Choice(TALLY_COMPLETIONS), default="none", show_default=True)
@click.option("--tie-break", default=",".join(DEFAULT_TIE_BREAK), show_default=True,
              help="comma-separated keys from cost, votes, id, lot")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def import_pabulib_command(
    state: State, file: str, rule: str, completion: str, tie_break: str, as_json: bool
) -> None:
    """Turn a real election (.pb) into a tallied round, to compare the service's result with it."""
    from domain.pabulib import PabulibFormatError
    from service.pabulib_exchange import import_pabulib

    rt = state.runtime(create_tables=True)
    with open(file, encoding="utf-8") as handle:
        text = handle.read()
    try:
        imported = import_pabulib(
            rt.application, text, rule=rule, completion=completion, tie_break=tie_break.split(",")
        )
    except (PabulibFormatError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    summary = {
        "round_id": str(imported.round_id),
        "tally_id": imported.tally["tally_id"],
        "winners": imported.winners,
        "total_cost": imported.tally["total_cost"],
        "ballots_counted": imported.tally["ballots_counted"],
        "dropped_limits": imported.dropped_limits,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"round {summary['round_id']}: {summary['ballots_counted']} ballots, "
               f"{len(summary['winners'])} winners costing {summary['total_cost']} cents")
    click.echo("winners (file ids): " + ", ".join(summary["winners"]))
    if imported.dropped_limits:
        click.echo("limits in the file that its own ballots break, not imposed: "
                   + ", ".join(imported.dropped_limits))


@cli.command("export-pabulib")
@click.argument("round_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="file to write (default: stdout)")
@pass_state
def export_pabulib_command(state: State, round_id: str, output: str | None) -> None:
    """Write a decided round's anonymised ballots and result as a .pb file."""
    from service.pabulib_exchange import export_pabulib

    try:
        text = export_pabulib(state.runtime().application, _round_id(round_id))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    except BudgetError as error:
        raise click.ClickException(error.message) from None
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@cli.command("verify-tally")
@click.argument("round_id")
@click.option("--tally", "tally_id", default=None, help="a recorded tally (default: confirmed, else latest)")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def verify_tally_command(state: State, round_id: str, tally_id: str | None, as_json: bool) -> None:
    """Recount a round from its stored ballot events; exit 1 if it differs from the record."""
    try:
        report = state.runtime().application.verify_tally(_round_id(round_id), tally_id)
    except BudgetError as error:
        raise click.ClickException(error.message) from None
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif report["matches"]:
        click.echo(f"tally {report['tally_id']} matches the recount of "
                   f"{report['recomputed']['ballots_counted']} ballots")
    else:
        click.echo(f"tally {report['tally_id']} DIFFERS from the recount in: "
                   + ", ".join(report["differences"]))
    if not report["matches"]:
        sys.exit(1)


def _round_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a round id (a UUID)") from None
