"""`buurtbudget audit`: a checkpoint on demand, the export, and verification of file and store."""
from __future__ import annotations

import json

from click.testing import CliRunner

from service.cli import cli
from service.signed_note import Checkpoint, open_note
from tests.integration.conftest import drive_round


def test_checkpoint_export_and_verify_from_the_command_line(runtime, settings, tmp_path):
    drive_round(runtime.application, "execution")
    runner = CliRunner()
    env = {
        "BUURTBUDGET_DATABASE_URL": settings["DATABASE_URL"],
        "BUURTBUDGET_DATABASE_SCHEMA": settings.get("DATABASE_SCHEMA") or "",
        "BUURTBUDGET_SECRET_KEY": settings["SECRET_KEY"],
        "BUURTBUDGET_AUDIT_KEY_FILE": settings["AUDIT_KEY_FILE"],
    }
    made = runner.invoke(cli, ["audit", "checkpoint", "--reason", "council meeting"], env=env)
    assert made.exit_code == 0, made.output
    signer = runtime.checkpoint_signer
    signed = Checkpoint.parse(open_note(made.output, signer.name, signer.public_key))
    assert signed.extension("reason") == "council meeting"
    assert signed.tree_size == runtime.application.recorder.max_notification_id()

    export = tmp_path / "log.jsonl"
    written = runner.invoke(cli, ["audit", "export", "--output", str(export)], env=env)
    assert written.exit_code == 0, written.output
    key = tmp_path / "log.pub"
    key.write_text(signer.verifier_key)

    # The file is checked without any database: no environment at all.
    offline = runner.invoke(cli, ["audit", "verify", str(export), "--public-key", str(key),
                                  "--json"], env={"BUURTBUDGET_DATABASE_URL": "sqlite:///nowhere/x.db"})
    assert offline.exit_code == 0, offline.output
    report = json.loads(offline.output)
    assert report["ok"] and report["checkpoints_verified"] == report["checkpoints"] == 6
    assert report["tree_size"] == signed.tree_size
    assert report["root_hash"] == signed.root_hash.hex()

    live = runner.invoke(cli, ["audit", "verify", "--database", "--public-key", str(key)], env=env)
    assert live.exit_code == 0, live.output
    assert "OK: the log is intact" in live.output

    refused = runner.invoke(cli, ["audit", "verify"], env=env)
    assert refused.exit_code == 2 and "FILE or --database" in refused.output
