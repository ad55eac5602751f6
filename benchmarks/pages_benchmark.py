"""How fast are the pages? The round and results pages of a real election, against the JSON API.

One run, on this machine, on SQLite:

  1. `buurtbudget import-pabulib` turns a real election (by default Łódź 2022 from pabulib: about
     90,000 approval ballots on 160 projects) into a tallied round in a fresh database.
  2. `buurtbudget projections catch-up` builds the read models; a real gunicorn with the
     service's settings (`buurtbudget serve`) serves the database.
  3. Beside it, under the same gunicorn settings, the floor: the same Flask app serving a page of
     constant HTML of a given size, with no query and no template (`web_floor:constant_page()`
     in benchmarks/web_floor.py); the cheapest page the web stack can serve on this machine.
  4. READERS concurrent readers, each on its own keep-alive connection, GET one URL as fast as
     the answers come, for DURATION seconds per URL, in this order: the round page, the API's
     proposals of the round (the same proposals, costs and votes as JSON), the floor page of the
     round page's size; then the results page, the API's results of the round, and the floor
     page of the results page's size.

It prints a Markdown table: requests/s, p50 and p99 latency, the server's CPU time per request,
each page's requests/s as a share of its API counterpart, and its requests/s and p99 as ratios to
the floor's, all measured in the same run, with the machine and its load. The readers run in this
process (threads) on the same cores as the server, for the page, the API and the floor alike.

    .venv/bin/python benchmarks/pages_benchmark.py
    .venv/bin/python benchmarks/pages_benchmark.py --readers 32 --duration 20 --file other.pb
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballot_benchmark import (
    REPO_ROOT,
    Gunicorn,
    cli_command,
    machine,
    process_cpu,
    run_cli,
    service_env,
)

DEFAULT_FILE = "/work/shared/data/pabulib/poland_lodz_2022_.pb"
TARGET_P99_MS = 100.0
WARMUP_REQUESTS = 20


@dataclass
class Load:
    """What the readers of one URL saw."""

    url: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    body_bytes: int = 0
    server_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.server_cpu_seconds / len(self.latencies) if self.latencies else 0


def read(port: int, path: str, until: float, load: Load, lock: threading.Lock) -> None:
    """One reader: GET `path` on one keep-alive connection until `until`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    size = 0
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        if response.status == 200:
            latencies.append(time.monotonic() - started)
            size = len(body)
        else:
            errors[str(response.status)] = errors.get(str(response.status), 0) + 1
    connection.close()
    with lock:
        load.latencies += latencies
        load.body_bytes = size or load.body_bytes
        for key, count in errors.items():
            load.errors[key] = load.errors.get(key, 0) + count


def body_size(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", path)
    size = len(connection.getresponse().read())
    connection.close()
    return size


def measure(server: Gunicorn, path: str, readers: int, duration: float) -> Load:
    port = server.port
    warm = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(WARMUP_REQUESTS):
        warm.request("GET", path)
        warm.getresponse().read()
    warm.close()
    load = Load(path, duration)
    lock = threading.Lock()
    workers = server.worker_pids()
    cpu_before = sum(process_cpu(pid) for pid in workers)
    until = time.monotonic() + duration
    threads = [threading.Thread(target=read, args=(port, path, until, load, lock))
               for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.server_cpu_seconds = sum(process_cpu(pid) for pid in workers) - cpu_before
    return load


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}" if reference else ""


def markdown(measured: list[tuple[str, Load, Load, Load]], args: argparse.Namespace, info: dict,
             imported: dict) -> str:
    workers = f" and {args.workers} workers" if args.workers else ""
    lines = [
        f"## Pages benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        (f"Election: `{Path(args.file).name}`, {imported['ballots_counted']} ballots; "
         f"{args.readers} concurrent readers, {args.duration:.0f} s per URL, SQLite, gunicorn "
         f"with the service's settings{workers}; the floor is the same app serving constant "
         "HTML of the page's size (benchmarks/web_floor.py) under the same settings."),
        "",
        ("| what | URL | requests/s | p50 ms | p99 ms | body | server CPU ms/request | errors "
         "| page / API requests/s | page / floor requests/s | page / floor p99 |"),
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for name, page, api, floor in measured:
        for label, load in ((f"{name} page", page), (f"{name} (API)", api),
                            (f"{name}: floor page", floor)):
            shares = (
                f"{ratio(page.rate, api.rate)} | {ratio(page.rate, floor.rate)} | "
                f"{ratio(page.percentile(99), floor.percentile(99))}"
                if load is page else " | "
            )
            lines.append(
                f"| {label} | `{load.url}` | "
                f"{load.rate:.0f} | {load.percentile(50):.1f} | {load.percentile(99):.1f} | "
                f"{load.body_bytes / 1024:.0f} KiB | {load.cpu_ms_per_request:.2f} | "
                f"{load.errors or '-'} | {shares} |"
            )
    lines += ["", f"Target: page p99 < {TARGET_P99_MS:.0f} ms with {args.readers} readers.", "",
              "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items())
              + ", load average at the end " + " ".join(f"{x:.2f}" for x in os.getloadavg())]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", default=DEFAULT_FILE, help="a pabulib .pb election")
    parser.add_argument("--readers", type=int, default=32, help="concurrent readers (32)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per URL (15)")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: service/gunicorn_conf.py)")
    parser.add_argument("--dir", default=None, help="where the database goes (a temporary one)")
    args = parser.parse_args()

    info = machine()
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="pages-benchmark-"))
    env = service_env(f"sqlite:///{workdir / 'buurtbudget.db'}", None, "pages-benchmark")
    started = time.monotonic()
    imported = json.loads(run_cli(env, "import-pabulib", args.file, "--json"))
    print(f"imported {imported['ballots_counted']} ballots in {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    round_id = imported["round_id"]
    # Read models catch up here once (however long that takes), not in a worker's first request.
    started = time.monotonic()
    subprocess.run([*cli_command(), "projections", "catch-up"], env=env, check=True,
                   capture_output=True)
    print(f"read models caught up in {time.monotonic() - started:.0f} s", file=sys.stderr)
    floor_options = ["--pythonpath", str(REPO_ROOT / "benchmarks")]
    with Gunicorn(env, args.workers, workdir / "gunicorn.log", []) as server, \
            Gunicorn(env, args.workers, workdir / "gunicorn-floor.log", floor_options,
                     app="web_floor:constant_page()") as floor:
        pairs = [
            ("round", f"/rounds/{round_id}", f"/api/v1/rounds/{round_id}/proposals"),
            ("results", f"/rounds/{round_id}/results", f"/api/v1/rounds/{round_id}/results"),
        ]
        measured = []
        for name, page, api in pairs:
            floor_page = f"/floor-page/{body_size(server.port, page)}"
            measured.append((
                name,
                measure(server, page, args.readers, args.duration),
                measure(server, api, args.readers, args.duration),
                measure(floor, floor_page, args.readers, args.duration),
            ))
    print(markdown(measured, args, info, imported))


if __name__ == "__main__":
    main()
