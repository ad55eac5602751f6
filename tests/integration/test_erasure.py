"""Erasure by crypto-shredding: a person's key destroyed, their data unreadable everywhere.

Runs on SQLite and PostgreSQL, through the command line: the database's own bytes (the SQLite
file after a checkpoint, a pg_dump of the test's schema) hold neither the person's data nor their
key afterwards, reads and exports show the data as erased, money and tally are unchanged, the
read models rebuild to the same rows and the tamper-evident log still verifies.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from domain.errors import Conflict, NotFound
from domain.personal_data import ERASED
from projections.tracking import metadata
from service.cli import cli
from service.erasure import erase_personal_data
from service.personal_data_keys import personal_data_keys
from service.principal import Principal
from service.queries import ledger, payment_batches, payouts, proposals
from service.runtime import Runtime
from tests.conftest import POSTGRES_URL, cli_environment
from tests.integration.conftest import (
    OFFICIAL,
    SECOND_OFFICIAL,
    WINNERS,
    drive_round,
    dump_read_models,
)

AUDITOR = Principal("aud", "auditor")
ERASED_PAYEE = {"payee_name": "Tuincentrum Oost", "iban": "NL91ABNA0417164300"}
KEPT_PAYEE = {"payee_name": "Houthandel Zuid", "iban": "NL20INGB0001234567"}
PERSONAL = (b"Fatima", b"fatima@example.org", b"Tuincentrum Oost", b"NL91ABNA0417164300")


def database_bytes(runtime: Runtime, settings: dict[str, Any]) -> bytes:
    """Everything the database holds on disk (SQLite) or in a dump of its schema (PostgreSQL).

    The read models are caught up first, so they hold every event. pg_dump writes bytea (the
    events' bodies, the keys) in hex: the dump is followed by its own hex-decoded bytea values.
    """
    runtime.projector.catch_up()
    if runtime.storage.kind == "sqlite":
        with runtime.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(runtime.storage.sqlite_path)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    url = urlsplit(POSTGRES_URL)
    dump = subprocess.run(
        ["pg_dump", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", "-n", settings["DATABASE_SCHEMA"],
         url.path.lstrip("/")],
        check=True, capture_output=True, timeout=120,
    ).stdout
    hex_values = re.findall(rb"\\\\x([0-9a-f]+)", dump)
    return dump + b"".join(bytes.fromhex(value.decode()) for value in hex_values)


def balances(runtime: Runtime, round_id: UUID) -> Any:
    r = runtime.application.get_round(round_id)
    return r.balance, dict(r.winner_balances)


def erase(settings: dict[str, Any], *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["privacy", "erase", *args, "--reason", "AVG request 2026-17", "--admin", "privacy"],
        env=cli_environment(settings),
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def paid_round(runtime: Runtime):
    """A round in execution: proposals by Fatima, an approved payout to each of two payees."""
    app = runtime.application
    driven = drive_round(app, "execution")
    winner = driven.pid(WINNERS[0])
    made = {}
    for payee in (ERASED_PAYEE, KEPT_PAYEE):
        payout_id = app.request_payout(
            driven.round_id, actor=OFFICIAL, proposal_id=str(winner), amount=100_00,
            kind="invoice", reference=f"FACT-{payee['payee_name'][:4]}", description="", **payee,
        )
        app.approve_payout(driven.round_id, payout_id, actor=SECOND_OFFICIAL)
        made[payee["iban"]] = payout_id
    waiting = app.request_payout(  # requested, not yet approved, when its payee is erased
        driven.round_id, actor=OFFICIAL, proposal_id=str(winner), amount=1_00, kind="invoice",
        reference="FACT-late", description="", **ERASED_PAYEE,
    )
    return driven, made, waiting


def test_erasure_leaves_no_trace_of_the_person_and_everything_else_as_it_was(
    runtime: Runtime, settings: dict[str, Any], paid_round, tmp_path: Path
) -> None:
    driven, made, waiting = paid_round
    app, rid = runtime.application, driven.round_id
    keys = _keys_left(runtime)
    before = database_bytes(runtime, settings)
    # The data is sealed from the start; the person's keys are in the database until erased.
    assert not [text for text in PERSONAL if text in before]
    assert all(key in before for key in keys) and b"Playground" in before
    assert b'"class_version"' in before  # only the events' own bodies say this: they are searched
    money, tally = balances(runtime, rid), app.verify_tally(rid)
    official = Principal("anna", "official")
    seen = proposals.list_proposals(runtime, official, str(rid))
    assert {(p["proposer_name"], p["proposer_email"]) for p in seen} == {
        ("Fatima", "fatima@example.org")
    }

    by_email = erase(settings, "--email", "  Fatima@Example.org ")
    by_iban = erase(settings, "--iban", "NL91 ABNA 0417 1643 00")

    assert by_email["keys_destroyed"] == by_iban["keys_destroyed"] == 1
    assert sorted(by_email["records"]) == sorted(f"proposal:{p}" for p in driven.proposals.values())
    assert sorted(by_iban["records"]) == sorted(
        [f"payout:{made[ERASED_PAYEE['iban']]}", f"payout:{waiting}"]
    )
    assert by_email["plaintext_remains"] == by_iban["plaintext_remains"] == []
    after = database_bytes(runtime, settings)
    assert not [text for text in PERSONAL if text in after]
    erased_keys = [k for k in keys if k not in _keys_left(runtime)]
    assert len(erased_keys) == 2 and not [k for k in erased_keys if k in after]
    assert b"Playground" in after and b"Houthandel Zuid" not in after  # still sealed

    # Reads show the data as erased; the other payee is as it was.
    seen = proposals.list_proposals(runtime, official, str(rid))
    assert {(p["proposer_name"], p["proposer_email"]) for p in seen} == {(ERASED, ERASED)}
    listed = {p["payout_id"]: p for p in payouts.list_payouts(runtime, official, str(rid))}
    assert (listed[made[ERASED_PAYEE["iban"]]]["payee_name"], listed[waiting]["iban"]) == (
        ERASED, ERASED
    )
    assert {k: listed[made[KEPT_PAYEE["iban"]]][k] for k in KEPT_PAYEE} == KEPT_PAYEE
    exported = b"".join(ledger.export_ledger(
        runtime, AUDITOR, "csv", ledger.scope_for(round_id=str(rid))
    ).chunks)
    assert ERASED.encode() in exported and b"Houthandel Zuid" in exported
    assert b"Tuincentrum" not in exported

    # The erased payee cannot be paid: approving is refused, the bank's batch leaves it out.
    with pytest.raises(Conflict, match="erased"):
        app.approve_payout(rid, waiting, actor=SECOND_OFFICIAL)
    batch_id = app.export_payment_batch(
        rid, execution_date="2026-07-01", debtor_name="Gemeente Amsterdam",
        debtor_iban="NL02ABNA0123456789", actor=OFFICIAL,
    )
    batch = payment_batches.get_payment_batch(runtime, official, str(rid), batch_id)
    assert [line["payout_id"] for line in batch["payouts"]] == [made[KEPT_PAYEE["iban"]]]
    sepa = payment_batches.payment_batch_file(runtime, official, str(rid), batch_id,
                                              "pain.001.001.03")
    assert b"NL20INGB0001234567" in sepa and b"Houthandel Zuid" in sepa

    # Money and tally are unchanged; the read models rebuild to the same rows.
    assert balances(runtime, rid) == money
    assert app.verify_tally(rid)["matches"] and tally["matches"]
    rows = dump_read_models(runtime.engine, list(metadata.sorted_tables))
    runtime.projector.rebuild()
    assert dump_read_models(runtime.engine, list(metadata.sorted_tables)) == rows

    # The log still verifies, offline and on the database: it covers the ciphertext.
    env = cli_environment(settings)
    export = tmp_path / "log.jsonl"
    runner = CliRunner()
    assert runner.invoke(cli, ["audit", "export", "--output", str(export)], env=env).exit_code == 0
    assert b"Tuincentrum" not in export.read_bytes()
    offline = runner.invoke(cli, ["audit", "verify", str(export)], env=env)
    assert offline.exit_code == 0, offline.output
    live = runner.invoke(cli, ["audit", "verify", "--database"], env=env)
    assert live.exit_code == 0, live.output

    # A second erasure finds nothing left to erase.
    with pytest.raises(NotFound):
        erase_personal_data(runtime, email="fatima@example.org", reason="again", actor="admin:x")


def _keys_left(runtime: Runtime) -> list[bytes]:
    with runtime.engine.connect() as conn:
        keys = [row.data_key for row in conn.execute(sa.select(personal_data_keys))]
    return keys


def test_a_person_whose_key_was_made_under_another_secret_key_is_still_found_and_erased(
    runtime: Runtime, settings: dict[str, Any]
) -> None:
    driven = drive_round(runtime.application, "submission")
    other = Runtime({**settings, "SECRET_KEY": "a-rotated-secret-key"})
    try:
        outcome = erase_personal_data(
            other, email="fatima@example.org", reason="AVG 2026-9", actor="admin:privacy"
        )
    finally:
        other.close()

    assert outcome["keys_destroyed"] == 1 and _keys_left(runtime) == []
    assert sorted(outcome["records"]) == sorted(f"proposal:{p}" for p in driven.proposals.values())
    seen = proposals.list_proposals(runtime, Principal("anna", "official"), str(driven.round_id))
    assert {p["proposer_name"] for p in seen} == {ERASED}
