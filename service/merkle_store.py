"""Where the Merkle log lives in the database: one leaf per stored event and every complete subtree.

Leaves are appended by `MerkleLeafWriter` inside the event store's own transaction (the event-store
seam calls it with that transaction's cursor), so an event is never acknowledged without its leaf,
and a rolled-back write leaves neither. Positions are dense (0, 1, 2, ...) and in notification-id
order: writers are serialised by the store (SQLite's write lock, PostgreSQL's table lock on the
events). Each complete subtree closed by a new leaf is stored too (about one per leaf), so roots and
proofs at any size need O(log n) rows, fetched in one query.

A store that holds events from before the log existed (an empty tree) gets their leaves first, in
log order, with a checkpoint: by `backfill_leaves` (`buurtbudget init`, `buurtbudget audit
backfill`), or else by the first write of events, in its transaction. Both run under the lock that
serialises writers, so whichever comes first does it once. Events without leaves in a log that has
leaves are never adopted: they were not written through the service, and the verifier says so.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from domain.canonical_event import canonical_event_bytes
from domain.merkle_log import (
    NodeId,
    ProofError,
    SubtreeHash,
    consistency_proof,
    frontier_of,
    inclusion_proof,
    leaf_hash,
    node_hash,
    nodes_completed_by,
    nodes_needed_for,
    root,
)

T = TypeVar("T")
metadata = sa.MetaData()
# Ids a client can ask for (checkpoints) range as far as positions do; SQLite's autoincrement
# needs its own INTEGER, which is 64-bit there anyway.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

leaves = sa.Table(
    "audit_leaves",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("notification_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
)

# Complete subtrees of level >= 1: (level, index) covers leaves [index * 2**level, (index+1) * 2**level).
nodes = sa.Table(
    "audit_nodes",
    metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("node_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
)

# Signed checkpoints (service/checkpoints.py): some are written by the leaf writer, in the
# transaction of the event that calls for them.
checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("tree_size", sa.BigInteger, nullable=False),
    sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)

# Witnesses' cosignatures of checkpoints (C2SP tlog-cosignature), as they sent them.
cosignatures = sa.Table(
    "audit_cosignatures",
    metadata,
    sa.Column("checkpoint_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("witness_key", sa.String(200), primary_key=True),
    sa.Column("signed_at", sa.BigInteger, nullable=False),
    sa.Column("cosignature", sa.Text, nullable=False),
)

# Outcomes of `audit verify --database`, the last of which /healthz reports.
verifications = sa.Table(
    "audit_verifications",
    metadata,
    sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("verified_at", sa.String(40), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("tree_size", sa.BigInteger, nullable=False),
    sa.Column("finding", sa.Text, nullable=True),
)


def stored_event_leaf(topic: str, originator_id: Any, originator_version: int, state: bytes) -> bytes:
    return leaf_hash(canonical_event_bytes(topic, originator_id, originator_version, state))


class CheckpointMaker(Protocol):
    def reasons(self, topics: Sequence[str]) -> list[str]: ...

    def checkpoint(self, size: int, root_hash: bytes, reason: str) -> dict[str, Any]: ...


class MerkleLeafWriter:
    """Appends the leaves (and closed subtrees) of newly stored events in the events' transaction.

    A transaction writer of the event store (service/event_store.py). With a checkpoint maker,
    events that call for a checkpoint get one in the same transaction.
    """

    backfill_page = 1000  # events read at a time when writing the leaves of an older log

    def __init__(self, checkpoints: CheckpointMaker | None = None) -> None:
        self.checkpoints = checkpoints
        self._frontier: tuple[int, dict[NodeId, bytes]] = (-1, {})

    def create_tables(self, transaction: Any) -> None:
        dialect = _DIALECTS[transaction.backend]
        for table in metadata.sorted_tables:
            placed = table.to_metadata(sa.MetaData(), schema=transaction.schema)
            ddl = CreateTable(placed, if_not_exists=True).compile(dialect=dialect)
            transaction.cursor.execute(str(ddl))

    def write(
        self, transaction: Any, stored_events: Sequence[Any], notification_ids: Sequence[int]
    ) -> None:
        if not stored_events:
            return
        self._append(transaction, [
            (notification_id, stored.topic, stored.originator_id, stored.originator_version,
             stored.state)
            for stored, notification_id in zip(stored_events, notification_ids, strict=True)
        ])

    def backfill(self, transaction: Any) -> int:
        """Leaves for the events of a store that has none yet; how many were written.

        Run in a transaction that no writer of events interleaves (`write_transaction()` of the
        event store's recorder); nothing to do, and 0, once the tree has leaves.
        """
        return self._append(transaction, [])

    def _append(self, transaction: Any, new_events: list[tuple[int, str, Any, int, bytes]]) -> int:
        """Append leaves for `new_events` (notification id, topic, originator, version, state),
        after those of older events if the tree is still empty; returns how many older ones."""
        sql = _statements(transaction)
        cursor = transaction.cursor
        cursor.execute(sql.max_position)
        last = _first_column(cursor.fetchone())
        position = 0 if last is None else last + 1
        written = self._frontier_at(cursor, sql, position)
        reasons = []
        older = 0
        if position == 0:
            before = new_events[0][0] if new_events else None
            for page in _event_pages(cursor, sql, before, self.backfill_page):
                position = self._insert(cursor, sql, written, position, page)
                older += len(page)
                # Only the right edge is needed to go on: memory stays flat however old the log.
                written = {node: written[node] for node in frontier_of(position)}
            if older:
                reasons.append(f"leaves written for {older} events stored before the log")
        position = self._insert(cursor, sql, written, position, new_events)
        if self.checkpoints is not None and new_events:
            reasons += self.checkpoints.reasons([event[1] for event in new_events])
        if self.checkpoints is not None and reasons:
            row = self.checkpoints.checkpoint(
                position, root(position, lambda level, index: written[(level, index)]),
                ", ".join(reasons),
            )
            cursor.execute(sql.insert_checkpoint, tuple(row[c] for c in CHECKPOINT_COLUMNS))
        self._frontier = (position, {node: written[node] for node in frontier_of(position)})
        return older

    @staticmethod
    def _insert(
        cursor: Any, sql: _Statements, written: dict[NodeId, bytes], position: int,
        events: Iterable[tuple[int, str, Any, int, bytes]],
    ) -> int:
        """Insert the leaves of `events` from `position` on, with the subtrees they close."""
        for notification_id, topic, originator_id, originator_version, state in events:
            leaf = stored_event_leaf(topic, originator_id, originator_version, state)
            cursor.execute(sql.insert_leaf, (position, notification_id, leaf))
            written[(0, position)] = leaf
            for level, index in nodes_completed_by(position):
                hashed = node_hash(written[(level - 1, 2 * index)],
                                   written[(level - 1, 2 * index + 1)])
                written[(level, index)] = hashed
                cursor.execute(sql.insert_node, (level, index, hashed))
            position += 1
        return position

    def _frontier_at(self, cursor: Any, sql: _Statements, size: int) -> dict[NodeId, bytes]:
        """The complete subtrees on the right edge of the tree of `size` leaves.

        They are all a new leaf needs (its left siblings) and all a root needs. This process'
        last write left them in memory; they are still current only if nobody appended since,
        which the size read in this transaction tells (positions are dense and append-only), so a
        rolled-back write or another process' write makes this read them again, in one query.
        """
        cached_size, cached = self._frontier
        if cached_size == size:
            return dict(cached)
        wanted = frontier_of(size)
        if not wanted:
            return {}
        cursor.execute(sql.select_subtrees(wanted))
        found = {(int(r[0]), int(r[1])): bytes(r[2]) for r in map(_row_values, cursor.fetchall())}
        if len(found) != len(wanted):
            raise RuntimeError(f"the audit log is missing subtrees of its right edge at {size}")
        return found


CHECKPOINT_COLUMNS = ("tree_size", "root_hash", "created_at", "reason", "note")
_DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}


@dataclass(frozen=True)
class _Statements:
    max_position: str
    insert_leaf: str
    insert_node: str
    leaves_table: str
    nodes_table: str
    insert_checkpoint: str
    select_events_page: str

    def select_subtrees(self, wanted: Iterable[NodeId]) -> str:
        return subtrees_query(self.leaves_table, self.nodes_table, wanted)


@functools.lru_cache(maxsize=64)
def _statements_for(backend: str, leaves_table: str, nodes_table: str, checkpoints_table: str,
                    events_table: str, notification_id: str) -> _Statements:
    mark = "?" if backend == "sqlite" else "%s"
    return _Statements(
        max_position=f"SELECT MAX(position) AS p FROM {leaves_table}",
        insert_leaf=(
            f"INSERT INTO {leaves_table} (position, notification_id, leaf_hash) "
            f"VALUES ({mark}, {mark}, {mark})"
        ),
        insert_node=(
            f"INSERT INTO {nodes_table} (level, node_index, hash) VALUES ({mark}, {mark}, {mark})"
        ),
        leaves_table=leaves_table,
        nodes_table=nodes_table,
        insert_checkpoint=(
            f"INSERT INTO {checkpoints_table} ({', '.join(CHECKPOINT_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(CHECKPOINT_COLUMNS))})"
        ),
        select_events_page=(
            f"SELECT {notification_id}, topic, originator_id, originator_version, state "
            f"FROM {events_table} WHERE {notification_id} > {mark} AND {notification_id} < {mark} "
            f"ORDER BY {notification_id} LIMIT {mark}"
        ),
    )


def _statements(transaction: Any) -> _Statements:
    return _statements_for(
        transaction.backend, transaction.table("audit_leaves"), transaction.table("audit_nodes"),
        transaction.table("audit_checkpoints"), transaction.table(transaction.events_table),
        transaction.notification_id_column,
    )


NO_LATER_THAN = 2**63 - 1


def _event_pages(
    cursor: Any, sql: _Statements, before: int | None, size: int
) -> Iterator[list[tuple[int, str, Any, int, bytes]]]:
    """The stored events with notification ids below `before` (all: None), `size` at a time."""
    after, stop = 0, NO_LATER_THAN if before is None else before
    while True:
        cursor.execute(sql.select_events_page, (after, stop, size))
        page = [(int(r[0]), r[1], r[2], int(r[3]), bytes(r[4]))
                for r in map(_row_values, cursor.fetchall())]
        if page:
            yield page
        if len(page) < size:
            return
        after = page[-1][0]


def _row_values(row: Any) -> Sequence[Any]:
    # The recorders hand out plain tuples (SQLite) or dict rows (PostgreSQL).
    return list(row.values()) if isinstance(row, dict) else row


def _first_column(row: Any) -> Any:
    return None if row is None else _row_values(row)[0]


def tree_size(conn: sa.Connection) -> int:
    last = conn.execute(sa.select(sa.func.max(leaves.c.position))).scalar()
    return 0 if last is None else last + 1


def subtrees_query(leaves_table: str, nodes_table: str, wanted: Iterable[NodeId]) -> str:
    """SQL for the hashes of these complete subtrees: rows of (level, index, hash).

    Plain SQL with integer literals (never caller input: the indexes are computed here): built
    as SQLAlchemy expressions, the varying IN lists cost more than the query itself, and a
    tuple IN would scan the table on SQLite. One index range per level.
    """
    by_level: dict[int, list[int]] = {}
    for level, index in wanted:
        by_level.setdefault(int(level), []).append(int(index))
    parts = []
    if 0 in by_level:
        positions = ",".join(map(str, by_level.pop(0)))
        parts.append(f"SELECT 0, position, leaf_hash FROM {leaves_table} "
                     f"WHERE position IN ({positions})")
    if by_level:
        ranges = " OR ".join(
            f"(level = {level} AND node_index IN ({','.join(map(str, indexes))}))"
            for level, indexes in by_level.items()
        )
        parts.append(f"SELECT level, node_index, hash FROM {nodes_table} WHERE {ranges}")
    return " UNION ALL ".join(parts)


def fetch_subtrees(conn: sa.Connection, wanted: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """The stored hashes of these complete subtrees, in one query."""
    wanted = list(wanted)
    if not wanted:
        return {}
    rows = conn.exec_driver_sql(subtrees_query(leaves.name, nodes.name, wanted))
    return {(level, index): bytes(h) for level, index, h in rows}


def computed_from_store(conn: sa.Connection, compute: Callable[[SubtreeHash], T]) -> T:
    """Run a tree computation over the stored subtrees it needs, fetched in one query."""
    return compute(StoredSubtrees(fetch_subtrees(conn, nodes_needed_for(compute))).subtree)


@dataclass(frozen=True)
class StoredSubtrees:
    """Complete subtrees read from the store, and what else the same query read."""

    hashes: dict[NodeId, bytes]
    tree_size: int = 0
    leaf_notification_id: int | None = None

    def subtree(self, level: int, index: int) -> bytes:
        try:
            return self.hashes[(level, index)]
        except KeyError:
            raise ProofError(f"the log has no subtree ({level}, {index})") from None


def read_subtrees(
    conn: sa.Connection, wanted: Iterable[NodeId], *, leaf_position: int | None = None
) -> StoredSubtrees:
    """In one statement (one round trip): the tree's size now, these subtrees, and the
    notification id of the leaf at `leaf_position`.

    One statement reads one snapshot, so the size and the subtrees agree even as writers append.
    """
    no_hash = "CAST(NULL AS bytea)" if conn.dialect.name == "postgresql" else "NULL"
    parts = [f"SELECT -1, MAX(position), {no_hash} FROM {leaves.name}"]
    if leaf_position is not None:
        parts.append(f"SELECT -2, notification_id, {no_hash} FROM {leaves.name} "
                     f"WHERE position = {int(leaf_position)}")
    wanted = list(wanted)
    if wanted:
        parts.append(subtrees_query(leaves.name, nodes.name, wanted))
    size, notification_id, hashes = 0, None, {}
    for level, index, hashed in conn.exec_driver_sql(" UNION ALL ".join(parts)):
        if level == -1:
            size = 0 if index is None else int(index) + 1
        elif level == -2:
            notification_id = int(index)
        else:
            hashes[(int(level), int(index))] = bytes(hashed)
    return StoredSubtrees(hashes, size, notification_id)


@contextmanager
def single_statement_reads(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for reads of one statement each, such as proofs.

    On PostgreSQL it runs in autocommit, where a transaction would cost a BEGIN and a ROLLBACK
    round trip for every read; on SQLite (in process) the usual deferred transaction costs nothing.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def stored_root(conn: sa.Connection, size: int) -> bytes:
    return computed_from_store(conn, lambda subtree: root(size, subtree))


def stored_inclusion_proof(conn: sa.Connection, index: int, size: int) -> list[bytes]:
    return computed_from_store(conn, lambda subtree: inclusion_proof(index, size, subtree))


def stored_consistency_proof(conn: sa.Connection, first: int, second: int) -> list[bytes]:
    return computed_from_store(conn, lambda subtree: consistency_proof(first, second, subtree))


def leaf_at_notification(conn: sa.Connection, notification_id: int) -> tuple[int, bytes] | None:
    """The position and leaf hash of a stored event, by its notification id."""
    row = conn.execute(
        sa.select(leaves.c.position, leaves.c.leaf_hash).where(
            leaves.c.notification_id == notification_id
        )
    ).first()
    return None if row is None else (row.position, bytes(row.leaf_hash))



def backfill_leaves(recorder: Any, writer: MerkleLeafWriter) -> int:
    """Write the leaves of a store whose events predate the log; how many (0: none missing)."""
    with recorder.write_transaction() as transaction:
        writer.create_tables(transaction)  # a store from before the log may not have them yet
        return writer.backfill(transaction)
