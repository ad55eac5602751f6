"""Sealing the link from an enrolled resident to their ballot, with a key kept out of the database.

Withdrawing the code of a lost letter needs to find that resident's ballot, but the log must not
let anyone holding the database link a person to a ballot. The link is therefore stored
encrypted (AES-256-GCM, the voter's id as associated data, so a seal cannot be moved to another
voter) under a key derived from the service's secret key, which is kept outside the database.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import Conflict


class BallotSeal:
    def __init__(self, secret_key: bytes):
        self._cipher = AESGCM(hmac.new(secret_key, b"ballot-seal", hashlib.sha256).digest())

    def seal(self, voter_id: UUID, ballot_id: UUID) -> str:
        nonce = os.urandom(12)
        sealed = self._cipher.encrypt(nonce, ballot_id.bytes, voter_id.bytes)
        return base64.b64encode(nonce + sealed).decode()

    def open(self, voter_id: UUID, seal: str) -> UUID:
        raw = base64.b64decode(seal)
        try:
            return UUID(bytes=self._cipher.decrypt(raw[:12], raw[12:], voter_id.bytes))
        except InvalidTag:
            raise Conflict(
                "this resident's code was sealed with another key; it cannot be replaced"
            ) from None
