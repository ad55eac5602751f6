"""A log stored before topics were explicit still loads, projects, counts and goes on.

`data/log_with_module_path_topics.json` holds events exactly as the service stored them when
topics were module paths (`domain.budget_round:BudgetRound.FundsDeposited`) and PayoutPaid was at
version 1: a round carried from opening to closing with every event type, and a round left open
for voting. The tests write those events straight into the event store, as a database holding
them would, and then use the service on it.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain.budget_round import BudgetRound
from domain.personal_data import ERASED
from projections.audit_trail import audit_trail
from projections.ballots import turnout, vote_counts
from projections.payouts import list_payouts
from projections.proposals import get_proposal
from projections.rounds import get_round
from service.erasure import erase_personal_data
from service.principal import Principal
from service.queries import proposals as proposal_queries
from service.runtime import Runtime
from tests.integration.conftest import OFFICIAL, SECOND_OFFICIAL, dump_read_models

OLDER_LOG = json.loads(
    (Path(__file__).parent / "data" / "log_with_module_path_topics.json").read_text("utf-8")
)
CLOSED, VOTING = UUID(OLDER_LOG["closed_round"]), UUID(OLDER_LOG["voting_round"])
PROPOSALS = {name: UUID(pid) for name, pid in OLDER_LOG["proposals"].items()}
BALANCES = ("phase", "deposited", "reserved", "paid", "returned", "available")


def stored(event: dict[str, Any], **changes: Any) -> StoredEvent:
    fields = {**event, **changes}
    return StoredEvent(
        originator_id=UUID(fields["originator_id"]),
        originator_version=fields["originator_version"],
        topic=fields["topic"],
        state=json.dumps(fields["state"]).encode(),
    )


@pytest.fixture
def runtime(settings: dict[str, Any]) -> Iterator[Runtime]:
    """A database holding the older log, opened with the key its voting codes were issued under."""
    rt = Runtime({**settings, "SECRET_KEY": OLDER_LOG["secret_key"]}, create_tables=True)
    rt.application.recorder.insert_events([stored(event) for event in OLDER_LOG["events"]])
    yield rt
    rt.close()


def balances_of(budget_round: BudgetRound) -> dict[str, Any]:
    return {
        "phase": budget_round.phase,
        "deposited": budget_round.deposited,
        "reserved": budget_round.total_reserved,
        "paid": budget_round.total_paid,
        "returned": budget_round.returned,
        "available": budget_round.available,
    }


def projected_counts(runtime: Runtime, round_id: UUID) -> tuple[int, dict[str, int]]:
    """Turnout and approvals per proposal as the ballots read model counts them."""
    with runtime.reading() as conn:
        counts = vote_counts(conn, str(round_id))
        return turnout(conn, str(round_id)), {pid: count for pid, (count, _) in counts.items()}


def recounted(runtime: Runtime, round_id: UUID) -> tuple[int, dict[str, int]]:
    """Turnout and approvals per proposal from the ballot events the tally counts."""
    final = runtime.application.final_ballots(round_id)
    return len(final), dict(Counter(pid for _, choices, _receipt in final.values() for pid in choices))


def test_the_older_log_holds_module_path_topics_only():
    topics = {event["topic"] for event in OLDER_LOG["events"]}
    assert len(topics) == 29 and all(topic.startswith("domain.") for topic in topics)


def test_every_aggregate_of_an_older_log_loads(runtime):
    app = runtime.application

    closed = app.get_round(CLOSED)
    assert balances_of(closed) == {
        "phase": "closed", "deposited": 5_000_00, "reserved": 2_900_00 + 1_350_00,
        "paid": 2_900_00 + 1_350_00, "returned": 5_000_00 - 4_250_00, "available": 0,
    }
    assert sorted(p["status"] for p in closed.payouts.values()) == [
        "paid", "paid", "rejected", "reversed"
    ]
    assert {name: app.get_proposal(pid).status for name, pid in PROPOSALS.items()} == {
        "speeltuin": "completed", "bankjes": "completed", "muurschildering": "not_selected",
        "kiosk": "withdrawn", "parkeerplaats": "rejected",
        "moestuin": "admitted", "repaircafe": "admitted", "buurtfeest": "admitted",
    }
    assert app.get_round(VOTING).phase == "voting"


def test_payments_stored_as_version_1_read_as_version_2_without_a_booking_date(runtime):
    events = list(runtime.application.repository.event_store.get(CLOSED))
    paid = [e for e in events if isinstance(e, BudgetRound.PayoutPaid)]  # type: ignore[attr-defined]
    assert [(e.bank_reference, e.paid_on) for e in paid] == [
        ("BANK-1", None), ("BANK-2", None), ("BANK-3", None)
    ]


def test_read_models_project_an_older_log_as_its_aggregates_hold_it(runtime):
    app = runtime.application
    with runtime.reading() as conn:
        for round_id in (CLOSED, VOTING):
            projected = get_round(conn, str(round_id))
            assert {key: projected[key] for key in BALANCES} == balances_of(app.get_round(round_id))
        for pid in PROPOSALS.values():
            proposal = app.get_proposal(pid)
            assert get_proposal(conn, str(pid))["status"] == proposal.status
        assert sorted(p["status"] for p in list_payouts(conn, round_id=str(CLOSED))) == sorted(
            p["status"] for p in app.get_round(CLOSED).payouts.values()
        )
        trail = audit_trail(conn, limit=10_000)
    not_ballots = [e for e in OLDER_LOG["events"] if not e["topic"].startswith("domain.ballot:")]
    assert [e["position"] for e in trail] == [e["id"] for e in not_ballots]

    assert projected_counts(runtime, CLOSED) == recounted(runtime, CLOSED) == (
        5, {str(PROPOSALS["speeltuin"]): 3, str(PROPOSALS["bankjes"]): 4,
            str(PROPOSALS["muurschildering"]): 1},
    )


def test_the_tally_of_an_older_log_recounts_to_the_recorded_result(runtime):
    verification = runtime.application.verify_tally(CLOSED)
    assert verification["matches"], verification["differences"]
    assert verification["recorded"]["ballots_counted"] == 5


def test_a_ballot_stored_after_an_older_voting_closed_counts_nowhere(runtime):
    # A cast that raced the close under the older topics: in the log after VotingClosed.
    first_cast = next(
        e for e in OLDER_LOG["events"]
        if e["topic"] == "domain.ballot:Ballot.Cast" and e["originator_version"] == 2
        and UUID(e["state"]["round_id"]["_data_"]) == CLOSED
    )
    late = stored(
        first_cast,
        originator_version=3,
        state={**first_cast["state"], "choices": {str(PROPOSALS["muurschildering"]): 1}},
    )
    runtime.application.recorder.insert_events([late])

    assert runtime.application.verify_tally(CLOSED)["matches"]
    assert projected_counts(runtime, CLOSED) == recounted(runtime, CLOSED)
    assert recounted(runtime, CLOSED)[1][str(PROPOSALS["muurschildering"])] == 1


def test_an_older_log_goes_on_under_todays_topics_and_counts_both(runtime):
    app = runtime.application
    moestuin, buurtfeest = str(PROPOSALS["moestuin"]), str(PROPOSALS["buurtfeest"])
    for code in OLDER_LOG["unused_codes"]:
        app.cast_ballot(VOTING, code=code, choices={moestuin: 1, buurtfeest: 1})
    app.close_voting(VOTING, actor=OFFICIAL)
    tally = app.run_tally(VOTING, actor=OFFICIAL)
    app.confirm_tally(VOTING, tally_id=tally["tally_id"], actor=SECOND_OFFICIAL)

    topics = Counter(
        n.topic for n in app.recorder.select_notifications(start=1, limit=10_000)
        if n.topic.endswith("Ballot.Cast")
    )
    assert topics == {"domain.ballot:Ballot.Cast": 9, "buurtbudget/Ballot.Cast": 3}
    assert tally["ballots_counted"] == 6
    assert tally["scores"][moestuin] == 2 + 3 and tally["scores"][buurtfeest] == 1 + 3
    assert app.verify_tally(VOTING)["matches"]
    assert projected_counts(runtime, VOTING) == recounted(runtime, VOTING)
    with runtime.reading() as conn:
        projected = get_round(conn, str(VOTING))
    assert {key: projected[key] for key in BALANCES} == balances_of(app.get_round(VOTING))


def test_erasing_a_person_of_an_older_log_redacts_every_read_model_but_not_the_old_events(
    runtime,
):
    """Events stored before sealing keep their plaintext (events are forever); nothing else does."""
    personal = ("Fatima", "fatima@example.org", "Stichting Buurtwerk Oost", "NL91ABNA0417164300")
    official = Principal("anna", "official")
    money = {rid: balances_of(runtime.application.get_round(rid)) for rid in (CLOSED, VOTING)}
    seen = proposal_queries.get_proposal(runtime, official, str(PROPOSALS["speeltuin"]))
    assert (seen["proposer_name"], seen["proposer_email"]) == ("Fatima", "fatima@example.org")

    by_email = erase_personal_data(runtime, email="fatima@example.org", reason="AVG", actor="admin:a")
    by_iban = erase_personal_data(runtime, iban="NL91ABNA0417164300", reason="AVG", actor="admin:a")

    # No key existed: the data was never sealed. Every record is named, and named as plaintext.
    assert by_email["keys_destroyed"] == by_iban["keys_destroyed"] == 0
    assert by_email["plaintext_remains"] == by_email["records"] == sorted(
        f"proposal:{pid}" for pid in PROPOSALS.values()
    )
    assert len(by_iban["plaintext_remains"]) == len(by_iban["records"]) == len(
        runtime.application.get_round(CLOSED).payouts
    )
    seen = proposal_queries.get_proposal(runtime, official, str(PROPOSALS["speeltuin"]))
    assert (seen["proposer_name"], seen["proposer_email"]) == (ERASED, ERASED)
    rows = dump_read_models(runtime.engine)
    assert not [text for text in personal for lines in rows.values() for line in lines
                if text in line]
    runtime.projector.rebuild()
    assert dump_read_models(runtime.engine) == rows
    assert {rid: balances_of(runtime.application.get_round(rid)) for rid in (CLOSED, VOTING)} == money
    # The old events themselves still hold it, as docs/privacy.md says.
    stored = b"".join(n.state for n in runtime.application.recorder.select_notifications(1, 10**6))
    assert b"fatima@example.org" in stored and b"NL91ABNA0417164300" in stored
