"""Ledger exports from real round histories: valid XAF, a beancount file bean-check accepts, CSVs
as a machine and Dutch Excel read them, JSON, and empty periods as valid empty files."""
from __future__ import annotations

import csv
import io
import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from beancount import loader
from beancount.core import realization

from domain.ledger import Ledger, balances
from domain.ledger import Line as LedgerLine
from domain.personal_data import DataSubject
from projections.ledger import line_rows
from service.ledger_export import FORMATS, ExportHeader, counterparty_id, euros
from tests.unit.conftest import LABELLING_SEALER, RoundStory

SHARED_DATA = Path(
    os.environ.get("BUURTBUDGET_SHARED_DATA")
    or Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
)
XAF_SCHEMAS = {"xaf": "XmlAuditfileFinancieel3.2.xsd", "xaf-4.0": "XmlAuditfileFinancieel4.0.xsd"}
HEADER = ExportHeader(organisation="Gemeente Amsterdam", created=date(2026, 11, 29))


def schema(name: str) -> xmlschema.XMLSchema:
    path = SHARED_DATA / "xaf" / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing (CI=true: the XAF schemas must be there)")
        pytest.skip(f"{path} is missing: the XAF schemas live in ../shared/data/xaf")
    return xmlschema.XMLSchema(str(path))


def rows_of(story: RoundStory) -> list[dict[str, Any]]:
    ledger = Ledger()
    ledger.post_all(story.history())
    return [row for transaction in ledger.transactions for row in line_rows(transaction)]


@pytest.fixture(scope="module")
def lines() -> list[dict[str, Any]]:
    """A closed round with a paid, a reversed and a rejected payout, and awkward text."""
    story = RoundStory().advance_to("execution")
    story.pay_out("playground", 1_200_00)
    reversed_id = story.pay_out("benches", 300_00)
    story.round.reverse_payout(payout_id=reversed_id, reason='"bounced" <b> & 6.1', actor="x")
    rejected = story.request_payout("benches", 100_00)
    story.round.reject_payout(payout_id=rejected, reason="=HYPERLINK(1)", actor="official-bram")
    story.complete("playground", "benches")
    story.round.close(destination="Algemene middelen; reserve", actor="official-anna")
    return rows_of(story)


SEALED_PAYEE = LABELLING_SEALER.seal(
    DataSubject.payee("NL91ABNA0417164300"), "payee_name", "Speeltoestellen BV"
)


def export(name: str, lines: list[dict[str, Any]], header: ExportHeader = HEADER) -> bytes:
    return b"".join(FORMATS[name].write(lambda: iter(lines), header))


@pytest.mark.parametrize("name", sorted(XAF_SCHEMAS))
def test_xaf_is_valid_against_its_schema_with_balanced_totals(name: str, lines) -> None:
    document = export(name, lines)

    xsd = schema(XAF_SCHEMAS[name])
    xsd.validate(document.decode())
    data = xsd.to_dict(document.decode())
    totals = data["company"]["transactions"]
    assert totals["linesCount"] == len(lines)
    assert totals["totalDebit"] == totals["totalCredit"] == Decimal(
        euros(sum(line["amount"] for line in lines if line["side"] == "D"))
    )
    parties = {p["custSupID"]: p for p in data["company"]["customersSuppliers"]["customerSupplier"]}
    # The domain's ledger names the payee as sealed; the query layer opens it before exporting.
    assert parties[counterparty_id(SEALED_PAYEE)]["custSupTp"] == "S"
    assert parties[counterparty_id("Gemeente Amsterdam")]["custSupTp"] == "C"


@pytest.mark.parametrize("name", sorted(XAF_SCHEMAS))
def test_an_empty_period_is_a_valid_empty_xaf(name: str) -> None:
    header = ExportHeader("Gemeente Delft", date(2026, 1, 5), date(2025, 1, 1), date(2025, 12, 31))

    document = export(name, [], header).decode()

    schema(XAF_SCHEMAS[name]).validate(document)
    assert "<linesCount>0</linesCount>" in document
    assert "<fiscalYear>2025</fiscalYear>" in document


