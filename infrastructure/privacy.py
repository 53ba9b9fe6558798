"""Where parties' keys live: key files outside the database, a key table beside the events.

Two secrets are kept in files, never in the database (``Settings.privacy_key_dir``, by
default ``<data_dir>/keys``; directory 0700, files 0600, made on first use):

    party-kek.key      the key-encryption key (AES-256) that wraps every party's data key
    party-lookup.key   the HMAC-SHA256 key of the ID-number and phone lookup tokens

Each is one line: 64 hexadecimal digits (32 bytes). Someone holding a copy of the database
without these files reads no party's data and can link no ID number or phone to a case.

The wrapped data keys live in the event store's own database, in tables of their own and
never inside an event; a registration's keys are inserted in the very transaction that
inserts its events (the in-memory backend keeps keys and secrets beside its recorder,
and writes no file)::

    party_keys            (case_id, party_id) → key_id, wrapped, created_at
    party_key_tombstones  (case_id, party_id) → key_id, destroyed_at, destroyed_by, requested_by

Destroying a key deletes its row and writes its tombstone in one transaction. SQLite is
told to overwrite deleted content (``secure_delete``) and its write-ahead log is then
checkpointed, so the wrapped key leaves the files; PostgreSQL keeps a dead row version until
VACUUM, and on both, backups and WAL archives keep the wrapped key until they expire.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.privacy import PartyKeyStore, PersonalData, Tombstone, WrappedKey
from infrastructure.settings import Settings

KEK_FILENAME = "party-kek.key"
LOOKUP_KEY_FILENAME = "party-lookup.key"
KEYS_TABLE = "party_keys"
TOMBSTONES_TABLE = "party_key_tombstones"

# One ``PersonalData`` per recorder: ledgers sharing a recorder (in-memory tests) share its
# keys, and a recorder's companion writer is registered once however often it is asked for.
_BY_RECORDER: weakref.WeakKeyDictionary[Any, PersonalData] = weakref.WeakKeyDictionary()
_BY_RECORDER_LOCK = threading.Lock()

# What the service's database role needs on the key tables (for ``caseledger migrate``):
# keys are deleted when destroyed; tombstones are append-only, like the events.
KEY_TABLE_GRANTS = {KEYS_TABLE: ("SELECT", "INSERT", "DELETE"), TOMBSTONES_TABLE: ("SELECT", "INSERT")}


def load_or_create_key(path: Path, size: int = 32) -> bytes:
    """The secret in ``path`` (hex, one line), generated there on first use (dir 0700, file 0600).

    A new key is written to a private temporary file and hard-linked into place, so two
    processes starting together share whichever key was linked first, never half a key.
    """
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".party-key-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as file:
                os.chmod(temporary, 0o600)
                file.write(os.urandom(size).hex() + "\n")
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    text = path.read_text("ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{path} does not hold a hexadecimal key") from None
    if len(key) != size:
        raise ValueError(f"{path} holds {len(key)} bytes; {size} are needed")
    return key


class _Staged:
    """Keys of cases being registered, until the recorder writes them with the events.

    The chained recorders call ``write_staged`` inside the transaction that inserts the
    events (``companions``), after the events and their chain rows: the keys of every
    registration in the batch are inserted there, so they commit with the events or not at
    all, and a group commit stores many registrations' keys in one statement.
    """

    def __init__(self) -> None:
        self._staged: dict[str, list[WrappedKey]] = {}
        self._lock = threading.Lock()
        self.writable = True

    def stage(self, case_id: str, keys: Sequence[WrappedKey]) -> None:
        if not self.writable:
            raise RuntimeError("this event store's recorder cannot store parties' keys with its events")
        with self._lock:
            self._staged[case_id] = list(keys)

    def unstage(self, case_id: str) -> None:
        with self._lock:
            self._staged.pop(case_id, None)

    def staged_rows(self, stored_events: Sequence[StoredEvent]) -> list[tuple[str, WrappedKey]]:
        """(case id, key) for the registrations among ``stored_events`` (their first events)."""
        with self._lock:
            if not self._staged:
                return []
            cases = {str(UUID(str(e.originator_id))) for e in stored_events if e.originator_version == 1}
            return [(case, key) for case in sorted(cases) for key in self._staged.get(case, ())]


class SQLitePartyKeys(_Staged):
    """Wrapped keys in the SQLite event store's file (through the library's datastore)."""

    def __init__(self, datastore: Any) -> None:
        super().__init__()
        self.datastore = datastore

    def create(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (case_id TEXT NOT NULL, party_id TEXT NOT NULL, "
                "key_id TEXT NOT NULL, wrapped BLOB NOT NULL, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "
                "PRIMARY KEY (case_id, party_id)) WITHOUT ROWID"
            )
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {TOMBSTONES_TABLE} (case_id TEXT NOT NULL, party_id TEXT NOT NULL, "
                "key_id TEXT NOT NULL, destroyed_at TEXT NOT NULL, destroyed_by TEXT NOT NULL, "
                "requested_by TEXT NOT NULL, PRIMARY KEY (case_id, party_id)) WITHOUT ROWID"
            )

    def write_staged(self, c: Any, stored_events: Sequence[StoredEvent]) -> None:
        """Inside the events' write transaction: insert the keys of the registrations among them."""
        rows = self.staged_rows(stored_events)
        if rows:
            # A key already there means the case exists: the insert fails, and so do the events.
            c.executemany(
                f"INSERT INTO {KEYS_TABLE} (case_id, party_id, key_id, wrapped) VALUES (?, ?, ?, ?)",
                [(case, k.party_id, k.key_id, k.wrapped) for case, k in rows],
            )

    def keys(self, case_id: str) -> dict[str, WrappedKey]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT party_id, key_id, wrapped FROM {KEYS_TABLE} WHERE case_id = ?", (case_id,))
            return {row[0]: WrappedKey(row[0], row[1], bytes(row[2])) for row in c.fetchall()}

    def destroy(self, case_id: str, party_id: str, *, destroyed_by: str, requested_by: str, at: datetime) -> bool:
        with self.datastore.transaction(commit=True) as c:
            # Deleted pages are overwritten with zeros, not merely put on the free list.
            c.execute("PRAGMA secure_delete = ON")
            c.execute(f"SELECT key_id FROM {KEYS_TABLE} WHERE case_id = ? AND party_id = ?", (case_id, party_id))
            row = c.fetchone()
            if row is None:
                return False
            c.execute(f"DELETE FROM {KEYS_TABLE} WHERE case_id = ? AND party_id = ?", (case_id, party_id))
            c.execute(
                f"INSERT INTO {TOMBSTONES_TABLE} (case_id, party_id, key_id, destroyed_at, destroyed_by, requested_by) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, party_id) DO NOTHING",
                (case_id, party_id, row[0], at.isoformat(), destroyed_by, requested_by),
            )
        self._checkpoint_wal()
        return True

    def _checkpoint_wal(self) -> None:
        """Copy the zeroed pages into the database file and empty the write-ahead log.

        Until then the WAL still holds the page with the wrapped key. Best effort: a reader
        holding an older snapshot keeps its pages until the next checkpoint.
        """
        with contextlib.closing(sqlite3.connect(self.datastore.pool.db_name, timeout=10)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def tombstones(self, case_id: str) -> dict[str, Tombstone]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT party_id, key_id, destroyed_at, destroyed_by, requested_by FROM {TOMBSTONES_TABLE} "
                "WHERE case_id = ?",
                (case_id,),
            )
            return {row[0]: Tombstone(*row) for row in c.fetchall()}


