"""The ledger from a real gunicorn: streamed, and the same bytes as the command line writes."""
from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
import xmlschema

SHARED_DATA = Path(
    os.environ.get("BUURTBUDGET_SHARED_DATA")
    or Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
)


def test_the_ledger_streams_from_the_server_as_the_command_line_writes_it(server, tmp_path):
    url = f"{server.base_url}/api/v1/ledger"
    with httpx.Client(timeout=60.0) as client:
        official = server.headers("anna")
        municipality = client.post(f"{server.base_url}/api/v1/municipalities",
                                   json={"name": "Utrecht"}, headers=official).json()
        neighbourhood = client.post(f"{server.base_url}/api/v1/neighbourhoods", json={
            "municipality_id": municipality["municipality_id"], "name": "Lombok",
        }, headers=official).json()
        budget_round = client.post(f"{server.base_url}/api/v1/rounds", json={
            "neighbourhood_id": neighbourhood["neighbourhood_id"], "title": "Lombok 2026",
        }, headers=official).json()
        for amount in (250_000, 12_345):
            deposited = client.post(
                f"{server.base_url}/api/v1/rounds/{budget_round['round_id']}/deposits",
                json={"amount": amount, "source": "Gemeente Utrecht; wijkbureau"}, headers=official,
            )
            assert deposited.status_code == 201, deposited.text
        chunks = []
        with client.stream("GET", url, params={"format": "csv"},
                           headers=server.headers("audit")) as response:
            assert response.status_code == 200
            assert response.headers["content-disposition"].startswith("attachment")
            for chunk in response.iter_bytes():
                chunks.append(chunk)
        xaf = client.get(url, params={"format": "xaf"}, headers=server.headers("audit"))
        refused = client.get(url, params={"format": "xaf"})

    written = tmp_path / "ledger.csv"
    server.cli("ledger", "export", "--format", "csv", "--output", str(written))
    assert b"".join(chunks) == written.read_bytes()
    assert written.read_text().splitlines()[1].split(",")[6] == "2500.00"
    assert refused.status_code == 401
    schema = SHARED_DATA / "xaf" / "XmlAuditfileFinancieel3.2.xsd"
    if not schema.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{schema} is missing (CI=true: the XAF schemas must be there)")
        pytest.skip(f"{schema} is missing: the XAF schemas live in ../shared/data/xaf")
    xmlschema.XMLSchema(str(schema)).validate(xaf.text)
