"""An event a read model cannot store stops that read model only: the service keeps serving the rest.

The poisoned events are written straight through the application's recorder, past the HTTP edge
and the domain's guards, as an event stored under older, looser rules would be.
"""
from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from domain.ballot import Ballot
from domain.proposal import Proposal
from projections.tracking import ReadModelStopped
from service.cli import cli
from service.extension import EXTENSION
from service.pages.error_pages import handle_read_model_unavailable
from service.runtime import Runtime
from tests.api.conftest import ApiCalls, DrivenRound, RoundDriver
from tests.conftest import cli_environment

PROPOSER = {"proposer_name": "Henk de Vries", "proposer_email": "henk.devries@example.org"}
# Far beyond BIGINT on every backend: no read model column can hold it.
UNSTORABLE_CENTS = 10**20


def runtime_of(app: Flask) -> Runtime:
    with app.app_context():
        return app.extensions[EXTENSION].get()


def store_poisoned_proposal(rt: Runtime, round_id: str, **poison: Any) -> int:
    """Store a proposal whose Submitted event carries `poison`; returns the event's position."""
    app = rt.application
    budget_round = app.get_round(UUID(round_id))
    proposal = Proposal.submit(
        budget_round=budget_round, title="Bankjes", summary="Bankjes", description="", category="",
        cost_lines=[{"description": "bank", "amount": 100_00}], proposer_key_hash="unused",
        personal_data=app.personal_data,
        **PROPOSER,
    )
    [submitted] = proposal.collect_events()
    poisoned = dataclasses.replace(submitted, **poison)
    stored = [app.mapper.to_stored_event(e) for e in (poisoned, *budget_round.collect_events())]
    app.recorder.insert_events(stored)
    return next(
        n.id for n in app.recorder.select_notifications(start=1, limit=10**6)
        if n.originator_id == proposal.id
    )


def assert_generic(payload: dict[str, Any], status: int) -> str:
    """The one error shape, naming an incident and nothing of what went wrong."""
    assert set(payload) == {"code", "status", "message"} and payload["code"] == status
    message = payload["message"]
    assert "incident " in message
    for leak in ("INSERT", "rm_proposals", "Henk", "henk.devries", "example.org", str(UNSTORABLE_CENTS)):
        assert leak not in message
    return message.split("incident ")[1].rstrip(")")


@pytest.fixture
def poisoned(api: ApiCalls, rounds: RoundDriver, app: Flask) -> tuple[DrivenRound, int]:
    driven = rounds.to("submission", costs=(100_000,))
    assert api.call("GET", "/healthz").status_code == 200
    position = store_poisoned_proposal(
        runtime_of(app), driven.round_id, requested_amount=UNSTORABLE_CENTS
    )
    return driven, position


def test_a_poisoned_event_stops_its_read_model_and_nothing_else(
    api: ApiCalls, rounds: RoundDriver, poisoned: tuple[DrivenRound, int], app: Flask,
    caplog: pytest.LogCaptureFixture,
) -> None:
    driven, position = poisoned

    # Reads of the stopped read model: 503, generic, with the incident id the log explains.
    with caplog.at_level(logging.ERROR):
        response = api.call("GET", f"/rounds/{driven.round_id}/proposals", as_="official")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    incident = assert_generic(response.get_json(), 503)
    assert any(incident in record.getMessage() for record in caplog.records)

    # Reads served by the other read models go on.
    assert api.get(f"/rounds/{driven.round_id}", as_="official")["proposals_submitted"] == 2
    assert [m["name"] for m in api.get("/municipalities")] == ["Amsterdam"]
    assert api.get(f"/rounds/{driven.round_id}/audit-trail", as_="auditor")

    # Health names the read model and the event it stopped before.
    health = api.call("GET", "/healthz")
    assert health.status_code == 503
    body = health.get_json()
    assert f"read model 'proposals' stopped before event {position}" in body["message"]
    assert body["projections"]["proposals"]["stopped_before"] == position
    assert body["projections"]["proposals"]["position"] == position - 1
    assert "stopped_before" not in body["projections"]["rounds"]

    # Writes are stored and answered: 201 where the answer comes from a running read model,
    # 202 where it would come from the stopped one; never an error.
    head = api.head()
    driven.post("deposits", {"amount": 500_00, "source": "Fonds"}, status=201)
    submitted = api.call(
        "POST", f"/rounds/{driven.round_id}/proposals", rounds.proposal_body(50_000)
    )
    assert submitted.status_code == 202, submitted.get_json()
    assert api.head() == head + 3  # deposit; proposal submitted and received by the round
    assert api.get(f"/rounds/{driven.round_id}", as_="official")["deposited"] == (
        rounds.DEPOSIT + 500_00
    )