class PostgresPartyKeys(_Staged):
    """Wrapped keys in the PostgreSQL event store's database (through the library's pool)."""

    def __init__(self, datastore: Any) -> None:
        from psycopg.sql import SQL, Identifier

        from infrastructure.integrity.postgres import RowsInsert

        super().__init__()
        self.datastore = datastore
        names = {
            "keys": Identifier(datastore.schema, KEYS_TABLE),
            "tombs": Identifier(datastore.schema, TOMBSTONES_TABLE),
        }
        self._create = [
            SQL(
                "CREATE TABLE IF NOT EXISTS {keys} (case_id uuid NOT NULL, party_id text NOT NULL, "
                "key_id text NOT NULL, wrapped bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (case_id, party_id))"
            ).format(**names),
            SQL(
                "CREATE TABLE IF NOT EXISTS {tombs} (case_id uuid NOT NULL, party_id text NOT NULL, "
                "key_id text NOT NULL, destroyed_at timestamptz NOT NULL, destroyed_by text NOT NULL, "
                "requested_by text NOT NULL, PRIMARY KEY (case_id, party_id))"
            ).format(**names),
        ]
        self._insert = RowsInsert(
            SQL("INSERT INTO {keys} (case_id, party_id, key_id, wrapped) VALUES {values}"),
            ("uuid", "text", "text", "bytea"),
            keys=names["keys"],
        )
        self._select = SQL("SELECT party_id, key_id, wrapped FROM {keys} WHERE case_id = %s").format(**names)
        self._delete = SQL("DELETE FROM {keys} WHERE case_id = %s AND party_id = %s RETURNING key_id").format(**names)
        self._tombstone = SQL(
            "INSERT INTO {tombs} (case_id, party_id, key_id, destroyed_at, destroyed_by, requested_by) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (case_id, party_id) DO NOTHING"
        ).format(**names)
        self._tombstones = SQL(
            "SELECT party_id, key_id, destroyed_at, destroyed_by, requested_by FROM {tombs} WHERE case_id = %s"
        ).format(**names)

    def create(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for statement in self._create:
                curs.execute(statement)

    def write_staged(self, curs: Any, stored_events: Sequence[StoredEvent]) -> None:
        """Inside the events' write transaction: insert the keys of the registrations among them."""
        rows = self.staged_rows(stored_events)
        if rows:
            # A key already there means the case exists: the insert fails, and so do the events.
            curs.execute(
                self._insert(len(rows), curs),
                [value for case, k in rows for value in (case, k.party_id, k.key_id, k.wrapped)],
            )

    def keys(self, case_id: str) -> dict[str, WrappedKey]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._select, (case_id,), prepare=True)
            return {r["party_id"]: WrappedKey(r["party_id"], r["key_id"], bytes(r["wrapped"])) for r in curs.fetchall()}

    def destroy(self, case_id: str, party_id: str, *, destroyed_by: str, requested_by: str, at: datetime) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._delete, (case_id, party_id))
            row = curs.fetchone()
            if row is None:
                return False
            curs.execute(self._tombstone, (case_id, party_id, row["key_id"], at, destroyed_by, requested_by))
            return True

    def tombstones(self, case_id: str) -> dict[str, Tombstone]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._tombstones, (case_id,))
            return {
                r["party_id"]: Tombstone(
                    r["party_id"], r["key_id"], r["destroyed_at"].isoformat(), r["destroyed_by"], r["requested_by"]
                )
                for r in curs.fetchall()
            }


