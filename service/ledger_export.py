"""Ledger exports: journal lines to CSV, Dutch-Excel CSV, JSON, XML Auditfile Financieel, beancount.

Each format is a pure function from the ledger read model's lines (dicts as `rm_ledger_lines`
holds them, in document order) to a stream of byte chunks, so memory stays flat in the number of
lines. XAF states its line count and totals before its transactions, so it takes a callable that
gives the lines afresh and reads them twice; the others read them once.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import Any
from xml.sax.saxutils import escape

from domain.ledger import ACCOUNTS, CHART

LineSource = Callable[[], Iterable[dict[str, Any]]]
CHUNK_LINES = 2000
PAYOUT_EVENTS = ("PayoutRequested", "PayoutApproved", "PayoutRejected", "PayoutPaid", "PayoutReversed")


@dataclass(frozen=True)
class ExportHeader:
    """What an export says about itself: whose books, which period, when and by what it was made."""

    organisation: str
    created: date
    date_from: date | None = None
    date_to: date | None = None
    tax_registration: str = ""
    software: str = "Buurtbudget"
    software_version: str = "0.1.0"
    filters: dict[str, str] = field(default_factory=dict)


def euros(cents: int, decimal: str = ".") -> str:
    """Whole cents as euros with two decimals, e.g. 123456 -> '1234.56'."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}{decimal}{part:02d}"


def _document(line: dict[str, Any]) -> str:
    return f"{line['position']}/{line['event_id']}"


