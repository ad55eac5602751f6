"""`buurtbudget audit`: a checkpoint on demand, the export, verification of file and store, and
what /healthz says after a verification of the store failed."""
from __future__ import annotations

import json
import os
import pty
import subprocess

from click.testing import CliRunner

from service.app import create_app
from service.cli import cli
from service.extension import EXTENSION
from service.signed_note import Checkpoint, open_note
from tests.conftest import cli_environment
from tests.e2e.conftest import REPO_ROOT, cli_command
from tests.integration.conftest import drive_round
from tests.integration.test_tamper_matrix import StoredEvents, triple_a_deposit


def test_checkpoint_export_and_verify_from_the_command_line(runtime, settings, tmp_path):
    drive_round(runtime.application, "execution")
    runner = CliRunner()
    env = cli_environment(settings)
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


def test_healthz_reports_a_log_that_fails_its_checks(runtime, settings, tmp_path):
    drive_round(runtime.application, "decided")
    app = create_app(settings)
    client = app.test_client()
    try:
        healthy = client.get("/healthz").get_json()
        assert healthy["status"] == "ok" and healthy["audit_log"]["latest_checkpoint_matches"]
        env = cli_environment(settings)
        triple_a_deposit(StoredEvents(runtime))
        # An edited event shows in a full verification, which /healthz then reports.
        assert client.get("/healthz").get_json()["status"] == "ok"
        assert CliRunner().invoke(cli, ["audit", "verify", "--database"], env=env).exit_code == 1
        failed = client.get("/healthz").get_json()
        assert failed["status"] == "audit-failed"
        assert failed["audit_log"]["last_verification"]["finding"].startswith("edited")
    finally:
        app.extensions[EXTENSION].close()


def test_verifying_a_file_on_a_terminal_shows_a_progress_bar(runtime, settings, tmp_path):
    drive_round(runtime.application, "execution")
    export = tmp_path / "log.jsonl"
    written = CliRunner().invoke(cli, ["audit", "export", "--output", str(export)],
                                 env=cli_environment(settings))
    assert written.exit_code == 0, written.output

    # stderr on a pseudo-terminal, as an auditor's shell would have it.
    controller, terminal = pty.openpty()
    with subprocess.Popen([*cli_command(), "audit", "verify", str(export)], cwd=REPO_ROOT,
                          stdout=subprocess.PIPE, stderr=terminal) as verifying:
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
        stdout = verifying.stdout.read().decode()
    os.close(controller)

    assert verifying.returncode == 0, stdout
    assert b"verifying log.jsonl" in shown and b"100%" in shown, shown
    assert "OK: the log is intact" in stdout
