"""Personal data in events: sealed per person, so erasing a person's key erases their data.

Events are forever, so a person's name, e-mail address or IBAN is never written into one in
plaintext. Each person is a *data subject* with a key of their own, kept outside the event log; the
event holds the text sealed with that key (docs/privacy.md). Destroying the key erases the text in
every event, every copy of the log and every read model at once, while the events' bytes, and so
the tamper-evident log over them, stay as they were.

The domain sees only envelopes, strings in one of three shapes:

- `pd1:<subject id>:<base64url of nonce and AES-256-GCM ciphertext>`: sealed text;
- `plain:<text>`: text from an event stored before personal data was sealed, read as it was;
- `ERASED`: what read models hold in place of a record's data once it was erased.

Sealing and opening need the keys, so they happen in the service layer behind `PersonalDataSealer`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import RuleViolation

SEALED_PREFIX = "pd1:"
PLAIN_PREFIX = "plain:"
ERASED = "[erased]"
SEALED = re.compile(r"^pd1:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):([A-Za-z0-9_-]+)$")
SUBJECT_KINDS = ("email", "iban")


def normalise_email(email: str) -> str:
    """An e-mail address as it identifies a person: trimmed, in lower case."""
    return email.strip().lower()


def normalise_iban(iban: str) -> str:
    """An IBAN as it identifies an account holder: without spaces, in upper case."""
    return "".join(iban.split()).upper()


@dataclass(frozen=True)
class DataSubject:
    """A person whose data is sealed under one key: a proposer by e-mail, a payee by IBAN.

    Other kinds (a register's person key) are added to `SUBJECT_KINDS` with their normal form.
    """

    kind: str
    identifier: str

    @classmethod
    def proposer(cls, email: str) -> DataSubject:
        return cls("email", normalise_email(email))

    @classmethod
    def payee(cls, iban: str) -> DataSubject:
        return cls("iban", normalise_iban(iban))


class PersonalDataSealer(Protocol):
    """Seals one field of a subject's data with the subject's key (the service's key store)."""

    def seal(self, subject: DataSubject, field: str, text: str) -> str: ...


def plain_envelope(text: str) -> str:
    """The envelope of text stored in plaintext by an event written before sealing."""
    return PLAIN_PREFIX + text


def subject_of(envelope: str) -> str | None:
    """The subject id a sealed envelope names, or None for plaintext or erased data."""
    match = SEALED.match(envelope)
    return match.group(1) if match else None


def record_of(kind: str, record_id: str) -> str:
    """How an erasure names a record whose personal data it erased: `proposal:<id>`."""
    return f"{kind}:{record_id}"


def records_of_kind(records: list[str], kind: str) -> list[str]:
    """The ids of the records of one kind in an erasure's list."""
    prefix = kind + ":"
    return [record[len(prefix):] for record in records if record.startswith(prefix)]


class PersonalDataErasure(Aggregate):
    """The erasure of one person's data: their keys destroyed, their records redacted.

    The event names no personal data: the subject ids (random, meaningless without the key
    store), the records whose data was erased, the ones of those whose plaintext remains in
    events stored before sealing, who asked and why.
    """

    TOPIC = "buurtbudget/PersonalDataErasure"

    class Created(Aggregate.Created):  # the library's; never stored, but it must have a topic
        TOPIC = "buurtbudget/PersonalDataErasure.Created"

    @classmethod
    def erase(
        cls, *, subject_ids: list[str], records: list[str], plaintext_remains: list[str],
        reason: str, actor: str,
    ) -> PersonalDataErasure:
        if not subject_ids and not records:
            raise RuleViolation("there is no personal data of this person to erase")
        for subject_id in subject_ids:
            UUID(subject_id)  # a subject id is a UUID; anything else would be a bug upstream
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason or len(reason) > 1000:
            raise RuleViolation("give the reason for the erasure (at most 1000 characters)",
                                field="reason")
        return cls(
            subject_ids=sorted(subject_ids), records=sorted(records),
            plaintext_remains=sorted(plaintext_remains), reason=reason, actor=actor,
        )

    @event("Erased", topic="buurtbudget/PersonalDataErasure.Erased")
    def __init__(
        self, *, subject_ids: list[str], records: list[str], plaintext_remains: list[str],
        reason: str, actor: str,
    ) -> None:
        self.subject_ids = subject_ids
        self.records = records
