"""The OpenAPI document tells the truth: schemathesis, every check, against a real gunicorn.

Schema-valid requests must be accepted (or fail only for a missing resource, a role or a
conflict), schema-invalid ones refused with a 4xx, every status and body must be documented,
and nothing may answer 5xx. What OpenAPI 3.0 cannot state is in `schemathesis_hooks.py`.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Bounded for time: the coverage phase (every boundary and wrong-type value of every parameter,
# about 2,900 requests) runs in full; the fuzzing and stateful phases draw 3 examples per
# operation, from a pinned seed, so every run sends the same requests.
MAX_EXAMPLES = 3
SEED = "20261129"
# `--checks all` includes max_response_time; this suite asserts no timings (the machine is
# shared), so its limit only catches a request that hangs.
HANG = "120"


@pytest.mark.parametrize(
    "backend",
    # PostgreSQL in the default suite (where column types are strict); SQLite with -m slow.
    [pytest.param("sqlite", marks=pytest.mark.slow), "postgresql"],
)
def test_schemathesis_finds_no_failure_with_every_check(request, backend, tmp_path):
    if request.node.get_closest_marker("slow") and "slow" not in request.config.getoption("-m"):
        pytest.skip("slow: run with -m slow")
    server = request.getfixturevalue("server")  # started only for a run that is not skipped
    env = {
        **server.env,
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "PYTHONPATH": str(REPO_ROOT),
    }
    command = [
        str(SCHEMATHESIS), "run", f"{server.base_url}/api/v1/openapi.json",
        "--url", server.base_url, "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES), "--seed", SEED,
        "--header", f"Authorization: Bearer {server.tokens['anna']}",
        "--request-timeout", HANG, "--max-response-time", HANG,
    ]

    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)

    assert done.returncode == 0, done.stdout[-20_000:] + done.stderr[-5_000:]
