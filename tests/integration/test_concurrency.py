"""Races between workers on one database, decided by the event store's optimistic concurrency.

Each racer is a separate application instance (its own connections, as a second gunicorn worker
would have); a barrier releases them together, and each race is repeated to make it bite.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.ballot import Ballot, voter_receipt
from domain.errors import Conflict, RuleViolation
from projections.ballots import turnout
from projections.payouts import list_payouts
from projections.proposals import get_proposal
from projections.rounds import get_round, list_deposits
from service.application import BuurtbudgetApplication
from service.runtime import Runtime
from tests.integration.conftest import (
    DEPOSIT,
    OFFICIAL,
    PROPOSALS,
    SECOND_OFFICIAL,
    THIRD_OFFICIAL,
    DrivenRound,
    race,
)

RACES = 5


def stored_events(app: BuurtbudgetApplication, aggregate_id: UUID) -> list[Any]:
    return list(app.repository.event_store.get(aggregate_id))


def counting_conflicts(app: BuurtbudgetApplication, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the stale writes the application's save runs into (each one is then retried)."""
    conflicts: list[int] = []
    save = app.save

    def counted_save(*aggregates: Any, **kwargs: Any) -> Any:
        try:
            return save(*aggregates, **kwargs)
        except IntegrityError:
            conflicts.append(1)
            raise

    monkeypatch.setattr(app, "save", counted_save)
    return conflicts


# -- one voting code, two workers --------------------------------------------------------------


