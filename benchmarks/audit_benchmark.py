"""Latency of Merkle proofs read from the store at a million leaves, against a one-row read.

    python benchmarks/audit_benchmark.py                       # SQLite, 1,000,000 leaves
    python benchmarks/audit_benchmark.py --leaves 100000 --postgres postgresql://postgres@127.0.0.1/test

The leaves and complete subtrees are written straight into the audit tables of a fresh database
(as the leaf writer would have written them), then random inclusion and consistency proofs are
read through the query functions the API serves them with (`service.queries.audit_log`: size
check, leaf, proof and roots, in their own connection checkout). The reference, timed in the same run on the same database, is
the read of one leaf row by its primary key. Figures are medians and 99th percentiles in
milliseconds; the machine is stated with them.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from domain.merkle_log import MerkleTree, leaf_hash  # noqa: E402
from service.merkle_store import leaves, metadata, nodes  # noqa: E402
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
            service, position=rng.randrange(size), notification_id=None, size=size
        )

    def consistency():
        second = rng.randrange(2, count + 1)
        audit_log.consistency_proof(service, first=rng.randrange(1, second), second=second)

    timed(one_leaf, 200)  # warm the page cache and the pool
    reference = timed(one_leaf, samples)
    base = statistics.median(reference)
    lines = [
        f"{storage.kind}: {count:,} leaves (filled in {filled:.0f} s), {samples} samples each",
        "",
        "| read | median ms | p99 ms | median vs one-row read |",
        "|---|---|---|---|",
        summary("one leaf row by primary key (reference)", reference, base),
        summary("GET proofs/inclusion (proof, leaf, root)", timed(inclusion, samples), base),
        summary("GET proofs/consistency (proof, both roots)", timed(consistency, samples), base),
    ]
    engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL (a fresh schema)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        print("\n".join(run(Storage(f"sqlite:///{tmp}/audit.db"), args.leaves, args.samples)))
    if args.postgres:
        schema = f"audit_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            print()
            print("\n".join(run(Storage(args.postgres, schema), args.leaves, args.samples)))
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
