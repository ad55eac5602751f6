"""A voter register of 100,000 residents into codes, and the letters: seconds, peak memory, pages/s.

    python benchmarks/register_benchmark.py                          # 100,000 residents, SQLite
    python benchmarks/register_benchmark.py --rows 1000000 --check-only   # memory stays flat
    python benchmarks/register_benchmark.py --database-url postgresql://postgres@127.0.0.1/test

Each step runs in a child process of its own, so its peak memory (the child's maximum resident
set size) is its own:

- reference: reading the same file with a plain `csv.reader` (decode and split each line);
- check: every line checked and staged on disk (`stage_register`), no codes issued;
- import: check, then a code for every eligible resident written to the event store
  (`import_register`, a voter and a ballot event per resident), on a fresh database;
- letters: the PDF of `--letters` letters (one A4 page each) against the mail-merge CSV of the
  same letters, in the same child.

Times are wall-clock seconds (the import waits for the database); the figures that matter are
the ratios against the reference measured in the same run.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HEADER = "person_key;birth_date;postcode;house_number;house_number_addition;name;street;city\n"
RULES = {"minimum_age": 12, "reference_date": "2026-05-01", "postcodes": ["1091-1098"]}


def write_register(path: Path, rows: int) -> None:
    """A register like a BRP extract: Latin-1, `;`, about one in eight residents not eligible."""
    rng = random.Random(2026)
    streets = ["Wibautstraat", "Javastraat", "Linnaeusstraat", "Mauritskade", "Dapperstraat"]
    with path.open("w", encoding="cp1252", newline="") as out:
        out.write(HEADER)
        for number in range(rows):
            born = f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            postcode = f"{rng.randint(1091, 1099)}{rng.choice('ABCDEFGH')}{rng.choice('ABCDEFGH')}"
            addition = rng.choice(["", "", "", "A", "2-hoog"])
            out.write(f"A{number:09d};{born};{postcode};{rng.randint(1, 300)};{addition};"
                      f"Bewoner Ëlif {number};{rng.choice(streets)};Amsterdam\n")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_reference(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    with path.open("rb") as stream:
        lines = (raw.decode("utf-8", errors="replace") for raw in stream)
        rows = sum(1 for _ in csv.reader(lines, delimiter=";"))
    return {"seconds": time.perf_counter() - started, "rows": rows - 1}


def step_check(path: Path) -> dict[str, Any]:
    import hashlib
    import hmac

    from domain.eligibility import EligibilityRules
    from service.voter_register import stage_register

    def person_hash(key: str) -> str:
        return hmac.new(b"bench", f"register-person:{key}".encode(), hashlib.sha256).hexdigest()

    started = time.perf_counter()
    with path.open("rb") as stream:
        staged = stage_register(stream, EligibilityRules.from_dict(RULES), person_hash)
    seconds = time.perf_counter() - started
    staged.close()
    return {"seconds": seconds, "rows": staged.rows, "eligible": staged.eligible}


def step_import(path: Path, database_url: str, schema: str | None, workdir: Path) -> dict[str, Any]:
    from service.runtime import Runtime
    from service.voter_register import import_register

    settings = {"DATABASE_URL": database_url, "DATABASE_SCHEMA": schema,
                "SECRET_KEY": "bench", "AUDIT_KEY_FILE": str(workdir / "audit.key")}
    rt = Runtime(settings, create_tables=True)
    app = rt.application
    official = "official:bench"
    municipality = app.register_municipality(name="Amsterdam", cbs_code=None, actor=official)
    neighbourhood = app.register_neighbourhood(municipality_id=municipality, name="Oost",
                                               cbs_code=None, actor=official)
    round_id = app.open_round(neighbourhood_id=neighbourhood, title="Oost 2026", description="",
                              schedule=None, voting=None, actor=official)
    app.set_eligibility(round_id, rules=RULES, actor=official)
    started = time.perf_counter()
    with path.open("rb") as stream:
        done = import_register(app, round_id, stream, actor=official)
    seconds = time.perf_counter() - started
    report = done.report()
    done.staged.close()
    rt.close()
    return {"seconds": seconds, "enrolled": report["enrolled"], "rows": report["rows"]}


def step_letters(count: int) -> dict[str, Any]:
    from service.voting_letters import write_letters_pdf, write_mail_merge

    letters = [
        {"name": f"Bewoner {n}", "street": "Wibautstraat", "house_number": n % 300 + 1,
         "house_number_addition": "", "postcode": "1091AB", "city": "Amsterdam",
         "code": "ABCD-EFGH-JKLM"}
        for n in range(count)
    ]
    url = "https://stem.example.nl/rounds/0f8fad5b-d9cb-469f-a165-70867728950e/vote"
    with open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        write_mail_merge(iter(letters), sink, url)
        csv_seconds = time.perf_counter() - started
    pdf = io.BytesIO()
    started = time.perf_counter()
    pages = write_letters_pdf(iter(letters), pdf, url=url, round_title="Oost 2026",
                              sender="Gemeente Amsterdam - Oost 2026")
    pdf_seconds = time.perf_counter() - started
    return {"pages": pages, "pdf_seconds": pdf_seconds, "pages_per_second": pages / pdf_seconds,
            "csv_rows_per_second": count / csv_seconds, "pdf_bytes": len(pdf.getvalue())}


def child(argv: list[str]) -> None:
    step = argv[0]
    if step == "reference":
        result = step_reference(Path(argv[1]))
    elif step == "check":
        result = step_check(Path(argv[1]))
    elif step == "import":
        result = step_import(Path(argv[1]), argv[2], argv[3] or None, Path(argv[4]))
    else:
        result = step_letters(int(argv[1]))
    print(json.dumps({**result, "peak_mib": round(peak_mib(), 1)}))


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--schema", default=None, help="PostgreSQL schema (must exist, empty)")
    parser.add_argument("--check-only", action="store_true", help="no import, no letters")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="register-bench-") as directory:
        workdir = Path(directory)
        path = workdir / "register.csv"
        write_register(path, arguments.rows)
        results: dict[str, Any] = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpu",
            "load_average": os.getloadavg(), "rows": arguments.rows,
            "file_mib": round(path.stat().st_size / 2**20, 1),
        }
        results["reference"] = run_child("reference", str(path))
        results["check"] = run_child("check", str(path))
        if not arguments.check_only:
            url = arguments.database_url or f"sqlite:///{workdir / 'bench.db'}"
            results["import"] = run_child("import", str(path), url, arguments.schema or "",
                                          str(workdir))
            results["letters"] = run_child("letters", str(arguments.letters))
        reference = results["reference"]["seconds"]
        results["check"]["x_reference"] = round(results["check"]["seconds"] / reference, 1)
        if "import" in results:
            results["import"]["x_reference"] = round(results["import"]["seconds"] / reference, 1)
            letters = results["letters"]
            letters["pdf_vs_csv"] = round(letters["pages_per_second"]
                                          / letters["csv_rows_per_second"], 3)
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
