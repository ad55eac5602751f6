"""A witness of the audit log: checks each new checkpoint extends the last one it saw, then cosigns.

The witness keeps, in a directory of its own, the log's public key as first seen and the last
checkpoint it cosigned. Each run fetches the latest checkpoint, checks the log's signature, asks the
service for a consistency proof from the checkpoint it saw before and verifies it (RFC 9162), and
only then cosigns (C2SP tlog-cosignature) and hands the cosignature to the service. A history
rewritten after the witness saw it fails the proof, even when the rewriter holds the log's key.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.merkle_log import ProofError, verify_consistency
from service.signed_note import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    cosign,
    load_signing_key,
    new_signing_key,
    open_note,
    parse_verifier_key,
    verifier_key,
)

API = "/api/v1/audit"


class WitnessRefusal(RuntimeError):
    """The log showed something a witness must not cosign; the message says what."""


@dataclass(frozen=True)
class Witnessed:
    tree_size: int
    previous_size: int | None
    cosignature: str
    witness_key: str


class Witness:
    def __init__(self, url: str, key_file: Path, state: Path, name: str) -> None:
        self.url = url.rstrip("/")
        self.state = state
        self.name = name
        if not key_file.exists():
            new_signing_key(key_file)
        self.private_key = load_signing_key(key_file)
        self.verifier_key = verifier_key(name, self.private_key.public_key(), COSIGNATURE_V1)

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + API + path, timeout=30) as response:
            return json.load(response)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url + API + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def _log_key(self) -> str:
        """The log's key as this witness first saw it (a changed key is refused, not followed)."""
        pinned = self.state / "log.vkey"
        published = self._get("/public-key")["verifier_key"]
        if not pinned.exists():
            self.state.mkdir(parents=True, exist_ok=True)
            pinned.write_text(published + "\n")
        elif pinned.read_text().strip() != published:
            raise WitnessRefusal("the log's public key changed since this witness first saw it")
        return pinned.read_text().strip()

    def run(self) -> Witnessed:
        log_name, log_key = parse_verifier_key(self._log_key())
        latest = self._get("/checkpoints/latest")
        try:
            body = open_note(latest["note"], log_name, log_key)
            new = Checkpoint.parse(body)
        except NoteError as error:
            raise WitnessRefusal(f"the latest checkpoint is not signed by the log: {error}") from None
        seen_file = self.state / "checkpoint"
        previous_size = None
        if seen_file.exists():
            seen = Checkpoint.parse(open_note(seen_file.read_text(), log_name, log_key))
            previous_size = seen.tree_size
            self._check_extends(seen, new)
        # The exact bytes the log signed, as the cosignature format requires.
        line = cosign(body, self.name, self.private_key, int(time.time()))
        self._post(f"/checkpoints/{latest['id']}/cosignatures",
                   {"witness_key": self.verifier_key, "cosignature": line})
        seen_file.write_text(latest["note"])
        return Witnessed(new.tree_size, previous_size, line, self.verifier_key)

    def _check_extends(self, seen: Checkpoint, new: Checkpoint) -> None:
        if new.tree_size < seen.tree_size:
            raise WitnessRefusal(f"the log shrank from {seen.tree_size} to {new.tree_size} entries")
        try:
            proof = [] if seen.tree_size == new.tree_size else [
                bytes.fromhex(h) for h in self._get(
                    f"/proofs/consistency?first={seen.tree_size}&second={new.tree_size}"
                )["proof"]
            ]
            verify_consistency(seen.tree_size, new.tree_size, seen.root_hash, new.root_hash, proof)
        except (ProofError, urllib.error.HTTPError, ValueError, KeyError) as error:
            raise WitnessRefusal(
                f"the checkpoint of {new.tree_size} entries does not extend the one of "
                f"{seen.tree_size} entries this witness cosigned: history was rewritten ({error})"
            ) from None
