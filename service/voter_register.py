"""A voter register extract (CSV) checked line by line and staged on disk, never in the log.

The municipality's extract of its population register (BRP) has one line per resident. The
columns (names in the header, in any order, case and surrounding spaces ignored):

    person_key             the register's key of the person (e.g. an a-number); never stored
    birth_date             YYYY-MM-DD or DD-MM-YYYY
    postcode               1091AB or 1091 AB
    house_number           digits
    house_number_addition  optional (A, 2-hoog, ...)
    name                   as it goes on the letter
    street, city           the rest of the address block

Dutch spreadsheets write `;` between fields and Latin-1 or UTF-8 with a BOM; all are read. The
file is read once, as a stream: each line is checked, its person key replaced by a keyed hash,
and the line staged in a temporary SQLite file on disk (so memory stays flat for a million
lines, and a person key twice in the file is found by the staging table's primary key). Only a
file without a single error is turned into codes; the report names line, column and problem,
never a value from the line (they are personal data).
"""
from __future__ import annotations

import codecs
import csv
import re
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from domain.eligibility import EligibilityRules, normal_postcode
from domain.errors import RuleViolation

REQUIRED_COLUMNS = (
    "person_key", "birth_date", "postcode", "house_number", "name", "street", "city",
)
OPTIONAL_COLUMNS = ("house_number_addition",)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
LETTER_FIELDS = ("name", "street", "house_number", "house_number_addition", "postcode", "city")
# The report lists this many findings; the count says how many there were in all.
MAX_REPORTED = 1000
MAX_FIELD = 200
HOUSE_NUMBER = re.compile(r"^[1-9][0-9]{0,4}$")
DAY_MONTH_YEAR = re.compile(r"^([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})$")
OLDEST_BIRTH_YEAR = 1880
STAGE_BATCH = 5000


class RegisterInvalid(RuleViolation):
    """The file has errors; nothing was issued. `details` has one finding per line."""


def birth_date_of(text: str) -> date | None:
    text = text.strip()
    try:
        found = DAY_MONTH_YEAR.match(text)
        if found:
            return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def decoded_lines(stream: IO[bytes]) -> Iterator[str]:
    """Lines as text: UTF-8 (with or without a BOM), else Windows-1252/Latin-1, line by line.

    A spreadsheet saves one encoding per file, but deciding per line keeps the read one pass.
    """
    first = True
    for raw in stream:
        if first and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        first = False
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield raw.decode("cp1252", errors="replace")


def _dialect(header: str) -> str:
    counts = {delimiter: header.count(delimiter) for delimiter in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d])


@dataclass
class StagedRegister:
    """A checked register on disk; `close` removes it."""

    path: Path
    rows: int = 0
    eligible: int = 0
    not_eligible: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    _directory: Any = None

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def eligible_people(self, page: int = STAGE_BATCH) -> Iterator[list[tuple[Any, ...]]]:
        """(person_hash, line) of eligible people in letter order (postcode, house number)."""
        with self.connect() as conn:
            last: tuple[Any, ...] = ("", -1, -1)
            while True:
                rows = conn.execute(
                    "SELECT person_hash, line, postcode, house_number FROM people"
                    " WHERE eligible = 1 AND (postcode, house_number, line) > (?, ?, ?)"
                    " ORDER BY postcode, house_number, line LIMIT ?",
                    (*last, page),
                ).fetchall()
                if not rows:
                    return
                yield [(r[0], r[1]) for r in rows]
                last = rows[-1][2:] + (rows[-1][1],)

    def record_codes(self, codes: Iterable[tuple[str, str]]) -> None:
        """Keep the codes issued (person_hash, code) until the letters are written."""
        with self.connect() as conn:
            conn.executemany("UPDATE people SET code = ? WHERE person_hash = ?",
                             [(code, person_hash) for person_hash, code in codes])

    def letters(self) -> Iterator[dict[str, str]]:
        """The address block and code of each person who got a code, in letter order."""
        with self.connect() as conn:
            cursor = conn.execute(
                "SELECT name, street, house_number, house_number_addition, postcode, city, code"
                " FROM people WHERE code IS NOT NULL ORDER BY postcode, house_number, line"
            )
            for row in cursor:
                yield dict(zip((*LETTER_FIELDS, "code"), row, strict=True))

    def close(self) -> None:
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None


def stage_register(
    stream: IO[bytes],
    rules: EligibilityRules,
    person_hash: Callable[[str], str],
    *,
    directory: str | None = None,
) -> StagedRegister:
    """Check every line of a register and stage it; RegisterInvalid (nothing staged) on errors."""
    workdir = tempfile.TemporaryDirectory(prefix="buurtbudget-register-", dir=directory)
    staged = StagedRegister(Path(workdir.name) / "register.sqlite3", _directory=workdir)
    try:
        findings, count = _stage(stream, rules, person_hash, staged)
    except BaseException:
        staged.close()
        raise
    if count:
        staged.close()
        more = count - len(findings)
        shown = findings + ([f"... and {more} more"] if more else [])
        raise RegisterInvalid(
            f"the register has {count} error(s); no code was issued", field="register",
            details=shown,
        )
    return staged