def transactions(lines: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The lines grouped by transaction (consecutive lines of one event position)."""
    for _, group in groupby(lines, key=itemgetter("position")):
        yield list(group)


# -- CSV ---------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "booking_date", "document", "event_type", "description", "account", "account_name",
    "debit", "credit", "counterparty", "proposal_id", "payout_id", "round_id",
    "neighbourhood_id", "municipality_id", "task_field",
)
# Text that Excel would read as a number or a date ("6.1", "0910", "12-3"): kept as text.
LOOKS_NUMERIC = re.compile(r"^[\s\d.,:/+-]+$")
# Cells a spreadsheet would run as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cells(line: dict[str, Any], decimal: str, booking_date: str) -> list[str]:
    amount = euros(line["amount"], decimal)
    return [
        booking_date, _document(line), line["event_type"],
        line["description"], line["account"], ACCOUNTS[line["account"]].name,
        amount if line["side"] == "D" else "", amount if line["side"] == "C" else "",
        line["counterparty"], line["proposal_id"], line["payout_id"], line["round_id"],
        line["neighbourhood_id"], line["municipality_id"], line["task_field"],
    ]


def _excel_text(value: str) -> str:
    if value and LOOKS_NUMERIC.match(value):
        return f'="{value}"'
    if value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv_stream(rows: Iterable[list[str]], *, delimiter: str, preamble: str) -> Iterator[bytes]:
    buffer = io.StringIO()
    buffer.write(preamble)
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % CHUNK_LINES == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def export_csv(lines: LineSource, header: ExportHeader) -> Iterator[bytes]:
    """Machine CSV: UTF-8, comma, ISO dates, euros with a decimal point, one row per line."""
    return _csv_stream(
        (_csv_cells(line, ".", line["booking_date"]) for line in lines()),
        delimiter=",", preamble="",
    )


def _dutch_date(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}-{month}-{year}"


def _excel_row(line: dict[str, Any]) -> list[str]:
    cells = _csv_cells(line, ",", _dutch_date(line["booking_date"]))
    # The booking date is meant to be a date and the amounts numbers; everything else is text.
    return [
        cell if index in (0, 6, 7) else _excel_text(cell) for index, cell in enumerate(cells)
    ]


def export_csv_nl(lines: LineSource, header: ExportHeader) -> Iterator[bytes]:
    """CSV for Dutch Excel: UTF-8 with BOM, semicolons, decimal comma, codes kept as text."""
    return _csv_stream(
        (_excel_row(line) for line in lines()), delimiter=";", preamble="\ufeff",
    )


# -- JSON --------------------------------------------------------------------------------------


def _json_transaction(group: list[dict[str, Any]]) -> dict[str, Any]:
    first = group[0]
    return {
        "document": _document(first),
        "position": first["position"],
        "event_id": first["event_id"],
        "event_type": first["event_type"],
        "booking_date": first["booking_date"],
        "booked_at": first["booked_at"],
        "description": first["description"],
        "municipality_id": first["municipality_id"],
        "neighbourhood_id": first["neighbourhood_id"],
        "round_id": first["round_id"],
        "payout_id": first["payout_id"] or None,
        "lines": [
            {
                "account": line["account"], "side": line["side"], "amount": line["amount"],
                "proposal_id": line["proposal_id"] or None,
                "counterparty": line["counterparty"] or None, "task_field": line["task_field"],
            }
            for line in group
        ],
    }


def export_json(lines: LineSource, header: ExportHeader) -> Iterator[bytes]:
    """JSON: the filter, the chart, then the transactions with their lines (amounts in cents)."""
    head = {
        "format": "buurtbudget-ledger",
        "version": 1,
        "currency": "EUR",
        "amounts": "cents",
        "organisation": header.organisation,
        "from": header.date_from.isoformat() if header.date_from else None,
        "to": header.date_to.isoformat() if header.date_to else None,
        "filters": header.filters,
        "accounts": [
            {"code": a.code, "name": a.name, "name_en": a.name_en, "kind": a.kind,
             "normal_side": a.normal}
            for a in CHART
        ],
    }
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "transactions": ['
    yield opening.encode()
    chunk: list[str] = []
    for count, group in enumerate(transactions(lines())):
        chunk.append(("," if count else "") + json.dumps(_json_transaction(group), ensure_ascii=False))
        if len(chunk) >= CHUNK_LINES:
            yield "".join(chunk).encode()
            chunk = []
    chunk.append("]}\n")
    yield "".join(chunk).encode()


# -- beancount -----------------------------------------------------------------------------------


def _bean_string(value: str) -> str:
    flat = " ".join(value.split())
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bean_transaction(group: list[dict[str, Any]]) -> str:
    first = group[0]
    payee = next((line["counterparty"] for line in group if line["counterparty"]), "")
    out = [
        f"{first['booking_date']} * {_bean_string(payee)} {_bean_string(first['description'])}",
        f"  document: {_bean_string(_document(first))}",
        f"  round: {_bean_string(first['round_id'])}",
    ]
    for line in group:
        amount = euros(line["amount"] if line["side"] == "D" else -line["amount"])
        out.append(f"  {ACCOUNTS[line['account']].beancount}  {amount} EUR")
        if line["proposal_id"]:
            out.append(f"    proposal: {_bean_string(line['proposal_id'])}")
        out.append(f"    taskfield: {_bean_string(line['task_field'])}")
    return "\n".join(out) + "\n\n"


BEAN_OPEN_DATE = "2000-01-01"


def export_beancount(lines: LineSource, header: ExportHeader) -> Iterator[bytes]:
    """A beancount ledger: the chart as open directives, then one transaction per event."""
    preamble = [
        f"; {header.organisation}: ledger exported by {header.software} on {header.created}",
        f"option \"title\" {_bean_string(header.organisation)}",
        'option "operating_currency" "EUR"',
        "",
        *(f"{BEAN_OPEN_DATE} open {a.beancount} EUR ; {a.code} {a.name}" for a in CHART),
        "",
        "",
    ]
    yield "\n".join(preamble).encode()
    chunk: list[str] = []
    for group in transactions(lines()):
        chunk.append(_bean_transaction(group))
        if len(chunk) >= CHUNK_LINES:
            yield "".join(chunk).encode()
            chunk = []
    yield "".join(chunk).encode()


# -- XML Auditfile Financieel ------------------------------------------------------------------

XAF_NAMESPACES = {
    "3.2": "http://www.auditfiles.nl/XAF/3.2",
    "4.0": "http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.1/structures/XmlauditfileXAF_4.0",
}
# Characters XML 1.0 cannot carry at all.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(value: str, limit: int) -> str:
    return escape(NOT_XML.sub(" ", value)[:limit])


def counterparty_id(name: str) -> str:
    """A short stable id for a payee or source (the same in every export)."""
    return "BB-" + hashlib.sha256(name.encode()).hexdigest()[:16]


@dataclass
class _XafSummary:
    count: int = 0
    debit: int = 0
    credit: int = 0
    first: str | None = None
    last: str | None = None
    parties: dict[str, set[str]] = field(default_factory=dict)  # name -> {"C", "S"}

    def add(self, line: dict[str, Any]) -> None:
        self.count += 1
        if line["side"] == "D":
            self.debit += line["amount"]
        else:
            self.credit += line["amount"]
        day = line["booking_date"]
        self.first = day if self.first is None or day < self.first else self.first
        self.last = day if self.last is None or day > self.last else self.last
        if line["counterparty"]:
            role = "S" if line["event_type"] in PAYOUT_EVENTS else "C"
            self.parties.setdefault(line["counterparty"], set()).add(role)


def _months(start: date, end: date) -> list[tuple[int, date, date]]:
    periods, year, month, number = [], start.year, start.month, 1
    while (year, month) <= (end.year, end.month):
        first = date(year, month, 1)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        periods.append((number, first, date.fromordinal(date(year, month, 1).toordinal() - 1)))
        number += 1
    return periods


def export_xaf(lines: LineSource, header: ExportHeader, version: str = "3.2") -> Iterator[bytes]:
    """XML Auditfile Financieel (3.2 or 4.0): one memorial journal of every transaction."""
    summary = _XafSummary()
    for line in lines():
        summary.add(line)
    start = header.date_from or (date.fromisoformat(summary.first) if summary.first else header.created)
    end = header.date_to or (date.fromisoformat(summary.last) if summary.last else start)
    end = max(end, start)
    periods = _months(start, end)
    period_of = {(first.year, first.month): number for number, first, _ in periods}
    v4 = version == "4.0"
    fiscal_year = str(start.year) if start.year == end.year else f"{start.year}-{end.year}"

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<auditfile xmlns="{XAF_NAMESPACES[version]}">\n<header>',
        f"<fiscalYear>{fiscal_year}</fiscalYear><startDate>{start}</startDate>",
        f"<endDate>{end}</endDate><curCode>EUR</curCode><dateCreated>{header.created}</dateCreated>",
        f"<softwareDesc>{_xml(header.software, 50)}</softwareDesc>",
        f"<softwareVersion>{_xml(header.software_version, 20)}</softwareVersion></header>\n",
        f"<company><companyName>{_xml(header.organisation, 255)}</companyName>",
        "<taxRegistrationCountry>NL</taxRegistrationCountry>",
        f"<taxRegIdent>{_xml(header.tax_registration, 30)}</taxRegIdent>\n",
    ]
    if summary.parties:
        out.append("<customersSuppliers>\n")
        for name, roles in sorted(summary.parties.items()):
            kind = "B" if len(roles) > 1 else next(iter(roles))
            out.append(
                f"<customerSupplier><custSupID>{counterparty_id(name)}</custSupID>"
                f"<custSupName>{_xml(name, 50)}</custSupName><custSupTp>{kind}</custSupTp>"
                "</customerSupplier>\n"
            )
        out.append("</customersSuppliers>\n")
    out.append("<generalLedger>\n")
    out.extend(
        f"<ledgerAccount><accID>{a.code}</accID><accDesc>{_xml(a.name, 255)}</accDesc>"
        f"<accTp>{a.kind}</accTp></ledgerAccount>\n"
        for a in CHART
    )
    out.append("</generalLedger>\n<periods>\n")
    out.extend(
        f"<period><periodNumber>{number}</periodNumber>"
        + ("" if v4 else f"<periodDesc>{first:%Y-%m}</periodDesc>")
        + f"<startDatePeriod>{first}</startDatePeriod><endDatePeriod>{last}</endDatePeriod></period>\n"
        for number, first, last in periods
    )
    out.append(
        f"</periods>\n<transactions><linesCount>{summary.count}</linesCount>"
        f"<totalDebit>{euros(summary.debit)}</totalDebit>"
        f"<totalCredit>{euros(summary.credit)}</totalCredit>\n"
    )
    if summary.count:
        out.append(
            "<journal><jrnID>BB</jrnID><desc>Bewonersbudget</desc><jrnTp>M</jrnTp>\n"
        )
    yield "".join(out).encode()

    chunk: list[str] = []
    for group in transactions(lines()):
        chunk.append(_xaf_transaction(group, period_of, v4))
        if len(chunk) >= CHUNK_LINES:
            yield "".join(chunk).encode()
            chunk = []
    chunk.append("</journal>" if summary.count else "")
    chunk.append("</transactions>\n</company>\n</auditfile>\n")
    yield "".join(chunk).encode()


def _xaf_transaction(group: list[dict[str, Any]], period_of: dict[tuple[int, int], int], v4: bool) -> str:
    first = group[0]
    day = date.fromisoformat(first["booking_date"])
    document = _xml(_document(first), 255)
    description = _xml(first["description"], 9999)
    out = [
        f"<transaction><nr>{first['position']}</nr><desc>{description}</desc>"
        f"<periodNumber>{period_of[(day.year, day.month)]}</periodNumber><trDt>{day}</trDt>"
    ]
    for number, line in enumerate(group, start=1):
        party = (
            f"<custSupID>{counterparty_id(line['counterparty'])}</custSupID>"
            if line["counterparty"] else ""
        )
        cost = f"<cost>{_xml(line['task_field'], 999)}</cost>" if v4 else (
            f"<costID>{_xml(line['task_field'], 35)}</costID>"
        )
        project = (
            f"<project>{line['proposal_id']}</project>" if v4 and line["proposal_id"] else ""
        )
        out.append(
            f"<trLine><nr>{number}</nr><accID>{line['account']}</accID><docRef>{document}</docRef>"
            f"<effDate>{day}</effDate><desc>{description}</desc>"
            f"<amnt>{euros(line['amount'])}</amnt><amntTp>{line['side']}</amntTp>"
            f"{party}{cost}{project}</trLine>"
        )
    out.append("</transaction>\n")
    return "".join(out)


def export_xaf_4(lines: LineSource, header: ExportHeader) -> Iterator[bytes]:
    return export_xaf(lines, header, version="4.0")


@dataclass(frozen=True)
class ExportFormat:
    name: str
    write: Callable[[LineSource, ExportHeader], Iterator[bytes]]
    media_type: str
    extension: str


FORMATS = {
    f.name: f
    for f in (
        ExportFormat("csv", export_csv, "text/csv; charset=utf-8", "csv"),
        ExportFormat("csv-nl", export_csv_nl, "text/csv; charset=utf-8", "csv"),
        ExportFormat("json", export_json, "application/json", "json"),
        ExportFormat("xaf", export_xaf, "application/xml", "xaf"),
        ExportFormat("xaf-4.0", export_xaf_4, "application/xml", "xaf"),
        ExportFormat("beancount", export_beancount, "text/plain; charset=utf-8", "beancount"),
    )
}