def test_projections_status_shows_the_stopped_read_model_and_rebuild_stays_stopped(
    api: ApiCalls, poisoned: tuple[DrivenRound, int], settings: dict[str, Any], app: Flask,
) -> None:
    driven, position = poisoned
    api.call("GET", f"/rounds/{driven.round_id}/proposals")  # a read finds the poisoned event
    env = cli_environment(settings)

    status = CliRunner().invoke(cli, ["projections", "status"], env=env)
    assert status.exit_code == 1, status.output
    [line] = [line for line in status.output.splitlines() if line.startswith("proposals")]
    assert f"position {position - 1:>8}" in line
    assert f"STOPPED before event {position}" in line
    assert "Henk" not in status.output and "INSERT" not in status.output
    assert "STOPPED" not in next(line for line in status.output.splitlines() if line.startswith("rounds"))

    # The event is in the log for good: a rebuild stops at it again, the others rebuild fine.
    rebuilt = CliRunner().invoke(cli, ["projections", "rebuild"], env=env)
    assert rebuilt.exit_code == 1
    assert f"proposals stopped before event {position}" in rebuilt.output
    assert api.get(f"/rounds/{driven.round_id}", as_="official")["proposals_submitted"] == 2


def test_text_the_database_cannot_hold_stops_only_its_read_model(
    api: ApiCalls, rounds: RoundDriver, app: Flask, backend: str,
) -> None:
    driven = rounds.to("submission", costs=(100_000,))
    position = store_poisoned_proposal(runtime_of(app), driven.round_id, title="Bank\u0000jes")

    response = api.call("GET", f"/rounds/{driven.round_id}/proposals", as_="official")
    if backend == "sqlite":
        # SQLite stores any text: the read model goes on and a rebuild gives the same rows.
        assert response.status_code == 200
        assert "Bank\u0000jes" in [p["title"] for p in response.get_json()]
        rt = runtime_of(app)
        rt.projector.rebuild()
        assert rt.projector.failures() == {}
        assert api.get(f"/rounds/{driven.round_id}/proposals", as_="official") == response.get_json()
        return
    # PostgreSQL text cannot hold NUL.
    assert response.status_code == 503
    assert_generic(response.get_json(), 503)
    health = api.call("GET", "/healthz").get_json()
    assert health["projections"]["proposals"]["stopped_before"] == position
    assert api.get(f"/rounds/{driven.round_id}", as_="official")["phase"] == "submission"


def test_points_and_money_columns_hold_the_largest_64_bit_numbers(
    api: ApiCalls, rounds: RoundDriver, app: Flask,
) -> None:
    driven = rounds.to("submission", costs=(100_000,))
    largest = 2**63 - 1
    store_poisoned_proposal(runtime_of(app), driven.round_id, requested_amount=largest)

    listed = api.get(f"/rounds/{driven.round_id}/proposals", as_="official")
    assert largest in [p["requested_amount"] for p in listed]
    assert api.call("GET", "/healthz").status_code == 200


def test_points_beyond_32_bits_are_counted(api: ApiCalls, rounds: RoundDriver, app: Flask) -> None:
    driven = rounds.to("voting", costs=(100_000, 200_000), voting={"method": "cumulative", "points_total": 10})
    rt = runtime_of(app)
    ballot = Ballot.issue(round_id=UUID(driven.round_id), code_hash="a code the test made up")
    ballot._cast(round_id=ballot.round_id, choices={driven.proposal_ids[0]: 3_000_000_000},
                 nonce="made up too", paper_batch=None)
    rt.application.recorder.insert_events(
        [rt.application.mapper.to_stored_event(e) for e in ballot.collect_events()]
    )
    driven.post("close-voting")

    listed = api.get(f"/rounds/{driven.round_id}/proposals", as_="official")
    assert {p["proposal_id"]: p["points"] for p in listed}[driven.proposal_ids[0]] == 3_000_000_000


def test_a_page_that_needs_a_stopped_read_model_is_an_html_503_in_its_language(
    client: FlaskClient, api: ApiCalls, poisoned: tuple[DrivenRound, int],
) -> None:
    driven, _position = poisoned

    # The round page lists the proposals, whose read model stopped.
    page = client.get(f"/rounds/{driven.round_id}")
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert page.headers["Retry-After"]
    assert "Tijdelijk niet beschikbaar" in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    incident = re.search(r"Meldingsnummer: ([0-9a-f]{12})", page.text)
    assert incident, page.text
    for leak in ("INSERT", "rm_proposals", "Henk", "example.org", str(UNSTORABLE_CENTS)):
        assert leak not in page.text

    english = client.get(f"/rounds/{driven.round_id}?lang=en")
    assert english.status_code == 503 and english.mimetype == "text/html"
    assert "Temporarily unavailable" in english.text and "Incident number: " in english.text

    # The JSON API keeps its error shape for the same read.
    response = api.call("GET", f"/rounds/{driven.round_id}/proposals")
    assert response.status_code == 503 and response.mimetype == "application/json"
    assert_generic(response.get_json(), 503)

    # Pages the stopped read model is not needed for are served as usual.
    assert client.get(f"/rounds/{driven.round_id}/proposals/new").status_code == 200


def test_a_page_form_whose_change_was_stored_but_cannot_be_shown_answers_202(app: Flask) -> None:
    stopped = ReadModelStopped("proposals", 42, incident="0123456789ab")
    with app.test_request_context("/rounds/x/proposals/new?lang=en", method="POST"):
        body, code, headers = handle_read_model_unavailable(stopped)
    assert (code, headers) == (202, {})
    assert "Your change was saved" in body and "Incident number: 0123456789ab" in body
    with app.test_request_context("/api/v1/rounds/x/proposals", method="POST"):
        payload, code = handle_read_model_unavailable(stopped)
    assert (code, payload["code"]) == (202, 202)
