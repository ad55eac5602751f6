"""The tamper matrix: each way of changing the stored history is detected, on both backends.

A round is carried from deposit to payment, a checkpoint is signed, then the database is changed
behind the service's back as someone with write access to it (but not the signing key) would:
a deposit tripled, a payment lowered, a payout request raised with another IBAN, an event's
version or topic changed, a deletion, an insertion, two events swapped, the tail cut off, a ballot
rewritten together with the tally, a ballot deleted and the tally rewritten to match (with and
without re-hashing the leaves), and events edited with their leaves and subtrees re-hashed.
`audit verify` of an export and `audit verify --database` must each report it, with its kind.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from eventsourcing.persistence import StoredEvent

from domain.ballot import receipt_for
from domain.errors import DamagedHistory
from domain.merkle_log import MerkleTree
from domain.round_result import ballot_digest
from service.audit_export import export_lines
from service.audit_verify import Report, event_mapper, verify_export
from service.checkpoints import record_checkpoint
from service.cli import cli
from service.merkle_store import leaves, nodes, stored_event_leaf
from service.runtime import Runtime
from tests.integration.conftest import drive_round


@pytest.fixture
def paid_round(runtime):
    driven = drive_round(runtime.application, "execution")
    driven.pay("playground", 1_000_00)
    record_checkpoint(runtime.engine, runtime.checkpoint_signer, "before tampering")
    return runtime


class StoredEvents:
    """The event table as an intruder sees it: rows by notification id, bodies as JSON."""

    def __init__(self, runtime):
        self.runtime = runtime
        postgres = runtime.storage.kind == "postgresql"
        self.table = "buurtbudget_events" if postgres else "stored_events"
        self.id = "notification_id" if postgres else "rowid"

    def rows(self, topic_suffix: str = "") -> list[Any]:
        with self.runtime.engine.connect() as conn:
            return conn.execute(sa.text(
                f"SELECT {self.id} AS id, originator_id, originator_version, topic, state "
                f"FROM {self.table} WHERE topic LIKE :topic ORDER BY {self.id}"
            ), {"topic": f"%{topic_suffix}"}).all()

    def update(self, row_id: int, **values: Any) -> None:
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        with self.runtime.engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {self.table} SET {assignments} WHERE {self.id} = :id"),
                         {**values, "id": row_id})

    def edit_state(self, row: Any, change: Callable[[dict[str, Any]], None]) -> None:
        state = json.loads(bytes(row.state))
        change(state)
        self.update(row.id, state=json.dumps(state).encode())

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every row the tampering may touch: events (with their ids), leaves and subtrees."""
        with self.runtime.engine.connect() as conn:
            return {
                "events": [dict(r._mapping) for r in conn.execute(sa.text(
                    f"SELECT {self.id} AS id, originator_id, originator_version, topic, state "
                    f"FROM {self.table}"))],
                "leaves": [dict(r._mapping) for r in conn.execute(sa.select(leaves))],
                "nodes": [dict(r._mapping) for r in conn.execute(sa.select(nodes))],
            }

    def restore(self, snapshot: dict[str, list[dict[str, Any]]]) -> None:
        with self.runtime.engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {self.table}"))
            conn.execute(sa.text(
                f"INSERT INTO {self.table} ({self.id}, originator_id, originator_version, topic, "
                "state) VALUES (:id, :originator_id, :originator_version, :topic, :state)"
            ), snapshot["events"])
            for table in (leaves, nodes):
                conn.execute(table.delete())
                conn.execute(table.insert(), snapshot[table.name.removeprefix("audit_")])

    def delete(self, row_id: int) -> None:
        with self.runtime.engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {self.table} WHERE {self.id} = :id"), {"id": row_id})


def rehash_leaves_and_nodes(runtime) -> None:
    """What an intruder without the key can do: make leaves and subtrees fit the edited events."""
    events = runtime.application.recorder.select_notifications(start=1, limit=100_000)
    tree = MerkleTree(
        stored_event_leaf(n.topic, n.originator_id, n.originator_version, n.state) for n in events
    )
    with runtime.engine.begin() as conn:
        conn.execute(leaves.delete())
        conn.execute(nodes.delete())
        conn.execute(leaves.insert(), [
            {"position": i, "notification_id": n.id, "leaf_hash": tree.levels[0][i]}
            for i, n in enumerate(events)
        ])
        conn.execute(nodes.insert(), [
            {"level": level, "node_index": index, "hash": hashed}
            for level in range(1, len(tree.levels)) for index, hashed in enumerate(tree.levels[level])
        ])


def triple_a_deposit(store: StoredEvents) -> None:
    store.edit_state(store.rows("FundsDeposited")[0], lambda s: s.update(amount=s["amount"] * 3))


