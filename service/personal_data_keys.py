"""The key store of personal data: one AES-256-GCM key per data subject, outside the event log.

Keys live in the table `personal_data_keys` of the same database as the events, but not in the
events and not in the Merkle log: a row is (random subject id, keyed hash of the subject's
normalised e-mail address or IBAN, the key). Sealing finds the subject's key by the keyed hash, or
makes one; opening reads the keys of the subject ids that the envelopes name. Erasing a subject
deletes its row in the transaction of the `PersonalDataErasure.Erased` event (`KeyShredder`), so
the event is stored if and only if the key is gone. See docs/privacy.md.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import StoredEvent

from domain.event_topics import topics_of
from domain.personal_data import (
    ERASED,
    PLAIN_PREFIX,
    SEALED,
    SEALED_PREFIX,
    DataSubject,
    PersonalDataErasure,
)
from service.event_store import Transaction

key_metadata = sa.MetaData()
personal_data_keys = sa.Table(
    "personal_data_keys",
    key_metadata,
    sa.Column("subject_id", sa.String(36), primary_key=True),
    sa.Column("lookup", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("data_key", sa.LargeBinary(32), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)
ERASED_TOPICS = frozenset(topics_of(PersonalDataErasure.Erased))  # type: ignore[attr-defined]
NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _associated_data(subject_id: str) -> bytes:
    # The ciphertext is bound to its subject: moved under another subject id it does not open.
    return (SEALED_PREFIX + subject_id).encode()


class PersonalDataKeys:
    """Seals and opens personal data with the subjects' keys (the domain's PersonalDataSealer)."""

    def __init__(self, engine: sa.Engine, secret_key: bytes):
        self.engine = engine
        self._secret_key = secret_key

    @classmethod
    def in_memory(cls, secret_key: bytes) -> PersonalDataKeys:
        """Keys in a database of their own in memory: for generated logs and benchmarks."""
        engine = sa.create_engine(
            "sqlite://", poolclass=sa.StaticPool, connect_args={"check_same_thread": False}
        )
        key_metadata.create_all(engine)
        return cls(engine, secret_key)

    def lookup(self, subject: DataSubject) -> str:
        """The keyed hash that finds a subject's key; meaningless without the service's secret."""
        message = f"personal-data-subject:{subject.kind}:{subject.identifier}".encode()
        return hmac.new(self._secret_key, message, hashlib.sha256).hexdigest()

    def subject_id_of(self, subject: DataSubject) -> str | None:
        """The subject id of a person who has a key, else None."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(personal_data_keys.c.subject_id)
                .where(personal_data_keys.c.lookup == self.lookup(subject))
            ).scalar_one_or_none()

    def _key_of(self, subject: DataSubject) -> tuple[str, bytes]:
        lookup = self.lookup(subject)
        query = sa.select(personal_data_keys.c.subject_id, personal_data_keys.c.data_key).where(
            personal_data_keys.c.lookup == lookup
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).first()
        if found is not None:
            return found.subject_id, found.data_key
        row = {
            "subject_id": str(uuid.uuid4()), "lookup": lookup, "kind": subject.kind,
            "data_key": AESGCM.generate_key(bit_length=256),
            "created_at": datetime.now(UTC).isoformat(),
        }
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(write=True)
                with conn.begin():
                    conn.execute(sa.insert(personal_data_keys).values(**row))
        except sa.exc.IntegrityError:  # another writer made this subject's key first: use theirs
            with self.engine.connect() as conn:
                found = conn.execute(query).one()
            return found.subject_id, found.data_key
        return row["subject_id"], row["data_key"]

    def seal(self, subject: DataSubject, field: str, text: str) -> str:
        """`text` sealed with the subject's key, as an envelope for an event."""
        subject_id, key = self._key_of(subject)
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, text.encode("utf-8"), _associated_data(subject_id))
        return f"{SEALED_PREFIX}{subject_id}:{_b64(nonce + sealed)}"

    def open_all(self, conn: sa.Connection, values: Iterable[Any]) -> dict[str, str]:
        """Each envelope among `values` opened: its text, or ERASED when its key is gone.

        Reads the keys of all of them in one query on `conn`. A value that is not an envelope
        (a deposit's source beside a payee in the ledger) is not in the answer.
        """
        envelopes = {value for value in values if isinstance(value, str) and (
            value.startswith((SEALED_PREFIX, PLAIN_PREFIX)) or value == ERASED
        )}
        sealed = {e: m.groups() for e in envelopes if (m := SEALED.match(e)) is not None}
        subject_ids = {subject_id for subject_id, _data in sealed.values()}
        ciphers: dict[str, AESGCM] = {}
        if subject_ids:
            ciphers = {
                subject_id: AESGCM(key) for subject_id, key in conn.execute(
                    sa.select(personal_data_keys.c.subject_id, personal_data_keys.c.data_key)
                    .where(personal_data_keys.c.subject_id.in_(sorted(subject_ids)))
                ).all()
            }
        return {envelope: _opened(envelope, sealed.get(envelope), ciphers) for envelope in envelopes}

    def open_rows(
        self, conn: sa.Connection, rows: Sequence[dict[str, Any]], fields: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The rows with their envelopes in `fields` opened in place (ERASED once erased)."""
        opened = self.open_all(conn, (row.get(field) for row in rows for field in fields))
        for row in rows:
            for field in fields:
                value = row.get(field)
                if isinstance(value, str) and value in opened:
                    row[field] = opened[value]
        return list(rows)

    def erased(self, envelopes: Iterable[str]) -> set[str]:
        """Those of the envelopes that no longer open."""
        with self.engine.connect() as conn:
            opened = self.open_all(conn, envelopes)
        return {envelope for envelope, text in opened.items() if text == ERASED}

    def forget(self, subject_ids: Sequence[str]) -> None:
        """Delete these subjects' keys (the shredder does it with the event; this is for memory)."""
        if subject_ids:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(personal_data_keys).where(
                    personal_data_keys.c.subject_id.in_(list(subject_ids))
                ))

    def compact(self) -> None:
        """After an erasure, leave no copy of a deleted key in the database's files where we can.

        SQLite: the deleted rows were zeroed (secure_delete); the write-ahead log, which still
        holds the pages as they were, is checkpointed and truncated. PostgreSQL: VACUUM FULL
        rewrites the (small) key table without the dead rows. Best effort: a reader holding an
        old snapshot can keep the WAL from being truncated until it is done.
        """
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        elif self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("VACUUM FULL personal_data_keys")


