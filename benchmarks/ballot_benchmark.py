"""How fast can residents vote? Ballots per second through HTTP, against what the disk allows.

One run, on this machine, for each backend (SQLite, PostgreSQL):

  (a) a real gunicorn (`python -m gunicorn -c python:service.gunicorn_conf wsgi:app`, the
      settings `buurtbudget serve` uses) serving a fresh database prepared with `buurtbudget
      init` / `token create`, and a realistic round set up through the API (10 proposals,
      approval vote of at most 3). CLIENTS concurrent clients POST ballots over HTTP/1.1 for
      DURATION seconds (or until BALLOTS are cast), each sending its next ballot when the last
      one is answered, on a new connection per ballot as voters would (`--connections
      keep-alive` reuses one connection per client instead).
      By default every request is the FIRST cast of a fresh voting code (`--kind fresh`);
      `--kind replace` makes every request replace an earlier ballot of the client's own few
      codes instead.
      Reported: ballots/s (201 responses per second of wall time), p50/p99 latency, errors.
  (b) in a separate process, the raw single-row INSERT + COMMIT rate of the same database:
      sqlite3 on a file in the same directory (WAL, synchronous=FULL), or psycopg against the
      same PostgreSQL server, one connection, a table shaped like the event table. Half of it
      runs before the HTTP load and half after, each followed by a fixed Python loop that
      shows how fast the VM was at that moment.

  (c) on SQLite, unless --no-floors: the same clients and bodies against two reference servers
      under the same gunicorn settings (benchmarks/web_floor.py): an empty WSGI app, and the
      real web stack with the command stubbed. They show what share of the raw rate HTTP
      and the web stack leave for voting on this machine.

It prints Markdown tables with the ratio (a) / (b) and the targets (ratio >= 20 %,
p99 < 50 ms), the reference servers, and the machine. All traffic is on 127.0.0.1.

    .venv/bin/python benchmarks/ballot_benchmark.py                # both backends, ~2 min
    .venv/bin/python benchmarks/ballot_benchmark.py --backends sqlite --duration 30
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import selectors
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from domain.budget_round import MAX_CODES_PER_BATCH
from service import gunicorn_conf

REPO_ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
DEFAULT_POSTGRES_URL = os.environ.get(
    "BUURTBUDGET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
GUNICORN_CONFIG = "python:service.gunicorn_conf"  # what `buurtbudget serve` runs with
TARGET_RATIO = 0.20
TARGET_P99_MS = 50.0
PROPOSALS = 10
MAX_CHOICES = 3
WARMUP_PER_CLIENT = 10
# The reference servers of benchmarks/web_floor.py: what they show, and gunicorn's app for each.
FLOORS = {"empty WSGI app": "empty()", "web stack, command stubbed": "without_command()"}
REPLACE_CODES_PER_CLIENT = 4
# A stored ballot event is ~250 bytes of JSON; the raw rows carry as much.
RAW_STATE = json.dumps({"round_id": str(uuid.uuid4()), "choices": {str(uuid.uuid4()): 1 for _ in range(3)},
                        "timestamp": "2026-01-01T00:00:00+00:00"}).encode()


# -- the machine ----------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def system_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields_ = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields_[3] + (fields_[4] if len(fields_) > 4 else 0)
    return sum(fields_) - idle, sum(fields_)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    parts = stat[stat.rindex(")") + 2:].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def postgres_server_pids() -> list[int]:
    """The local PostgreSQL server's processes (their CPU is part of a PostgreSQL ballot)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# -- the service ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("buurtbudget")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from service.cli import main; main()"]


