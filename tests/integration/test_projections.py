"""Read models after a realistic history: their rows, rebuilds, exactly-once batches, and lag."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from eventsourcing.utils import resolve_topic

import projections.tracking
from projections.audit_trail import audit_trail
from projections.ballots import receipts, turnout, vote_counts
from projections.catalogue import read_models
from projections.payouts import list_payouts
from projections.places import list_municipalities, list_neighbourhoods
from projections.proposals import list_proposals
from projections.rounds import deposits, get_round, list_deposits, list_tallies, rounds
from projections.tracking import (
    Batch,
    Handler,
    ProjectionError,
    Projector,
    ReadModel,
    metadata,
    tracking,
)
from service.demo import (
    INITIATIVES,
    OFFICIAL,
    SECOND_OFFICIAL,
    THIRD_OFFICIAL,
    DemoResult,
    run_demo,
)
from service.runtime import Runtime
from tests.integration.conftest import DrivenRound, dump_read_models, race

AUDITED_TYPES = {"Municipality", "Neighbourhood", "BudgetRound", "Proposal"}


@pytest.fixture
def demo(runtime: Runtime) -> DemoResult:
    """The demo neighbourhood written through the application; read models not yet caught up."""
    return run_demo(runtime.application)


def notifications_after(runtime: Runtime, position: int = 0) -> list[Any]:
    head = runtime.projector.log_position()
    if head <= position:
        return []
    return list(runtime.application.recorder.select_notifications(
        start=position + 1, limit=head - position, stop=head
    ))


def handled_count(runtime: Runtime, model: ReadModel, position: int = 0) -> int:
    """How many events after `position` the read model has a handler for."""
    classes = set(model.handlers())
    return sum(
        1 for n in notifications_after(runtime, position) if resolve_topic(n.topic) in classes
    )


class FailsOnNthEvent(ReadModel):
    """Behaves like `model` (same name, tables and handlers) until the nth event it is handed."""

    def __init__(self, model: ReadModel, nth: int) -> None:
        self.model = model
        self.name = model.name
        self.tables = model.tables
        self.nth = nth
        self.calls = 0

    def handlers(self) -> dict[type, Handler]:
        return {topic: self._counted(handler) for topic, handler in self.model.handlers().items()}

    def _counted(self, handler: Handler) -> Handler:
        def handle(batch: Batch, event: Any, position: int) -> None:
            self.calls += 1
            if self.calls == self.nth:
                raise RuntimeError(f"handler broke on purpose at event number {self.nth}")
            handler(batch, event, position)

        return handle


class FailsOnEvent(FailsOnNthEvent):
    """Behaves like `model` but cannot apply the event at one position, however often tried."""

    def __init__(self, model: ReadModel, position: int) -> None:
        super().__init__(model, nth=0)
        self.position = position

    def _counted(self, handler: Handler) -> Handler:
        def handle(batch: Batch, event: Any, position: int) -> None:
            if position == self.position:
                raise RuntimeError(f"handler broke on purpose at event {position}")
            handler(batch, event, position)

        return handle


def model_named(name: str) -> ReadModel:
    return next(model for model in read_models() if model.name == name)


# -- what the read models hold after the demo --------------------------------------------------


def test_rounds_hold_the_balances_of_their_aggregates(runtime: Runtime, demo: DemoResult) -> None:
    app = runtime.application
    with runtime.reading() as conn:
        for round_id in (demo.closed_round_id, demo.voting_round_id):
            aggregate = app.get_round(round_id)
            row = get_round(conn, str(round_id))
            assert row is not None
            assert {key: row[key] for key in (
                "phase", "deposited", "reserved", "pending", "paid", "returned", "available",
                "codes_issued", "proposals_submitted", "confirmed_tally_id", "version",
            )} == {
                "phase": aggregate.phase,
                "deposited": aggregate.deposited,
                "reserved": aggregate.total_reserved,
                "pending": sum(aggregate.pending(pid) for pid in aggregate.reserved),
                "paid": aggregate.total_paid,
                "returned": aggregate.returned,
                "available": aggregate.available,
                "codes_issued": aggregate.codes_issued,
                "proposals_submitted": len(aggregate.proposals),
                "confirmed_tally_id": aggregate.confirmed_tally_id,
                "version": aggregate.version,
            }
            assert row["ballot"] == aggregate.ballot_costs

        past_id = str(demo.closed_round_id)
        past = get_round(conn, past_id)
        paid = app.get_round(demo.closed_round_id).total_paid
        assert paid > 0
        assert (past["phase"], past["deposited"], past["paid"], past["pending"]) == (
            "closed", 2_500_000, paid, 0
        )
        assert past["returned"] == 2_500_000 - paid
        assert past["available"] == 0
        assert [d["amount"] for d in list_deposits(conn, past_id)] == [2_500_000]
        [tally] = list_tallies(conn, past_id)
        assert (tally["recorded_by"], tally["confirmed_by"]) == (OFFICIAL, SECOND_OFFICIAL)

        current = get_round(conn, str(demo.voting_round_id))
        assert (current["phase"], current["deposited"], current["available"]) == (
            "voting", 3_000_000, 3_000_000
        )
        assert (current["codes_issued"], current["proposals_submitted"]) == (40, 5)
        assert list_tallies(conn, str(demo.voting_round_id)) == []

        assert [m["name"] for m in list_municipalities(conn)] == ["Amsterdam"]
        assert [n["name"] for n in list_neighbourhoods(conn, str(demo.municipality_id))] == [
            "Indische Buurt"
        ]


def test_proposals_hold_their_statuses_and_money(runtime: Runtime, demo: DemoResult) -> None:
    app = runtime.application
    past = app.get_round(demo.closed_round_id)
    winners = [w["proposal_id"] for w in past.tallies[past.confirmed_tally_id]["winners"]]
    with runtime.reading() as conn:
        rows = {row["proposal_id"]: row for row in list_proposals(conn, str(demo.closed_round_id))}
        current = list_proposals(conn, str(demo.voting_round_id))

    assert {pid: row["status"] for pid, row in rows.items()} == {
        pid: app.get_proposal(UUID(pid)).status for pid in rows
    }
    [rejected] = [row for row in rows.values() if row["status"] == "rejected"]
    assert rejected["title"] == INITIATIVES[4][0]
    assert rejected["rejection_reason"] == "Valt buiten de regels: lopende kosten."
    assert winners
    for number, proposal_id in enumerate(winners, start=1):
        cost = past.ballot_costs[proposal_id]
        # The demo pays each winner its cost less 100 euros per place in the ranking.
        assert {key: rows[proposal_id][key] for key in (
            "status", "funded_amount", "paid_amount", "pending_amount", "unspent_returned"
        )} == {
            "status": "completed", "funded_amount": cost, "paid_amount": cost - 10_000 * number,
            "pending_amount": 0, "unspent_returned": 10_000 * number,
        }
    assert {pid: rows[pid]["status"] for pid in past.ballot_costs} == {
        pid: "completed" if pid in winners else "not_selected" for pid in past.ballot_costs
    }

    assert [row["status"] for row in current] == ["admitted"] * 5
    adjusted = [row for row in current if row["amount"] != row["requested_amount"]]
    assert [(row["title"], row["amount"]) for row in adjusted] == [(INITIATIVES[5][0], 1_100_000)]
    assert adjusted[0]["review_note"] == "Ondergrond goedkoper via raamcontract."


def test_ballots_hold_the_final_version_of_each_ballot(runtime: Runtime, demo: DemoResult) -> None:
    app = runtime.application
    with runtime.reading() as conn:
        for round_id, voters in ((demo.closed_round_id, 60), (demo.voting_round_id, 25)):
            final = app.final_ballots(round_id)
            expected: dict[str, tuple[int, int]] = {}
            for _version, choices, _receipt in final.values():
                for proposal_id, points in choices.items():
                    count, total = expected.get(proposal_id, (0, 0))
                    expected[proposal_id] = (count + 1, total + points)
            assert len(final) == voters
            assert turnout(conn, str(round_id)) == voters
            assert vote_counts(conn, str(round_id)) == expected
            assert receipts(conn, str(round_id)) == sorted(
                counted.receipt for counted in final.values()
            )

        # An approval ballot gives one point per proposal: the counts are the tally's scores.
        past = app.get_round(demo.closed_round_id)
        scores = past.tallies[past.confirmed_tally_id]["scores"]
        counts = vote_counts(conn, str(demo.closed_round_id))
        assert {pid: counts.get(pid, (0, 0))[1] for pid in scores} == scores


def test_payouts_hold_who_asked_approved_and_paid(runtime: Runtime, demo: DemoResult) -> None:
    past = runtime.application.get_round(demo.closed_round_id)
    winners = past.tallies[past.confirmed_tally_id]["winners"]
    with runtime.reading() as conn:
        payouts = list_payouts(conn, round_id=str(demo.closed_round_id))
        assert list_payouts(conn, round_id=str(demo.voting_round_id)) == []
        # The read model keeps the payee sealed; it opens with the payee's key.
        assert all(p["iban"].startswith("pd1:") for p in payouts)
        runtime.personal_data.open_rows(conn, payouts, ("payee_name", "iban"))

    assert sorted(
        (p["proposal_id"], p["amount"], p["status"], p["bank_reference"], p["reference"])
        for p in payouts
    ) == sorted(
        (w["proposal_id"], w["cost"] - 10_000 * n, "paid", f"BANK-{n:05d}", f"FACT-2025-{n:03d}")
        for n, w in enumerate(winners, start=1)
    )
    for payout in payouts:
        assert (payout["requested_by"], payout["decided_by"], payout["paid_by"]) == (
            OFFICIAL, SECOND_OFFICIAL, THIRD_OFFICIAL
        )
        assert payout["iban"] == "NL91ABNA0417164300"
        assert payout["rejection_reason"] is None and payout["reversed_at"] is None


def test_audit_trail_has_every_event_but_the_ballots(runtime: Runtime, demo: DemoResult) -> None:
    app = runtime.application
    past = app.get_round(demo.closed_round_id)
    winners = len(past.tallies[past.confirmed_tally_id]["winners"])
    with runtime.reading() as conn:
        everything = audit_trail(conn, limit=10_000)
        of_round = audit_trail(conn, aggregate_id=str(demo.closed_round_id))
        rejected_id = next(
            pid for pid, p in past.proposals.items() if p["status"] == "rejected"
        )
        of_rejected = audit_trail(conn, proposal_id=rejected_id)

    audited = [
        n for n in notifications_after(runtime)
        if n.topic.removeprefix("buurtbudget/").split(".")[0] in AUDITED_TYPES
    ]
    assert [(e["position"], e["aggregate_id"], e["version"]) for e in everything] == [
        (n.id, str(n.originator_id), n.originator_version) for n in audited
    ]
    assert {e["aggregate_type"] for e in everything} == AUDITED_TYPES  # no Ballot rows

    assert [e["version"] for e in of_round] == list(range(1, past.version + 1))
    per_type: dict[str, int] = {}
    for entry in of_round:
        per_type[entry["event_type"]] = per_type.get(entry["event_type"], 0) + 1
    assert per_type == {
        "Opened": 1, "FundsDeposited": 1, "ProposalReceived": 5, "SubmissionsClosed": 1,
        "ProposalReviewed": 5, "VotingOpened": 1, "EligibilitySet": 1, "RegisterImported": 1,
        "VotingClosed": 1,
        "TallyRecorded": 1, "TallyConfirmed": 1, "PayoutRequested": winners,
        "PayoutApproved": winners, "PayoutPaid": winners, "UnspentReleased": winners, "Closed": 1,
    }
    by_type = {e["event_type"]: e for e in of_round}
    assert by_type["PayoutApproved"]["actor"] == SECOND_OFFICIAL
    assert by_type["PayoutPaid"]["payout_id"] is not None
    assert by_type["Closed"]["data"]["destination"] == "Algemene middelen stadsdeel Oost"

    # A proposal's trail has its own events and the round's events about it, all in one round.
    assert sorted((e["aggregate_type"], e["event_type"]) for e in of_rejected) == [
        ("BudgetRound", "ProposalReceived"), ("BudgetRound", "ProposalReviewed"),
        ("Proposal", "Rejected"), ("Proposal", "Submitted"),
    ]
    assert {e["round_id"] for e in of_rejected} == {str(demo.closed_round_id)}
    [rejection] = [e for e in of_rejected if e["event_type"] == "Rejected"]
    assert (rejection["reason"], rejection["actor"]) == (
        "Valt buiten de regels: lopende kosten.", OFFICIAL
    )


# -- rebuilding --------------------------------------------------------------------------------


def paper_batches_in(app: Any, round_id: UUID) -> None:
    """A confirmed and a discarded batch of paper ballots, which the demo has none of."""
    choice = {next(iter(app.get_round(round_id).ballot_costs)): 1}
    for serial, confirmed in (("P-1", True), ("P-2", False)):
        batch = app.enter_paper_ballots(
            round_id, [{"serial": serial, "choices": choice}], actor="official:anna")
        if confirmed:
            app.confirm_paper_ballots(round_id, batch, actor="official:bram")
        else:
            app.discard_paper_ballots(round_id, batch, reason="wrong box", actor="official:bram")


def test_rebuild_reproduces_identical_rows_in_every_table(
    runtime: Runtime, demo: DemoResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    paper_batches_in(runtime.application, demo.voting_round_id)
    runtime.projector.catch_up()
    caught_up = dump_read_models(runtime.engine)
    assert caught_up.pop("projection_failures") == []
    assert all(caught_up.values()), "every table should have rows, or the comparison proves little"
    caught_up["projection_failures"] = []

    assert runtime.projector.rebuild() == sum(
        handled_count(runtime, model) for model in runtime.projector.models
    )
    assert dump_read_models(runtime.engine) == caught_up

    runtime.projector.rebuild(names=["ballots", "audit_trail"])
    assert dump_read_models(runtime.engine) == caught_up

    # Batch boundaries must not show in the rows either.
    monkeypatch.setattr(projections.tracking, "REBUILD_BATCH_SIZE", 40)
    runtime.projector.rebuild()
    assert dump_read_models(runtime.engine) == caught_up


# -- exactly once ------------------------------------------------------------------------------


def test_a_read_model_stops_just_before_an_event_it_cannot_apply(
    runtime: Runtime, round_in: Callable[..., DrivenRound]
) -> None:
    app = runtime.application
    driven = round_in("review")
    runtime.projector.catch_up()
    position_before = runtime.projector.positions()["rounds"]

    for amount in (100_00, 200_00, 300_00):
        app.deposit(driven.round_id, amount=amount, source="Fonds", reference="", actor="official")
    app.admit_proposal(driven.proposals["mural"], amount=None, note="", actor="official")
    rounds_classes = set(model_named("rounds").handlers())
    handled = [
        n for n in notifications_after(runtime, position_before)
        if resolve_topic(n.topic) in rounds_classes
    ]
    third = handled[2]

    models = [FailsOnEvent(m, third.id) if m.name == "rounds" else m for m in read_models()]
    projector = Projector(runtime.engine, app.recorder, app.mapper, models)
    applied = projector.catch_up()

    # The other read models went on to the head; rounds stopped before the third deposit.
    head = runtime.projector.log_position()
    positions = runtime.projector.positions()
    assert positions.pop("rounds") == third.id - 1
    assert set(positions.values()) == {head}
    [failure] = runtime.projector.failures().values()
    assert (failure.name, failure.position, failure.topic, failure.error) == (
        "rounds", third.id, third.topic, "RuntimeError"
    )
    assert applied == 2 + sum(
        handled_count(runtime, m, position_before) for m in read_models() if m.name != "rounds"
    )
    with runtime.engine.connect() as conn:
        landed = conn.execute(
            sa.select(deposits.c.amount).where(deposits.c.round_id == str(driven.round_id))
        ).scalars().all()
    assert {100_00, 200_00} <= set(landed) and 300_00 not in landed

    # A stopped read model stays stopped (no retry on every read) until an operator retries it.
    assert projector.catch_up() == 0
    # What a read depends on (and a cached page is kept under) tells the two states apart,
    # although the log's head is the same.
    assert runtime.projector.caught_up_state() == (head, (("rounds", third.id),))
    assert runtime.projector.retry(["rounds"]) == len(handled) - 2
    assert runtime.projector.failures() == {}
    assert runtime.projector.caught_up_state() == (head, ())
    with runtime.engine.connect() as conn:
        row = conn.execute(sa.select(rounds).where(rounds.c.round_id == str(driven.round_id))).one()
    assert (row.deposited, row.version) == (
        app.get_round(driven.round_id).deposited, app.get_round(driven.round_id).version
    )
    caught_up = dump_read_models(runtime.engine)
    runtime.projector.rebuild()
    assert dump_read_models(runtime.engine) == caught_up


def test_a_row_the_database_refuses_stops_its_read_model_until_the_cause_is_gone(
    runtime: Runtime,
) -> None:
    app = runtime.application
    municipality_id = app.register_municipality(name="Utrecht", cbs_code="GM0344", actor="official")
    app.register_municipality(name="Zeist", cbs_code="GM0355", actor="official")
    # A stray row with the id the handler is about to insert: the database refuses the insert.
    stray = {
        "municipality_id": str(municipality_id), "name": "stray", "cbs_code": None,
        "registered_at": "2026-01-01T00:00:00",
    }
    with runtime.engine.begin() as conn:
        conn.execute(sa.insert(metadata.tables["rm_municipalities"]).values(**stray))
    places_tables = list(model_named("places").tables)
    before = dump_read_models(runtime.engine, places_tables)

    first = notifications_after(runtime)[0]
    runtime.projector.catch_up()
    assert dump_read_models(runtime.engine, places_tables) == before
    assert runtime.projector.positions()["places"] == 0
    assert runtime.projector.positions()["audit_trail"] == runtime.projector.log_position()
    failure = runtime.projector.failures()["places"]
    assert failure.position == first.id
    assert failure.error in ("IntegrityError", "UniqueViolation")  # as SQLAlchemy or psycopg names it

    with runtime.engine.begin() as conn:
        conn.execute(sa.delete(metadata.tables["rm_municipalities"]))
    assert runtime.projector.retry() == 2
    with runtime.reading() as conn:
        assert [m["name"] for m in list_municipalities(conn)] == ["Utrecht", "Zeist"]


def test_a_failure_not_pinned_to_one_event_is_raised_and_tried_again(
    runtime: Runtime, round_in: Callable[..., DrivenRound]
) -> None:
    app = runtime.application
    round_in("submission")
    failing = [FailsOnNthEvent(model, nth=1) if model.name == "proposals" else model
               for model in read_models()]
    runtime.projector = Projector(runtime.engine, app.recorder, app.mapper, failing)

    with pytest.raises(ProjectionError, match="read model 'proposals' could not catch up") as caught:
        with runtime.reading():
            pass
    assert caught.value.incident
    assert runtime.projector.failures() == {}
    lag = {entry.name: entry.behind for entry in runtime.projector.lag()}
    assert lag["proposals"] == runtime.projector.log_position()
    assert lag["places"] == lag["rounds"] == 0  # read models before it did catch up

    with runtime.reading():  # the handler works the second time: nothing was lost
        pass
    assert {entry.behind for entry in runtime.projector.lag()} == {0}


# -- several workers ---------------------------------------------------------------------------


def test_two_workers_catching_up_together_apply_each_event_once(
    runtime: Runtime, second_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = runtime.application
    app.register_municipality(name="Rotterdam", cbs_code="GM0599", actor="official")
    runtime.projector.catch_up()  # every read model has a tracked position
    position = runtime.projector.log_position()
    demo = run_demo(app)
    # Small batches give the two workers many transactions in which to collide.
    monkeypatch.setattr(projections.tracking, "BATCH_SIZE", 25)
    workers = (runtime.projector, second_runtime.projector)
    assert workers[0].engine is not workers[1].engine

    expected = sum(handled_count(runtime, model, position) for model in runtime.projector.models)
    outcomes = race(*(worker.catch_up for worker in workers))
    assert [o.error for o in outcomes] == [None, None]
    assert sum(o.value for o in outcomes) == expected

    position = runtime.projector.log_position()
    on_the_ballot = list(app.get_round(demo.voting_round_id).ballot_costs)
    for code in demo.unused_codes:  # written by the other worker this time
        second_runtime.application.cast_ballot(
            demo.voting_round_id, code=code, choices={pid: 1 for pid in on_the_ballot[:2]}
        )
    expected = sum(handled_count(runtime, model, position) for model in runtime.projector.models)
    outcomes = race(*(worker.catch_up for worker in workers))
    assert [o.error for o in outcomes] == [None, None]
    assert sum(o.value for o in outcomes) == expected

    caught_up = dump_read_models(runtime.engine)
    monkeypatch.undo()  # the single-projector rebuild uses the usual batch size
    runtime.projector.rebuild()
    assert dump_read_models(runtime.engine) == caught_up


def test_two_workers_finding_no_tracking_rows_both_catch_up(
    runtime: Runtime, second_runtime: Runtime, demo: DemoResult, backend: str,
) -> None:
    # A database whose tracking rows are missing (created before they were made up front, or
    # emptied by hand): each worker must create the row it needs without tripping the other.
    with runtime.engine.begin() as conn:
        conn.execute(sa.delete(tracking))
    if backend == "postgresql":
        # (On SQLite the first worker holds the write lock from BEGIN IMMEDIATE, so the other
        # cannot reach its INSERT at the same time: there is nothing to line up.)
        line_up_first_tracking_inserts(runtime, second_runtime)
    assert runtime.projector.positions() == {}

    expected = sum(handled_count(runtime, model) for model in runtime.projector.models)
    outcomes = race(runtime.projector.catch_up, second_runtime.projector.catch_up)
    assert [o.error for o in outcomes] == [None, None]
    assert sum(o.value for o in outcomes) == expected
    caught_up = dump_read_models(runtime.engine)
    runtime.projector.rebuild()
    assert dump_read_models(runtime.engine) == caught_up


def line_up_first_tracking_inserts(*workers: Runtime) -> None:
    """Hold each worker's first tracking-row INSERT until the other one reaches its own.

    That is the moment two freshly started PostgreSQL workers meet; lining them up makes the race
    happen every time instead of most times.
    """
    barrier = threading.Barrier(len(workers))
    waited: set[int] = set()

    def wait_for_the_other(conn, cursor, statement, *_args):  # type: ignore[no-untyped-def]
        first = threading.get_ident() not in waited
        if first and statement.lstrip().upper().startswith("INSERT INTO PROJECTION_TRACKING"):
            waited.add(threading.get_ident())
            try:
                barrier.wait(timeout=1)
            except threading.BrokenBarrierError:
                pass  # the other worker no longer inserts (it failed, or found the row)

    for worker in workers:
        sa.event.listen(worker.engine, "before_cursor_execute", wait_for_the_other)


# -- lag ---------------------------------------------------------------------------------------


def test_lag_reports_how_far_each_read_model_is_behind(
    runtime: Runtime, round_in: Callable[..., DrivenRound]
) -> None:
    names = [model.name for model in runtime.projector.models]
    driven = round_in("submission")
    head = runtime.projector.log_position()
    assert head == len(notifications_after(runtime)) > 3
    assert [(e.name, e.position, e.behind) for e in runtime.projector.lag()] == [
        (name, 0, head) for name in names
    ]

    runtime.projector.catch_up(until=3)
    assert [(e.name, e.position, e.behind) for e in runtime.projector.lag()] == [
        (name, 3, head - 3) for name in names
    ]

    runtime.projector.catch_up()
    assert [e.behind for e in runtime.projector.lag()] == [0] * len(names)

    app = runtime.application
    app.deposit(driven.round_id, amount=1_00, source="Fonds", reference="", actor="official")
    app.close_submissions(driven.round_id, actor="official")
    assert [(e.position, e.behind) for e in runtime.projector.lag()] == [(head, 2)] * len(names)
    with runtime.reading():
        pass
    assert [e.behind for e in runtime.projector.lag()] == [0] * len(names)

