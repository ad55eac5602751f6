"""Erasing a person's personal data: destroy their keys, redact their records (docs/privacy.md).

A proposer is found by e-mail address, a payee by IBAN. Their data sealed in events becomes
unreadable when their key is deleted (in the transaction of the erasure's event); records whose
events were stored before sealing, in plaintext, are redacted in every read model and named in
the event, since those events are never rewritten.
"""
from __future__ import annotations

from typing import Any

from domain.errors import NotFound, RuleViolation
from domain.personal_data import (
    ERASED,
    PLAIN_PREFIX,
    DataSubject,
    normalise_email,
    normalise_iban,
    record_of,
    subject_of,
)
from projections.payouts import payee_records
from projections.proposals import proposer_records
from service.runtime import Runtime


def _plaintext(envelope: str) -> str:
    # Read-model rows projected before sealing hold bare text; after it, a `plain:` envelope.
    return envelope.removeprefix(PLAIN_PREFIX)


def _records_of(
    rt: Runtime, conn: Any, rows: list[dict[str, str]], kind: str, id_column: str, column: str,
    subject_ids: set[str], identifier: str | None, normalise: Any,
) -> tuple[list[str], list[str]]:
    """The records holding this person's data, and those of them stored in plaintext.

    A sealed record is theirs when it names one of their subject ids, or when it opens to their
    address or IBAN (a key made under another SECRET_KEY is not found by its keyed hash).
    Adds the subject ids found that way to `subject_ids`.
    """
    opened = rt.personal_data.open_all(conn, (row[column] for row in rows))
    records, plaintext = [], []
    for row in rows:
        envelope, record = row[column], record_of(kind, row[id_column])
        subject_id = subject_of(envelope)
        if subject_id is not None:
            text = opened.get(envelope, ERASED)
            if subject_id in subject_ids or (
                identifier is not None and text != ERASED and normalise(text) == identifier
            ):
                subject_ids.add(subject_id)
                records.append(record)
        elif identifier is not None and normalise(_plaintext(envelope)) == identifier:
            records.append(record)
            plaintext.append(record)
    return records, plaintext


def erase_personal_data(
    rt: Runtime, *, email: str | None = None, iban: str | None = None, reason: str, actor: str
) -> dict[str, Any]:
    """Erase the data of the proposer with this e-mail address and/or the payee with this IBAN."""
    if not email and not iban:
        raise RuleViolation("give the person's e-mail address or IBAN", field="email")
    subjects = [
        *([DataSubject.proposer(email)] if email else []),
        *([DataSubject.payee(iban)] if iban else []),
    ]
    subject_ids = {
        subject_id for subject in subjects
        if (subject_id := rt.personal_data.subject_id_of(subject)) is not None
    }
    with rt.reading() as conn:
        proposals, plain_proposals = _records_of(
            rt, conn, proposer_records(conn), "proposal", "proposal_id", "proposer_email", subject_ids,
            normalise_email(email) if email else None, normalise_email,
        )
        payouts, plain_payouts = _records_of(
            rt, conn, payee_records(conn), "payout", "payout_id", "iban", subject_ids,
            normalise_iban(iban) if iban else None, normalise_iban,
        )
    if not subject_ids and not proposals and not payouts:
        raise NotFound("no personal data of this person is stored (or it was erased already)")
    erasure_id = rt.application.erase_personal_data(
        subject_ids=sorted(subject_ids), records=[*proposals, *payouts],
        plaintext_remains=[*plain_proposals, *plain_payouts], reason=reason, actor=actor,
    )
    rt.personal_data.compact()
    return {
        "erasure_id": str(erasure_id),
        "keys_destroyed": len(subject_ids),
        "records": sorted([*proposals, *payouts]),
        "plaintext_remains": sorted([*plain_proposals, *plain_payouts]),
    }
