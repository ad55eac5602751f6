"""The offline verifier of an audit export: signatures, tree, replay, balances and tallies.

It needs the export and, ideally, the log's public key obtained some other way (the public page,
council minutes); no database, no secret and no network. Every check that fails becomes a finding
with the position it concerns and the kind of change it points to; the first one is what
`buurtbudget audit verify` names. `verify --database` feeds the live store through the same code.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoder,
    UUIDAsHex,
)

# Every aggregate module, so that the stored topics of all their events resolve on replay.
from domain import municipality, neighbourhood, paper_ballots, proposal, voter  # noqa: F401
from domain.ballot import Ballot, counted
from domain.budget_round import BudgetRound
from domain.canonical_event import canonical_parts
from domain.event_topics import topics_of
from domain.merkle_log import LEAF_PREFIX, MerkleFrontier, leaf_hash
from domain.round_result import comparable, count_round
from service.audit_export import FORMAT
from service.signed_note import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    load_public_key,
    open_note,
    parse_verifier_key,
    verify_cosignature,
)

BALLOT_CAST = set(topics_of(Ballot.Cast))  # type: ignore[attr-defined]
VOTING_CLOSED = set(topics_of(BudgetRound.VotingClosed))  # type: ignore[attr-defined]
TALLY_RECORDED = set(topics_of(BudgetRound.TallyRecorded))  # type: ignore[attr-defined]
TALLY_CONFIRMED = set(topics_of(BudgetRound.TallyConfirmed))  # type: ignore[attr-defined]


@dataclass
class Finding:
    kind: str  # edited, inserted, deleted, reordered, truncated, signature, replay, tally, format
    message: str
    position: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "position": self.position, "message": self.message}


@dataclass
class Report:
    events: int = 0
    sealed: int = 0
    checkpoints: int = 0
    checkpoints_verified: int = 0
    cosignatures_verified: int = 0
    tallies_recounted: int = 0
    key_source: str = "the export itself"
    tree_size: int = 0
    root_hash: str = ""
    balances: dict[str, dict[str, int]] = field(default_factory=dict)
    # Every recorded tally: what was recorded and what the export's ballots recount to.
    tallies: list[dict[str, Any]] = field(default_factory=list)
    # Each round's decision at the end of the log: the confirmed (else latest) tally.
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "events": self.events, "sealed": self.sealed,
            "tree_size": self.tree_size, "root_hash": self.root_hash,
            "checkpoints": self.checkpoints, "checkpoints_verified": self.checkpoints_verified,
            "cosignatures_verified": self.cosignatures_verified,
            "tallies_recounted": self.tallies_recounted, "key_source": self.key_source,
            "balances": self.balances, "tallies": self.tallies, "decisions": self.decisions,
            "findings": [f.as_dict() for f in self.findings],
        }

    def text(self) -> str:
        lines = [
            f"events: {self.events} ({self.sealed} sealed ballots of rounds open for voting)",
            f"tree: {self.tree_size} leaves, root {self.root_hash}",
            (f"checkpoints: {self.checkpoints_verified} of {self.checkpoints} verified "
             f"(key from {self.key_source}), {self.cosignatures_verified} witness cosignatures"),
            f"tallies recounted: {self.tallies_recounted}",
        ]
        for round_id, balance in sorted(self.balances.items()):
            figures = ", ".join(f"{k} {v}" for k, v in balance.items())
            lines.append(f"round {round_id}: {figures}")
        if self.ok:
            lines.append("OK: the log is intact")
        else:
            first = self.findings[0]
            where = "" if first.position is None else f" at position {first.position}"
            lines.append(f"FAILED{where}: {first.kind}: {first.message}")
            lines.extend(f"  - {f.kind}: {f.message}" for f in self.findings[1:20])
            if len(self.findings) > 20:
                lines.append(f"  ... and {len(self.findings) - 20} more")
        return "\n".join(lines)


def event_transcoder() -> JSONTranscoder:
    """The event store's transcoder, with the transcodings the application registers."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


