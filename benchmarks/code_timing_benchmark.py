"""Is a wrong voting code answered in about the time of a valid one? Latency of each, per backend.

For each backend (SQLite, PostgreSQL), a fresh database with a round open for voting and CODES
issued codes, driven in this process through the Flask test client (no network, so the
figures are the service's own work). Attempts of these kinds are sent interleaved, ROUNDS
times each, so that a slower moment of the machine hits every kind alike (all lookups first,
then all casts):

  lookup valid     POST /ballots/lookup with an issued code            (200)
  lookup wrong     ... with a random code that was never issued         (403)
  lookup near      ... with an issued code whose last character differs (403)
  cast valid       POST /ballots, replacing the ballot of an issued code (201, writes)
  cast wrong       ... with a random code                               (403)
  cast near        ... with a near miss of an issued code               (403)

Reported: median and p95 of the wall time per kind, the median CPU time of this process (all of
the work on SQLite; on PostgreSQL without the server's share), and the ratios wrong/valid and
near/wrong of the medians. On a machine busy with other work the wall times wait for a CPU as
well, and the CPU times are the steadier comparison.
A code is checked by its keyed hash (HMAC-SHA256), which decides the ballot id to look up, so
how close a wrong code is to an issued one cannot change the work done: near/wrong should be
about 1. Rate limits are set so high that no attempt is refused (every attempt is still
counted, as in production).

    .venv/bin/python benchmarks/code_timing_benchmark.py
    .venv/bin/python benchmarks/code_timing_benchmark.py --backends sqlite --rounds 2000
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from flask.testing import FlaskClient

from service.app import create_app
from service.application import CODE_ALPHABET
from service.token_store import create_token
from service.extension import EXTENSION
from service.rate_limits import close_rate_limits
from service.runtime import Runtime

DEFAULT_POSTGRES_URL = os.environ.get(
    "BUURTBUDGET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
API = "/api/v1"
NO_LIMIT = "100000000 per minute"
KINDS = ("lookup valid", "lookup wrong", "lookup near", "cast valid", "cast wrong", "cast near")


def random_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def near_miss(code: str) -> str:
    last = code[-1]
    return code[:-1] + next(c for c in CODE_ALPHABET if c != last)


class VotingRound:
    """A round open for voting in a fresh app, set up through the API as an official would."""

    def __init__(self, client: FlaskClient, token: str, codes: int):
        self.client = client
        self.official = {"Authorization": f"Bearer {token}"}
        municipality = self.post("/municipalities", {"name": "Bench"})["municipality_id"]
        neighbourhood = self.post("/neighbourhoods", {"municipality_id": municipality,
                                                      "name": "Bench"})["neighbourhood_id"]
        self.round_id = self.post("/rounds", {"neighbourhood_id": neighbourhood,
                                              "title": "Bench"})["round_id"]
        proposal = self.post(f"/rounds/{self.round_id}/proposals", {
            "title": "Benches", "summary": "benches", "proposer_name": "Bench",
            "proposer_email": "bench@example.org",
            "cost_lines": [{"description": "benches", "amount": 100_000}],
        }, public=True)
        self.proposal_id = proposal["proposal_id"]
        self.post(f"/rounds/{self.round_id}/close-submissions", {})
        self.post(f"/proposals/{self.proposal_id}/admit", {})
        self.post(f"/rounds/{self.round_id}/open-voting", {})
        self.codes: list[str] = self.post(f"/rounds/{self.round_id}/voting-codes",
                                          {"count": codes})["codes"]
        for code in self.codes:  # every valid attempt below replaces a ballot already cast
            self.attempt("cast", code, expect=201)

    def post(self, path: str, body: dict[str, Any], *, public: bool = False) -> Any:
        response = self.client.post(API + path, json=body,
                                    headers={} if public else self.official)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    def attempt(self, action: str, code: str, *, expect: int) -> tuple[float, float]:
        """Seconds of wall time and of this process's CPU for one attempt, checked."""
        path = f"{API}/rounds/{self.round_id}/ballots"
        body: dict[str, Any] = {"code": code}
        if action == "cast":
            body["proposals"] = [self.proposal_id]
        else:
            path += "/lookup"
        started, cpu = time.perf_counter(), time.process_time()
        response = self.client.post(path, json=body)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert response.status_code == expect, (action, code, response.get_json())
        return elapsed, cpu


