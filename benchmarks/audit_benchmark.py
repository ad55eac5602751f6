"""What the tamper-evident log costs: proof latency at a million leaves, and leaves on the ballot path.

    python benchmarks/audit_benchmark.py proofs                 # SQLite, 1,000,000 leaves
    python benchmarks/audit_benchmark.py proofs --leaves 100000 --postgres postgresql://postgres@127.0.0.1/test
    python benchmarks/audit_benchmark.py ballots --ballots 2000 [--postgres URL]
    python benchmarks/audit_benchmark.py verify --events 1000000

Verify: an export of a realistic multi-round log (benchmarks/audit_log_generator.py) is read
and decoded as the event store would (each line parsed, each event turned into its domain event
by the store's mapper: the reference), then checked by `audit verify` in a child process whose
peak memory is reported. Rates are events per second of CPU time of the same file in the same
run; the two alternate `--repeats` times and the medians are compared, as the machine's load
moves between runs.

Ballots: the application casts ballots one after another in this process, with the leaf writer
(as the service runs) and without it (an event store with no transaction writers), alternating
runs of the same size on fresh databases; ballots/s, the 99th percentile per ballot and the
process's CPU time per ballot (which the load of other processes moves least) are compared in
the same run.

Proofs:
The leaves and complete subtrees are written straight into the audit tables of a fresh database
(as the leaf writer would have written them), then random inclusion and consistency proofs, each
at a given tree size, are read through the query functions the API serves them with
(`service.queries.audit_log`: leaf, proof, roots and the size check in one statement, in a
connection checkout of its own). The reference, timed in the same run on the same database, is
the read of one leaf row by its primary key in a connection checkout of its own. Figures are
medians and 99th percentiles in milliseconds; the machine is stated with them.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from domain.merkle_log import MerkleTree, leaf_hash  # noqa: E402
from service.merkle_store import leaves, metadata, nodes  # noqa: E402
from service.principal import PUBLIC  # noqa: E402
from service.queries import audit_log  # noqa: E402
from service.storage import Storage  # noqa: E402

BATCH = 20_000


def fill(engine: sa.Engine, count: int) -> None:
    metadata.create_all(engine)
    tree = MerkleTree(leaf_hash(i.to_bytes(8, "big")) for i in range(count))
    with engine.begin() as conn:
        for start in range(0, count, BATCH):
            conn.execute(leaves.insert(), [
                {"position": i, "notification_id": i + 1, "leaf_hash": tree.levels[0][i]}
                for i in range(start, min(start + BATCH, count))
            ])
        rows = [
            {"level": level, "node_index": index, "hash": hashed}
            for level in range(1, len(tree.levels)) for index, hashed in enumerate(tree.levels[level])
        ]
        for start in range(0, len(rows), BATCH):
            conn.execute(nodes.insert(), rows[start:start + BATCH])


def timed(work, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(name: str, times: list[float], reference: float) -> str:
    median = statistics.median(times)
    p99 = statistics.quantiles(times, n=100)[98]
    return f"| {name} | {median:.3f} | {p99:.3f} | {median / reference:.1f}x |"


def run(storage: Storage, count: int, samples: int) -> list[str]:
    engine = storage.create_engine()
    started = time.perf_counter()
    fill(engine, count)
    filled = time.perf_counter() - started
    rng = random.Random(7)

    # What the API's query functions need of the runtime: its read-model engine.
    service = SimpleNamespace(engine=engine)

    def one_leaf():
        with engine.connect() as conn:
            conn.execute(
                sa.select(leaves.c.leaf_hash).where(leaves.c.position == rng.randrange(count))
            ).scalar_one()

    def inclusion():
        size = rng.randrange(count // 2, count + 1)
        audit_log.inclusion_proof(
            service, PUBLIC, position=rng.randrange(size), notification_id=None, size=size
        )

    def consistency():
        second = rng.randrange(2, count + 1)
        audit_log.consistency_proof(service, PUBLIC, first=rng.randrange(1, second), second=second)

    timed(one_leaf, 200)  # warm the page cache and the pool
    reference = timed(one_leaf, samples)
    base = statistics.median(reference)
    lines = [
        f"{count:,} leaves (filled in {filled:.0f} s), {samples} samples each",
        "",
        "| read | median ms | p99 ms | median vs one-row read |",
        "|---|---|---|---|",
        summary("one leaf row by primary key (reference)", reference, base),
        summary("GET proofs/inclusion (proof, leaf, root)", timed(inclusion, samples), base),
        summary("GET proofs/consistency (proof, both roots)", timed(consistency, samples), base),
    ]
    engine.dispose()
    return lines


def cast_ballots(storage: Storage, count: int, *, with_log: bool) -> tuple[list[float], float]:
    """Seconds per ballot, cast one after another on a fresh database of `storage`, and the CPU
    seconds this process spent casting them all (what other processes' load does not change)."""
    from service.application import BuurtbudgetApplication
    from service.checkpoints import CheckpointSigner
    from service.event_store import EventStore
    from service.merkle_store import MerkleLeafWriter
    from service.personal_data_keys import PersonalDataKeys
    from tests.integration.conftest import APPROVALS, drive_round

    signer = CheckpointSigner("benchmark.local/log", Ed25519PrivateKey.generate())
    store = EventStore(storage, writers=[MerkleLeafWriter(signer)] if with_log else [])
    personal_data = PersonalDataKeys.in_memory(b"benchmark")
    app = BuurtbudgetApplication(event_store=store, secret_key=b"benchmark",
                                 personal_data=personal_data, create_tables=True)
    try:
        driven = drive_round(app, "voting", codes=count)
        times = []
        cpu = time.process_time()
        for number, code in enumerate(driven.codes[:count]):
            choices = driven.choices(*APPROVALS[number % len(APPROVALS)])
            started = time.perf_counter()
            app.cast_ballot(driven.round_id, code=code, choices=choices)
            times.append(time.perf_counter() - started)
        return times, time.process_time() - cpu
    finally:
        app.close()
        store.close()


def ballots(make_storage, count: int, repeats: int) -> list[str]:
    runs: dict[bool, list[list[float]]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        for with_log in (False, True):
            with make_storage() as storage:
                times, seconds = cast_ballots(storage, count, with_log=with_log)
                runs[with_log].append(times)
                cpu[with_log].append(seconds * 1000 / count)
    rates = {k: statistics.median(len(t) / sum(t) for t in v) for k, v in runs.items()}
    p99 = {k: statistics.median(statistics.quantiles(t, n=100)[98] * 1000 for t in v)
           for k, v in runs.items()}
    per_ballot = {k: statistics.median(v) for k, v in cpu.items()}
    return [
        f"{count} ballots per run, {repeats} runs each, alternating (medians of the runs)",
        "",
        "| ballot path | ballots/s | p99 ms | CPU ms per ballot |",
        "|---|---|---|---|",
        f"| without the log | {rates[False]:.0f} | {p99[False]:.2f} | {per_ballot[False]:.2f} |",
        f"| with leaves and checkpoints | {rates[True]:.0f} | {p99[True]:.2f} | "
        f"{per_ballot[True]:.2f} |",
        f"| with / without | {rates[True] / rates[False]:.1%} | {p99[True] / p99[False]:.1%} | "
        f"{per_ballot[True] / per_ballot[False]:.1%} |",
        "ballots/s with / without, per pair of runs: " + ", ".join(
            f"{(len(w) / sum(w)) / (len(o) / sum(o)):.0%}"
            for o, w in zip(runs[False], runs[True])),
    ]


@contextmanager
def sqlite_storage() -> Iterator[Storage]:
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        yield Storage(f"sqlite:///{tmp}/audit.db")


@contextmanager
def postgres_storage(url: str) -> Iterator[Storage]:
    schema = f"audit_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield Storage(url, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


RAW_READ = """
import json, sys, time
from service.audit_verify import event_mapper
from eventsourcing.persistence import StoredEvent
from uuid import UUID
mapper = event_mapper()
started = time.process_time()
count = 0
with open(sys.argv[1], "rb") as lines:
    for raw in lines:
        line = json.loads(raw)
        if line["kind"] == "event":
            event = line["event"]
            mapper.to_domain_event(StoredEvent(
                UUID(event["originator_id"]), event["originator_version"], event["topic"],
                json.dumps(event["state"]).encode()))
            count += 1
print(count, time.process_time() - started)
"""
VERIFY = """
import resource, sys, time
from service.audit_verify import verify_export
started = time.process_time()
with open(sys.argv[1], "rb") as lines:
    report = verify_export(lines, public_key=sys.argv[2])
assert report.ok, report.text()
print(report.events, time.process_time() - started,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def in_child(code: str, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True,
                          text=True, check=True)
    return done.stdout.split()


def verify_rate(events: int, repeats: int) -> list[str]:
    from benchmarks.audit_log_generator import write_export

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.jsonl"
        started = time.perf_counter()
        signer = write_export(path, events)
        written = time.perf_counter() - started
        raw_rates, verify_rates, peaks = [], [], []
        for _ in range(repeats):
            raw_count, raw_cpu = in_child(RAW_READ, str(path))
            checked, verify_cpu, peak_mb = in_child(VERIFY, str(path), signer.verifier_key)
            raw_rates.append(int(raw_count) / float(raw_cpu))
            verify_rates.append(int(checked) / float(verify_cpu))
            peaks.append(int(peak_mb))
        size_mb = path.stat().st_size / 1e6
    raw_rate, verify_rate_ = statistics.median(raw_rates), statistics.median(verify_rates)
    return [
        (f"{int(checked):,} events ({size_mb:.0f} MB export, generated in {written:.0f} s); "
         f"CPU seconds of each child process, medians of {repeats} alternating runs"),
        "",
        "| pass | events/s | peak memory |",
        "|---|---|---|",
        f"| read + decode (reference) | {raw_rate:,.0f} | |",
        f"| audit verify | {verify_rate_:,.0f} | {max(peaks)} MB |",
        f"| verify / reference | {verify_rate_ / raw_rate:.0%} | |",
        "ratio of each run: " + ", ".join(f"{v / r:.0%}" for r, v in zip(raw_rates, verify_rates)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["proofs", "ballots", "verify"])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--ballots", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL (a fresh schema)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.part == "verify":
        print("\n".join(verify_rate(args.events, args.repeats)))
        return
    backends = [("sqlite", sqlite_storage)]
    if args.postgres:
        backends.append(("postgresql", lambda: postgres_storage(args.postgres)))
    for name, make_storage in backends:
        print(f"\n{name}:")
        if args.part == "proofs":
            with make_storage() as storage:
                print("\n".join(run(storage, args.leaves, args.samples)))
        else:
            print("\n".join(ballots(make_storage, args.ballots, args.repeats)))


if __name__ == "__main__":
    main()
