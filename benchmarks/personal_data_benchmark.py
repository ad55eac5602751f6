"""What opening sealed personal data costs a read, against reading the same rows, in one run.

A list of proposals or payouts reads its rows from a read model and then opens the envelopes of
their personal data with one query of the key store and one AES-GCM decryption each. On a fresh
SQLite file this measures, for `--rows` rows of `--subjects` people, alternating:

- read: SELECT the rows (the reference: what a list read costs without personal data);
- read+open: the same SELECT, then `PersonalDataKeys.open_rows` on two envelope columns;

and sealing one field (`seal`: the key store lookup and the encryption a command adds per
field) against inserting one row in its own transaction. The figures are medians and ratios.

    python benchmarks/personal_data_benchmark.py --rows 1000 --subjects 200 --repeat 30
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from domain.personal_data import DataSubject  # noqa: E402
from service.personal_data_keys import PersonalDataKeys, key_metadata  # noqa: E402
from service.storage import Storage  # noqa: E402

rows_table = sa.Table(
    "bench_rows", sa.MetaData(),
    sa.Column("row_id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
)


def median_seconds(action, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        engine = Storage(f"sqlite:///{directory}/bench.db").create_engine()
        key_metadata.create_all(engine)
        rows_table.metadata.create_all(engine)
        keys = PersonalDataKeys(engine, b"benchmark")
        people = [DataSubject.proposer(f"person{n}@example.org") for n in range(args.subjects)]
        sealed = []
        for number in range(args.rows):
            person = people[number % len(people)]
            sealed.append({
                "row_id": number,
                "name": keys.seal(person, "proposer_name", f"Person {number}"),
                "email": keys.seal(person, "proposer_email", person.identifier),
            })
        with engine.begin() as conn:
            conn.execute(sa.insert(rows_table), sealed)

        def read() -> list[dict]:  # type: ignore[type-arg]
            with engine.connect() as conn:
                return [dict(r) for r in conn.execute(sa.select(rows_table)).mappings()]

        def read_and_open() -> None:
            with engine.connect() as conn:
                found = [dict(r) for r in conn.execute(sa.select(rows_table)).mappings()]
                keys.open_rows(conn, found, ("name", "email"))

        reads, opens = [], []
        for _ in range(args.repeat):  # alternating, so both see the same machine
            reads.append(median_seconds(read, 1))
            opens.append(median_seconds(read_and_open, 1))
        counter = iter(range(10**9))

        def insert_one() -> None:
            with engine.begin() as conn:
                conn.execute(sa.insert(rows_table).values(
                    row_id=args.rows + next(counter), name="x", email="y"
                ))

        seal_one = median_seconds(lambda: keys.seal(people[0], "proposer_name", "Person"), 200)
        insert = median_seconds(insert_one, 200)
    read_s, open_s = statistics.median(reads), statistics.median(opens)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"{args.rows} rows of {args.subjects} people, median of {args.repeat}")
    print(f"read {read_s * 1000:.2f} ms, read+open {open_s * 1000:.2f} ms: {open_s / read_s:.2f}x")
    print(f"seal one field {seal_one * 1e6:.0f} us, insert one row {insert * 1e6:.0f} us: "
          f"{seal_one / insert:.2f}x")


if __name__ == "__main__":
    main()