def lower_a_payment(store: StoredEvents) -> None:
    row = store.rows("PayoutPaid")[0]
    store.edit_state(row, lambda s: s.update(amount=s["amount"] // 2))


def raise_a_payout_request_and_change_its_iban(store: StoredEvents) -> None:
    row = store.rows("PayoutRequested")[0]
    store.edit_state(row, lambda s: s.update(amount=s["amount"] * 2, iban="NL02ABNA0123456789"))


def change_an_events_version(store: StoredEvents) -> None:
    row = store.rows("FundsDeposited")[0]
    store.update(row.id, originator_version=row.originator_version + 1000)


def change_an_events_topic(store: StoredEvents) -> None:
    row = store.rows("FundsDeposited")[0]
    store.update(row.id, topic=row.topic.replace("FundsDeposited", "FundsReturned"))


def delete_a_middle_event(store: StoredEvents) -> None:
    store.delete(store.rows("ProposalReceived")[1].id)


def insert_an_event(store: StoredEvents) -> None:
    deposit = store.rows("FundsDeposited")[0]
    last = max(r.originator_version for r in store.rows() if r.originator_id == deposit.originator_id)
    state = json.loads(bytes(deposit.state))
    state["deposit_id"] = "slipped-in"
    with store.runtime.engine.begin() as conn:
        conn.execute(sa.text(
            f"INSERT INTO {store.table} (originator_id, originator_version, topic, state) "
            "VALUES (:o, :v, :t, :s)"
        ), {"o": deposit.originator_id, "v": last + 1, "t": deposit.topic,
            "s": json.dumps(state).encode()})


def swap_two_events(store: StoredEvents) -> None:
    first, second = store.rows("ProposalReceived")[:2]
    store.update(first.id, state=bytes(second.state))
    store.update(second.id, state=bytes(first.state))


def truncate_the_tail(store: StoredEvents) -> None:
    rows = store.rows()
    cut = rows[-5].id
    with store.runtime.engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {store.table} WHERE {store.id} >= :cut"), {"cut": cut})
        conn.execute(leaves.delete().where(leaves.c.notification_id >= cut))
        kept = conn.execute(sa.select(sa.func.count()).select_from(leaves)).scalar()
        conn.execute(nodes.delete().where(
            (nodes.c.node_index + 1) * sa.func.power(2, nodes.c.level) > kept
        ))


def rewrite_a_ballot_and_the_tally(store: StoredEvents) -> None:
    casts = store.rows("Ballot.Cast")
    first, second = casts[0], casts[-1]
    first_state, second_state = json.loads(bytes(first.state)), json.loads(bytes(second.state))
    first_state["choices"], second_state["choices"] = second_state["choices"], first_state["choices"]
    store.update(first.id, state=json.dumps(first_state).encode())
    store.update(second.id, state=json.dumps(second_state).encode())
    # The recorded tally is made to fit the rewritten ballots, so a recount agrees with it.
    mapper = event_mapper()
    receipts = []
    for row in store.rows("Ballot.Cast"):
        state = json.loads(bytes(row.state))
        ballot = mapper.to_domain_event(_stored(row)).originator_id
        receipts.append(receipt_for(ballot, row.originator_version, state["choices"]))
    tally = store.rows("TallyRecorded")[0]
    store.edit_state(tally, lambda s: s["result"].update(ballot_digest=ballot_digest(receipts)))


def delete_a_ballot_and_rewrite_the_tally(store: StoredEvents) -> None:
    """One voter's ballot is gone, and the recorded tally says what the remaining ones count to.

    The ballot taken is the only one choosing its proposal if there is one, so that in the
    standard round the winners (and with them the reservations and payments that followed) stay
    as they were: only the count changes.
    """
    casts = store.rows("Ballot.Cast")
    chosen = Counter(p for row in casts for p in json.loads(bytes(row.state))["choices"])
    alone = [p for p, times in chosen.items() if times == 1]
    ballot = next((row for row in casts if alone and alone[0] in json.loads(bytes(row.state))[
        "choices"]), casts[0])
    store.delete(ballot.id)
    recount = verified(store.runtime, database=True).tallies[0]["recounted"]
    store.edit_state(store.rows("TallyRecorded")[0], lambda s: s["result"].update(recount))


def delete_a_ballot_rewrite_the_tally_and_rehash(store: StoredEvents) -> None:
    delete_a_ballot_and_rewrite_the_tally(store)
    rehash_leaves_and_nodes(store.runtime)


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(UUID(str(row.originator_id)), row.originator_version, row.topic,
                       bytes(row.state))


def edit_events_and_leaves_together(store: StoredEvents) -> None:
    triple_a_deposit(store)
    rehash_leaves_and_nodes(store.runtime)


TAMPERING = {
    "edited": triple_a_deposit,
    "edited payment": lower_a_payment,
    "edited payout request": raise_a_payout_request_and_change_its_iban,
    "edited version": change_an_events_version,
    "edited topic": change_an_events_topic,
    "deleted": delete_a_middle_event,
    "inserted": insert_an_event,
    "reordered": swap_two_events,
    "truncated": truncate_the_tail,
    "ballot and tally": rewrite_a_ballot_and_the_tally,
    "ballot deleted, tally to match": delete_a_ballot_and_rewrite_the_tally,
    "ballot deleted, tally to match, leaves re-hashed": delete_a_ballot_rewrite_the_tally_and_rehash,
    "events and leaves": edit_events_and_leaves_together,
}
EXPECTED_KIND = {
    "edited": "edited", "edited payment": "edited", "edited payout request": "edited",
    "edited version": "edited", "edited topic": "edited", "deleted": "deleted",
    "inserted": "inserted", "reordered": "edited", "truncated": "truncated",
    "ballot and tally": "edited", "ballot deleted, tally to match": "deleted",
    "ballot deleted, tally to match, leaves re-hashed": "edited", "events and leaves": "edited",
}


def verified(runtime, *, database: bool) -> Report:
    lines = list(export_lines(runtime, seal_open_ballots=not database))
    return verify_export(lines, public_key=runtime.checkpoint_signer.verifier_key)


def assert_clean(runtime) -> None:
    for database in (False, True):
        report = verified(runtime, database=database)
        assert report.ok, report.text()
        assert report.checkpoints_verified == report.checkpoints == 7
        assert report.tallies_recounted == 1
        (balance,) = report.balances.values()
        assert balance["paid"] == 1_000_00 and balance["deposited"] == 5_000_00


def test_an_untouched_store_verifies_clean_and_each_change_is_detected(paid_round):
    store = StoredEvents(paid_round)
    assert_clean(paid_round)
    untouched = store.snapshot()
    for tampering, change in TAMPERING.items():
        change(store)
        for database in (False, True):
            report = verified(paid_round, database=database)
            kinds = {finding.kind for finding in report.findings}
            assert EXPECTED_KIND[tampering] in kinds, (tampering, database, report.text())
            if "tally to match" in tampering:  # the recount agrees: the tree is what tells
                assert "tally" not in kinds, report.text()
        store.restore(untouched)
        assert_clean(paid_round)


def test_the_command_names_the_first_bad_position_and_exits_1(paid_round, tmp_path):
    store = StoredEvents(paid_round)
    triple_a_deposit(store)
    export = tmp_path / "log.jsonl"
    export.write_bytes(b"".join(export_lines(paid_round)))
    key = tmp_path / "log.pub"
    key.write_text(paid_round.checkpoint_signer.verifier_key)
    result = CliRunner().invoke(cli, ["audit", "verify", str(export), "--public-key", str(key)])
    assert result.exit_code == 1
    deposit_position = [r.id for r in store.rows()].index(store.rows("FundsDeposited")[0].id)
    assert f"FAILED at position {deposit_position}: edited" in result.output


def test_an_export_written_by_another_json_tool_verifies_the_same(paid_round):
    """Spacing and key order are not content: a re-serialised export gives the same report, and
    a line whose event is untouched but whose position was changed is still caught."""
    lines = list(export_lines(paid_round))
    key = paid_round.checkpoint_signer.verifier_key
    original = verify_export(lines, public_key=key)
    respaced = [json.dumps(dict(reversed(json.loads(line).items())), indent=None).encode() + b"\n"
                for line in lines]
    assert respaced[3] != lines[3]
    assert verify_export(respaced, public_key=key).as_dict() == original.as_dict()

    moved = [json.loads(line) for line in lines]
    event_lines = [i for i, line in enumerate(moved) if line["kind"] == "event"]
    moved[event_lines[4]]["position"] = 40_000
    kinds = {f.kind for f in verify_export(
        [export_line(line) for line in moved], public_key=key).findings}
    assert "deleted" in kinds


def export_line(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode() + b"\n"


def test_a_round_whose_middle_event_was_deleted_refuses_writes_and_says_why(paid_round, settings):
    """Not a crash on every later write: each is refused, naming the round and what to run."""
    store = StoredEvents(paid_round)
    (deposit,) = store.rows("FundsDeposited")
    round_id = UUID(str(deposit.originator_id))
    store.delete(store.rows("SubmissionsClosed")[0].id)
    restarted = Runtime(settings)  # a service started on the changed store
    try:
        with pytest.raises(DamagedHistory) as refused:
            restarted.application.deposit(round_id, amount=1_00, source="Gemeente", reference="",
                                          actor="official:anna")
    finally:
        restarted.close()
    assert str(round_id) in refused.value.message
    assert "audit verify --database" in refused.value.message
