"""`buurtbudget audit ...`: signed checkpoints, the export of the log, and its offline verification."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from domain.errors import NotFound
from service.audit_against import ServiceAt, ServiceUnreachable, differences_with_service
from service.audit_export import export_lines
from service.audit_verify import Report, verify_export
from service.checkpoints import published_checkpoint, record_checkpoint
from service.merkle_store import tree_size
from service.principal import PUBLIC
from service.queries.as_of import all_round_balances_as_of, round_balances_as_of
from service.queries.audit_log import record_verification
from service.witness import Witness, WitnessRefusal

BALANCE_KEYS = ("deposited", "reserved", "pending", "paid", "returned", "available")


@click.group("audit")
def audit_command() -> None:
    """The tamper-evident log: checkpoints, export and verification."""


@audit_command.command("checkpoint")
@click.option("--reason", default="on demand", show_default=True)
@click.pass_obj
def checkpoint_command(state: Any, reason: str) -> None:
    """Sign a checkpoint of the log as it is now and print its note."""
    rt = state.runtime()
    row = published_checkpoint(record_checkpoint(rt.engine, rt.checkpoint_signer, reason))
    click.echo(row["note"], nl=False)


@audit_command.command("backfill")
@click.pass_obj
def backfill_command(state: Any) -> None:
    """Write the leaves of events stored before the log existed (safe to run again, and while
    the service runs); `init` does this too."""
    rt = state.runtime()
    backfilled = rt.backfill_audit_log()
    with rt.engine.connect() as conn:
        size = tree_size(conn)
    if backfilled:
        click.echo(f"wrote the leaves of {backfilled} events stored before the log and signed a "
                   f"checkpoint; the tree has {size} leaves")
    else:
        click.echo(f"nothing to backfill: the tree has {size} leaves")


@audit_command.command("export")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.pass_obj
def export_command(state: Any, output: Path) -> None:
    """Write the whole log, checkpoints and public key to one file (docs/audit.md)."""
    count = 0
    with output.open("wb") as handle:
        for line in export_lines(state.runtime()):
            handle.write(line)
            count += 1
    click.echo(f"wrote {output} ({count} lines)")


@audit_command.command("verify")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--database", is_flag=True, help="check the live store instead of a file")
@click.option(
    "--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the log's public key (verifier key or PEM), obtained apart from the file",
)
@click.option("--against", metavar="URL",
              help="also compare the checkpoint, balances and tallies with the service at URL")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def verify_command(
    state: Any, file: Path | None, database: bool, public_key: Path | None, against: str | None,
    as_json: bool,
) -> None:
    """Check signatures, tree, replay, balances and tallies; exit 1 naming the first bad position."""
    if (file is None) == (not database):
        raise click.UsageError("give an export FILE or --database (not both)")
    key = public_key.read_text() if public_key else None
    progress = None if as_json else _progress
    if database:
        rt = state.runtime()
        report = verify_export(export_lines(rt, seal_open_ballots=False),
                               public_key=key, progress=progress)
        first = report.findings[0] if report.findings else None
        record_verification(rt, report.ok, report.tree_size,
                            None if first is None else f"{first.kind}: {first.message}")
    elif as_json or not sys.stderr.isatty():
        report = verify_export(_lines_of(file), public_key=key, progress=progress)
    else:
        # A bar over the file's bytes: the number of events is not known before reading them.
        with click.progressbar(length=file.stat().st_size, label=f"verifying {file.name}",
                               file=click.get_text_stream("stderr"), show_eta=True) as bar:
            report = verify_export(_read_with(bar, file), public_key=key)
    # Compared even when the file has findings: what the service says locates the change.
    differences = None if against is None else _differences_with(report, against)
    _show(report, as_json, against, differences)
    if not report.ok or differences:
        sys.exit(1)


def _differences_with(report: Report, url: str) -> list[str]:
    try:
        return differences_with_service(report, ServiceAt(url))
    except ServiceUnreachable as error:
        return [f"service: {error}"]
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        return [f"service: an answer not as the API documents it ({type(error).__name__}: {error})"]


def _lines_of(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from handle


def _read_with(bar: Any, path: Path) -> Iterator[bytes]:
    for line in _lines_of(path):
        bar.update(len(line))
        yield line


def _progress(events: int) -> None:
    if sys.stderr.isatty():
        click.echo(f"\r{events} events checked", nl=False, err=True)


def _show(report: Report, as_json: bool, url: str | None, differences: list[str] | None) -> None:
    if as_json:
        shown = report.as_dict()
        if url is not None:
            shown["service"] = {"url": url, "differences": differences}
        click.echo(json.dumps(shown, indent=2))
        return
    if sys.stderr.isatty():
        click.echo("", err=True)
    click.echo(report.text())
    if url is None:
        return
    for difference in differences or ():
        click.echo(f"differs from {url}: {difference}")
    if not differences:
        click.echo(f"OK: {url} publishes the same checkpoint, balances and tallies as this log")


@audit_command.command("witness")
@click.option("--url", required=True, help="the service, e.g. https://buurtbudget.example")
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the witness's Ed25519 key (PEM; created if missing)")
@click.option("--state", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="where the witness keeps the log's key and the last checkpoint it cosigned")
@click.option("--name", default="buurtbudget-witness", show_default=True,
              help="the witness's name in its cosignatures")
def witness_command(url: str, key_file: Path, state: Path, name: str) -> None:
    """Cosign the latest checkpoint if it extends the last one this witness saw; exit 1 if not."""
    try:
        witnessed = Witness(url, key_file, state, name).run()
    except WitnessRefusal as refusal:
        click.echo(f"REFUSED: {refusal}")
        sys.exit(1)
    since = "first checkpoint seen" if witnessed.previous_size is None else (
        f"consistent with the {witnessed.previous_size} entries seen before")
    click.echo(f"cosigned the checkpoint of {witnessed.tree_size} entries ({since})")
    click.echo(f"witness key: {witnessed.witness_key}")


@audit_command.command("as-of")
@click.argument("timestamp", type=click.DateTime(formats=[
    "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]))
@click.option("--round", "round_id", default=None, help="one round (default: every round)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def as_of_command(state: Any, timestamp: datetime, round_id: str | None, as_json: bool) -> None:
    """Print the balances of the rounds as they stood at TIMESTAMP (UTC unless it says otherwise)."""
    moment = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
    rt = state.runtime()
    if round_id:
        try:
            answers = [round_balances_as_of(rt, PUBLIC, str(UUID(round_id)), moment)]
        except ValueError:
            raise click.BadParameter(f"{round_id!r} is not a round id") from None
        except NotFound as error:
            raise click.ClickException(error.message) from None
    else:
        answers = all_round_balances_as_of(rt, PUBLIC, moment)
    if as_json:
        click.echo(json.dumps(answers, indent=2))
        return
    for answer in answers:
        figures = ", ".join(f"{key} {answer[key]}" for key in BALANCE_KEYS)
        click.echo(f"round {answer['round_id']} ({answer['phase']}) as of {answer['as_of']}: "
                   f"{figures}")
