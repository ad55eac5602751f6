"""The ledger read model on both backends: the same lines as the domain ledger, rebuildable, and
trial balances and statements that agree with the rounds' own balances."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from domain.ledger import ACCOUNTS, Ledger
from projections.ledger import (
    LedgerScope,
    account_statement,
    iter_lines,
    ledger_lines,
    trial_balance,
)
from projections.rounds import get_round
from service.cli import cli
from service.ledger_export import FORMATS
from service.runtime import Runtime
from tests.conftest import cli_environment
from tests.integration.conftest import OFFICIAL, SECOND_OFFICIAL, DrivenRound, dump_read_models


def closing(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {row["account"]: row["closing"] for row in rows}


@pytest.fixture
def paid_and_closed(round_in: Callable[..., DrivenRound]) -> DrivenRound:
    """A round with a paid, a reversed and a rejected payout, completed and closed."""
    driven = round_in("execution")
    app, rid = driven.app, driven.round_id
    driven.pay("playground", 1_200_00)
    reversed_id = driven.pay("benches", 300_00)
    app.reverse_payout(rid, reversed_id, reason="IBAN closed", actor=OFFICIAL)
    rejected = app.request_payout(rid, actor=OFFICIAL, **driven.payout_fields("benches", 100_00))
    app.reject_payout(rid, rejected, reason="no invoice", actor=SECOND_OFFICIAL)
    driven.pay("benches", 700_00)
    for name in ("playground", "benches"):
        app.complete_proposal(driven.proposals[name], report="Done.", actor=OFFICIAL)
    app.close_round(rid, destination="Algemene middelen", actor=OFFICIAL)
    return driven


def test_the_read_model_holds_the_domain_ledgers_lines(runtime: Runtime, paid_and_closed) -> None:
    ledger = Ledger()
    for notification in runtime.application.recorder.select_notifications(start=1, limit=10_000):
        ledger.post(runtime.application.mapper.to_domain_event(notification), notification.id)

    with runtime.reading() as conn:
        rows = list(iter_lines(conn, LedgerScope()))

    expected = [
        (t.position, t.event_type, line.account, line.side, line.amount, line.proposal_id)
        for t, line in ledger.lines()
    ]
    assert [
        (r["position"], r["event_type"], r["account"], r["side"], r["amount"], r["proposal_id"])
        for r in rows
    ] == expected
    assert {r["task_field"] for r in rows} == {"6.1"}


def test_the_trial_balance_agrees_with_the_rounds_balances(runtime: Runtime, paid_and_closed) -> None:
    rid = str(paid_and_closed.round_id)
    with runtime.reading() as conn:
        balance = trial_balance(conn, LedgerScope(round_id=rid))
        figures = get_round(conn, rid)

    totals = closing(balance)
    assert sum(row["debit"] for row in balance) == sum(row["credit"] for row in balance)
    assert totals["8000"] == figures["deposited"] == 5_000_00
    assert totals["4000"] == figures["paid"] == 1_900_00
    assert totals["4900"] == figures["returned"] == 3_100_00
    assert totals["1100"] == figures["deposited"] - figures["paid"] - figures["returned"] == 0
    assert totals["0910"] == figures["available"] == 0
    assert [row["account"] for row in balance] == sorted(ACCOUNTS)


def test_balances_per_proposal_municipality_and_date(runtime: Runtime, paid_and_closed) -> None:
    driven = paid_and_closed
    with runtime.reading() as conn:
        figures = get_round(conn, str(driven.round_id))
        benches = closing(trial_balance(conn, LedgerScope(proposal_id=driven.pid("benches"))))
        municipality = closing(
            trial_balance(conn, LedgerScope(municipality_id=figures["municipality_id"]))
        )
        everything = closing(trial_balance(conn, LedgerScope()))
        yesterday = date.today() - timedelta(days=1)
        before = trial_balance(conn, LedgerScope(date_to=yesterday))
        after = trial_balance(conn, LedgerScope(date_from=date.today() + timedelta(days=2)))

    assert benches["4000"] == 700_00  # the reversed 300 came back, the rejected 100 never left
    assert municipality == everything
    assert all(row["closing"] == 0 == row["debit"] for row in before)  # nothing booked yet
    assert {row["account"]: row["opening"] for row in after} == everything
    assert all(row["debit"] == row["credit"] == 0 for row in after)


def test_an_account_statement_runs_the_balance_line_by_line(runtime: Runtime, paid_and_closed) -> None:
    with runtime.reading() as conn:
        statement = account_statement(conn, LedgerScope(round_id=str(paid_and_closed.round_id)), "1100")

    movements = [(line["event_type"], line["side"], line["amount"]) for line in statement["lines"]]
    assert movements == [
        ("FundsDeposited", "D", 5_000_00),
        ("PayoutPaid", "C", 1_200_00),
        ("PayoutPaid", "C", 300_00),
        ("PayoutReversed", "D", 300_00),
        ("PayoutPaid", "C", 700_00),
        ("Closed", "C", 3_100_00),
    ]
    assert [line["balance"] for line in statement["lines"]] == [
        5_000_00, 3_800_00, 3_500_00, 3_800_00, 3_100_00, 0
    ]
    assert statement["opening"] == 0 and statement["closing"] == 0


def test_the_ledger_rebuilds_to_the_same_rows(runtime: Runtime, paid_and_closed) -> None:
    runtime.projector.catch_up()
    before = dump_read_models(runtime.engine, [ledger_lines])

    runtime.projector.rebuild(["ledger"])

    assert dump_read_models(runtime.engine, [ledger_lines]) == before
    assert len(before["rm_ledger_lines"]) > 20


def test_the_read_model_and_the_domain_ledger_agree_on_a_changed_task_field(
    runtime: Runtime, round_in: Callable[..., DrivenRound]
) -> None:
    driven = round_in("execution")
    runtime.application.set_task_field(driven.round_id, task_field="0.10", actor=OFFICIAL)
    driven.pay("playground", 1_200_00)
    ledger = Ledger()
    for notification in runtime.application.recorder.select_notifications(start=1, limit=10_000):
        ledger.post(runtime.application.mapper.to_domain_event(notification), notification.id)
    runtime.projector.catch_up()

    with runtime.reading() as conn:
        rows = list(iter_lines(conn, LedgerScope(round_id=str(driven.round_id))))
    runtime.projector.rebuild(["ledger"])
    with runtime.reading() as conn:
        rebuilt = list(iter_lines(conn, LedgerScope(round_id=str(driven.round_id))))

    expected = [(t.position, line.account, t.round.task_field) for t, line in ledger.lines()]
    assert [(r["position"], r["account"], r["task_field"]) for r in rows] == expected
    assert {r["task_field"] for r in rows if r["event_type"] == "FundsDeposited"} == {"6.1"}
    assert {r["task_field"] for r in rows if r["event_type"] == "PayoutPaid"} == {"0.10"}
    assert rebuilt == rows


def run_cli(settings: dict[str, Any], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=cli_environment(settings))


def test_the_command_line_exports_a_round_in_every_format(
    runtime: Runtime, settings, paid_and_closed, tmp_path
) -> None:
    rid = str(paid_and_closed.round_id)
    for fmt in sorted(FORMATS):
        output = tmp_path / f"ledger.{fmt}"
        done = run_cli(settings, "ledger", "export", "--format", fmt, "--round", rid,
                       "--output", str(output))
        assert done.exit_code == 0, done.output
        assert output.stat().st_size > 500

    rows = list(csv.DictReader(io.StringIO((tmp_path / "ledger.csv").read_text())))
    with runtime.reading() as conn:
        assert len(rows) == len(list(iter_lines(conn, LedgerScope(round_id=rid))))


def test_the_command_line_prints_the_trial_balance(runtime: Runtime, settings, paid_and_closed) -> None:
    done = run_cli(settings, "ledger", "trial-balance", "--round", str(paid_and_closed.round_id),
                   "--json")

    assert done.exit_code == 0, done.output
    trial = json.loads(done.output)
    assert trial["total_debit"] == trial["total_credit"]
    assert {row["account"]: row["closing"] for row in trial["accounts"]}["4900"] == 3_100_00


def test_the_command_line_refuses_bad_input_and_writes_nothing(settings, paid_and_closed, tmp_path):
    output = tmp_path / "nothing.csv"
    missing = "00000000-0000-0000-0000-000000000000"
    cases = [
        (["--format", "xls"], 2),
        (["--format", "csv", "--round", "r-1"], 2),
        (["--format", "csv", "--from", "2026-02-30"], 2),
        (["--format", "csv", "--round", missing, "--municipality", missing], 2),
        (["--format", "csv", "--round", missing], 1),
        (["--format", "csv", "--from", "2026-05-01", "--to", "2026-04-01"], 1),
    ]
    for args, code in cases:
        done = run_cli(settings, "ledger", "export", *args, "--output", str(output))
        assert done.exit_code == code, (args, done.output)
        assert not output.exists() and not list(tmp_path.glob("*.part"))
