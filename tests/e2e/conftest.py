"""A real gunicorn serving a fresh database, per backend, for end-to-end tests over HTTP.

Everything the server needs is set up the way an operator would: `buurtbudget init` and
`buurtbudget token create` as separate processes, then `gunicorn wsgi:app` with the service's
gunicorn settings (gevent workers, as `buurtbudget serve` runs them) and three workers. The
settings reach those processes through BUURTBUDGET_* variables in *their* environment only; the
test process's own os.environ is never changed.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.config import ENVIRONMENT_KEYS
from tests.conftest import BACKENDS, fresh_schema, settings_for

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
TOKENS = (("anna", "official"), ("bram", "official"), ("cas", "official"), ("audit", "auditor"))


def child_environment(settings: dict[str, Any]) -> dict[str, str]:
    """os.environ plus the service settings, for a child process (a copy: ours stays as it is)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUURTBUDGET_")}
    for key, variable in ENVIRONMENT_KEYS.items():
        if settings.get(key):
            env[variable] = str(settings[key])
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
    access_log_path: Path

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

    def access_log(self) -> list[tuple[int, str, int]]:
        """(worker pid, request line, status) of each request answered so far."""
        entries = []
        for line in self.access_log_path.read_text(errors="replace").splitlines():
            pid, request_line, status = line.split("\t")
            entries.append((int(pid.strip("<>")), request_line, int(status)))
        return entries


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


@contextmanager
def running_server(settings: dict[str, Any], backend: str, workdir: Path) -> Iterator[Server]:
    """A fresh database set up by the CLI and served by a real gunicorn on a free loopback port."""
    env = child_environment(settings)
    runner = Server(base_url="", tokens={}, env=env, log_path=workdir / "gunicorn.log",
                    backend=backend, access_log_path=workdir / "access.log")
    runner.cli("init")
    for name, role in TOKENS:
        runner.tokens[name] = runner.cli("token", "create", "--role", role, "--name", name).strip()

    port = free_port()
    runner.base_url = f"http://127.0.0.1:{port}"
    with runner.log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf",
             "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
             "--graceful-timeout", "10", "--access-logfile", str(runner.access_log_path),
             "--access-logformat", "%(p)s\t%(r)s\t%(s)s", "wsgi:app"],
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


@pytest.fixture
def server(settings: dict[str, Any], backend: str, tmp_path: Path) -> Iterator[Server]:
    """A real gunicorn on a fresh database, for one test."""
    with running_server(settings, backend, tmp_path) as runner:
        yield runner


@dataclass
class DemoSite:
    """A gunicorn serving `buurtbudget demo`'s data, with its ids and codes."""

    server: Server
    demo: dict[str, Any]

    @property
    def base_url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="session", params=BACKENDS)
def demo_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
    postgres_check: str | None,
) -> Iterator[DemoSite]:
    """One server per backend for the whole run, filled by `buurtbudget demo` as the README says.

    Tests that change data open rounds of their own, so they do not disturb each other.
    """
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"site-{backend}")
    with ExitStack() as stack:
        schema = None
        if backend == "postgresql":
            if postgres_check:
                pytest.skip(postgres_check)
            schema = stack.enter_context(fresh_schema())
        runner = stack.enter_context(
            running_server(settings_for(backend, workdir, schema), backend, workdir)
        )
        yield DemoSite(runner, json.loads(runner.cli("demo", "--json")))


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (its own browser download is not used)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, 1280 px wide."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