def party_key_store(settings: Settings, recorder: Any) -> PartyKeyStore:
    """The SQL key store beside this recorder's events, its tables created if settings say so.

    The recorder writes the staged keys in its events' transaction (its ``companions``).
    """
    store: SQLitePartyKeys | PostgresPartyKeys = (
        SQLitePartyKeys(recorder.datastore) if settings.backend == "sqlite" else PostgresPartyKeys(recorder.datastore)
    )
    if settings.create_tables:
        store.create()
    companions = getattr(recorder, "companions", None)
    if companions is None:
        store.writable = False  # the library's own recorder: it reads, it registers nothing
    else:
        companions.append(store.write_staged)
    return store


def personal_data_for(settings: Settings, recorder: Any) -> PersonalData:
    """Sealing, lookup and erasure for a ledger on ``recorder``, with the keys of ``settings``.

    On the in-memory backend the keys are as fleeting as the events: made at random, kept
    beside the recorder and shared by every ledger on it; no key file is written.
    """
    with _BY_RECORDER_LOCK:
        found = _BY_RECORDER.get(recorder)
        if found is None:
            if settings.backend == "memory":
                found = PersonalData.ephemeral()
            else:
                key_dir = settings.privacy_keys_dir()
                found = PersonalData(
                    party_key_store(settings, recorder),
                    kek=load_or_create_key(key_dir / KEK_FILENAME),
                    lookup_key=load_or_create_key(key_dir / LOOKUP_KEY_FILENAME),
                )
            _BY_RECORDER[recorder] = found
        return found