def _stage(
    stream: IO[bytes], rules: EligibilityRules, person_hash: Callable[[str], str],
    staged: StagedRegister,
) -> tuple[list[str], int]:
    findings: list[str] = []
    count = 0

    def finding(line: int, text: str) -> None:
        nonlocal count
        count += 1
        if len(findings) < MAX_REPORTED:
            findings.append(f"line {line}: {text}")

    lines = decoded_lines(stream)
    header_line = next(lines, None)
    if header_line is None or not header_line.strip():
        raise RegisterInvalid("the register is empty: the first line names the columns",
                              field="register")
    delimiter = _dialect(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter))
    names = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise RegisterInvalid(
            f"missing column(s): {', '.join(missing)}", field="register",
            details=[(f"line 1: missing column(s) {', '.join(missing)}; the columns are "
                      f"{', '.join(COLUMNS)}")],
        )
    index = {name: names.index(name) for name in COLUMNS if name in names}
    ranges = rules.ranges()
    conn = staged.connect()
    conn.execute(
        "CREATE TABLE people (person_hash TEXT PRIMARY KEY, line INTEGER NOT NULL,"
        " eligible INTEGER NOT NULL, name TEXT, street TEXT, house_number INTEGER,"
        " house_number_addition TEXT, postcode TEXT, city TEXT, code TEXT) WITHOUT ROWID"
    )
    conn.execute("CREATE INDEX letter_order ON people (eligible, postcode, house_number, line)")
    pending: list[tuple[Any, ...]] = []
    reader = csv.reader(lines, delimiter=delimiter)
    for number, fields in enumerate(reader, start=2):
        if not any(value.strip() for value in fields):
            continue
        if len(fields) != len(header):
            finding(number, f"{len(fields)} fields where the header has {len(header)}")
            continue
        row = {name: fields[i].strip() for name, i in index.items()}
        problems = [f"{name}: empty" for name in REQUIRED_COLUMNS if not row[name]]
        problems += [f"{name}: longer than {MAX_FIELD} characters"
                     for name, value in row.items() if len(value) > MAX_FIELD]
        born = birth_date_of(row["birth_date"]) if row["birth_date"] else None
        if row["birth_date"] and (born is None or born.year < OLDEST_BIRTH_YEAR):
            problems.append("birth_date: not a possible date (YYYY-MM-DD or DD-MM-YYYY)")
        postcode = normal_postcode(row["postcode"]) if row["postcode"] else None
        if row["postcode"] and postcode is None:
            problems.append("postcode: not a Dutch postcode (1091AB)")
        if row["house_number"] and not HOUSE_NUMBER.match(row["house_number"]):
            problems.append(
                "house_number: not a house number (digits; the addition has its column)"
            )
        if problems or born is None or postcode is None:
            for problem in problems:
                finding(number, problem)
            continue
        why_not = rules.why_not(born, postcode, ranges)
        if why_not is None:
            staged.eligible += 1
        else:
            staged.not_eligible += 1
            reason = why_not.split(" ")[0]  # younger / postcode: counts without personal data
            staged.reasons[reason] = staged.reasons.get(reason, 0) + 1
        staged.rows += 1
        pending.append((
            person_hash(row["person_key"]), number, int(why_not is None), row["name"],
            row["street"], int(row["house_number"]), row.get("house_number_addition", ""), postcode, row["city"],
        ))
        if len(pending) >= STAGE_BATCH:
            _insert(conn, pending, finding)
    _insert(conn, pending, finding)
    conn.commit()
    conn.close()
    return findings, count


def _insert(
    conn: sqlite3.Connection, rows: list[tuple[Any, ...]], finding: Callable[[int, str], None]
) -> None:
    before = conn.total_changes
    conn.executemany("INSERT OR IGNORE INTO people VALUES (?,?,?,?,?,?,?,?,?,NULL)", rows)
    if conn.total_changes - before != len(rows):
        # Someone is in the file twice: name both lines (the rest of the batch went in).
        for row in rows:
            first = conn.execute(
                "SELECT line FROM people WHERE person_hash = ?", (row[0],)
            ).fetchone()
            if first is not None and first[0] != row[1]:
                finding(row[1], f"person_key: the same person as line {first[0]}")
    rows.clear()


# Residents enrolled per transaction: a voter and a ballot event each, with the round's count.
ENROL_BATCH = 2000


@dataclass
class RegisterImport:
    """What an upload did; the staged register holds the new codes until the letters are out."""

    staged: StagedRegister
    batch_id: str
    enrolled: int = 0

    def report(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id, "rows": self.staged.rows,
            "eligible": self.staged.eligible, "not_eligible": self.staged.not_eligible,
            "not_eligible_by_reason": dict(self.staged.reasons),
            "already_enrolled": self.staged.eligible - self.enrolled, "enrolled": self.enrolled,
        }


def import_register(
    app: Any, round_id: Any, stream: IO[bytes], *, actor: str, directory: str | None = None
) -> RegisterImport:
    """Check the whole register, then give every eligible resident not enrolled yet a code.

    Nothing is issued unless every line is valid (RegisterInvalid names each bad line). The
    caller writes the letters from `staged.letters()` and then closes the staged register.
    """
    budget_round = app.get_round(round_id)
    budget_round.check_phase("submission", "review", "voting", doing="issue voting codes")
    rules = budget_round.eligibility_rules()
    staged = stage_register(stream, rules, app.person_hash, directory=directory)
    done = RegisterImport(staged, batch_id=str(uuid.uuid4()))
    try:
        for page in staged.eligible_people(page=ENROL_BATCH):
            codes = app.enrol_voters(
                round_id, [person for person, _line in page], batch_id=done.batch_id, actor=actor
            )
            staged.record_codes(codes.items())
            done.enrolled += len(codes)
    except BaseException:
        staged.close()
        raise
    return done
