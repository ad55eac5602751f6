"""Public reads of the tamper-evident log: the signing key, signed checkpoints and Merkle proofs.

All of them reveal hashes, sizes and signatures only, never an event's contents, so they are
public: anyone holding a checkpoint can ask for the proof that a later one extends it.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from domain import merkle_log
from domain.errors import NotFound, RuleViolation
from domain.merkle_log import SubtreeHash
from service import checkpoints as checkpoints_store
from service.audit_export import export_lines
from service.checkpoints import published_checkpoint, published_key
from service.merkle_store import (
    leaf_at_notification,
    read_subtrees,
    single_statement_reads,
    stored_root,
    tree_size,
    verifications,
)
from service.principal import Principal
from service.queries.visibility import EVENT_LOG_READERS
from service.runtime import Runtime


def public_key(rt: Runtime, principal: Principal) -> dict[str, Any]:
    """The key that signs checkpoints (public)."""
    return published_key(rt.checkpoint_signer)


def latest_checkpoint(rt: Runtime, principal: Principal) -> dict[str, Any]:
    with rt.engine.connect() as conn:
        row = checkpoints_store.latest_checkpoint(conn)
    if row is None:
        raise NotFound("no checkpoint has been signed yet")
    return published_checkpoint(row)


def cosign_checkpoint(
    rt: Runtime, principal: Principal, checkpoint_id: int, *, witness_key: str, cosignature: str
) -> dict[str, Any]:
    """A witness's cosignature, kept with the checkpoint once it verifies."""
    return published_checkpoint(
        checkpoints_store.add_cosignature(rt.engine, checkpoint_id, witness_key, cosignature)
    )


def checkpoints(
    rt: Runtime, principal: Principal, *, after: int = 0, limit: int = 100
) -> dict[str, Any]:
    with rt.engine.connect() as conn:
        found = checkpoints_store.list_checkpoints(conn, after=after, limit=limit)
        rows = [published_checkpoint(r) for r in found]
        size = tree_size(conn)
    return {
        "checkpoints": rows,
        "next_after": rows[-1]["id"] if len(rows) == limit else None,
        "tree_size": size,
    }


def inclusion_proof(
    rt: Runtime, principal: Principal, *, position: int | None, notification_id: int | None, size: int | None
) -> dict[str, Any]:
    """The audit path of one entry (by log position, notification id or both) in a tree of `size`.

    Each identifier narrows which entry is meant: given both, they must name the same entry.
    Asked by position and size, it is one statement: the proof's subtrees, the root's, the leaf,
    its notification id and the tree's size (to refuse a size the log does not have yet).
    """
    with single_statement_reads(rt.engine) as conn:
        if notification_id is not None:
            found = leaf_at_notification(conn, notification_id)
            if found is None or (position is not None and found[0] != position):
                raise NotFound(f"no log entry with notification id {notification_id}"
                               + (f" at position {position}" if position is not None else ""))
            position = found[0]
        if position is None:
            raise RuleViolation("give a position or a notification id", field="position")
        if size is None:
            size = tree_size(conn)

        def compute(subtree: SubtreeHash) -> tuple[list[bytes], bytes]:
            return (merkle_log.inclusion_proof(position, size, subtree),
                    merkle_log.root(size, subtree))

        wanted = {(0, position)}
        if position < size:
            wanted |= merkle_log.nodes_needed_for(compute)
        stored = read_subtrees(conn, wanted, leaf_position=position)
    if stored.leaf_notification_id is None:
        raise NotFound(f"no log entry at position {position}")
    _within(stored.tree_size, size)
    if position >= size:
        raise NotFound(f"entry {position} is not in the tree of {size} entries")
    proof, root_hash = compute(stored.subtree)
    return {
        "position": position, "notification_id": stored.leaf_notification_id, "tree_size": size,
        "leaf_hash": stored.subtree(0, position).hex(), "root_hash": root_hash.hex(),
        "proof": [h.hex() for h in proof],
    }


def consistency_proof(
    rt: Runtime, principal: Principal, *, first: int, second: int | None
) -> dict[str, Any]:
    """The proof that the tree of `second` entries extends the tree of `first` entries."""
    with single_statement_reads(rt.engine) as conn:
        if second is None:
            second = tree_size(conn)
        if first > second:
            _within(tree_size(conn), first)  # a tree the log has not grown to is not found
            raise RuleViolation(f"first ({first}) is larger than second ({second})", field="first")
        target = second

        def compute(subtree: SubtreeHash) -> tuple[list[bytes], bytes, bytes]:
            return (merkle_log.consistency_proof(first, target, subtree) if first else [],
                    merkle_log.root(first, subtree), merkle_log.root(target, subtree))

        stored = read_subtrees(conn, merkle_log.nodes_needed_for(compute))
    _within(stored.tree_size, second)
    proof, first_root, second_root = compute(stored.subtree)
    return {
        "first": first, "second": second, "first_root": first_root.hex(),
        "second_root": second_root.hex(), "proof": [h.hex() for h in proof],
    }


def _within(current: int, requested: int) -> None:
    """A tree the log has not grown to is not found."""
    if requested > current:
        raise NotFound(f"the log has {current} entries: there is no tree of {requested}")


def export(rt: Runtime, principal: Principal) -> Iterator[bytes]:
    """The whole log in the audit export format, line by line (auditors)."""
    principal.require(*EVENT_LOG_READERS)
    return export_lines(rt)


def record_verification(rt: Runtime, ok: bool, tree_size: int, finding: str | None) -> None:
    """Keep the outcome of a verification of the live store, for /healthz."""
    with rt.engine.begin() as conn:
        conn.execute(verifications.insert().values(
            verified_at=datetime.now(UTC).isoformat(), ok=ok, tree_size=tree_size, finding=finding,
        ))


def log_health(rt: Runtime, principal: Principal) -> dict[str, Any]:
    """A quick look at the log (public): does the newest checkpoint still match the stored tree,
    and how did the last full verification of the store end?

    The quick look catches a rewritten or cut tree; only a full verification (`buurtbudget audit
    verify --database`, e.g. nightly) recomputes every leaf from its event.
    """
    with rt.engine.connect() as conn:
        latest = checkpoints_store.latest_checkpoint(conn)
        size = tree_size(conn)
        matches = latest is None or (
            latest["tree_size"] <= size
            and stored_root(conn, latest["tree_size"]) == bytes(latest["root_hash"])
        )
        last = conn.execute(
            sa.select(verifications).order_by(verifications.c.id.desc()).limit(1)
        ).first()
    return {
        "ok": matches and (last is None or last.ok),
        "tree_size": size,
        "latest_checkpoint_matches": matches,
        "last_verification": None if last is None else {
            "verified_at": last.verified_at, "ok": last.ok, "tree_size": last.tree_size,
            "finding": last.finding,
        },
    }
