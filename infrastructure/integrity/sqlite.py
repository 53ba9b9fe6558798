"""SQLite with the per-case hash chain: ``PERSISTENCE_MODULE=infrastructure.integrity.sqlite``.

The library's ``SQLiteApplicationRecorder`` is kept as it is (its ``stored_events`` table,
rowids as notification ids). Its ``_insert_events`` runs inside the write transaction that
``insert_events`` opens (``BEGIN`` … ``COMMIT``, rolled back on any exception); after the
library's rows are in, and so while this connection holds SQLite's single write lock, the
previous hashes are read and the new rows are inserted into ``event_chain``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing import persistence
from eventsourcing import sqlite as es_sqlite  # the module, so that its factory is not a name here
from eventsourcing.persistence import StoredEvent

from infrastructure.integrity.chain import ChainRow, as_uuid, link, predecessors


class ChainedSQLiteApplicationRecorder(es_sqlite.SQLiteApplicationRecorder):
    """The library's application recorder, plus one ``event_chain`` row per event, atomically."""

    chain_table_name: ClassVar[str] = "event_chain"

    def __init__(self, datastore: es_sqlite.SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        if datastore.originator_id_type != "uuid":
            raise persistence.ProgrammingError("the hash chain needs ORIGINATOR_ID_TYPE=uuid")
        # Rows other modules keep beside the events, written in the events' transaction after
        # the chain (the parties' wrapped keys: ``infrastructure.privacy``).
        self.companions: list[Callable[[Any, Sequence[StoredEvent]], None]] = []
        table = self.chain_table_name
        self.select_previous_hash_statement = (
            f"SELECT hash FROM {table} WHERE originator_id = ? AND originator_version = ?"
        )
        self.insert_chain_statement = (
            f"INSERT INTO {table} (originator_id, originator_version, notification_id, digest, hash) "
            "VALUES (?, ?, ?, ?, ?)"
        )
        self.select_chain_statement = (
            f"SELECT originator_id, originator_version, notification_id, digest, hash FROM {table} "
            "WHERE originator_id = ? ORDER BY originator_version"
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.chain_table_name} ("
            "originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, "
            "notification_id INTEGER NOT NULL, "
            "digest BLOB NOT NULL, "
            "hash BLOB NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version)) "
            "WITHOUT ROWID",
        ]

    def _insert_events(
        self, c: es_sqlite.SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        if notification_ids is None:
            raise persistence.ProgrammingError("the events' insert returned no notification ids")
        self._insert_chain(c, stored_events, notification_ids)
        for write in self.companions:
            write(c, stored_events)
        return notification_ids

    def _insert_chain(
        self, c: es_sqlite.SQLiteCursor, stored_events: Sequence[StoredEvent], ids: Sequence[int]
    ) -> None:
        """Inside the write transaction: read the previous hashes, insert the new chain rows."""
        stored: dict[tuple[UUID, int], bytes] = {}
        for key, version in sorted(predecessors(stored_events)):
            c.execute(self.select_previous_hash_statement, (key.hex, version))
            row: Any = c.fetchone()
            if row is not None:
                stored[(key, version)] = bytes(row[0])
        rows = link(stored_events, ids, stored)
        c.executemany(
            self.insert_chain_statement,
            [(r.originator_id.hex, r.originator_version, r.notification_id, r.digest, r.hash) for r in rows],
        )

    def select_chain(self, originator_id: UUID) -> list[ChainRow]:
        """The aggregate's chain rows, by version."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.select_chain_statement, (originator_id.hex,))
            rows: Any = c.fetchall()
            return [ChainRow(as_uuid(row[0]), int(row[1]), int(row[2]), bytes(row[3]), bytes(row[4])) for row in rows]


class ChainedSQLiteFactory(es_sqlite.SQLiteFactory):
    """The library's SQLite factory, making chained application recorders."""

    application_recorder_class = ChainedSQLiteApplicationRecorder


Factory = ChainedSQLiteFactory
