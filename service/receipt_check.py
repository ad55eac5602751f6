"""A voter's own check of their receipt against a service, trusting only the log's public key.

What it checks (docs/privacy.md), each step with public data only:

1. the published ballot under the receipt hashes to the receipt: SHA-256 over the round, its
   choices and its nonce (so the service cannot show other choices under the voter's receipt);
2. the stored cast the service names holds the same round, choices and nonce;
3. that cast is a leaf of the Merkle log: its canonical bytes hash to the leaf, and the leaf's
   inclusion proof leads to the root of the latest checkpoint;
4. the checkpoint is signed by the log's key (given by the voter, or else the service's own).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.ballot import RECEIPT_SCHEME, voter_receipt
from domain.canonical_event import canonical_json
from domain.merkle_log import ProofError, leaf_hash, verify_inclusion
from service.signed_note import Checkpoint, NoteError, open_note, parse_verifier_key

API = "/api/v1"


@dataclass
class ReceiptCheck:
    """The outcome: `ok` when every step held; `findings` says what did not."""

    receipt: str
    choices: dict[str, int] = field(default_factory=dict)
    tree_size: int | None = None
    findings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _get(base: str, path: str) -> Any:
    try:
        with urllib.request.urlopen(base + path, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace")[:300]
        raise LookupError(f"GET {path} answered {error.code}: {body}") from None


def _uuid_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("_data_")
    try:
        return str(UUID(str(value)))
    except ValueError:
        return None


def check_receipt(
    url: str, round_id: str, receipt: str, *, verifier_key: str | None = None,
    expected_choices: dict[str, int] | None = None,
) -> ReceiptCheck:
    """Check a receipt at the service at `url`; `verifier_key` is the log's key as published
    apart from the service (else the service's own is used, which proves less)."""
    base = url.rstrip("/") + API
    check = ReceiptCheck(receipt)
    try:
        item = _get(base, f"/rounds/{round_id}/receipts/{receipt}")
        key = verifier_key or _get(base, "/audit/public-key")["verifier_key"]
        checkpoint = _get(base, "/audit/checkpoints/latest")
    except LookupError as error:
        check.findings.append(str(error))
        return check
    check.choices = item["choices"]
    if expected_choices is not None and item["choices"] != expected_choices:
        check.findings.append("the published choices are not the ones you cast")
    if item["scheme"] != RECEIPT_SCHEME or item["nonce"] is None:
        check.findings.append(f"the receipt uses {item['scheme']}, which a voter cannot recompute")
    elif voter_receipt(round_id, item["choices"], item["nonce"]) != receipt:
        check.findings.append("the published choices and nonce do not hash to this receipt")
    event = item.get("event")
    if event is None:
        check.findings.append("the service names no stored event for this ballot")
        return check
    state = event["state"]
    if (_uuid_of(state.get("round_id")), state.get("choices"), state.get("nonce")) != (
        str(UUID(round_id)), item["choices"], item["nonce"]
    ):
        check.findings.append("the stored cast differs from the published ballot")
    try:
        name, public_key = parse_verifier_key(key)
        body = open_note(checkpoint["note"], name, public_key)
        signed = Checkpoint.parse(body)
        proof = _get(base, f"/audit/proofs/inclusion?notification_id={item['position']}"
                           f"&tree_size={signed.tree_size}")
        leaf = leaf_hash(canonical_json(event))
        if leaf.hex() != proof["leaf_hash"]:
            check.findings.append("the stored cast does not hash to its leaf in the log")
        verify_inclusion(leaf, proof["position"], signed.tree_size,
                         [bytes.fromhex(h) for h in proof["proof"]], signed.root_hash)
        check.tree_size = signed.tree_size
    except (NoteError, ProofError, LookupError, ValueError) as error:
        check.findings.append(f"the ballot is not proven in the signed log: {error}")
    return check
