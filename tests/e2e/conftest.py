"""A real gunicorn serving a fresh database, per backend, for end-to-end tests over HTTP.

Everything the server needs is set up the way an operator would: `buurtbudget init` and
`buurtbudget token create` as separate processes, then `gunicorn wsgi:app` with the service's
gunicorn settings (gevent workers, as `buurtbudget serve` runs them) and three workers. The
settings reach those processes through BUURTBUDGET_* variables in *their* environment only; the
test process's own os.environ is never changed.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
TOKENS = (("anna", "official"), ("bram", "official"), ("cas", "official"), ("audit", "auditor"))


def child_environment(settings: dict[str, Any]) -> dict[str, str]:
    """os.environ plus the service settings, for a child process (a copy: ours stays as it is)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUURTBUDGET_")}
    env["BUURTBUDGET_DATABASE_URL"] = settings["DATABASE_URL"]
    env["BUURTBUDGET_SECRET_KEY"] = settings["SECRET_KEY"]
    if settings.get("KEY_FILE"):
        env["BUURTBUDGET_KEY_FILE"] = settings["KEY_FILE"]
    if settings.get("DATABASE_SCHEMA"):
        env["BUURTBUDGET_DATABASE_SCHEMA"] = settings["DATABASE_SCHEMA"]
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cli_command() -> list[str]:
    """The installed `buurtbudget` script of this interpreter's environment."""
    script = Path(sys.executable).with_name("buurtbudget")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from service.cli import main; main()"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running gunicorn: where it listens, who may call it, and how to run the CLI beside it."""

    base_url: str
    tokens: dict[str, str]
    env: dict[str, str] = field(repr=False)
    log_path: Path
    backend: str

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def cli(self, *args: str, timeout: float = 120) -> str:
        """Run `buurtbudget ARGS` against the same database; returns its stdout."""
        done = subprocess.run(
            [*cli_command(), *args], env=self.env, cwd=REPO_ROOT, capture_output=True,
            text=True, timeout=timeout,
        )
        if done.returncode != 0:
            pytest.fail(
                f"`buurtbudget {' '.join(args)}` exited {done.returncode}:\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_until_healthy(process: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode} while starting:\n"
                        f"{log_path.read_text(errors='replace')}")
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200 and response.json().get("status") == "ok":
                return
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.TransportError as error:
            last = repr(error)
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not become healthy within {START_TIMEOUT:.0f}s ({last}):\n"
                f"{log_path.read_text(errors='replace')}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown of the workers
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def server(settings: dict[str, Any], backend: str, tmp_path: Path) -> Iterator[Server]:
    """A fresh database set up by the CLI and served by a real gunicorn on a free loopback port."""
    env = child_environment(settings)
    runner = Server(base_url="", tokens={}, env=env, log_path=tmp_path / "gunicorn.log",
                    backend=backend)
    runner.cli("init")
    for name, role in TOKENS:
        runner.tokens[name] = runner.cli("token", "create", "--role", role, "--name", name).strip()

    port = free_port()
    runner.base_url = f"http://127.0.0.1:{port}"
    with runner.log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf",
             "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
             "--graceful-timeout", "10", "wsgi:app"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(process, f"{runner.base_url}/healthz", runner.log_path)
        yield runner
    finally:
        _stop(process)
    log_text = runner.log()
    if "Traceback" in log_text:
        pytest.fail(f"gunicorn logged a traceback:\n{log_text}")
