"""PostgreSQL with the per-case hash chain: ``PERSISTENCE_MODULE=infrastructure.integrity.postgres``.

The library's ``PostgresApplicationRecorder`` is kept as it is: its ``stored_events`` table,
its table lock, its pipeline and its retries. The one addition happens inside its write
transaction, right after the events' insert has returned their notification ids and while
the ``LOCK TABLE … IN EXCLUSIVE MODE`` it takes first is still held: the previous hashes are
read (no other writer can be between its insert and its commit), the new chain rows are
computed (``infrastructure.integrity.chain``) and inserted into ``event_chain``. The rows
commit with the events or not at all.

The library swallows any exception raised after its insert (to quiet psycopg's pipeline)
and re-raises it only after the ``conn.transaction()`` block has exited normally, that is,
after COMMIT. A failure of the chain step is therefore carried out of that block as a
``BaseException`` (which its ``except Exception`` does not catch), so the transaction rolls
back, and is turned back into the original error (as the library's own error class) here.

``POSTGRES_ENABLE_DB_FUNCTIONS`` (insert by a database function, without the lock) is
refused: it bypasses the hook, and REFERENCES says to keep it off anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from eventsourcing import persistence
from eventsourcing import postgres as es_postgres  # the module, so that its factory is not a name here
from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from infrastructure.integrity.chain import ChainRow, as_uuid, link, predecessors

# psycopg's errors and the library's, in the order ``PostgresDatastore.get_connection`` maps them.
_ERROR_MAP: tuple[tuple[type[psycopg.Error], type[persistence.PersistenceError]], ...] = (
    (psycopg.InterfaceError, persistence.InterfaceError),
    (psycopg.OperationalError, persistence.OperationalError),
    (psycopg.DataError, persistence.DataError),
    (psycopg.IntegrityError, persistence.IntegrityError),
    (psycopg.InternalError, persistence.InternalError),
    (psycopg.ProgrammingError, persistence.ProgrammingError),
    (psycopg.NotSupportedError, persistence.NotSupportedError),
    (psycopg.DatabaseError, persistence.DatabaseError),
    (psycopg.Error, persistence.PersistenceError),
)
_RETRIED = (persistence.InterfaceError, persistence.OperationalError)


class _RolledBack(BaseException):
    """Carries a chain-step error past the library's ``except Exception`` so it rolls back."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


def _as_library_error(error: Exception) -> Exception:
    for source, target in _ERROR_MAP:
        if isinstance(error, source):
            return target(str(error))
    return error


class ChainedPostgresApplicationRecorder(es_postgres.PostgresApplicationRecorder):
    """The library's application recorder, plus one ``event_chain`` row per event, atomically."""

    chain_table_name: ClassVar[str] = "event_chain"
    chain_retry_attempts: ClassVar[int] = 10
    chain_retry_wait: ClassVar[float] = 0.2

    def __init__(self, datastore: es_postgres.PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        if datastore.enable_db_functions:
            raise persistence.ProgrammingError(
                "POSTGRES_ENABLE_DB_FUNCTIONS inserts without the table lock and without the hash chain; turn it off"
            )
        if datastore.originator_id_type != "uuid":
            raise persistence.ProgrammingError("the hash chain needs ORIGINATOR_ID_TYPE=uuid")
        self.check_identifier_length(self.chain_table_name)
        # Rows other modules keep beside the events, written in the events' transaction after
        # the chain (the parties' wrapped keys: ``infrastructure.privacy``).
        self.companions: list[Callable[[Cursor[DictRow], Sequence[StoredEvent]], None]] = []
        names = {
            "schema": Identifier(datastore.schema),
            "chain": Identifier(self.chain_table_name),
        }
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{chain} ("
                "originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, "
                "notification_id bigint NOT NULL, "
                "digest bytea NOT NULL, "
                "hash bytea NOT NULL, "
                "PRIMARY KEY (originator_id, originator_version))"
            ).format(**names)
        )
        self.select_previous_hashes_statement = SQL(
            "SELECT c.originator_id, c.originator_version, c.hash FROM {schema}.{chain} AS c "
            "JOIN unnest(%s::uuid[], %s::bigint[]) AS p (originator_id, originator_version) "
            "USING (originator_id, originator_version)"
        ).format(**names)
        self.insert_chain_statement = SQL(
            "INSERT INTO {schema}.{chain} (originator_id, originator_version, notification_id, digest, hash) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::bytea[], %s::bytea[])"
        ).format(**names)
        self.select_chain_statement = SQL(
            "SELECT originator_id, originator_version, notification_id, digest, hash FROM {schema}.{chain} "
            "WHERE originator_id = %s ORDER BY originator_version"
        ).format(**names)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        attempts = 0
        while True:
            try:
                notification_ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            except _RolledBack as rolled_back:
                error = _as_library_error(rolled_back.error)
                attempts += 1
                # Like the library: a dropped connection is retried (nothing was committed).
                if isinstance(error, _RETRIED) and attempts < self.chain_retry_attempts:
                    time.sleep(self.chain_retry_wait)
                    continue
                if error is rolled_back.error:
                    raise error from None
                raise error from rolled_back.error
            return notification_ids

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        try:
            if notification_ids is None:
                raise persistence.ProgrammingError("the events' insert returned no notification ids")
            self._insert_chain(curs, stored_events, notification_ids)
            for write in self.companions:
                write(curs, stored_events)
        except Exception as error:
            raise _RolledBack(error) from error
        return notification_ids

    def _insert_chain(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], ids: Sequence[int]) -> None:
        """Inside the locked transaction: read the previous hashes, insert the new chain rows."""
        wanted = sorted(predecessors(stored_events))
        stored: dict[tuple[UUID, int], bytes] = {}
        if wanted:
            curs.execute(
                self.select_previous_hashes_statement,
                ([key for key, _ in wanted], [version for _, version in wanted]),
                prepare=True,
            )
            for row in curs.fetchall():
                stored[(as_uuid(row["originator_id"]), int(row["originator_version"]))] = bytes(row["hash"])
        rows = link(stored_events, ids, stored)
        # Errors of this insert surface at the latest at COMMIT, which then fails: atomic either way.
        curs.execute(
            self.insert_chain_statement,
            (
                [r.originator_id for r in rows],
                [r.originator_version for r in rows],
                [r.notification_id for r in rows],
                [r.digest for r in rows],
                [r.hash for r in rows],
            ),
            prepare=True,
        )

    def select_chain(self, originator_id: UUID) -> list[ChainRow]:
        """The aggregate's chain rows, by version."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_chain_statement, (originator_id,), prepare=True)
            return [
                ChainRow(
                    as_uuid(row["originator_id"]),
                    int(row["originator_version"]),
                    int(row["notification_id"]),
                    bytes(row["digest"]),
                    bytes(row["hash"]),
                )
                for row in curs.fetchall()
            ]


class ChainedPostgresFactory(es_postgres.PostgresFactory):
    """The library's PostgreSQL factory, making chained application recorders."""

    application_recorder_class = ChainedPostgresApplicationRecorder


Factory = ChainedPostgresFactory