def service_env(database_url: str, schema: str | None, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUURTBUDGET_")}
    env.update(BUURTBUDGET_DATABASE_URL=database_url, BUURTBUDGET_SECRET_KEY=secret,
               PYTHONUNBUFFERED="1")
    # All clients vote from 127.0.0.1 in one round: every attempt is still counted (that cost
    # is part of a ballot), but the limit is set so high that none is refused.
    env["BUURTBUDGET_CODE_ATTEMPT_LIMIT"] = "100000000 per minute"
    if schema:
        env["BUURTBUDGET_DATABASE_SCHEMA"] = schema
    return env


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*cli_command(), *args], env=env, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    if done.returncode:
        raise SystemExit(f"buurtbudget {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


class Gunicorn:
    def __init__(self, env: dict[str, str], workers: int | None, log_path: Path, extra: list[str],
                 app: str = "wsgi:app"):
        self.env, self.workers, self.log_path, self.extra = env, workers, log_path, extra
        self.app = app
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        with self.log_path.open("wb") as log:
            workers = [] if self.workers is None else ["-w", str(self.workers)]
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG, *workers,
                 "-b", f"127.0.0.1:{self.port}", *self.extra, self.app],
                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited while starting:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"gunicorn did not become healthy:\n{self.log()}")

    def __exit__(self, *_exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.process else []

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


# -- the round ------------------------------------------------------------------------------------

@dataclass
class Round:
    round_id: str
    proposal_ids: list[str]
    codes: list[str]
    setup_seconds: dict[str, float] = field(default_factory=dict)


def prepare_round(base_url: str, token: str, codes: int) -> Round:
    """A round as the API builds it: 10 admitted proposals, voting open, `codes` codes issued."""
    auth = {"Authorization": f"Bearer {token}"}
    timings: dict[str, float] = {}
    with httpx.Client(base_url=base_url + API, timeout=600) as client:
        def post(path: str, body: dict[str, Any], *, headers: dict[str, str] | None = None) -> Any:
            response = client.post(path, json=body, headers=headers if headers is not None else auth)
            if response.status_code >= 300:
                raise SystemExit(f"POST {path}: {response.status_code} {response.text}")
            return response.json()

        started = time.perf_counter()
        municipality = post("/municipalities", {"name": "Benchmarkstad", "cbs_code": "GM9999"})
        neighbourhood = post("/neighbourhoods", {"municipality_id": municipality["municipality_id"],
                                                 "name": "Centrum"})
        round_id = post("/rounds", {
            "neighbourhood_id": neighbourhood["neighbourhood_id"], "title": "Benchmark round",
            "voting": {"method": "approval", "max_choices": MAX_CHOICES, "rule": "greedy"},
        })["round_id"]
        post(f"/rounds/{round_id}/deposits", {"amount": 5_000_000, "source": "Gemeente"})
        proposal_ids = []
        for i in range(PROPOSALS):
            proposal_ids.append(post(f"/rounds/{round_id}/proposals", {
                "title": f"Proposal {i + 1}", "summary": "An idea for the neighbourhood",
                "cost_lines": [{"description": "materials", "amount": 100_000 + 25_000 * i},
                               {"description": "labour", "amount": 50_000}],
                "proposer_name": f"Resident {i + 1}", "proposer_email": f"r{i + 1}@example.nl",
            }, headers={})["proposal_id"])
        post(f"/rounds/{round_id}/close-submissions", {})
        for proposal_id in proposal_ids:
            post(f"/proposals/{proposal_id}/admit", {})
        post(f"/rounds/{round_id}/open-voting", {})
        timings["round set-up (HTTP)"] = time.perf_counter() - started
        started = time.perf_counter()
        issued: list[str] = []
        while len(issued) < codes:
            batch = min(MAX_CODES_PER_BATCH, codes - len(issued))
            issued += post(f"/rounds/{round_id}/voting-codes", {"count": batch})["codes"]
        timings[f"issuing {codes} codes"] = time.perf_counter() - started
        started = time.perf_counter()
        client.get(f"/rounds/{round_id}")  # lets the read models catch up before we measure
        timings["read-model catch-up"] = time.perf_counter() - started
    return Round(round_id, proposal_ids, issued, timings)


# -- the load -------------------------------------------------------------------------------------

@dataclass
class LoadResult:
    ok: int
    errors: dict[str, int]
    seconds: float
    latencies_ms: list[float]
    ran_out_of_codes: bool
    client_cpu_seconds: float
    server_cpu_seconds: float
    database_cpu_seconds: float
    machine_busy_cores: float
    worker_cores: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def other_cores(self) -> float:
        """Cores used by processes outside this benchmark during the measurement."""
        ours = self.client_cpu_seconds + self.server_cpu_seconds + self.database_cpu_seconds
        return max(0.0, self.machine_busy_cores - ours / self.seconds) if self.seconds else 0.0

    def per_ballot_ms(self, cpu_seconds: float) -> float:
        return cpu_seconds / self.ok * 1000 if self.ok else float("nan")

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def random_ballot(rng: random.Random, proposal_ids: list[str]) -> list[str]:
    return rng.sample(proposal_ids, rng.randint(1, MAX_CHOICES))


class Voter:
    """One client: a stream of ballots over HTTP/1.1, sent when the previous one is answered.

    Written on non-blocking sockets and one selector rather than with an HTTP library, because
    the load generator shares the two cores with the server: httpx threads took ~0.7 ms of CPU
    per ballot and asyncio streams ~0.3 ms with a connection per ballot; this takes ~0.15 ms
    (0.08 ms with keep-alive).
    """

    def __init__(self, index: int, address: tuple[str, int], path: str, bodies: Any,
                 keep_alive: bool):
        self.index, self.address, self.keep_alive = index, address, keep_alive
        self.bodies = bodies  # an iterator of JSON bodies; exhausted = this client is done
        header = (f"POST {path} HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\n"
                  f"Content-Type: application/json\r\n"
                  f"Connection: {'keep-alive' if keep_alive else 'close'}\r\nContent-Length: ")
        self.header = header.encode()
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.began = 0.0
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.exhausted = False  # ran out of ballots to send

    def send_next(self, selector: selectors.BaseSelector) -> bool:
        """Send the next ballot; False when there is none left."""
        body = next(self.bodies, None)
        if body is None:
            self.exhausted = True
            return False
        self.began = time.perf_counter()
        if self.sock is None:
            self.sock = socket.create_connection(self.address)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            selector.register(self.sock, selectors.EVENT_READ, self)
        self.sock.sendall(self.header + str(len(body)).encode() + b"\r\n\r\n" + body)
        return True

    def receive(self, selector: selectors.BaseSelector) -> bool:
        """Read what arrived; True when a whole response is in (and recorded)."""
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            # No whole header yet; an empty read means the server hung up without answering.
            return False if chunk else self._done(selector, "closed", close=True)
        head = self.buffer[:end].split(b"\r\n")
        length, close = 0, not self.keep_alive
        for line in head[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if len(self.buffer) < end + 4 + length:
            return False if chunk else self._done(selector, "closed", close=True)
        return self._done(selector, head[0].split(b" ", 2)[1].decode(), close)

    def _done(self, selector: selectors.BaseSelector, status: str, close: bool) -> bool:
        self.latencies.append((time.perf_counter() - self.began) * 1000)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.buffer = b""
        if close:
            self.close(selector)
        return True

    def close(self, selector: selectors.BaseSelector) -> None:
        if self.sock is not None:
            selector.unregister(self.sock)
            self.sock.close()
            self.sock = None


def vote(voters: list[Voter], until: float) -> dict[int, float]:
    """Let every voter cast ballots until they run out or the time is up; when each stopped."""
    finished: dict[int, float] = {}
    with selectors.DefaultSelector() as selector:
        for voter in voters:
            if not voter.send_next(selector):
                finished[voter.index] = time.perf_counter()
        while len(finished) < len(voters):
            for key, _events in selector.select(timeout=60):
                voter = key.data
                if voter.receive(selector):
                    if time.perf_counter() >= until or not voter.send_next(selector):
                        finished[voter.index] = time.perf_counter()
                        voter.close(selector)
        for voter in voters:
            voter.close(selector)
    return finished


def drive(base_url: str, budget_round: Round, *, clients: int, kind: str, duration: float | None,
          ballots: int | None, keep_alive: bool, server: Gunicorn,
          database_is_postgres: bool) -> LoadResult:
    """CLIENTS concurrent voters POST ballots; a warm-up first, then the measured phase."""
    host, port = base_url.removeprefix("http://").split(":")
    path = f"{API}/rounds/{budget_round.round_id}/ballots"
    slices = [budget_round.codes[i::clients] for i in range(clients)]
    quotas = [None if ballots is None else ballots // clients + (1 if i < ballots % clients else 0)
              for i in range(clients)]
    rngs = [random.Random(i) for i in range(clients)]

    def bodies(index: int, codes: Any) -> Any:
        for code in codes:
            yield json.dumps({"code": code, "proposals": random_ballot(
                rngs[index], budget_round.proposal_ids)}).encode()

    def measured_codes(index: int) -> Any:
        codes = slices[index]
        if kind == "fresh":
            yield from codes[WARMUP_PER_CLIENT:][:quotas[index]]
        else:  # recast the warm-up codes, round and round
            warm, sent = codes[:WARMUP_PER_CLIENT], 0
            while quotas[index] is None or sent < quotas[index]:
                yield warm[sent % len(warm)]
                sent += 1

    address = (host, int(port))
    # Warm-up: every worker builds its runtime; replace mode casts its codes once.
    vote([Voter(i, address, path, bodies(i, slices[i][:WARMUP_PER_CLIENT]), keep_alive)
          for i in range(clients)], until=float("inf"))
    voters = [Voter(i, address, path, bodies(i, measured_codes(i)), keep_alive)
              for i in range(clients)]

    workers = server.worker_pids()
    database = postgres_server_pids() if database_is_postgres else []
    worker_cpu = [process_cpu(pid) for pid in workers]
    database_cpu = sum(process_cpu(pid) for pid in database)
    busy, total = system_cpu()
    client_cpu = time.process_time()
    start = time.perf_counter()
    finished = vote(voters, until=start + duration if duration is not None else float("inf"))
    seconds = max(finished.values()) - start
    client_cpu = time.process_time() - client_cpu
    worker_cpu = [process_cpu(pid) - before for pid, before in zip(workers, worker_cpu)]
    # Backends that ended during the run took their CPU along; what is counted is a lower bound.
    database_cpu = sum(process_cpu(pid) for pid in database) - database_cpu
    busy2, total2 = system_cpu()
    errors: dict[str, int] = {}
    for voter in voters:
        for status, count in voter.statuses.items():
            if status != "201":
                errors[status] = errors.get(status, 0) + count
    ran_out = kind == "fresh" and ballots is None and any(v.exhausted for v in voters)
    return LoadResult(
        ok=sum(v.statuses.get("201", 0) for v in voters), errors=errors, seconds=seconds,
        latencies_ms=[x for v in voters for x in v.latencies],
        ran_out_of_codes=ran_out,
        client_cpu_seconds=client_cpu, server_cpu_seconds=sum(worker_cpu),
        worker_cores=[cpu / seconds for cpu in worker_cpu],
        database_cpu_seconds=max(0.0, database_cpu),
        machine_busy_cores=(busy2 - busy) / max(1, total2 - total) * (os.cpu_count() or 1),
    )


# -- the raw commit rate (runs in its own process) ------------------------------------------------

def raw_sqlite(path: str, seconds: float) -> dict[str, Any]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS raw_events (originator_id TEXT, originator_version INTEGER, "
                 "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))")
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    count, end = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < end:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO raw_events VALUES (?, 1, 'buurtbudget/Ballot.Cast', ?)",
                     (str(uuid.uuid4()), RAW_STATE))
        conn.execute("COMMIT")
        count += 1
    elapsed = time.perf_counter() - started
    conn.close()
    return {"commits": count, "seconds": elapsed, "detail": f"journal_mode={mode}, synchronous={sync}"}


def raw_postgres(url: str, schema: str, seconds: float) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url, options=f"-csearch_path={schema}") as conn:
        conn.autocommit = True
        conn.execute("CREATE TABLE IF NOT EXISTS raw_events (notification_id BIGSERIAL, "
                     "originator_id UUID, originator_version INTEGER, topic TEXT, state BYTEA, "
                     "PRIMARY KEY (originator_id, originator_version))")
        sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
        fsync = conn.execute("SHOW fsync").fetchone()[0]
        conn.autocommit = False
        count, end = 0, time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < end:
            conn.execute("INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                         "VALUES (%s, 1, 'buurtbudget/Ballot.Cast', %s)", (uuid.uuid4(), RAW_STATE))
            conn.commit()
            count += 1
        elapsed = time.perf_counter() - started
    return {"commits": count, "seconds": elapsed, "detail": f"synchronous_commit={sync}, fsync={fsync}"}


def reference_loop_ms() -> float:
    """How fast this VM runs Python right now: a fixed loop of 2 million additions, in ms.

    The raw commit rate is bound by the disk, the ballot rate by the CPU; on a shared VM the two
    drift apart (the same loop took 1.2 s and 2.8 s per 10 million within minutes), so the ratio
    of one run is read together with this.
    """
    started = time.perf_counter()
    total = 0
    for number in range(2_000_000):
        total += number
    return (time.perf_counter() - started) * 1000


def raw_rate(kind: str, target: str, schema: str | None, seconds: float) -> dict[str, Any]:
    """The raw commit rate and the reference loop, measured by this script in a separate process."""
    args = [sys.executable, __file__, "_raw", kind, target, schema or "-", str(seconds)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode:
        raise SystemExit(f"raw {kind} measurement failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    result["rate"] = result["commits"] / result["seconds"]
    return result


def combined(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Half the raw measurement ran before the HTTP load, half after: a shared disk drifts."""
    commits = before["commits"] + after["commits"]
    seconds = before["seconds"] + after["seconds"]
    return {"commits": commits, "seconds": seconds, "rate": commits / seconds,
            "before": before["rate"], "after": after["rate"], "detail": before["detail"],
            "loop_ms": (before["loop_ms"], after["loop_ms"])}


# -- one backend ----------------------------------------------------------------------------------

@dataclass
class Row:
    backend: str
    load: LoadResult
    raw: dict[str, Any]
    setup: dict[str, float]
    server_problems: str = ""
    floors: dict[str, LoadResult] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.load.rate / self.raw["rate"] if self.raw["rate"] else float("nan")


def postgres_schema(url: str, action: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        if action == "create":
            conn.execute(f'CREATE SCHEMA "{schema}"')
        else:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> Row:
    secret = uuid.uuid4().hex
    schema = None
    if backend == "sqlite":
        database_url = f"sqlite:///{workdir / 'buurtbudget.db'}"
    else:
        database_url = args.postgres_url
        schema = f"bb_bench_{uuid.uuid4().hex[:10]}"
        postgres_schema(args.postgres_url, "create", schema)
    try:
        env = service_env(database_url, schema, secret)
        run_cli(env, "init")
        token = run_cli(env, "token", "create", "--role", "official", "--name", "bench")
        if args.kind == "fresh":
            needed = args.ballots if args.ballots else int(args.code_rate * args.duration)
            codes = args.clients * WARMUP_PER_CLIENT + needed + args.clients
        else:
            codes = args.clients * REPLACE_CODES_PER_CLIENT
        extra = shlex.split(args.gunicorn_args)
        if backend == "sqlite":
            raw_args: tuple[str, str, str | None] = ("sqlite", str(workdir / "raw.db"), None)
        else:
            raw_args = ("postgresql", args.postgres_url, schema)
        # The same clients and requests for the service and for the reference servers.
        load_of = partial(drive, clients=args.clients, kind=args.kind, duration=args.duration,
                          ballots=args.ballots, keep_alive=args.connections == "keep-alive")
        raw_before = raw_rate(*raw_args, args.raw_duration / 2)
        with Gunicorn(env, args.workers, workdir / f"gunicorn-{backend}.log", extra) as server:
            budget_round = prepare_round(server.base_url, token, codes)
            load = load_of(server.base_url, budget_round, server=server,
                           database_is_postgres=backend == "postgresql")
        problems = server.log()
        problems = "traceback(s) in the gunicorn log" if "Traceback" in problems else ""
        floors = {}
        if args.floors and backend == "sqlite":
            # The reference servers of web_floor.py never write, so the codes can be sent
            # again; they answer up to ~4 times as fast as the service, so each client gets its
            # codes several times over.
            reused = replace(budget_round, codes=budget_round.codes * 5)
            for name, app in FLOORS.items():
                with Gunicorn(env, args.workers, workdir / f"gunicorn-{app}.log",
                              [*extra, "--pythonpath", str(REPO_ROOT / "benchmarks")],
                              app=f"web_floor:{app}") as floor:
                    floors[name] = load_of(floor.base_url, reused, server=floor,
                                           database_is_postgres=False)
        raw = combined(raw_before, raw_rate(*raw_args, args.raw_duration / 2))
        return Row(backend, load, raw, budget_round.setup_seconds, problems, floors)
    finally:
        if schema:
            postgres_schema(args.postgres_url, "drop", schema)


def markdown(rows: list[Row], args: argparse.Namespace, info: dict[str, str]) -> str:
    workers = args.workers or gunicorn_conf.workers
    server = (f"gunicorn {gunicorn_conf.worker_class}, {workers} workers x "
              f"{gunicorn_conf.worker_connections} connections (service/gunicorn_conf.py)")
    if args.gunicorn_args:
        server += f", plus {args.gunicorn_args}"
    kind = ("each request the first cast of a fresh code" if args.kind == "fresh"
            else f"each request replaces one of {REPLACE_CODES_PER_CLIENT} codes per client")
    amount = f"{args.ballots} ballots" if args.ballots else f"{args.duration:g} s"
    lines = [
        f"Ballot benchmark, {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}: {server}; "
        f"{args.clients} clients, connections {args.connections}, {amount}, {kind}; "
        f"round of {PROPOSALS} proposals, approval of 1-{MAX_CHOICES}.",
        "",
        "| backend | ballots | s | ballots/s | p50 ms | p99 ms | errors "
        "| raw commits/s (before / after) | ratio | ratio ≥ 20 % | p99 < 50 ms |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|:-:|:-:|",
    ]
    for row in rows:
        load, raw = row.load, row.raw
        errors = ", ".join(f"{k}×{v}" for k, v in sorted(load.errors.items())) or "0"
        p99 = load.percentile(99)
        lines.append(
            f"| {row.backend} | {load.ok} | {load.seconds:.1f} | {load.rate:.0f} | "
            f"{load.percentile(50):.1f} | {p99:.1f} | {errors} | "
            f"{raw['rate']:.0f} ({raw['before']:.0f} / {raw['after']:.0f}) | {row.ratio:.1%} | "
            f"{'yes' if row.ratio >= TARGET_RATIO else 'no'} | "
            f"{'yes' if p99 < TARGET_P99_MS else 'no'} |"
        )
    lines += [
        "",
        "| backend | CPU per ballot: gunicorn workers | database server | client | "
        "cores used per worker | other processes during the run | reference loop ms "
        "(before / after) | raw commit settings | set-up |",
        "|---|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for row in rows:
        load = row.load
        database = (f"{load.per_ballot_ms(load.database_cpu_seconds):.2f} ms"
                    if row.backend == "postgresql" else "(in the workers)")
        setup = ", ".join(f"{k} {v:.1f} s" for k, v in row.setup.items())
        lines.append(
            f"| {row.backend} | {load.per_ballot_ms(load.server_cpu_seconds):.2f} ms | {database} | "
            f"{load.per_ballot_ms(load.client_cpu_seconds):.2f} ms | "
            f"{' / '.join(f'{cores:.2f}' for cores in load.worker_cores)} | "
            f"{load.other_cores:.2f} cores | "
            f"{row.raw['loop_ms'][0]:.0f} / {row.raw['loop_ms'][1]:.0f} | "
            f"{row.raw['detail']} | {setup} |"
        )
    floored = [row for row in rows if row.floors]
    if floored:
        lines += [
            "",
            "What HTTP allows on this machine before any voting: the same settings, clients and "
            "bodies against reference servers (benchmarks/web_floor.py), in the same run:",
            "",
            "| backend | server | requests/s | p99 ms | worker CPU per request | "
            "share of the raw commit rate |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for row in floored:
            for name, load in [*row.floors.items(), ("the service", row.load)]:
                lines.append(
                    f"| {row.backend} | {name} | {load.rate:.0f} | {load.percentile(99):.1f} | "
                    f"{load.per_ballot_ms(load.server_cpu_seconds):.2f} ms | "
                    f"{load.rate / row.raw['rate']:.1%} |"
                )
    lines += ["", "Machine: " + "; ".join(f"{k} {v}" for k, v in info.items())]
    notes = [f"- {row.backend}: {row.server_problems}" for row in rows if row.server_problems]
    notes += [f"- {row.backend}: the clients ran out of voting codes before the time was up; "
              "raise --code-rate" for row in rows if row.load.ran_out_of_codes]
    notes += [f"- {row.backend}: other processes used {row.load.other_cores:.2f} cores during the "
              "run; the rates are lower than on an idle machine"
              for row in rows if row.load.other_cores > 0.25]
    notes += [f"- {row.backend}: the raw commit rate moved from {row.raw['before']:.0f}/s to "
              f"{row.raw['after']:.0f}/s during the run (a shared disk?); the ratio is uncertain"
              for row in rows
              if max(row.raw["before"], row.raw["after"]) > 1.5 * min(row.raw["before"], row.raw["after"])]
    if notes:
        lines += ["", "Warnings:", *notes]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_raw":
        _, _, kind, target, schema, seconds = sys.argv
        result = (raw_sqlite(target, float(seconds)) if kind == "sqlite"
                  else raw_postgres(target, schema, float(seconds)))
        result["loop_ms"] = reference_loop_ms()
        print(json.dumps(result))
        return

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: service/gunicorn_conf.py, one per core)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--connections", choices=("per-ballot", "keep-alive"), default="per-ballot",
                        help="per-ballot: a new TCP connection for every ballot, as every voter "
                             "brings their own (default); keep-alive: each client reuses one")
    run = parser.add_mutually_exclusive_group()
    run.add_argument("--duration", type=float, default=15.0,
                     help="seconds of measured load per backend (15)")
    run.add_argument("--ballots", type=int, help="cast this many ballots per backend instead")
    parser.add_argument("--kind", choices=("fresh", "replace"), default="fresh",
                        help="fresh: every ballot uses a new code (default); replace: recast own codes")
    parser.add_argument("--backends", default="sqlite,postgresql",
                        help="comma-separated: sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--raw-duration", type=float, default=5.0,
                        help="seconds of the raw insert+commit measurement, half before and "
                             "half after the HTTP load (5)")
    parser.add_argument("--code-rate", type=float, default=3000.0,
                        help="fresh codes issued per second of --duration (3000)")
    parser.add_argument("--dir", default=None,
                        help="directory for the SQLite files (default: a new temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files and gunicorn logs")
    parser.add_argument("--floors", action=argparse.BooleanOptionalAction, default=True,
                        help="on SQLite, also load an empty WSGI app and the web stack with the "
                             "command stubbed (benchmarks/web_floor.py) under the same settings")
    parser.add_argument("--gunicorn-args", default="",
                        help="extra gunicorn options, e.g. '--worker-class gthread --threads 4' "
                             "or '-c experiment.py' (shown in the output)")
    args = parser.parse_args()
    if args.ballots is not None:
        args.duration = None

    info = machine()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "postgresql" in backends:
        try:
            info["postgresql"] = postgres_version(args.postgres_url)
        except Exception as error:  # noqa: BLE001 - reported, the SQLite row still runs
            print(f"PostgreSQL at {args.postgres_url} unreachable ({error}); skipping it",
                  file=sys.stderr)
            backends.remove("postgresql")
    workdir = Path(tempfile.mkdtemp(prefix="bb-bench-", dir=args.dir))
    info["SQLite directory"] = f"{workdir.parent} (raw and HTTP databases side by side)"
    rows = []
    try:
        for backend in backends:
            print(f"{backend}: setting up and loading ...", file=sys.stderr)
            rows.append(run_backend(backend, args, workdir))
    finally:
        if args.keep:
            print(f"files kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(markdown(rows, args, info))


if __name__ == "__main__":
    main()
