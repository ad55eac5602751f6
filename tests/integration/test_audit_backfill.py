"""Leaves for a store whose events were written before the tamper-evident log existed.

Such a store is made here as it was: the application's event store without the leaf writer and
without the audit tables. Then `buurtbudget init` (as an upgrade runs it), `buurtbudget audit
backfill`, or simply the service's next write give it a tree over every event in log order, with a
checkpoint, once; with writers racing the backfill, every event still has exactly one leaf.
"""
from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from service.application import BuurtbudgetApplication
from service.audit_export import export_lines
from service.audit_verify import verify_export
from service.checkpoints import list_checkpoints, signer_of
from service.cli import cli
from service.config import secret_key_of, storage_of
from service.event_store import EventStore
from service.merkle_store import leaves
from service.personal_data_keys import PersonalDataKeys, key_metadata
from service.runtime import Runtime
from tests.conftest import cli_environment
from tests.integration.conftest import OFFICIAL, DrivenRound, drive_round


def store_from_before_the_log(settings: dict[str, Any]) -> DrivenRound:
    """A round carried to execution by an event store that writes no leaves."""
    storage = storage_of(settings)
    store = EventStore(storage)
    secret_key = secret_key_of(settings, create=True)
    engine = storage.create_engine()
    key_metadata.create_all(engine)
    app = BuurtbudgetApplication(event_store=store, secret_key=secret_key, create_tables=True,
                                 personal_data=PersonalDataKeys(engine, secret_key))
    try:
        driven = drive_round(app, "execution")
    finally:
        app.close()
        store.close()
        engine.dispose()
    return driven


def leaves_and_events(rt: Runtime) -> tuple[list[tuple[int, int]], list[int]]:
    with rt.engine.connect() as conn:
        rows = conn.execute(
            sa.select(leaves.c.position, leaves.c.notification_id).order_by(leaves.c.position)
        ).all()
    events = rt.application.recorder.select_notifications(start=1, limit=100_000)
    return [tuple(r) for r in rows], [n.id for n in events]


def assert_whole_tree(rt: Runtime) -> None:
    rows, event_ids = leaves_and_events(rt)
    assert rows == list(enumerate(event_ids))
    report = verify_export(export_lines(rt, seal_open_ballots=False),
                           public_key=rt.checkpoint_signer.verifier_key)
    assert report.ok, report.text()
    assert report.tree_size == len(event_ids)
    assert report.checkpoints_verified == report.checkpoints >= 1


def test_init_writes_the_leaves_of_an_older_store_once(settings):
    driven = store_from_before_the_log(settings)
    env = cli_environment(settings)
    runner = CliRunner()
    first = runner.invoke(cli, ["init"], env=env)
    assert first.exit_code == 0, first.output
    rt = Runtime(settings)
    try:
        _rows, event_ids = leaves_and_events(rt)
        assert f"wrote the leaves of {len(event_ids)} events stored before it" in first.output
        assert_whole_tree(rt)
        with rt.engine.connect() as conn:
            (checkpoint,) = list_checkpoints(conn)
        assert checkpoint["tree_size"] == len(event_ids)
        assert checkpoint["reason"] == f"leaves written for {len(event_ids)} events stored before the log"

        again = runner.invoke(cli, ["audit", "backfill"], env=env)
        assert again.exit_code == 0, again.output
        assert f"nothing to backfill: the tree has {len(event_ids)} leaves" in again.output
        assert runner.invoke(cli, ["init"], env=env).exit_code == 0
        with rt.engine.connect() as conn:
            assert len(list_checkpoints(conn)) == 1

        # The service goes on writing after the backfilled leaves.
        driven.app = rt.application
        driven.pay("playground", 500_00)
        assert_whole_tree(rt)
    finally:
        rt.close()


def test_audit_backfill_on_a_store_without_the_audit_tables(settings):
    store_from_before_the_log(settings)
    signer_of(settings, create=True)  # the signing key exists; the audit tables do not
    done = CliRunner().invoke(cli, ["audit", "backfill"], env=cli_environment(settings))
    assert done.exit_code == 0, done.output
    assert "wrote the leaves of" in done.output
    rt = Runtime(settings)
    try:
        assert_whole_tree(rt)
    finally:
        rt.close()


def test_the_first_write_backfills_when_nobody_ran_it(settings):
    driven = store_from_before_the_log(settings)
    rt = Runtime(settings, create_tables=True)  # tables, but no backfill
    rt.leaf_writer.backfill_page = 4
    try:
        assert leaves_and_events(rt)[0] == []
        rt.application.deposit(driven.round_id, amount=100_00, source="Gemeente", reference="",
                               actor=OFFICIAL)
        assert_whole_tree(rt)
        with rt.engine.connect() as conn:
            reasons = [c["reason"] for c in list_checkpoints(conn)]
        assert len(reasons) == 1 and reasons[0].startswith("leaves written for ")
    finally:
        rt.close()


def test_writers_racing_the_backfill_leave_every_event_with_one_leaf(settings):
    driven = store_from_before_the_log(settings)
    rt = Runtime(settings, create_tables=True)
    rt.leaf_writer.backfill_page = 3  # many pages: the log is read and hashed a page at a time
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def deposits(number: int) -> None:
        try:
            start.wait()
            for i in range(5):
                rt.application.deposit(driven.round_id, amount=1_00, source=f"s{number}-{i}",
                                       reference="", actor=OFFICIAL)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)

    def backfill() -> None:
        try:
            start.wait()
            rt.backfill_audit_log()
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)

    try:
        threads = [threading.Thread(target=deposits, args=(n,)) for n in range(3)]
        threads.append(threading.Thread(target=backfill))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        assert_whole_tree(rt)
        assert rt.backfill_audit_log() == 0
    finally:
        rt.close()
