"""Finds the ledger position (notification id) of a stored event, per storage backend.

The library's recorders have no such query, and an idempotent replay must repeat the
position the first reply gave, so each backend answers it with its own table layout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

PositionLookup = Callable[[UUID, int], "int | None"]


def position_lookup(recorder: ApplicationRecorder) -> PositionLookup:
    """A function giving the position of (aggregate id, version) in this recorder."""
    if isinstance(recorder, PostgresApplicationRecorder):
        statement = (
            f'SELECT notification_id FROM "{recorder.datastore.schema}"."{recorder.events_table_name}" '
            "WHERE originator_id = %s AND originator_version = %s"
        )

        def postgres(aggregate_id: UUID, version: int) -> int | None:
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(statement, (aggregate_id, version))
                row: Any = cursor.fetchone()
            return int(row["notification_id"]) if row else None

        return postgres
    if isinstance(recorder, SQLiteApplicationRecorder):
        sqlite_statement = (
            f"SELECT rowid FROM {recorder.events_table_name} WHERE originator_id = ? AND originator_version = ?"
        )

        def sqlite(aggregate_id: UUID, version: int) -> int | None:
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(sqlite_statement, (aggregate_id.hex, version))
                row: Any = cursor.fetchone()
            return int(row[0]) if row else None

        return sqlite
    if isinstance(recorder, POPOApplicationRecorder):

        def memory(aggregate_id: UUID, version: int) -> int | None:
            index = recorder._stored_events_index.get(str(aggregate_id), {}).get(version)
            return None if index is None else index + 1

        return memory
    raise TypeError(f"no position lookup for {type(recorder).__name__}")