def _opened(
    envelope: str, sealed: tuple[str, str] | None, ciphers: Mapping[str, AESGCM]
) -> str:
    """An envelope's text; `sealed` is its (subject id, data) when it is a sealed one."""
    if envelope.startswith(PLAIN_PREFIX):
        return envelope.removeprefix(PLAIN_PREFIX)
    cipher = ciphers.get(sealed[0]) if sealed else None
    if sealed is None or cipher is None:
        return ERASED
    subject_id, encoded = sealed
    try:
        data = _unb64(encoded)
        text = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], _associated_data(subject_id))
    except (InvalidTag, ValueError):
        return ERASED  # unreadable is shown as erased, never as an error
    return text.decode("utf-8")


class KeyShredder:
    """A transaction writer: deletes the keys an Erased event names, in the event's transaction.

    On SQLite the deletion runs with secure_delete on, so the key's bytes are overwritten with
    zeros in the database file rather than left in a free page.
    """

    def create_tables(self, transaction: Transaction) -> None:
        """The key table is created with the read models' (`key_metadata`), on every backend."""

    def write(
        self, transaction: Transaction, stored_events: Sequence[StoredEvent],
        notification_ids: Sequence[int],
    ) -> None:
        subject_ids = [
            subject_id
            for stored in stored_events if stored.topic in ERASED_TOPICS
            for subject_id in json.loads(stored.state)["subject_ids"]
        ]
        if not subject_ids:
            return
        table = transaction.table("personal_data_keys")
        if transaction.backend == "sqlite":
            transaction.cursor.execute("PRAGMA secure_delete = ON")
            marks = ", ".join("?" for _ in subject_ids)
        else:
            marks = ", ".join("%s" for _ in subject_ids)
        transaction.cursor.execute(
            f"DELETE FROM {table} WHERE subject_id IN ({marks})", subject_ids
        )
