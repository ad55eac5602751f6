"""GET /api/v1/ledger: exports, trial balance and statements for officials and auditors only."""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, timedelta

import pytest

from service.ledger_export import FORMATS


@pytest.fixture
def closed_round(api, rounds):
    """A round with one paid payout, completed and closed."""
    driven = rounds.to("execution")
    rounds.payout(driven, driven.winners[0], 80_000)
    for proposal_id in driven.winners:
        driven.post(f"/proposals/{proposal_id}/complete", {"report": "done"})
    driven.post("close", {"destination": "municipal budget"})
    return driven


def test_the_trial_balance_of_a_round_matches_its_balances(api, closed_round):
    balances = closed_round.balances()

    trial = api.get(f"/ledger/trial-balance?round_id={closed_round.round_id}", as_="auditor")

    closing = {row["account"]: row["closing"] for row in trial["accounts"]}
    assert trial["organisation"] == "Amsterdam"
    assert trial["total_debit"] == trial["total_credit"] > 0
    assert closing["8000"] == balances["deposited"] == 1_000_000
    assert closing["4000"] == balances["paid"] == 80_000
    assert closing["4900"] == balances["returned"] == 920_000
    assert closing["1100"] == 0


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_downloads_as_an_attachment(api, closed_round, fmt):
    response = api.call(
        "GET", f"/ledger?format={fmt}&round_id={closed_round.round_id}", as_="official"
    )

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=\"ledger-")
    assert response.mimetype == FORMATS[fmt].media_type.split(";")[0]
    assert len(response.data) > 500


def test_the_csv_export_holds_every_line_of_the_round(api, closed_round):
    response = api.call("GET", f"/ledger?format=csv&round_id={closed_round.round_id}", as_="auditor")
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))

    # deposit 4, reservation 2x2, request 2, approval 4, payment 2, release 2x2, return 4
    assert len(rows) == 24
    assert {row["round_id"] for row in rows} == {closed_round.round_id}


def test_a_period_before_anything_happened_is_an_empty_export(api, closed_round):
    long_ago = date.today() - timedelta(days=400)
    url = f"/ledger?format=json&from={long_ago}&to={long_ago + timedelta(days=30)}"

    data = json.loads(api.call("GET", url, as_="auditor").data)

    assert data["transactions"] == []
    assert data["from"] == str(long_ago)


def test_an_account_statement_runs_its_balance(api, closed_round):
    statement = api.get(f"/ledger/accounts/1100?round_id={closed_round.round_id}", as_="official")

    assert [line["balance"] for line in statement["lines"]] == [1_000_000, 920_000, 0]
    assert statement["closing"] == 0


def test_only_officials_and_auditors_read_the_ledger(api, closed_round):
    api.refused("GET", "/ledger", status=401)
    api.refused("GET", "/ledger/trial-balance", as_="admin", status=403)


@pytest.mark.parametrize("query, status, field", [
    ("format=xls", 400, "format"),
    ("from=2026-13-01", 400, "from"),
    ("round_id=not-a-uuid", 400, "round_id"),
    ("from=2026-05-01&to=2026-04-01", 422, None),
    ("colour=red", 400, "colour"),
])
def test_bad_queries_are_refused_with_the_error_shape(api, closed_round, query, status, field):
    payload = api.refused("GET", f"/ledger?{query}", as_="auditor", status=status)

    if field:
        assert field in json.dumps(payload["errors"])


def test_unknown_rounds_places_and_accounts_are_404(api, closed_round):
    missing = uuid.uuid4()
    api.refused("GET", f"/ledger?round_id={missing}", as_="auditor", status=404)
    api.refused("GET", f"/ledger/trial-balance?municipality_id={missing}", as_="auditor", status=404)
    api.refused("GET", "/ledger/accounts/9999", as_="auditor", status=404)


