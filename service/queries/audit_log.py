"""Public reads of the tamper-evident log: the signing key, signed checkpoints and Merkle proofs.

All of them reveal hashes, sizes and signatures only, never an event's contents, so they are
public: anyone holding a checkpoint can ask for the proof that a later one extends it.
"""
from __future__ import annotations

from typing import Any

from domain.errors import NotFound, RuleViolation
from service import checkpoints as checkpoints_store
from domain import merkle_log
from service.merkle_store import computed_from_store, leaf_at_notification, leaves, tree_size
from service.signed_note import public_key_pem


def public_key(runtime: Any) -> dict[str, Any]:
    signer = runtime.checkpoint_signer
    return {
        "log_name": signer.name,
        "verifier_key": signer.verifier_key,
        "public_key_pem": public_key_pem(signer.public_key),
    }


def checkpoint_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "tree_size": row["tree_size"], "root_hash": bytes(row["root_hash"]).hex(),
        "created_at": row["created_at"], "reason": row["reason"], "note": row["note"],
        "cosignatures": row.get("cosignatures", []),
    }


def latest_checkpoint(runtime: Any) -> dict[str, Any]:
    with runtime.engine.connect() as conn:
        row = checkpoints_store.latest_checkpoint(conn)
    if row is None:
        raise NotFound("no checkpoint has been signed yet")
    return checkpoint_out(row)


def cosign_checkpoint(
    runtime: Any, checkpoint_id: int, *, witness_key: str, cosignature: str
) -> dict[str, Any]:
    """A witness's cosignature, kept with the checkpoint once it verifies."""
    return checkpoint_out(
        checkpoints_store.add_cosignature(runtime.engine, checkpoint_id, witness_key, cosignature)
    )


def checkpoints(runtime: Any, *, after: int = 0, limit: int = 100) -> dict[str, Any]:
    with runtime.engine.connect() as conn:
        found = checkpoints_store.list_checkpoints(conn, after=after, limit=limit)
        rows = [checkpoint_out(r) for r in found]
        size = tree_size(conn)
    return {
        "checkpoints": rows,
        "next_after": rows[-1]["id"] if len(rows) == limit else None,
        "tree_size": size,
    }


def _size_within(conn: Any, requested: int | None, field: str) -> int:
    current = tree_size(conn)
    if requested is None:
        return current
    if requested > current:
        raise RuleViolation(f"the log has {current} entries, not {requested}", field=field)
    return requested


def inclusion_proof(
    runtime: Any, *, position: int | None, notification_id: int | None, size: int | None
) -> dict[str, Any]:
    """The audit path of one entry (by log position or notification id) in a tree of `size`."""
    with runtime.engine.connect() as conn:
        if notification_id is not None:
            found = leaf_at_notification(conn, notification_id)
            if found is None:
                raise NotFound(f"no log entry with notification id {notification_id}")
            position, leaf = found
        else:
            row = conn.execute(
                leaves.select().where(leaves.c.position == position)
            ).first()
            if row is None:
                raise NotFound(f"no log entry at position {position}")
            notification_id, leaf = row.notification_id, bytes(row.leaf_hash)
        size = _size_within(conn, size, "tree_size")
        if position >= size:
            raise RuleViolation(
                f"entry {position} is not in the tree of {size} entries", field="tree_size"
            )
        proof, root_hash = computed_from_store(conn, lambda subtree: (
            merkle_log.inclusion_proof(position, size, subtree), merkle_log.root(size, subtree)
        ))
    return {
        "position": position, "notification_id": notification_id, "tree_size": size,
        "leaf_hash": leaf.hex(), "root_hash": root_hash.hex(), "proof": [h.hex() for h in proof],
    }


def consistency_proof(runtime: Any, *, first: int, second: int | None) -> dict[str, Any]:
    """The proof that the tree of `second` entries extends the tree of `first` entries."""
    with runtime.engine.connect() as conn:
        second = _size_within(conn, second, "second")
        if first > second:
            raise RuleViolation(f"first ({first}) is larger than second ({second})", field="first")
        proof, first_root, second_root = computed_from_store(conn, lambda subtree: (
            merkle_log.consistency_proof(first, second, subtree) if first else [],
            merkle_log.root(first, subtree), merkle_log.root(second, subtree),
        ))
    return {
        "first": first, "second": second, "first_root": first_root.hex(),
        "second_root": second_root.hex(), "proof": [h.hex() for h in proof],
    }
