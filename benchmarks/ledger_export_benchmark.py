"""Ledger exports of a million journal lines: lines/s and peak memory per format.

    python benchmarks/ledger_export_benchmark.py                   # 1,000,000 lines, every format
    python benchmarks/ledger_export_benchmark.py --lines 200000    # a quicker run
    python benchmarks/ledger_export_benchmark.py --database        # read from the SQLite read model

The lines are those the domain books for a real round history (a deposit, three reservations,
payouts requested, approved, paid, rejected and reversed, releases and the return at closing),
repeated with moving positions and booking dates until there are enough. Each format, and the
reference, runs in a child process of its own, so that its peak memory (the child's maximum
resident set size) is its own. The reference is a plain `csv.writer` writing the same rows (their
values, as the read model holds them) to the same sink, measured in the same run; every export
writes to /dev/null, so the figures are the formats' CPU cost, not a disk's. Times are CPU
seconds of the child.

With --database the lines are first bulk-inserted into the ledger read model of a fresh SQLite
file, and each export reads them back through `projections.ledger.iter_lines` as the API and the
command line do (XAF reads them twice).
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from domain.budget_round import BudgetRound  # noqa: E402
from domain.ledger import Ledger  # noqa: E402
from projections.ledger import line_rows  # noqa: E402
from service.ledger_export import FORMATS, ExportHeader  # noqa: E402
from service.personal_data_keys import PersonalDataKeys  # noqa: E402

REFERENCE = "csv.writer"


def template_lines() -> list[dict[str, Any]]:
    """The ledger lines of one real round history, booked by the domain."""
    official, second, third = "official:anna", "official:bram", "official:carla"
    r = BudgetRound.open(
        municipality_id=uuid4(), neighbourhood_id=uuid4(), title="Buurtbudget Oost 2026",
        description="", schedule=None, voting=None, lot_seed="bench", actor=official,
    )
    r.deposit(deposit_id="d1", amount=50_000_00, source="Gemeente Amsterdam, stadsdeel Oost",
              reference="BB-2026", actor=official)
    proposals = {str(uuid4()): amount for amount in (20_000_00, 15_000_00, 9_999_99)}
    for pid, amount in proposals.items():
        r.receive_proposal(proposal_id=pid, amount=amount)
    r.close_submissions(actor=official)
    for pid, amount in proposals.items():
        r.note_review(proposal_id=pid, status="admitted", amount=amount)
    r.open_voting(actor=official)
    r.close_voting(actor=official)
    winners = [{"proposal_id": pid, "cost": amount} for pid, amount in proposals.items()]
    r.record_tally(tally_id="t1", result={"winners": winners}, actor=official)
    r.confirm_tally(tally_id="t1", actor=second)
    personal_data = PersonalDataKeys.in_memory(b"benchmark")
    for number, pid in enumerate(proposals):
        for part in range(4):
            payout_id = f"p-{number}-{part}"
            r.request_payout(
                payout_id=payout_id, proposal_id=pid, amount=1_234_56 + part, kind="invoice",
                payee_name=f"Leverancier {number}{part} B.V.", iban="NL91ABNA0417164300",
                reference=f"FACT-2026-{number}{part}", description="", actor=official,
                personal_data=personal_data,
            )
            if part == 3:
                r.reject_payout(payout_id=payout_id, reason="geen factuur", actor=second)
                continue
            r.approve_payout(payout_id=payout_id, actor=second)
            r.mark_payout_paid(payout_id=payout_id, bank_reference=f"B{number}{part}", actor=third)
            if part == 2:
                r.reverse_payout(payout_id=payout_id, reason="rekening opgeheven", actor=official)
    for pid in proposals:
        r.release_unspent(proposal_id=pid, actor=official)
    r.close(destination="Algemene middelen", actor=official)
    ledger = Ledger()
    ledger.post_all(r.collect_events())
    return [row for transaction in ledger.transactions for row in line_rows(transaction)]


def generated_lines(count: int) -> Iterator[dict[str, Any]]:
    """`count` lines: the template round over and over, a day later and further on each time."""
    template = template_lines()
    start = datetime.date(2026, 1, 1)
    produced, repetition = 0, 0
    while True:
        day = (start + datetime.timedelta(days=repetition % 365)).isoformat()
        offset = repetition * 1000
        for line in template:
            if produced == count:
                return
            yield {**line, "position": line["position"] + offset, "booking_date": day}
            produced += 1
        repetition += 1


def run_one(name: str, count: int, database: str | None) -> dict[str, Any]:
    """Export `count` lines in one format (or the reference) to /dev/null; in a child process."""
    header = ExportHeader(organisation="Gemeente Amsterdam", created=datetime.date.today())
    source: Callable[[], Iterator[dict[str, Any]]] = lambda: generated_lines(count)  # noqa: E731
    if database:
        import sqlalchemy as sa

        from projections.ledger import LedgerScope, iter_lines

        engine = sa.create_engine(f"sqlite:///{database}")

        def source() -> Iterator[dict[str, Any]]:
            with engine.connect() as conn:
                yield from iter_lines(conn, LedgerScope())

    cpu, wall, written = time.process_time(), time.perf_counter(), 0
    with open(os.devnull, "wb") as sink:
        if name == REFERENCE:
            with open(os.devnull, "w", encoding="utf-8", newline="") as text_sink:
                writer = csv.writer(text_sink)
                for line in source():
                    writer.writerow(line.values())
                    written += 1
        else:
            for chunk in FORMATS[name].write(source, header):
                sink.write(chunk)
                written += len(chunk)
    return {
        "name": name,
        "cpu": time.process_time() - cpu,
        "wall": time.perf_counter() - wall,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "written": written,
    }


def fill_database(path: str, count: int) -> None:
    import sqlalchemy as sa

    from projections.ledger import ledger_lines
    from projections.tracking import metadata

    engine = sa.create_engine(f"sqlite:///{path}")
    metadata.create_all(engine, tables=[ledger_lines])
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for line in generated_lines(count):
            batch.append(line)
            if len(batch) == 20_000:
                conn.execute(sa.insert(ledger_lines), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(ledger_lines), batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--database", action="store_true", help="read through the SQLite read model")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--database-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.lines, args.database_file)))
        return

    database = None
    with tempfile.TemporaryDirectory(prefix="ledger-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as tmp:
        if args.database:
            database = str(Path(tmp) / "ledger.db")
            started = time.perf_counter()
            fill_database(database, args.lines)
            print(f"filled the read model with {args.lines:,} lines in "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        results = []
        for name in (REFERENCE, *FORMATS):
            command = [sys.executable, __file__, "--child", name, "--lines", str(args.lines)]
            if database:
                command += ["--database-file", database]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results.append(json.loads(done.stdout))
            print(f"  {name}: {results[-1]['cpu']:.1f} s CPU", file=sys.stderr)

    reference = results[0]["cpu"]
    source = "the SQLite read model" if args.database else "lines generated in memory"
    print(f"Ledger export of {args.lines:,} journal lines from {source}, to /dev/null")
    print(f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs ({platform.machine()}), {platform.node()}")
    print()
    print("| format | CPU s | lines/s | vs csv.writer | peak RSS MB | output MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for result in results:
        rate = args.lines / result["cpu"] if result["cpu"] else float("inf")
        size = "" if result["name"] == REFERENCE else f"{result['written'] / 1e6:.0f}"
        print(f"| {result['name']} | {result['cpu']:.1f} | {rate:,.0f} | "
              f"{reference / result['cpu']:.0%} | {result['peak_mb']:.0f} | {size} |")


if __name__ == "__main__":
    main()
