"""The global Merkle log (RFC 9162 hashing): one leaf per ledger event, gapless, append-only.

The projection worker appends the leaves of each batch in the same transaction as the
views and its tracked position, so every event becomes exactly one leaf, in ledger order.
Leaf indexes are the log's own (0, 1, 2 …): notification ids can have permanent gaps.

Leaf data (version 1), with ``u64`` 8 bytes big-endian and ``digest`` the event digest of
``infrastructure.integrity.chain`` (it covers the event's id, version, topic and stored
bytes)::

    leaf_data = b"caseledger-leaf/v1" || u64(ledger position) || digest
    leaf_hash = SHA-256(0x00 || leaf_data)            (RFC 9162 §2.1.1)

Complete subtrees above the leaves are stored as they form (``merkle_nodes``), so roots and
proofs read O(log n) rows however long the log grows. Level 0, the leaf hashes, is read from
``merkle_leaves``: storing it twice would double the rows every event adds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.merkle import (
    NodeSource,
    complete_nodes_after_append,
    consistency_proof,
    inclusion_proof,
    tree_root,
)
from infrastructure.integrity.chain import as_uuid, event_digest
from infrastructure.views.db import Cursor, ViewDatabase

_T = TypeVar("_T")
LEAF_TAG = b"caseledger-leaf/v1"
LOG_VIEW = "merkle"

DDL = [
    "CREATE TABLE IF NOT EXISTS merkle_leaves (leaf_index BIGINT PRIMARY KEY, position BIGINT NOT NULL UNIQUE, "
    "originator_id TEXT NOT NULL, originator_version BIGINT NOT NULL, leaf_hash TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS merkle_leaves_event ON merkle_leaves (originator_id, originator_version)",
    "CREATE TABLE IF NOT EXISTS merkle_nodes (level BIGINT NOT NULL, node_index BIGINT NOT NULL, "
    "hash TEXT NOT NULL, PRIMARY KEY (level, node_index))",
    "CREATE TABLE IF NOT EXISTS checkpoints (tree_size BIGINT PRIMARY KEY, created_at TEXT NOT NULL, "
    "checkpoint TEXT NOT NULL)",
]


def leaf_data(position: int, originator_id: UUID, originator_version: int, topic: str, state: bytes) -> bytes:
    """The bytes a leaf stands for (see the module docstring)."""
    return LEAF_TAG + position.to_bytes(8, "big") + event_digest(originator_id, originator_version, topic, state)


_LEAF_HEAD = b"\x00" + LEAF_TAG  # RFC 9162's leaf prefix, then the leaf data's tag


def event_leaf_hash(position: int, originator_id: UUID, originator_version: int, topic: str, state: bytes) -> bytes:
    """``leaf_hash(leaf_data(…))`` in one step: the log's and the verifier's hot path."""
    digest = event_digest(originator_id, originator_version, topic, state)
    return sha256(_LEAF_HEAD + position.to_bytes(8, "big") + digest).digest()


def notification_leaf(notification: Notification) -> bytes:
    return event_leaf_hash(
        notification.id,
        as_uuid(notification.originator_id),
        notification.originator_version,
        notification.topic,
        notification.state,
    )


@dataclass(frozen=True)
class LeafInfo:
    """Where an event stands in the log."""

    leaf_index: int
    position: int
    leaf_hash: bytes


class _CursorNodes:
    """Complete subtrees read through a cursor, with the newest ones remembered."""

    def __init__(self, cursor: Cursor, recent: dict[tuple[int, int], bytes]) -> None:
        self.cursor = cursor
        self.recent = recent

    def subtree(self, level: int, index: int) -> bytes:
        found = self.recent.get((level, index))
        if found is not None:
            return found
        if level == 0:
            self.cursor.execute("SELECT leaf_hash AS hash FROM merkle_leaves WHERE leaf_index = ?", (index,))
        else:
            self.cursor.execute("SELECT hash FROM merkle_nodes WHERE level = ? AND node_index = ?", (level, index))
        row = self.cursor.fetchone()
        if row is None:
            raise LookupError(f"no complete subtree at level {level}, index {index}")
        value = bytes.fromhex(row["hash"] if isinstance(row, dict) else row[0])
        self.recent[(level, index)] = value
        return value


class _Recording:
    """Names the nodes a computation reads, answering with placeholders."""

    def __init__(self, wanted: list[tuple[int, int]]) -> None:
        self.wanted = wanted

    def subtree(self, level: int, index: int) -> bytes:
        self.wanted.append((level, index))
        return bytes(32)


class _Found:
    """Nodes fetched in advance."""

    def __init__(self, found: dict[tuple[int, int], bytes]) -> None:
        self.found = found

    def subtree(self, level: int, index: int) -> bytes:
        try:
            return self.found[(level, index)]
        except KeyError:
            raise LookupError(f"no complete subtree at level {level}, index {index}") from None


# Leaf indexes are gapless from 0, so the size is the last one plus one: read from the
# primary key's end, where counting the rows would read them all on every append.
_SIZE = "SELECT COALESCE(MAX(leaf_index) + 1, 0) AS n FROM merkle_leaves"
_LEAF_COLUMNS = ("leaf_index", "position", "originator_id", "originator_version", "leaf_hash")


class MerkleLog:
    """Appends leaves and answers roots and proofs from the stored complete subtrees."""

    def __init__(self, db: ViewDatabase) -> None:
        self.db = db
        # The newest complete node of each level: the only ones an append ever needs.
        self._frontier: dict[tuple[int, int], bytes] = {}

    def create(self) -> None:
        with self.db.transaction() as cursor:
            for ddl in DDL:
                cursor.execute(ddl)
            cursor.execute(
                "INSERT INTO view_positions (view, position) VALUES (?, 0) ON CONFLICT (view) DO NOTHING", (LOG_VIEW,)
            )

    def forget(self) -> None:
        self._frontier.clear()

    @staticmethod
    def size_in(cursor: Cursor) -> int:
        cursor.execute(_SIZE)
        row = cursor.fetchone()
        return int(row["n"] if isinstance(row, dict) else row[0])

    def append(self, cursor: Cursor, notifications: Sequence[Notification]) -> int:
        """Append one leaf per notification, in order; returns the new tree size."""
        size = self.size_in(cursor)
        nodes = _CursorNodes(cursor, self._frontier)
        leaves: list[tuple[Any, ...]] = []
        new_nodes: list[tuple[int, int, str]] = []
        for offset, notification in enumerate(notifications):
            index = size + offset
            hashed = notification_leaf(notification)
            leaves.append(
                (
                    index,
                    notification.id,
                    str(notification.originator_id),
                    notification.originator_version,
                    hashed.hex(),
                )
            )
            for level, node_index, value in complete_nodes_after_append(index, hashed, nodes.subtree):
                nodes.recent[(level, node_index)] = value
                if level:  # level 0 is the leaf row itself
                    new_nodes.append((level, node_index, value.hex()))
        self.db.insert_rows(cursor, "merkle_leaves", _LEAF_COLUMNS, leaves)
        self.db.insert_rows(cursor, "merkle_nodes", ("level", "node_index", "hash"), new_nodes)
        self._trim()
        return size + len(notifications)

    def _trim(self) -> None:
        # Keep only the newest node per level; older ones are read back when a proof needs them.
        newest: dict[int, int] = {}
        for level, index in self._frontier:
            newest[level] = max(newest.get(level, -1), index)
        self._frontier = {k: v for k, v in self._frontier.items() if newest[k[0]] == k[1]}

    # ------------------------------------------------------------------ reading

    def size(self) -> int:
        return int(self.db.query(_SIZE)[0]["n"])

    def _answer(self, compute: Callable[[NodeSource], _T]) -> _T:
        """Run a root or proof computation with one query for all the nodes it reads.

        A dry run with placeholder hashes names the nodes (which ones depend only on the
        sizes and indexes), then they are fetched together and the real run uses them.
        """
        wanted: list[tuple[int, int]] = []
        compute(_Recording(wanted))
        found: dict[tuple[int, int], bytes] = {}
        leaves = [index for level, index in wanted if level == 0]
        nodes = [key for key in wanted if key[0] > 0]
        selects, params = [], []
        if leaves:
            marks = ", ".join("?" for _ in leaves)
            selects.append(
                "SELECT 0 AS level, leaf_index AS node_index, leaf_hash AS hash FROM merkle_leaves "
                f"WHERE leaf_index IN ({marks})"
            )
            params.extend(leaves)
        if nodes:
            clause = " OR ".join("(level = ? AND node_index = ?)" for _ in nodes)
            selects.append(f"SELECT level, node_index, hash FROM merkle_nodes WHERE {clause}")
            params.extend(value for key in nodes for value in key)
        if selects:
            for row in self.db.query(" UNION ALL ".join(selects), params):
                found[(int(row["level"]), int(row["node_index"]))] = bytes.fromhex(row["hash"])
        return compute(_Found(found))

    def root(self, size: int) -> bytes:
        return self._answer(lambda nodes: tree_root(size, nodes))

    def leaf(self, position: int) -> LeafInfo | None:
        rows = self.db.query("SELECT leaf_index, position, leaf_hash FROM merkle_leaves WHERE position = ?", [position])
        if not rows:
            return None
        row = rows[0]
        return LeafInfo(int(row["leaf_index"]), int(row["position"]), bytes.fromhex(row["leaf_hash"]))

    def leaves_of(self, originator_id: str) -> list[LeafInfo]:
        rows = self.db.query(
            "SELECT leaf_index, position, leaf_hash FROM merkle_leaves WHERE originator_id = ? "
            "ORDER BY originator_version",
            [originator_id],
        )
        return [LeafInfo(int(r["leaf_index"]), int(r["position"]), bytes.fromhex(r["leaf_hash"])) for r in rows]

    def stored_leaf_hashes(self, size: int) -> list[str]:
        """The stored leaf hashes (hex) of the first ``size`` leaves, in order."""
        rows = self.db.query("SELECT leaf_hash FROM merkle_leaves WHERE leaf_index < ? ORDER BY leaf_index", [size])
        return [row["leaf_hash"] for row in rows]

    def inclusion(self, leaf_index: int, size: int) -> list[bytes]:
        return self._answer(lambda nodes: inclusion_proof(leaf_index, size, nodes))

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        return self._answer(lambda nodes: consistency_proof(old_size, new_size, nodes))

    def save_checkpoint(self, tree_size: int, created_at: str, checkpoint_json: str) -> None:
        with self.db.transaction() as cursor:
            cursor.execute(
                "INSERT INTO checkpoints (tree_size, created_at, checkpoint) VALUES (?, ?, ?) "
                "ON CONFLICT (tree_size) DO NOTHING",
                (tree_size, created_at, checkpoint_json),
            )

    def checkpoint_at(self, tree_size: int) -> str | None:
        rows = self.db.query("SELECT checkpoint FROM checkpoints WHERE tree_size = ?", [tree_size])
        return rows[0]["checkpoint"] if rows else None

    def checkpoints(self, limit: int = 100) -> list[str]:
        rows = self.db.query("SELECT checkpoint FROM checkpoints ORDER BY tree_size DESC LIMIT ?", [limit])
        return [row["checkpoint"] for row in rows]