def event_mapper() -> Mapper[UUID]:
    """The event store's mapper, with the transcodings the application registers."""
    return Mapper(transcoder=event_transcoder())


class _DecodedState(Transcoder):
    """Hands the mapper an event body the verifier has already decoded (typed values and all).

    The mapper then only resolves the topic, upcasts and builds the event, as it does for the
    store: the body is parsed once per event, not once for the tree and again for the replay.
    """

    def encode(self, obj: Any) -> bytes:
        raise NotImplementedError("the verifier only reads")

    def decode(self, data: Any) -> Any:
        return data


# An export's event line is canonical JSON, so its keys come in this order: the canonical event
# is the bytes between the prefix and the tail, and its leaf is their hash, with no re-encoding.
EVENT_LINE_PREFIX = b'{"event":'
EVENT_LINE_TAIL = b',"kind":"event","leaf_hash":"'
# The rest of the line after the event, as canonical JSON writes it (integers without leading zeros).
EVENT_LINE_REST = re.compile(
    rb'"kind":"event","leaf_hash":"([0-9a-f]{64})","notification_id":(0|[1-9][0-9]*),'
    rb'"position":(0|[1-9][0-9]*)}\r?\n?'
)


class _Verifier:
    def __init__(self, public_key_text: str | None, progress: Callable[[int], None] | None):
        self.report = Report()
        self.public_key_text = public_key_text
        self.progress = progress
        self.public_key: Any = None
        self.log_name = ""
        self.checkpoints: list[tuple[int, bytes, int]] = []  # (size, root, id), by size
        self.checkpoints_by_size: dict[int, list[tuple[bytes, int]]] = {}
        self.frontier = MerkleFrontier()
        self.next_position = 0
        self.last_notification = 0
        self.transcoder = event_transcoder()
        self.mapper: Mapper[UUID] = Mapper(transcoder=_DecodedState())
        self.aggregates: dict[UUID, Aggregate] = {}
        self.versions: dict[UUID, int] = {}
        self.ballots: dict[UUID, dict[UUID, tuple[int, dict[str, int]]]] = {}
        self.closed_ballots: dict[UUID, dict[UUID, tuple[int, dict[str, int]]]] = {}
        self.seen_header = self.seen_end = False
        self.lines = 0
        self.missing = 0  # leaves whose event is gone
        self.root_mismatch_found = False

    def find(self, kind: str, message: str, position: int | None = None) -> None:
        self.report.findings.append(Finding(kind, message, position))

    # -- lines -----------------------------------------------------------------------------

    def line(self, raw: bytes | str) -> None:
        if (self.seen_header and not self.seen_end and isinstance(raw, bytes)
                and raw.startswith(EVENT_LINE_PREFIX) and self.canonical_event_line(raw)):
            return
        try:
            document = json.loads(raw)
        except json.JSONDecodeError:
            self.find("format", f"line {self.lines + 1} is not JSON")
            return
        self.lines += 1
        kind = document.get("kind")
        if not self.seen_header:
            if kind != "header" or document.get("format") != FORMAT:
                self.find("format", f"the file does not start with a {FORMAT} header")
            self.header(document)
            self.seen_header = True
        elif self.seen_end:
            self.find("format", "lines after the end line")
        elif kind == "checkpoint":
            self.checkpoint(document)
        elif kind in ("event", "sealed", "missing"):
            try:
                self.entry(document)
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                # A line that lacks what its kind promises: reported, never a crash.
                self.find("format", f"line {self.lines} is not a well-formed {kind} line: "
                          f"{type(error).__name__}: {error}", document.get("position"))
        elif kind == "end":
            self.seen_end = True
            if document.get("lines") != self.report.events + self.missing:
                self.find("truncated", "the end line counts a different number of entries")
        else:
            self.find("format", f"unknown line kind {kind!r}")

    def header(self, document: dict[str, Any]) -> None:
        self.log_name = document.get("log_name", "")
        text = self.public_key_text
        if text is None:
            text = document.get("verifier_key") or ""
        else:
            self.report.key_source = "the given public key"
        try:
            name, self.public_key = load_public_key(text)
        except (NoteError, ValueError) as error:
            self.find("signature", f"no usable public key: {error}")
            return
        self.log_name = name or self.log_name

    def checkpoint(self, document: dict[str, Any]) -> None:
        self.report.checkpoints += 1
        number = document.get("id")
        if self.public_key is None:
            return
        try:
            body = open_note(document["note"], self.log_name, self.public_key)
            signed = Checkpoint.parse(body)
        except (NoteError, KeyError, TypeError) as error:
            self.find("signature", f"checkpoint {number}: {error}")
            return
        if signed.origin != self.log_name:
            self.find("signature", f"checkpoint {number} is of another log ({signed.origin})")
            return
        if (signed.tree_size != document.get("tree_size")
                or signed.root_hash.hex() != document.get("root_hash")):
            self.find("signature", f"checkpoint {number}: its fields differ from what was signed")
        for cosigned in document.get("cosignatures", []):
            self.cosignature(number, body, cosigned)
        if self.checkpoints and signed.tree_size < self.checkpoints[-1][0]:
            self.find("reordered", f"checkpoint {number} covers fewer entries than an earlier one")
        self.checkpoints.append((signed.tree_size, signed.root_hash, number))
        self.checkpoints.sort(key=lambda c: c[0])
        self.checkpoints_by_size.setdefault(signed.tree_size, []).append(
            (signed.root_hash, number)
        )
        self._check_roots()  # a checkpoint of the empty tree

    def cosignature(self, number: Any, body: str, cosigned: dict[str, Any]) -> None:
        try:
            name, key = parse_verifier_key(cosigned["witness_key"], COSIGNATURE_V1)
            verify_cosignature(body, cosigned["cosignature"], name, key)
        except (NoteError, KeyError, TypeError) as error:
            self.find("signature", f"a cosignature of checkpoint {number}: {error}")
            return
        self.report.cosignatures_verified += 1

    def canonical_event_line(self, raw: bytes) -> bool:
        """An event line as the export writes it, checked without re-encoding its event.

        The event's bytes in the line are taken as they are and hashed; only if that is the leaf
        the line names (so they are the canonical bytes the store hashed) is the line handled
        here, decoded once for the replay. Anything else (respaced, reordered, edited) goes the
        general way, which re-encodes the event and reports what differs.
        """
        cut = raw.rfind(EVENT_LINE_TAIL)
        rest = EVENT_LINE_REST.fullmatch(raw, cut + 1) if cut > 0 else None
        if rest is None:
            return False
        body = raw[len(EVENT_LINE_PREFIX):cut]
        leaf = hashlib.sha256(LEAF_PREFIX + body).digest()
        if rest[1] != leaf.hex().encode():
            return False
        notification_id, position = int(rest[2]), int(rest[3])
        try:
            # Raises on anything but exactly one JSON value: the line holds no second "event".
            event = self.transcoder.decoder.decode(body.decode("utf-8"))
            topic, version = event["topic"], event["originator_version"]
            originator, state = UUID(event["originator_id"]), event["state"]
        except (ValueError, KeyError, TypeError, AttributeError):
            return False
        if type(state) is not dict or type(version) is not int or type(topic) is not str:
            return False
        self.lines += 1
        self._notification(notification_id, position)
        self._count_event()
        self._append(position, leaf)
        self.replay(position, originator, version, topic, state)
        return True

    def entry(self, document: dict[str, Any]) -> None:
        position, stored_leaf = document.get("position"), document.get("leaf_hash")
        notification_id = document.get("notification_id") or 0
        self._notification(notification_id, position)
        if document["kind"] == "missing":
            self.missing += 1
            self.find("deleted", f"the event of notification {notification_id} is gone; "
                      "its leaf remains", position)
            self._append(position, bytes.fromhex(stored_leaf))
            return
        self._count_event()
        if document["kind"] == "sealed":
            self.report.sealed += 1
            self._append(position, bytes.fromhex(stored_leaf))
            return
        event = document["event"]
        try:
            originator = UUID(event["originator_id"])
        except (ValueError, TypeError, AttributeError):
            self.find("format", f"position {position}: the originator id is not a UUID", position)
            return
        state_bytes, event_bytes = canonical_parts(
            event["topic"], originator, event["originator_version"], event["state"]
        )
        leaf = leaf_hash(event_bytes)
        if position is None:
            self.find("inserted", f"notification {notification_id} ({event['topic']}) has no "
                      "leaf: it was not written through the service", None)
        else:
            if stored_leaf != leaf.hex():
                self.find("edited", f"{event['topic']} of {event['originator_id']} v"
                          f"{event['originator_version']} differs from what its leaf recorded",
                          position)
            self._append(position, leaf)
        try:
            state = self.transcoder.decode(state_bytes)
        except Exception as error:  # noqa: BLE001 - a body that does not decode is a finding
            self.find("replay", f"{event['topic']} of {originator} does not decode: "
                      f"{type(error).__name__}: {error}", position)
            return
        self.replay(position, originator, event["originator_version"], event["topic"], state)

    def _notification(self, notification_id: int, position: int | None) -> None:
        if notification_id <= self.last_notification:
            self.find("reordered", f"notification {notification_id} is out of order", position)
        self.last_notification = max(self.last_notification, notification_id)

    def _count_event(self) -> None:
        self.report.events += 1
        if self.progress and self.report.events % 10000 == 0:
            self.progress(self.report.events)

    def _append(self, position: int | None, leaf: bytes) -> None:
        if position != self.next_position:
            self.find("deleted", f"expected position {self.next_position}, found {position}: "
                      "entries are missing or out of order", position)
            self.next_position = position if position is not None else self.next_position
        self.frontier.append(leaf)
        self.next_position += 1
        self._check_roots()

    def _check_roots(self) -> None:
        size = self.frontier.size
        for root_hash, number in self.checkpoints_by_size.get(size, ()):
            if self.frontier.root() == root_hash:
                self.report.checkpoints_verified += 1
            elif not self.root_mismatch_found:
                # Every later checkpoint covers the same change: the first one locates it best.
                self.root_mismatch_found = True
                previous = max((s for s, _r, _n in self.checkpoints if s < size), default=0)
                self.find("edited", f"signed checkpoint {number} does not match the first {size} "
                          f"entries: something from position {previous} to {size - 1} was "
                          "changed, inserted or deleted (events and leaves alike)")

    # -- replay through the domain ---------------------------------------------------------

    def replay(
        self, position: int | None, originator: UUID, version: int, topic: str,
        state: dict[str, Any],
    ) -> None:
        """Apply one event, its body already decoded, to its aggregate."""
        expected = self.versions.get(originator, 0) + 1
        if version != expected:
            self.find("replay", f"{originator} jumps from version {expected - 1} to {version}",
                      position)
        # The mapper takes the body as the state (see _DecodedState).
        stored = StoredEvent(
            originator_id=originator, originator_version=version, topic=topic,
            state=state,  # type: ignore[arg-type]
        )
        try:
            domain_event = self.mapper.to_domain_event(stored)
            self.aggregates[originator] = domain_event.mutate(self.aggregates.get(originator))
        except Exception as error:  # noqa: BLE001 - any failure to apply is a finding
            self.find("replay", f"{topic} does not apply to {originator}: "
                      f"{type(error).__name__}: {error}", position)
            return
        self.versions[originator] = version
        self.counting(position, topic, domain_event)

    def counting(self, position: int | None, topic: str, domain_event: Any) -> None:
        if topic in BALLOT_CAST:
            round_id = domain_event.round_id
            if round_id not in self.closed_ballots:
                cast = counted(domain_event)
                # Proposal ids recur in every ballot: one string each, not one per ballot.
                self.ballots.setdefault(round_id, {})[domain_event.originator_id] = cast._replace(
                    choices={sys.intern(p): points for p, points in cast.choices.items()}
                )
        elif topic in VOTING_CLOSED:
            final = self.ballots.pop(domain_event.originator_id, {})
            self.closed_ballots[domain_event.originator_id] = final
            # A closed round's ballots take no more events: memory stays flat over many rounds.
            for ballot_id in final:
                self.aggregates.pop(ballot_id, None)
        elif topic in TALLY_RECORDED:
            self.recount(position, domain_event)
        elif topic in TALLY_CONFIRMED:
            # No tally can be recorded once one is confirmed: the round's ballots are done with.
            # (A tally recorded after it anyway does not replay, or recounts as empty: a finding.)
            self.closed_ballots[domain_event.originator_id] = {}

    def recount(self, position: int | None, domain_event: Any) -> None:
        budget_round = self.aggregates[domain_event.originator_id]
        recorded = domain_event.result
        tally = {"round_id": str(domain_event.originator_id), "tally_id": domain_event.tally_id,
                 "position": position, "recorded": comparable(recorded), "recounted": None}
        self.report.tallies.append(tally)
        try:
            recomputed = count_round(
                budget_round, self.closed_ballots.get(domain_event.originator_id, {}),
                budget=recorded["budget"], software_version="verifier",
            )
        except Exception as error:  # noqa: BLE001 - a tally that cannot be recounted is a finding
            self.find("tally", f"tally {domain_event.tally_id} cannot be recounted: {error}",
                      position)
            return
        tally["recounted"] = comparable(recomputed)
        self.report.tallies_recounted += 1
        differences = sorted(
            key for key in set(comparable(recorded)) | set(comparable(recomputed))
            if comparable(recorded).get(key) != comparable(recomputed).get(key)
        )
        if differences:
            self.find("tally", f"tally {domain_event.tally_id} of round "
                      f"{domain_event.originator_id} does not match a recount of its ballots "
                      f"({', '.join(differences)} differ)", position)

    # -- the end ---------------------------------------------------------------------------

    def finish(self) -> Report:
        report = self.report
        if not self.seen_end:
            self.find("truncated", "the export has no end line: it was cut short")
        for size, _root, number in self.checkpoints:
            if size > self.frontier.size:
                self.find("truncated", f"signed checkpoint {number} covers {size} entries, the "
                          f"log has only {self.frontier.size}: its tail was removed",
                          self.frontier.size)
        report.tree_size = self.frontier.size
        report.root_hash = self.frontier.root().hex()
        for aggregate_id, aggregate in self.aggregates.items():
            if isinstance(aggregate, BudgetRound):
                report.balances[str(aggregate_id)] = round_balances(aggregate)
                if aggregate.tallies:
                    report.decisions[str(aggregate_id)] = round_decision(aggregate)
                if report.balances[str(aggregate_id)]["available"] < 0:
                    self.find("replay", f"round {aggregate_id} has spent more than it holds")
        report.findings.sort(key=lambda f: (f.position is None, f.position or 0))
        return report


def round_balances(budget_round: BudgetRound) -> dict[str, int]:
    proposals = budget_round.reserved
    return {
        "deposited": budget_round.deposited,
        "reserved": budget_round.total_reserved,
        "pending": sum(budget_round.pending(p) for p in proposals),
        "paid": budget_round.total_paid,
        "returned": budget_round.returned,
        "available": budget_round.available,
    }


def round_decision(budget_round: BudgetRound) -> dict[str, Any]:
    """The tally that decides the round, as the results show it: the confirmed, else the latest."""
    tally_id = budget_round.confirmed_tally_id or next(reversed(budget_round.tallies), None)
    return {"tally_id": tally_id, "confirmed": tally_id == budget_round.confirmed_tally_id}


def verify_export(
    lines: Iterable[bytes | str],
    *,
    public_key: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Check an export line by line; the report lists every finding, first position first."""
    verifier = _Verifier(public_key, progress)
    for raw in lines:
        if raw.strip():
            verifier.line(raw)
    return verifier.finish()

