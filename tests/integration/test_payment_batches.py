"""`buurtbudget payouts sepa|reconcile` on both backends: pain.001 files and CAMT.053 statements."""
from __future__ import annotations

from pathlib import Path
from service.sepa_export import end_to_end_id, pain_schema
from tests.bank_statements import camt053
from tests.integration.conftest import OFFICIAL, SECOND_OFFICIAL
from tests.integration.test_ledger_projection import run_cli


def round_with_an_approved_payout(round_in):
    """A round in execution with one approved payout of EUR 1,000.00, and that payout's id."""
    driven = round_in("execution")
    payout_id = driven.app.request_payout(
        driven.round_id, actor=OFFICIAL, **driven.payout_fields("playground", 1_000_00)
    )
    driven.app.approve_payout(driven.round_id, payout_id, actor=SECOND_OFFICIAL)
    return driven, payout_id


DEBTOR = ["--debtor-name", "Gemeente Amsterdam", "--debtor-iban", "NL91ABNA0417164300"]


def test_the_command_line_writes_a_batch_once_and_the_same_file_again(
    round_in, settings, tmp_path: Path
) -> None:
    driven, payout_id = round_with_an_approved_payout(round_in)
    rid = str(driven.round_id)
    first, again = tmp_path / "batch.xml", tmp_path / "again.xml"

    made = run_cli(settings, "payouts", "sepa", "--round", rid, "--official", "anna", *DEBTOR,
                   "--execution-date", "2026-12-01", "--output", str(first))
    assert made.exit_code == 0, made.output
    batch_id = made.output.split("payment batch ")[1].split()[0]
    rewritten = run_cli(settings, "payouts", "sepa", "--round", rid, "--official", "anna",
                        "--batch", batch_id, "--output", str(again))
    refused = run_cli(settings, "payouts", "sepa", "--round", rid, "--official", "anna", *DEBTOR,
                      "--output", str(tmp_path / "none.xml"))

    assert rewritten.exit_code == 0, rewritten.output
    assert first.read_bytes() == again.read_bytes()
    pain_schema("pain.001.001.03").validate(first.read_text())
    assert refused.exit_code == 1 and "no approved payouts outside" in refused.output
    assert not (tmp_path / "none.xml").exists()
    bad = run_cli(settings, "payouts", "sepa", "--round", rid, "--official", "anna",
                  "--debtor-name", "X", "--debtor-iban", "NL00BANK0000000000", "--output", "x")
    assert bad.exit_code == 2 and "not a valid IBAN" in bad.output


def test_the_command_line_reconciles_a_statement_once(round_in, settings, tmp_path: Path) -> None:
    driven, payout_id = round_with_an_approved_payout(round_in)
    statement = tmp_path / "statement.xml"
    statement.write_bytes(camt053({"e2e": end_to_end_id(payout_id), "amount": 1_000_00}))
    foreign = tmp_path / "usd.xml"
    foreign.write_bytes(
        camt053({"e2e": end_to_end_id(payout_id), "amount": 1_000_00}, currency="USD")
    )

    refused = run_cli(settings, "payouts", "reconcile", str(foreign), "--official", "anna")
    first = run_cli(settings, "payouts", "reconcile", str(statement), "--official", "anna")
    second = run_cli(settings, "payouts", "reconcile", str(statement), "--official", "anna")

    assert refused.exit_code == 1 and "line 1: the amount is in USD" in refused.output
    assert first.exit_code == 0 and "1 payout(s) marked paid" in first.output, first.output
    assert second.exit_code == 0 and "0 payout(s) marked paid" in second.output
    assert driven.app.get_round(driven.round_id).payouts[payout_id]["status"] == "paid"


def test_the_command_line_pays_from_the_municipality_s_account_unless_told_otherwise(
    round_in, settings, tmp_path: Path
) -> None:
    driven, payout_id = round_with_an_approved_payout(round_in)
    rid = str(driven.round_id)
    sepa = ["payouts", "sepa", "--round", rid, "--official", "anna", "--execution-date",
            "2026-12-01"]

    refused = run_cli(settings, *sepa, "--output", str(tmp_path / "none.xml"))
    municipality_id = driven.app.get_round(driven.round_id).municipality_id
    driven.app.set_paying_account(municipality_id, name="Gemeente Amsterdam",
                                  iban="NL91ABNA0417164300", actor=OFFICIAL)
    made = run_cli(settings, *sepa, "--debtor-name", "Stadsdeel Oost",
                   "--output", str(tmp_path / "batch.xml"))

    assert refused.exit_code == 1 and "has no paying account" in refused.output
    assert not (tmp_path / "none.xml").exists()
    assert made.exit_code == 0, made.output
    batch = next(iter(driven.app.get_round(driven.round_id).payment_batches.values()))
    assert (batch["debtor_name"], batch["debtor_iban"]) == ("Stadsdeel Oost", "NL91ABNA0417164300")
    assert b"NL91ABNA0417164300" in (tmp_path / "batch.xml").read_bytes()
