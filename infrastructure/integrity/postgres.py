"""PostgreSQL with the per-case hash chain: ``PERSISTENCE_MODULE=infrastructure.integrity.postgres``.

The library's ``PostgresApplicationRecorder`` is kept with its ``stored_events`` table, its
table lock, its ``NOTIFY``, its pipeline and its retries. Two things change:

- The events go to the server as rows of scalars (``INSERT … VALUES … RETURNING``) instead of
  one array of a composite type: psycopg dumps scalars in C, and the composite's text form is
  escaped in Python byte by byte. ``PlainPostgresApplicationRecorder`` is just that.
- ``ChainedPostgresApplicationRecorder`` adds one ``event_chain`` row per event. The chain is
  linked before the transaction begins (``infrastructure.integrity.chain``), and its rows, and
  the rows of ``companions`` (the parties' wrapped keys), are queued in the library's pipeline
  right behind the events' insert, under its ``LOCK TABLE … IN EXCLUSIVE MODE`` and before its
  sync. So they travel in the same round trip and commit with the events or not at all.

The library swallows any exception raised after its insert (to quiet psycopg's pipeline)
and re-raises it only after the ``conn.transaction()`` block has exited normally, that is,
after COMMIT. A Python failure of the chain step is therefore carried out of that block as
a ``BaseException`` (which its ``except Exception`` does not catch), so the transaction rolls
back, and is turned back into the original error (as the library's own error class) here.
Server-side failures of the queued rows surface at the sync, like a duplicate event.

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
from psycopg.abc import AdaptContext
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Identifier

from infrastructure.integrity.chain import ChainRow, Link, as_uuid, links, predecessors

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


class RowsInsert:
    """An ``INSERT … VALUES {values}`` for any number of rows, rendered once per row count.

    One statement per batch with scalar parameters: psycopg dumps scalars in C where its
    array dumpers walk each list in Python, and ``execute`` stays inside a pipeline where
    ``executemany`` syncs. The text is rendered to bytes once per count, since composing
    ``psycopg.sql`` objects again for every write costs more than the write's own dumping.
    """

    def __init__(self, template: SQL, types: Sequence[str], **names: Composable) -> None:
        self.template, self.names = template, names
        self.row = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
        self._rendered: dict[int, bytes] = {}

    def __call__(self, rows: int, context: AdaptContext) -> bytes:
        found = self._rendered.get(rows)
        if found is None:
            values = SQL(", ".join([self.row] * rows))
            found = self._rendered[rows] = self.template.format(values=values, **self.names).as_bytes(context)
        return found


class PlainPostgresApplicationRecorder(es_postgres.PostgresApplicationRecorder):
    """The library's application recorder, inserting events as rows of scalars."""

    def __init__(self, datastore: es_postgres.PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        if datastore.enable_db_functions:
            raise persistence.ProgrammingError(
                "POSTGRES_ENABLE_DB_FUNCTIONS inserts without the table lock and without the hash chain; turn it off"
            )
        if datastore.originator_id_type != "uuid":
            raise persistence.ProgrammingError("the hash chain needs ORIGINATOR_ID_TYPE=uuid")
        self._insert_rows = RowsInsert(
            SQL(
                "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) VALUES {values} "
                "RETURNING notification_id"
            ),
            ("uuid", "bigint", "text", "bytea"),
            schema=Identifier(datastore.schema),
            table=Identifier(events_table_name),
        )
        self._notify = SQL("NOTIFY {0}").format(Identifier(self.channel_name))
        # A registration with its parties sealed is a little over 2 kB: past PostgreSQL's
        # default TOAST target, every such row would be compressed (ciphertext barely
        # shrinks) and moved to the TOAST table, costing a second heap and index insert.
        # Rows stay inline up to a page; only larger ones are TOASTed.
        self.sql_create_statements.append(
            SQL("ALTER TABLE {schema}.{table} SET (toast_tuple_target = 8160)").format(
                schema=Identifier(datastore.schema), table=Identifier(events_table_name)
            )
        )

    def _insert_stored_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # The library's own steps, in its order; only the insert's form differs.
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(*self._insert_statement(curs, stored_events, **kwargs))

    def _insert_statement(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> tuple[bytes, list[Any]]:
        """The events' insert and its parameters; it returns their notification ids, in order."""
        params = [v for e in stored_events for v in (e.originator_id, e.originator_version, e.topic, e.state)]
        return self._insert_rows(len(stored_events), curs), params

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        # The library's statement, composed once rather than on every write.
        curs.execute(self._notify)


class ChainedPostgresApplicationRecorder(PlainPostgresApplicationRecorder):
    """The plain recorder, plus one ``event_chain`` row per event, atomically."""

    chain_table_name: ClassVar[str] = "event_chain"
    chain_retry_attempts: ClassVar[int] = 10
    chain_retry_wait: ClassVar[float] = 0.2

    def __init__(self, datastore: es_postgres.PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
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
        self.select_chain_statement = SQL(
            "SELECT originator_id, originator_version, notification_id, digest, hash FROM {schema}.{chain} "
            "WHERE originator_id = %s ORDER BY originator_version"
        ).format(**names)
        # One statement inserts the events and their chain rows: each chain row takes the
        # notification id its event was given, and the ids come back in the events' order.
        self._insert_chained = RowsInsert(
            SQL(
                "WITH l (originator_id, originator_version, topic, state, digest, hash) AS (VALUES {values}), "
                "e AS (INSERT INTO {schema}.{events} (originator_id, originator_version, topic, state) "
                "SELECT originator_id, originator_version, topic, state FROM l "
                "RETURNING notification_id, originator_id, originator_version) "
                "INSERT INTO {schema}.{chain} (originator_id, originator_version, notification_id, digest, hash) "
                "SELECT e.originator_id, e.originator_version, e.notification_id, l.digest, l.hash "
                "FROM e JOIN l USING (originator_id, originator_version) ORDER BY e.notification_id "
                "RETURNING notification_id"
            ),
            ("uuid", "bigint", "text", "bytea", "bytea", "bytea"),
            events=Identifier(self.events_table_name),
            **names,
        )

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        attempts = 0
        while True:
            try:
                # Linked before the events' transaction begins, so that the chain rows go to the
                # server in the same round trip as the events. Reading a predecessor's hash
                # outside the table lock is safe: it was committed with its event before that
                # aggregate could be loaded to make the next one, and it never changes; a rival
                # writer of the same version loses on the events' unique key.
                chain = links(stored_events, self._previous_hashes(stored_events))
                notification_ids: Sequence[int] | None = super().insert_events(stored_events, chain=chain, **kwargs)
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

    def _previous_hashes(self, stored_events: Sequence[StoredEvent]) -> dict[tuple[UUID, int], bytes]:
        wanted = sorted(predecessors(stored_events))
        if not wanted:
            return {}
        try:
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(
                    self.select_previous_hashes_statement,
                    ([key for key, _ in wanted], [version for _, version in wanted]),
                    prepare=True,
                )
                rows = curs.fetchall()
        except Exception as error:
            raise _RolledBack(error) from error
        return {(as_uuid(row["originator_id"]), int(row["originator_version"])): bytes(row["hash"]) for row in rows}

    def _insert_statement(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], *, chain: Sequence[Link] = (), **_: Any
    ) -> tuple[bytes, list[Any]]:
        if len(chain) != len(stored_events):
            raise _RolledBack(persistence.ProgrammingError(f"{len(stored_events)} events but {len(chain)} links"))
        params = [
            v
            for e, x in zip(stored_events, chain, strict=True)
            for v in (e.originator_id, e.originator_version, e.topic, e.state, x.digest, x.hash)
        ]
        return self._insert_chained(len(stored_events), curs), params

    def _insert_stored_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)
        # Queued behind the events in the library's pipeline, under its table lock and before
        # its sync: errors in them surface at that sync and abort the transaction, exactly
        # like a duplicate event. A Python error here must not let the library commit.
        try:
            with curs.connection.cursor() as side:
                for write in self.companions:
                    write(side, stored_events)
        except Exception as error:
            raise _RolledBack(error) from error

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
