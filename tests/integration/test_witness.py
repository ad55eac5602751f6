"""A witness over real HTTP: it cosigns checkpoints that extend what it saw, and refuses a rewrite.

The service runs in a thread on a real socket (werkzeug's server) on SQLite and PostgreSQL; the
witness talks to it as it would to a remote service. The rewrite is done by someone who holds the
database *and* the log's signing key: events edited, leaves and subtrees re-hashed, and a new
checkpoint signed. Only a witness that saw an earlier checkpoint can tell.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from service.app import create_app
from service.audit_export import export_lines
from service.audit_verify import verify_export
from service.checkpoints import record_checkpoint
from service.cli import cli
from service.extension import EXTENSION
from tests.integration.conftest import drive_round
from tests.integration.test_tamper_matrix import (
    StoredEvents,
    rehash_leaves_and_nodes,
    triple_a_deposit,
)


@pytest.fixture
def served(runtime, settings) -> Iterator[str]:
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    app.extensions[EXTENSION].close()


def witness(url: str, tmp_path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [
        "audit", "witness", "--url", url, "--key", str(tmp_path / "witness.key"),
        "--state", str(tmp_path / "witness"), "--name", "witness.example/w1",
    ])
    return result.exit_code, result.output


def test_a_witness_cosigns_growth_and_refuses_a_rewritten_history(runtime, served, tmp_path):
    driven = drive_round(runtime.application, "execution")
    code, output = witness(served, tmp_path)
    assert code == 0 and "first checkpoint seen" in output, output

    driven.pay("playground", 1_000_00)  # signs a checkpoint of its own
    code, output = witness(served, tmp_path)
    assert code == 0 and "consistent with the" in output, output
    report = verify_export(export_lines(runtime),
                           public_key=runtime.checkpoint_signer.verifier_key)
    assert report.ok and report.cosignatures_verified == 2, report.text()

    # Someone with the database and the signing key rewrites a deposit and signs anew.
    triple_a_deposit(StoredEvents(runtime))
    rehash_leaves_and_nodes(runtime)
    record_checkpoint(runtime.engine, runtime.checkpoint_signer, "nothing to see")
    code, output = witness(served, tmp_path)
    assert code == 1 and "history was rewritten" in output, output
