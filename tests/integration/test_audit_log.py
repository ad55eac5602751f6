"""The Merkle log in the store: one leaf per event in its transaction, checkpoints, proofs.

On SQLite and PostgreSQL: every event the application stores gets its leaf (recomputable from the
event alone) in log order; a write that fails leaves neither; phase changes, tallies and payments
get a signed checkpoint in their own transaction; proofs read from the store verify.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError

from domain.merkle_log import MerkleTree, ProofError, verify_consistency, verify_inclusion
from service.checkpoints import list_checkpoints, record_checkpoint
from service.merkle_store import (
    leaves,
    nodes,
    stored_consistency_proof,
    stored_event_leaf,
    stored_inclusion_proof,
    stored_root,
    tree_size,
)
from service.signed_note import Checkpoint, open_note
from tests.integration.conftest import OFFICIAL, drive_round


TRIGGERS = ("SubmissionsClosed", "VotingOpened", "VotingClosed", "TallyRecorded",
            "TallyConfirmed", "PayoutPaid")


def stored_events(runtime):
    return runtime.application.recorder.select_notifications(start=1, limit=100_000)


def tree_of_events(runtime) -> MerkleTree:
    return MerkleTree(
        stored_event_leaf(n.topic, n.originator_id, n.originator_version, n.state)
        for n in stored_events(runtime)
    )


def test_every_event_has_its_leaf_in_log_order(runtime):
    drive_round(runtime.application, "execution")
    events = stored_events(runtime)
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(leaves).order_by(leaves.c.position)).all()
        assert [r.position for r in rows] == list(range(len(events)))
        assert [r.notification_id for r in rows] == [n.id for n in events]
        expected = tree_of_events(runtime)
        assert [bytes(r.leaf_hash) for r in rows] == expected.levels[0]
        assert stored_root(conn, len(events)) == expected.root()
        for size in (1, 2, 7, len(events) // 2, len(events)):
            assert stored_root(conn, size) == expected.root(size)


def test_a_refused_write_leaves_no_leaf(runtime):
    app = runtime.application
    driven = drive_round(app, "submission")
    budget_round = app.repository.get(driven.round_id)
    stale = app.repository.get(driven.round_id)
    budget_round.deposit(deposit_id="d-1", amount=100, source="x", reference="", actor=OFFICIAL)
    app.save(budget_round)
    stale.deposit(deposit_id="d-2", amount=100, source="x", reference="", actor=OFFICIAL)
    with pytest.raises(IntegrityError):
        app.save(stale)
    with runtime.engine.connect() as conn:
        assert tree_size(conn) == len(stored_events(runtime))


def test_phase_changes_tallies_and_payments_are_checkpointed_in_their_transaction(runtime):
    driven = drive_round(runtime.application, "execution")
    driven.pay("playground", 1_000_00)
    signer = runtime.checkpoint_signer
    expected = tree_of_events(runtime)
    with runtime.engine.connect() as conn:
        rows = list_checkpoints(conn)
    reasons = [row["reason"] for row in rows]
    assert reasons == [
        "submissions closed", "voting opened", "voting closed", "tally recorded",
        "tally confirmed", "payout paid",
    ]
    topics = [n.topic for n in stored_events(runtime)]
    previous = 0
    for row in rows:
        signed = Checkpoint.parse(open_note(row["note"], signer.name, signer.public_key))
        assert signed.tree_size == row["tree_size"]
        assert signed.root_hash == bytes(row["root_hash"]) == expected.root(row["tree_size"])
        assert signed.extension("reason") == row["reason"]
        # The event that called for it is in the transaction that ends at its size.
        assert any(topic.endswith(TRIGGERS) for topic in topics[previous:row["tree_size"]])
        previous = row["tree_size"]


def test_proofs_from_the_store_verify_against_checkpoints(runtime):
    drive_round(runtime.application, "execution")
    on_demand = record_checkpoint(runtime.engine, runtime.checkpoint_signer, "on demand")
    size = on_demand["tree_size"]
    expected = tree_of_events(runtime)
    with runtime.engine.connect() as conn:
        sizes = [row["tree_size"] for row in list_checkpoints(conn)]
        for index in range(size):
            proof = stored_inclusion_proof(conn, index, size)
            verify_inclusion(expected.levels[0][index], index, size, proof, on_demand["root_hash"])
        for first in sizes:
            proof = stored_consistency_proof(conn, first, size)
            verify_consistency(first, size, expected.root(first), expected.root(), proof)
        with pytest.raises(ProofError):
            stored_inclusion_proof(conn, 0, size + 1)


def test_two_workers_writing_in_turn_keep_one_tree(runtime, second_runtime):
    driven = drive_round(runtime.application, "submission")
    for amount in range(1, 8):  # each worker finds the other's leaves when it writes next
        worker = (runtime, second_runtime)[amount % 2]
        worker.application.deposit(driven.round_id, amount=amount, source="fund", reference="",
                                   actor=OFFICIAL)
    events = stored_events(runtime)
    with runtime.engine.connect() as conn:
        assert tree_size(conn) == len(events)
        assert stored_root(conn, len(events)) == tree_of_events(runtime).root()
        levels = conn.execute(sa.select(sa.func.count()).select_from(nodes)).scalar()
    assert levels == sum(len(level) for level in tree_of_events(runtime).levels[1:])
