"""Signed checkpoints of the audit log: when they are made, how they are signed, where they are kept.

A checkpoint commits the service to the tree of its first N events: origin, N, root hash, time and
reason, signed with the log's Ed25519 key (see service/signed_note.py). One is made in the same
transaction as every event that changes a round's phase, records a tally or marks a payout paid, and
on demand (`buurtbudget audit checkpoint`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.budget_round import BudgetRound
from domain.event_topics import topics_of
from service.config import DEFAULTS, ConfigurationError
from service.merkle_store import checkpoints, cosignatures, stored_root, tree_size
from domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from service.signed_note import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    load_signing_key,
    new_signing_key,
    parse_verifier_key,
    public_key_pem,
    sign_note,
    split_note,
    verifier_key,
    verify_cosignature,
)

# The events after which a checkpoint is made, in their transaction; the reason names the event.
CHECKPOINT_EVENTS = {
    topic: name
    for name, cls in {
        "submissions closed": BudgetRound.SubmissionsClosed,  # type: ignore[attr-defined]
        "voting opened": BudgetRound.VotingOpened,  # type: ignore[attr-defined]
        "voting closed": BudgetRound.VotingClosed,  # type: ignore[attr-defined]
        "tally recorded": BudgetRound.TallyRecorded,  # type: ignore[attr-defined]
        "tally confirmed": BudgetRound.TallyConfirmed,  # type: ignore[attr-defined]
        "payout paid": BudgetRound.PayoutPaid,  # type: ignore[attr-defined]
        "round closed": BudgetRound.Closed,  # type: ignore[attr-defined]
    }.items()
    for topic in topics_of(cls)
}


@dataclass(frozen=True)
class CheckpointSigner:
    """The log's name and its private key: signs checkpoint bodies."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def verifier_key(self) -> str:
        return verifier_key(self.name, self.public_key)

    def reasons(self, topics: Sequence[str]) -> list[str]:
        """Why these newly stored events call for a checkpoint (none: no checkpoint)."""
        return list(dict.fromkeys(CHECKPOINT_EVENTS[t] for t in topics if t in CHECKPOINT_EVENTS))

    def checkpoint(self, size: int, root_hash: bytes, reason: str) -> dict[str, Any]:
        """The row of a new signed checkpoint of the tree of `size` leaves."""
        created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = Checkpoint(
            self.name, size, root_hash, (f"time {created_at}", f"reason {reason}")
        ).body()
        return {
            "tree_size": size, "root_hash": root_hash, "created_at": created_at,
            "reason": reason, "note": sign_note(body, self.name, self.private_key),
        }


def published_checkpoint(row: dict[str, Any]) -> dict[str, Any]:
    """A stored checkpoint as the API, the CLI and the export show it (hashes in hex)."""
    return {
        "id": row["id"], "tree_size": row["tree_size"], "root_hash": bytes(row["root_hash"]).hex(),
        "created_at": row["created_at"], "reason": row["reason"], "note": row["note"],
        "cosignatures": row.get("cosignatures", []),
    }


def published_key(signer: CheckpointSigner) -> dict[str, Any]:
    return {
        "log_name": signer.name,
        "verifier_key": signer.verifier_key,
        "public_key_pem": public_key_pem(signer.public_key),
    }


def signer_of(settings: Mapping[str, Any], *, create: bool = False) -> CheckpointSigner:
    """The checkpoint signer: its key file is created by `buurtbudget init`."""
    path = Path(settings.get("AUDIT_KEY_FILE") or DEFAULTS["AUDIT_KEY_FILE"])
    if not path.exists():
        if not create:
            raise ConfigurationError(
                f"no audit signing key at {path}: run `buurtbudget init` or set "
                "BUURTBUDGET_AUDIT_KEY_FILE"
            )
        new_signing_key(path)
    name = settings.get("AUDIT_LOG_NAME") or DEFAULTS["AUDIT_LOG_NAME"]
    return CheckpointSigner(name, load_signing_key(path))


def record_checkpoint(engine: sa.Engine, signer: CheckpointSigner, reason: str) -> dict[str, Any]:
    """Sign and keep a checkpoint of the log as it is now."""
    with engine.begin() as conn:
        size = tree_size(conn)
        row = signer.checkpoint(size, stored_root(conn, size), reason)
        row["id"] = conn.execute(checkpoints.insert().values(**row)).inserted_primary_key[0]
    return row


def list_checkpoints(conn: sa.Connection, *, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """Checkpoints after an id, oldest first, each with the witnesses' cosignatures."""
    rows = conn.execute(
        sa.select(checkpoints).where(checkpoints.c.id > after).order_by(checkpoints.c.id).limit(limit)
    )
    return _with_cosignatures(conn, [dict(row._mapping) for row in rows])


def latest_checkpoint(conn: sa.Connection) -> dict[str, Any] | None:
    row = conn.execute(sa.select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1)).first()
    return None if row is None else _with_cosignatures(conn, [dict(row._mapping)])[0]


def _with_cosignatures(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_checkpoint: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
    if by_checkpoint:
        found = conn.execute(
            sa.select(cosignatures)
            .where(cosignatures.c.checkpoint_id.in_(list(by_checkpoint)))
            .order_by(cosignatures.c.signed_at, cosignatures.c.witness_key)
        )
        for cosigned in found:
            by_checkpoint[cosigned.checkpoint_id].append({
                "witness_key": cosigned.witness_key, "signed_at": cosigned.signed_at,
                "cosignature": cosigned.cosignature,
            })
    return [{**row, "cosignatures": by_checkpoint[row["id"]]} for row in rows]


def add_cosignature(
    engine: sa.Engine, checkpoint_id: int, witness_key: str, cosignature: str
) -> dict[str, Any]:
    """Keep a witness's cosignature of a checkpoint, after checking it is one."""
    try:
        name, public_key = parse_verifier_key(witness_key, COSIGNATURE_V1)
    except NoteError as error:
        raise RuleViolation(str(error), field="witness_key") from None
    with engine.begin() as conn:
        row = conn.execute(sa.select(checkpoints).where(checkpoints.c.id == checkpoint_id)).first()
        if row is None:
            raise NotFound(f"checkpoint {checkpoint_id} not found")
        body, _signatures = split_note(row.note)
        try:
            signed_at = verify_cosignature(body, cosignature, name, public_key)
        except NoteError as error:
            # Not signed by the key given: refused like any credential that does not hold.
            raise Forbidden(str(error)) from None
        exists = conn.execute(sa.select(cosignatures.c.checkpoint_id).where(
            cosignatures.c.checkpoint_id == checkpoint_id, cosignatures.c.witness_key == witness_key
        )).first()
        if exists:
            raise Conflict(f"checkpoint {checkpoint_id} already carries a cosignature of {name}")
        conn.execute(cosignatures.insert().values(
            checkpoint_id=checkpoint_id, witness_key=witness_key, signed_at=signed_at,
            cosignature=cosignature.strip(),
        ))
        return _with_cosignatures(conn, [dict(row._mapping)])[0]
