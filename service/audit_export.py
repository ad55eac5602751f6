"""The audit export: the whole log in one self-contained JSON Lines file (format in docs/audit.md).

Line by line: a header (format, software version, the log's public key), every signed checkpoint,
every event in log order in its canonical form with its position and stored leaf hash, and a
trailer with the count. Ballots of a round still open for voting are exported as their leaf hash
only, so the tree can still be checked while nobody reads a choice before the count. What the
database holds is exported as it is, also when it is wrong (an event without a leaf, a leaf without
its event): judging it is the verifier's job. Lines are produced one at a time from pages of the
log, so memory stays flat however long the log.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from domain.ballot import Ballot
from domain.budget_round import BudgetRound
from domain.canonical_event import FORMAT as CANONICAL_EVENT_FORMAT
from domain.canonical_event import canonical_document, canonical_json
from domain.event_topics import topics_of
from domain.paper_ballots import PaperBatch
from service.application import software_version
from service.checkpoints import list_checkpoints, published_checkpoint, published_key
from service.merkle_store import leaves

FORMAT = "buurtbudget-audit-export/1"
PAGE = 2000
# Events that carry or reveal ballots; each names its round, and is sealed while it votes.
BALLOT_TOPICS = set(topics_of(
    Ballot.Issued, Ballot.Cast, Ballot.Voided,  # type: ignore[attr-defined]
    PaperBatch.Entered, PaperBatch.Confirmed, PaperBatch.Discarded,  # type: ignore[attr-defined]
))
VOTING_OPENED = topics_of(BudgetRound.VotingOpened)  # type: ignore[attr-defined]
VOTING_CLOSED = topics_of(BudgetRound.VotingClosed)  # type: ignore[attr-defined]


def export_lines(runtime: Any, *, seal_open_ballots: bool = True) -> Iterator[bytes]:
    """The export, one line (bytes, ending in a newline) at a time."""
    recorder = runtime.application.recorder
    # Checkpoints, then events, then leaves: a checkpoint and a leaf commit with their events, so
    # every checkpoint read covers only events up to `last`, and every event up to `last` that
    # has a leaf has it visible by the time the leaves are read. A checkpoint covering more
    # entries than are exported is then a truncated log, never a race with a writer.
    with runtime.engine.connect() as conn:
        checkpoints = [published_checkpoint(row) for row in list_checkpoints(conn, limit=10_000_000)]
    last = recorder.max_notification_id() or 0
    sealed = _rounds_open_for_voting(recorder, last) if seal_open_ballots else set()
    with runtime.engine.connect() as conn:
        size = _leaves_up_to(conn, last)
    key = published_key(runtime.checkpoint_signer)
    yield _line({
        "kind": "header", "format": FORMAT, "canonical_event": CANONICAL_EVENT_FORMAT,
        "software_version": software_version(), "log_name": key["log_name"],
        "verifier_key": key["verifier_key"], "public_key_pem": key["public_key_pem"],
        "exported_at": datetime.now(UTC).isoformat(), "tree_size": size,
        "sealed_rounds": sorted(str(r) for r in sealed),
    })
    for row in checkpoints:
        yield _line({"kind": "checkpoint", **row})
    count = 0
    for entry in _events_with_leaves(runtime, recorder, last):
        yield _line(_entry_line(entry, sealed))
        count += 1
    yield _line({"kind": "end", "lines": count})


def _line(document: dict[str, Any]) -> bytes:
    return canonical_json(document) + b"\n"


def _rounds_open_for_voting(recorder: Any, last: int) -> set[UUID]:
    open_rounds: set[UUID] = set()
    start = 1
    while start <= last:
        page = recorder.select_notifications(
            start=start, limit=PAGE, stop=last, topics=VOTING_OPENED + VOTING_CLOSED
        )
        for n in page:
            (open_rounds.add if n.topic in VOTING_OPENED else open_rounds.discard)(n.originator_id)
        if len(page) < PAGE:
            break
        start = page[-1].id + 1
    return open_rounds


def _leaves_up_to(conn: sa.Connection, last: int) -> int:
    count = conn.execute(
        sa.select(sa.func.count()).select_from(leaves).where(leaves.c.notification_id <= last)
    ).scalar()
    return int(count or 0)


def _events_with_leaves(runtime: Any, recorder: Any, last: int) -> Iterator[tuple[Any, Any]]:
    """(notification or None, leaf row or None) merged on notification id, in log order."""
    events = _event_pages(recorder, last)
    stored = _leaf_pages(runtime.engine, last)
    event, leaf = next(events, None), next(stored, None)
    while event is not None or leaf is not None:
        if leaf is None or (event is not None and event.id < leaf.notification_id):
            yield event, None
            event = next(events, None)
        elif event is None or leaf.notification_id < event.id:
            yield None, leaf
            leaf = next(stored, None)
        else:
            yield event, leaf
            event, leaf = next(events, None), next(stored, None)


def _event_pages(recorder: Any, last: int) -> Iterator[Any]:
    start = 1
    while start <= last:
        page = recorder.select_notifications(start=start, limit=PAGE, stop=last)
        yield from page
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def _leaf_pages(engine: sa.Engine, last: int) -> Iterator[Any]:
    after = -1
    while True:
        with engine.connect() as conn:
            page = conn.execute(
                sa.select(leaves)
                .where(leaves.c.position > after, leaves.c.notification_id <= last)
                .order_by(leaves.c.position)
                .limit(PAGE)
            ).all()
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].position


def _entry_line(entry: tuple[Any, Any], sealed: set[UUID]) -> dict[str, Any]:
    event, leaf = entry
    line: dict[str, Any] = {
        "kind": "event",
        "position": None if leaf is None else leaf.position,
        "notification_id": event.id if event is not None else leaf.notification_id,
        "leaf_hash": None if leaf is None else bytes(leaf.leaf_hash).hex(),
    }
    if event is None:
        line["kind"] = "missing"
        return line
    state = json.loads(event.state)
    if event.topic in BALLOT_TOPICS and round_of_ballot(state) in sealed and leaf is not None:
        line["kind"] = "sealed"
        line["topic"] = event.topic
        return line
    line["event"] = canonical_document(
        event.topic, event.originator_id, event.originator_version, state
    )
    return line


def round_of_ballot(state: dict[str, Any]) -> UUID | None:
    """The round of a stored ballot event, from its body as stored."""
    value = state.get("round_id")
    if isinstance(value, dict):
        value = value.get("_data_")
    try:
        return UUID(str(value))
    except ValueError:
        return None