def bean_balances(text: str) -> tuple[list[Any], dict[str, Decimal]]:
    entries, errors, _ = loader.load_string(text)
    real = realization.realize(entries)
    found = {}
    for account in realization.iter_children(real):
        position = account.balance.get_currency_units("EUR").number
        if account.txn_postings:
            found[account.account] = position
    return errors, found


def test_beancount_passes_bean_check_and_agrees_with_the_ledger(lines, tmp_path: Path) -> None:
    text = export("beancount", lines).decode()
    errors, found = bean_balances(text)

    assert errors == []
    expected = balances(LedgerLine(l["account"], l["side"], l["amount"]) for l in lines)
    bank, spent = found["Assets:Bank"], found["Expenses:Initiatives"]
    assert bank == Decimal(euros(expected["1100"])) == 0
    assert spent == Decimal(euros(expected["4000"])) == Decimal("1200.00")
    assert sum(found.values()) == 0


def test_bean_check_itself_accepts_the_file_and_rejects_a_broken_one(lines, tmp_path: Path) -> None:
    from beancount.scripts.check import main as bean_check

    good = tmp_path / "good.beancount"
    good.write_bytes(export("beancount", lines))
    broken = tmp_path / "broken.beancount"
    broken.write_text(good.read_text().replace("Assets:Bank  -", "Assets:Bank  -1", 1))

    def check(path: Path) -> int:
        try:
            bean_check([str(path)], standalone_mode=False)
            return 0
        except SystemExit as stop:
            return int(stop.code or 0)

    assert check(good) == 0
    assert check(broken) != 0


def test_machine_csv_has_iso_dates_and_dot_decimals(lines) -> None:
    rows = list(csv.DictReader(io.StringIO(export("csv", lines).decode("utf-8"))))

    assert len(rows) == len(lines)
    assert rows[0]["booking_date"] == lines[0]["booking_date"]
    assert rows[0]["debit"] == "5000.00" and rows[0]["credit"] == ""
    assert rows[0]["account"] == "1100" and rows[0]["task_field"] == "6.1"
    debit = sum(Decimal(r["debit"] or 0) for r in rows)
    assert debit == sum(Decimal(r["credit"] or 0) for r in rows)


def test_dutch_excel_csv_keeps_codes_as_text_and_disarms_formulas(lines) -> None:
    raw = export("csv-nl", lines)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))

    first = rows[0]
    day = date.fromisoformat(lines[0]["booking_date"])
    assert first["booking_date"] == day.strftime("%d-%m-%Y")
    assert first["debit"] == "5000,00"
    assert first["task_field"] == '="6.1"'  # never 6 January
    assert {r["account"] for r in rows} >= {'="1100"', '="0910"'}
    rejected = next(r for r in rows if r["event_type"] == "PayoutRejected")
    assert rejected["description"] == "Uitbetaling afgewezen: =HYPERLINK(1)"  # not at the start
    closed = next(r for r in rows if r["event_type"] == "Closed")
    assert closed["counterparty"] == "Algemene middelen; reserve"


def test_json_lists_each_transaction_with_its_balanced_lines(lines) -> None:
    data = json.loads(export("json", lines))

    assert data["currency"] == "EUR" and data["amounts"] == "cents"
    assert len(data["accounts"]) == 9
    assert sum(len(t["lines"]) for t in data["transactions"]) == len(lines)
    for transaction in data["transactions"]:
        sides = {"D": 0, "C": 0}
        for line in transaction["lines"]:
            sides[line["side"]] += line["amount"]
        assert sides["D"] == sides["C"] > 0


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_an_empty_export_is_a_valid_empty_file(name: str) -> None:
    data = export(name, [])

    if name == "json":
        assert json.loads(data)["transactions"] == []
    elif name == "beancount":
        assert bean_balances(data.decode())[0] == []
    elif name.startswith("csv"):
        assert len(data.decode("utf-8-sig").splitlines()) == 1  # the header row


def test_exports_stream_in_chunks(lines) -> None:
    many = [dict(line, position=line["position"] + 1000 * n) for n in range(200) for line in lines]

    for name in FORMATS:
        chunks = list(FORMATS[name].write(lambda: iter(many), HEADER))
        assert len(chunks) > 2, name