def test_two_workers_casting_with_one_code_write_one_ballot(
    runtime: Runtime, second_runtime: Runtime, round_in: Callable[..., DrivenRound],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    driven = round_in("voting", codes=RACES)
    rid = driven.round_id
    apps = (runtime.application, second_runtime.application)
    conflicts = [counting_conflicts(app, monkeypatch) for app in apps]
    submitted = (driven.choices("playground"), driven.choices("benches", "mural"))

    final: dict[UUID, tuple[int, dict[str, int]]] = {}
    for code in driven.codes[:RACES]:
        outcomes = race(*(
            partial(app.cast_ballot, rid, code=code, choices=choices)
            for app, choices in zip(apps, submitted)
        ))
        errors = [o.error for o in outcomes if o.error is not None]
        assert all(isinstance(error, Conflict) for error in errors), errors
        cast = [(o.value, choices) for o, choices in zip(outcomes, submitted) if o.error is None]
        assert cast

        ballot_id = apps[0].ballot_id_of_code(rid, code)
        events = stored_events(apps[0], ballot_id)
        # Versions are contiguous, the first is the issue, and every successful cast is one version.
        assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
        kinds = [Ballot.Issued] + [Ballot.Cast] * len(cast)  # type: ignore[attr-defined]
        assert [type(e) for e in events] == kinds
        assert sorted(value["ballot_version"] for value, _ in cast) == list(range(1, len(cast) + 1))
        for value, choices in cast:
            version = value["ballot_version"] + 1
            assert events[version - 1].choices == choices
            assert events[version - 1].nonce == value["nonce"]
            assert value["receipt"] == voter_receipt(rid, choices, value["nonce"])
        last_choices = max(cast, key=lambda item: item[0]["ballot_version"])[1]
        assert last_choices in submitted
        assert apps[1].repository.get(ballot_id).choices == last_choices
        final[ballot_id] = (len(events), last_choices)

    # Exactly one ballot aggregate per code: the round holds the issued ballots and no others.
    issued = [
        n.originator_id for n in apps[0].recorder.select_notifications(
            start=1, limit=10_000, topics=[get_topic(Ballot.Issued)]  # type: ignore[attr-defined]
        )
    ]
    assert len(issued) == len(set(issued)) == len(driven.codes)
    assert set(final) <= set(issued)
    assert {ballot_id: (counted.version, counted.choices)
            for ballot_id, counted in apps[0].final_ballots(rid).items()} == final

    apps[0].close_voting(rid, actor=OFFICIAL)
    tally = apps[1].run_tally(rid, actor=OFFICIAL)
    assert tally["ballots_counted"] == RACES
    points = Counter(pid for _version, choices in final.values() for pid in choices)
    assert tally["scores"] == {pid: points.get(pid, 0) for pid in tally["scores"]}
    with runtime.reading() as conn:
        assert turnout(conn, str(rid)) == RACES
    assert sum(map(len, conflicts)) > 0, "the racers never collided: the test proved nothing"


def test_ballots_cast_together_in_one_worker_share_transactions_and_all_count(
    runtime: Runtime, round_in: Callable[..., DrivenRound], monkeypatch: pytest.MonkeyPatch,
) -> None:
    driven = round_in("voting", codes=12)
    rid = driven.round_id
    app = runtime.application
    # Each save takes a while (as an fsync on a slow disk does), so ballots pile up behind it.
    transactions: list[int] = []
    save = app.save

    def slow_save(*aggregates: Any, **kwargs: Any) -> Any:
        time.sleep(0.02)
        transactions.append(sum(isinstance(a, Ballot) for a in aggregates))
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(app, "save", slow_save)
    # Twelve voters, and the first two codes each cast twice at the same moment.
    casts = [(code, driven.choices("playground" if i % 2 else "mural"))
             for i, code in enumerate(driven.codes)]
    casts += [(driven.codes[0], driven.choices("benches")), (driven.codes[1], driven.choices("benches"))]
    outcomes = race(*(partial(app.cast_ballot, rid, code=code, choices=choices)
                      for code, choices in casts))
    monkeypatch.undo()

    assert [o.error for o in outcomes if o.error is not None] == []
    assert max(transactions) > 1, "no two ballots shared a transaction: the test proved nothing"
    assert sum(transactions) >= len(casts)
    for code in driven.codes:
        ballot_id = app.ballot_id_of_code(rid, code)
        events = stored_events(app, ballot_id)
        cast_here = [(o.value, c) for o, (k, c) in zip(outcomes, casts) if k == code]
        assert [e.originator_version for e in events] == list(range(1, len(cast_here) + 2))
        for value, choices in cast_here:
            version = value["ballot_version"] + 1
            assert events[version - 1].choices == choices
            assert value["receipt"] == voter_receipt(rid, choices, value["nonce"])

    app.close_voting(rid, actor=OFFICIAL)
    assert app.run_tally(rid, actor=OFFICIAL)["ballots_counted"] == len(driven.codes)


def test_a_stale_copy_of_a_ballot_cannot_be_saved(
    runtime: Runtime, second_runtime: Runtime, round_in: Callable[..., DrivenRound]
) -> None:
    driven = round_in("voting")
    rid = driven.round_id
    mine, theirs = runtime.application, second_runtime.application
    ballot_id = mine.ballot_id_of_code(rid, driven.codes[0])

    my_copy = mine.repository.get(ballot_id)
    their_copy = theirs.repository.get(ballot_id)
    my_copy.cast(budget_round=mine.get_round(rid), choices=driven.choices("playground"),
                 nonce="mine")
    their_copy.cast(budget_round=theirs.get_round(rid), choices=driven.choices("mural"),
                    nonce="theirs")
    mine.save(my_copy)
    with pytest.raises(IntegrityError):
        theirs.save(their_copy)

    events = stored_events(theirs, ballot_id)
    assert [e.originator_version for e in events] == [1, 2]
    assert theirs.repository.get(ballot_id).choices == driven.choices("playground")


def test_a_worker_that_keeps_losing_gets_a_conflict(
    runtime: Runtime, round_in: Callable[..., DrivenRound], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = runtime.application
    driven = round_in("voting")
    rid, code = driven.round_id, driven.codes[0]
    app.cast_ballot(rid, code=code, choices=driven.choices("playground"))
    ballot_id = app.ballot_id_of_code(rid, code)

    # Every load of the ballot returns a copy from before the first cast, as if another worker
    # wrote a new version between each of this worker's loads and saves.
    stale_loads = []

    def loading_stale(repository: Any) -> Callable[..., Any]:
        load = repository.get

        def load_stale(aggregate_id: UUID, *args: Any, **kwargs: Any) -> Any:
            if aggregate_id == ballot_id:
                stale_loads.append(1)
                return load(aggregate_id, version=1)
            return load(aggregate_id, *args, **kwargs)

        return load_stale

    for repository in (app.repository, app.ballot_box.uncached):  # cached or not
        monkeypatch.setattr(repository, "get", loading_stale(repository))
    monkeypatch.setattr(app.retry, "deadline_seconds", 0.1)
    with pytest.raises(Conflict, match="someone else changed this") as caught:
        app.cast_ballot(rid, code=code, choices=driven.choices("mural"))
    assert isinstance(caught.value.__context__, IntegrityError)
    assert len(stale_loads) > 1, "the worker gave up without retrying"
    monkeypatch.undo()

    assert [e.originator_version for e in stored_events(app, ballot_id)] == [1, 2]
    assert app.repository.get(ballot_id).choices == driven.choices("playground")


def test_a_ballot_racing_the_close_of_voting_is_refused_or_counted(
    runtime: Runtime, second_runtime: Runtime, round_in: Callable[..., DrivenRound],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    driven = round_in("voting")
    rid = driven.round_id
    voter, official = runtime.application, second_runtime.application
    voter.cast_ballot(rid, code=driven.codes[0], choices=driven.choices("playground"))

    # The other worker closes voting and counts between this worker's checks and its save.
    tally: dict[str, Any] = {}
    save = voter.save

    def save_after_the_close(*aggregates: Any, **kwargs: Any) -> Any:
        if not tally and any(isinstance(a, Ballot) for a in aggregates):
            official.close_voting(rid, actor=OFFICIAL)
            tally.update(official.run_tally(rid, actor=OFFICIAL))
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(voter, "save", save_after_the_close)
    try:
        voter.cast_ballot(rid, code=driven.codes[1], choices=driven.choices("mural"))
    except Conflict:
        pass  # refused because voting closed first: fine
    monkeypatch.undo()

    verification = official.verify_tally(rid, tally["tally_id"])
    assert verification["matches"], verification["differences"]


# -- the last euro of a reservation ------------------------------------------------------------


def test_two_payouts_racing_for_the_last_euro_only_one_is_granted(
    runtime: Runtime, second_runtime: Runtime, round_in: Callable[..., DrivenRound]
) -> None:
    driven = round_in("execution")
    rid, pid = driven.round_id, driven.pid("playground")
    apps = (runtime.application, second_runtime.application)
    reserved = PROPOSALS["playground"]
    driven.pay("playground", reserved - 1_00)  # everything but the last euro is paid out

    refusals: Counter[str] = Counter()
    for attempt in range(RACES):
        outcomes = race(*(
            partial(app.request_payout, rid, actor=OFFICIAL, **driven.payout_fields(
                "playground", 1_00, reference=f"race {attempt} worker {worker}"
            ))
            for worker, app in enumerate(apps)
        ))
        granted = [o.value for o in outcomes if o.error is None]
        refused = [o.error for o in outcomes if o.error is not None]
        assert len(granted) == len(refused) == 1, outcomes
        assert isinstance(refused[0], (RuleViolation, Conflict)), refused
        refusals[type(refused[0]).__name__] += 1

        budget_round = apps[attempt % 2].get_round(rid)
        committed = budget_round.pending(pid) + budget_round.paid(pid)
        assert committed == budget_round.reserved[pid] == reserved
        assert budget_round.payouts[granted[0]]["status"] == "requested"
        if attempt < RACES - 1:  # hand the euro back for the next race
            apps[0].reject_payout(rid, granted[0], reason="raced on purpose", actor=SECOND_OFFICIAL)
    driven.app.approve_payout(rid, granted[0], actor=SECOND_OFFICIAL)
    driven.app.mark_payout_paid(rid, granted[0], bank_reference="BANK-LAST", actor=THIRD_OFFICIAL)

    budget_round = runtime.application.get_round(rid)
    assert (budget_round.paid(pid), budget_round.pending(pid)) == (reserved, 0)
    # With two racers the loser loses the write at most once, so its retry always runs on the
    # state the winner wrote and is refused by the rule, never by running out of retries.
    assert refusals == {"RuleViolation": RACES}
    with second_runtime.reading() as conn:
        proposal = get_proposal(conn, pid)
        payouts = list_payouts(conn, round_id=str(rid), proposal_id=pid)
    assert (proposal["paid_amount"], proposal["pending_amount"]) == (reserved, 0)
    assert proposal["paid_amount"] + proposal["pending_amount"] <= proposal["funded_amount"]
    assert Counter(p["status"] for p in payouts) == {"paid": 2, "rejected": RACES - 1}


# -- independent commands on one round ---------------------------------------------------------
# Each command below changes the same round aggregate, so concurrent ones collide on its version;
# being independent, every one of them must land (after retries), on every backend.

CONCURRENT_DEPOSITS = 50
CONCURRENT_PAYOUTS = 20


def from_two_workers(runtimes: tuple[Runtime, Runtime], n: int) -> BuurtbudgetApplication:
    return runtimes[n % 2].application


def refusals(outcomes: list[Any]) -> list[BaseException]:
    return [o.error for o in outcomes if o.error is not None]


def approve_then_pay_concurrently(
    workers: tuple[Runtime, Runtime], rid: UUID, payout_ids: list[str]
) -> tuple[list[Any], list[Any]]:
    """All payouts approved at once by a second official, then all paid at once by a third."""
    approvals = race(*(
        partial(from_two_workers(workers, n).approve_payout, rid, payout_id,
                actor=SECOND_OFFICIAL)
        for n, payout_id in enumerate(payout_ids)
    ))
    payments = race(*(
        partial(from_two_workers(workers, n).mark_payout_paid, rid, payout_id,
                bank_reference=f"BANK-{n}", actor=THIRD_OFFICIAL)
        for n, payout_id in enumerate(payout_ids)
    ))
    return approvals, payments


def test_fifty_concurrent_deposits_into_one_round_all_land(
    runtime: Runtime, second_runtime: Runtime, round_in: Callable[..., DrivenRound]
) -> None:
    driven = round_in("submission")
    rid = driven.round_id
    workers = (runtime, second_runtime)
    amounts = [1 + n for n in range(CONCURRENT_DEPOSITS)]  # cents, each a different amount

    outcomes = race(*(
        partial(from_two_workers(workers, n).deposit, rid, amount=amount, source="Oranje Fonds",
                reference=f"OF-{n}", actor=OFFICIAL)
        for n, amount in enumerate(amounts)
    ))

    assert refusals(outcomes) == []
    deposited = [(o.value, amount) for o, amount in zip(outcomes, amounts)]
    total = DEPOSIT + sum(amounts)
    assert runtime.application.get_round(rid).deposited == total
    versions = [e.originator_version for e in stored_events(runtime.application, rid)]
    assert versions == list(range(1, len(versions) + 1))
    with second_runtime.reading() as conn:
        assert get_round(conn, str(rid))["deposited"] == total
        rows = list_deposits(conn, str(rid))
    assert {(d["deposit_id"], d["amount"]) for d in rows if d["source"] == "Oranje Fonds"} == set(
        deposited
    )


def test_twenty_payouts_approved_and_paid_concurrently_all_succeed(
    runtime: Runtime, second_runtime: Runtime, round_in: Callable[..., DrivenRound]
) -> None:
    driven = round_in("execution")
    rid, pid = driven.round_id, driven.pid("playground")
    workers = (runtime, second_runtime)
    payout_ids = [
        runtime.application.request_payout(rid, actor=OFFICIAL, **driven.payout_fields(
            "playground", 1_00, reference=f"FACT-{n}"
        ))
        for n in range(CONCURRENT_PAYOUTS)
    ]

    approvals, payments = approve_then_pay_concurrently(workers, rid, payout_ids)
    assert refusals(approvals) == []
    assert refusals(payments) == []

    budget_round = runtime.application.get_round(rid)
    assert {budget_round.payouts[p]["status"] for p in payout_ids} == {"paid"}
    assert (budget_round.paid(pid), budget_round.pending(pid)) == (CONCURRENT_PAYOUTS * 1_00, 0)
    with second_runtime.reading() as conn:
        payouts = list_payouts(conn, round_id=str(rid), proposal_id=pid)
    assert Counter(p["status"] for p in payouts) == {"paid": CONCURRENT_PAYOUTS}


def test_twenty_payouts_racing_for_one_reservation_never_overspend_it(
    runtime: Runtime, second_runtime: Runtime, round_in: Callable[..., DrivenRound]
) -> None:
    driven = round_in("execution")
    rid, pid = driven.round_id, driven.pid("playground")
    workers = (runtime, second_runtime)
    reserved = PROPOSALS["playground"]
    share = reserved // (CONCURRENT_PAYOUTS // 2)  # only half of the requests fit

    requests = race(*(
        partial(from_two_workers(workers, n).request_payout, rid, actor=OFFICIAL,
                **driven.payout_fields("playground", share, reference=f"FACT-{n}"))
        for n in range(CONCURRENT_PAYOUTS)
    ))
    granted = [o.value for o in requests if o.error is None]
    # Every refusal is the rule's, on the state the winners wrote, never a lost race.
    assert all(isinstance(error, RuleViolation) for error in refusals(requests)), refusals(requests)
    assert len(granted) == CONCURRENT_PAYOUTS // 2

    approvals, payments = approve_then_pay_concurrently(workers, rid, granted)
    assert refusals(approvals) == refusals(payments) == []
    budget_round = runtime.application.get_round(rid)
    assert (budget_round.paid(pid), budget_round.pending(pid)) == (reserved, 0)
    assert budget_round.available >= 0
    with second_runtime.reading() as conn:
        proposal = get_proposal(conn, pid)
    assert proposal["paid_amount"] == proposal["funded_amount"] == reserved