def settings_for(backend: str, workdir: Path, postgres_url: str) -> dict[str, Any]:
    common = {"SECRET_KEY": secrets.token_hex(16), "KEY_FILE": str(workdir / "unused.key"),
              "WRONG_CODE_LIMIT": NO_LIMIT, "CODE_ATTEMPT_LIMIT": NO_LIMIT}
    if backend == "sqlite":
        return {"DATABASE_URL": f"sqlite:///{workdir / 'buurtbudget.db'}", **common}
    schema = f"bb_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return {"DATABASE_URL": postgres_url, "DATABASE_SCHEMA": schema, **common}


def drop_schema(settings: dict[str, Any]) -> None:
    if settings.get("DATABASE_SCHEMA"):
        with psycopg.connect(settings["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{settings["DATABASE_SCHEMA"]}" CASCADE')


Times = dict[str, list[tuple[float, float]]]


def measure(backend: str, args: argparse.Namespace, workdir: Path) -> Times:
    settings = settings_for(backend, workdir, args.postgres_url)
    try:
        runtime = Runtime(settings, create_tables=True)
        token = create_token(runtime.engine, name="bench", role="official",
                             created_by="bench")["token"]
        runtime.close()
        app = create_app(settings)
        try:
            voting = VotingRound(app.test_client(), token, args.codes)
            attempts: dict[str, Callable[[int], tuple[float, float]]] = {
                "lookup valid": lambda i: voting.attempt("lookup", voting.codes[i], expect=200),
                "lookup wrong": lambda i: voting.attempt("lookup", random_code(), expect=403),
                "lookup near": lambda i: voting.attempt(
                    "lookup", near_miss(voting.codes[i]), expect=403),
                "cast valid": lambda i: voting.attempt("cast", voting.codes[i], expect=201),
                "cast wrong": lambda i: voting.attempt("cast", random_code(), expect=403),
                "cast near": lambda i: voting.attempt(
                    "cast", near_miss(voting.codes[i]), expect=403),
            }
            times: Times = {kind: [] for kind in KINDS}
            # Lookups first, casts after: a lookup after a cast would also pay for bringing
            # the read models up to that cast, which is not the lookup's own work.
            for action in ("lookup", "cast"):
                phase = {k: a for k, a in attempts.items() if k.startswith(action)}
                for i in range(args.warmup):
                    for attempt in phase.values():
                        attempt(i % args.codes)
                for i in range(args.rounds):
                    # In a new order each time, so that no kind always follows the same one.
                    for kind in random.sample(list(phase), len(phase)):
                        times[kind].append(phase[kind](i % args.codes))
            return times
        finally:
            app.extensions[EXTENSION].close()
            close_rate_limits(app)
    finally:
        drop_schema(settings)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def report(backend: str, times: Times) -> str:
    wall = {kind: [w for w, _ in values] for kind, values in times.items()}
    cpu = {kind: [c for _, c in values] for kind, values in times.items()}
    median = {kind: statistics.median(values) for kind, values in wall.items()}
    cpu_median = {kind: statistics.median(values) for kind, values in cpu.items()}
    lines = [f"### {backend}", "", "| attempt | median | p95 | CPU of this process, median |",
             "|---|---:|---:|---:|"]
    lines += [f"| {kind} | {median[kind] * 1000:.2f} ms | {p95(wall[kind]) * 1000:.2f} ms "
              f"| {cpu_median[kind] * 1000:.2f} ms |" for kind in KINDS]
    lines += ["", "| ratio of medians | lookup | cast | lookup, CPU | cast, CPU |",
              "|---|---:|---:|---:|---:|"]
    for name, (a, b) in {"wrong / valid": ("wrong", "valid"),
                         "near / wrong": ("near", "wrong")}.items():
        cells = [f"{m[f'{action} {a}'] / m[f'{action} {b}']:.2f}"
                 for m in (median, cpu_median) for action in ("lookup", "cast")]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def machine() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
            f"load average {', '.join(f'{x:.2f}' for x in load)} at the start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--rounds", type=int, default=1000, help="attempts of each kind (1000)")
    parser.add_argument("--warmup", type=int, default=50, help="attempts of each kind first (50)")
    parser.add_argument("--codes", type=int, default=200, help="issued codes (200)")
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="bb-code-timing-") as workdir:
            print(report(backend, measure(backend, args, Path(workdir))))


if __name__ == "__main__":
    main()