def test_carry_over_closes_one_round_into_the_next_on_both_sides_of_the_ledger(api, rounds):
    driven = rounds.to("execution")
    rounds.payout(driven, driven.winners[0], 80_000)
    for proposal_id in driven.winners:
        driven.post(f"/proposals/{proposal_id}/complete", {"report": "done"})
    next_round = rounds.open(title="Oosterpark 2027")

    closed = driven.post("carry-over", {"to_round_id": next_round})
    again = driven.post("carry-over", {"to_round_id": next_round})

    assert closed["phase"] == again["phase"] == "closed"
    assert closed["returned"] == 920_000
    assert api.get(f"/rounds/{next_round}", as_="official")["deposited"] == 920_000
    old = api.get(f"/ledger/trial-balance?round_id={driven.round_id}", as_="auditor")
    new = api.get(f"/ledger/trial-balance?round_id={next_round}", as_="auditor")
    assert {r["account"]: r["closing"] for r in old["accounts"]}["4900"] == 920_000
    assert {r["account"]: r["closing"] for r in new["accounts"]}["8000"] == 920_000
    statement = api.get(f"/ledger/accounts/8000?round_id={next_round}", as_="auditor")
    assert statement["lines"][0]["counterparty"] == "Overgeboekt uit Oosterpark 2026"


def test_carry_over_only_to_another_open_round_of_the_same_neighbourhood(api, rounds):
    driven = rounds.to("execution")
    for proposal_id in driven.winners:
        driven.post(f"/proposals/{proposal_id}/complete", {"report": "done"})
    elsewhere = api.post("/neighbourhoods", {
        "municipality_id": api.get(f"/rounds/{driven.round_id}")["municipality_id"],
        "name": "Watergraafsmeer",
    }, status=201)["neighbourhood_id"]
    other = api.post("/rounds", {"neighbourhood_id": elsewhere, "title": "Elders"}, status=201)

    driven.refused("POST", "carry-over", {"to_round_id": other["round_id"]}, status=422,
                   message="same neighbourhood")
    driven.refused("POST", "carry-over", {"to_round_id": driven.round_id}, status=422)
    driven.refused("POST", "carry-over", {"to_round_id": "nope"}, status=422)


def test_lines_booked_after_the_task_field_changed_carry_the_new_one(api, rounds):
    driven = rounds.to("execution")
    assert driven.get("task-field") == {"round_id": driven.round_id, "task_field": "6.1"}

    changed = api.call("PUT", f"{driven.url}/task-field", {"task_field": "0.10"}, as_="official")
    rounds.payout(driven, driven.winners[0], 80_000)

    assert changed.status_code == 200 and changed.get_json()["task_field"] == "0.10"
    response = api.call("GET", f"/ledger?format=csv&round_id={driven.round_id}", as_="auditor")
    fields = {(row["event_type"], row["task_field"])
              for row in csv.DictReader(io.StringIO(response.data.decode()))}
    assert ("FundsDeposited", "6.1") in fields and ("PayoutPaid", "0.10") in fields
    assert {task_field for event_type, task_field in fields
            if event_type.startswith("Payout")} == {"0.10"}


def test_the_task_field_is_set_by_officials_and_must_look_like_one(api, rounds):
    driven = rounds.to("execution")
    url = f"{driven.url}/task-field"
    api.refused("PUT", url, {"task_field": "6.1"}, as_=None, status=401)
    api.refused("PUT", url, {"task_field": "6.1"}, as_="auditor", status=403)
    for body in ({"task_field": "61"}, {"task_field": "9.1"}, {}, {"task_field": "6.1", "x": 1}):
        api.refused("PUT", url, body, as_="official", status=422, round_id=driven.round_id)
    head = api.head()
    assert api.call("PUT", url, {"task_field": "6.1"}, as_="official").status_code == 200
    assert api.head() == head
    api.refused("PUT", f"/rounds/{uuid.uuid4()}/task-field", {"task_field": "6.1"},
                as_="official", status=404)
