"""One small adapter over the two databases the views live in: SQLite and PostgreSQL.

The SQL is written once with ``?`` placeholders and portable types; only connecting,
locking and the placeholder style differ, and they differ here.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TypeGuard


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class ViewDatabase(ABC):
    """Connections for one view database; ``transaction()`` for writes, ``query()`` for reads."""

    dialect = "sqlite"

    def sql(self, statement: str) -> str:
        return statement

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Cursor]:
        """A write transaction, committed when the block ends without an error."""

    @abstractmethod
    def query(self, statement: str, params: Sequence[Any] = (), *, prepare: bool = True) -> list[dict[str, Any]]:
        """Rows of a read-only statement, as dicts.

        ``prepare=False`` plans the statement with its parameters at every call: PostgreSQL's
        generic plan of a prepared statement suits some parameters (a township, a day) and
        not others (the county, a year).
        """

    @abstractmethod
    def lock_positions(self, cursor: Cursor) -> None:
        """Serialise writers on the tracking table (the rebuild's swap waits for the worker)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def add_counts(
        self, cursor: Cursor, table: str, keys: Sequence[str], counts: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Add to the counts of ``table``'s rows (key values, then counts), creating the missing rows."""
        columns = (*keys, *counts)
        action = _adding(table, counts)
        self._insert(cursor, table, columns, rows, lambda source: _inserting(table, columns, keys, action, source))

    def put_rows(
        self,
        cursor: Cursor,
        table: str,
        columns: Sequence[str],
        key: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        replace: bool,
    ) -> None:
        """Insert rows of ``columns``; a row whose ``key`` is stored replaces it, or is dropped."""
        action = _replacing(columns, key) if replace else "DO NOTHING"
        self._insert(cursor, table, columns, rows, lambda source: _inserting(table, columns, key, action, source))

    def _insert(
        self,
        cursor: Cursor,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        statement: Callable[[str], str],
    ) -> None:
        """Run the INSERT ``statement(source)`` for ``rows``: here once per row, from VALUES."""
        cursor.executemany(statement(_marks(columns)), rows)

    def insert_rows(self, cursor: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows that must be new: a key already stored fails the transaction."""
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) {_marks(columns)}", rows)

    def delete_rows(self, cursor: Cursor, table: str, key: Sequence[str], keys: Sequence[Sequence[Any]]) -> None:
        """Delete the rows whose ``key`` columns hold one of ``keys``, in a few statements, not one per row."""
        names = ", ".join(key)
        row = "(" + ", ".join("?" for _ in key) + ")"
        for start in range(0, len(keys), _DELETE_CHUNK):
            chunk = keys[start : start + _DELETE_CHUNK]
            cursor.execute(
                f"DELETE FROM {table} WHERE ({names}) IN (VALUES {', '.join([row] * len(chunk))})",
                [value for values in chunk for value in values],
            )

    def update_rows(
        self, cursor: Cursor, table: str, columns: Sequence[str], key: str, rows: Sequence[Sequence[Any]], where: str
    ) -> None:
        """Set ``columns`` (the rows' leading values) of the rows matching ``key`` (the last value) and ``where``."""
        sets = ", ".join(f"{name} = ?" for name in columns)
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE {table}.{key} = ? AND {where}", rows)

    def rename_index(self, cursor: Cursor, ddl: str, suffix: str) -> None:
        """After a table swap, give an index built under ``suffix`` its live name."""
        cursor.execute(f"DROP INDEX IF EXISTS {_index_name(ddl.format(s=suffix))}")
        cursor.execute(ddl.format(s=""))


# Keys per DELETE: keys of up to two columns stay under SQLite's smallest limit of bound parameters (999).
_DELETE_CHUNK = 400


def _marks(columns: Sequence[str]) -> str:
    return "VALUES (" + ", ".join("?" for _ in columns) + ")"


def _adding(table: str, counts: Sequence[str]) -> str:
    return "DO UPDATE SET " + ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counts)


def _replacing(columns: Sequence[str], key: Sequence[str]) -> str:
    return "DO UPDATE SET " + ", ".join(f"{name} = excluded.{name}" for name in columns if name not in key)


def _inserting(table: str, columns: Sequence[str], key: Sequence[str], action: str, source: str) -> str:
    """``INSERT … ON CONFLICT (key) action`` from ``VALUES`` or a ``SELECT``."""
    # "WHERE true" lets SQLite tell the upsert's ON CONFLICT from a join's ON.
    where = " WHERE true" if source.startswith("SELECT") else ""
    return f"INSERT INTO {table} ({', '.join(columns)}) {source}{where} ON CONFLICT ({', '.join(key)}) {action}"


def _index_name(ddl: str) -> str:
    match = re.match(r"CREATE INDEX IF NOT EXISTS (\w+) ON", ddl)
    if match is None:
        raise ValueError(f"not an index definition: {ddl}")
    return match.group(1)


class SQLiteViews(ViewDatabase):
    """Views in a SQLite file (or a shared in-memory database for the memory backend)."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self._uri = path.startswith("file:")
        self._path = path
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._all: list[sqlite3.Connection] = []
        # An in-memory database lives only while a connection holds it open; and its
        # shared-cache table locks fail at once instead of waiting, so every thread uses
        # this one connection, one at a time.
        self._keeper = self._connect()
        self._in_memory = "mode=memory" in path

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, uri=self._uri, check_same_thread=False, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._in_memory:
            return self._keeper
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn.cursor()
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def query(self, statement: str, params: Sequence[Any] = (), *, prepare: bool = True) -> list[dict[str, Any]]:
        if self._in_memory:
            with self._write_lock:
                return [dict(row) for row in self._keeper.execute(statement, params).fetchall()]
        return [dict(row) for row in self._conn().execute(statement, params).fetchall()]

    def lock_positions(self, cursor: Cursor) -> None:
        """``BEGIN IMMEDIATE`` already makes every writer wait for the others."""

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()


class PostgresViews(ViewDatabase):
    """Views in PostgreSQL tables beside the event store's."""

    dialect = "postgres"

    def __init__(self, conninfo: str, *, pool_size: int = 4) -> None:
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.conninfo = conninfo
        self._pool = ConnectionPool(
            conninfo, min_size=1, max_size=pool_size, kwargs={"row_factory": dict_row, "autocommit": True}, open=True
        )

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield _PgCursor(cursor)

    def query(self, statement: str, params: Sequence[Any] = (), *, prepare: bool = True) -> list[dict[str, Any]]:
        with self._pool.connection() as conn:
            # None: psycopg's default (prepared once it has run a few times).
            rows: Any = conn.execute(self.sql(statement), params, prepare=None if prepare else False).fetchall()
            return list(rows)

    def lock_positions(self, cursor: Cursor) -> None:
        cursor.execute("LOCK TABLE view_positions IN SHARE ROW EXCLUSIVE MODE")

    # A catch-up writes thousands of rows per table and batch: COPY into a scratch table of the
    # session and one statement from it cost a fraction of one statement per row. Small writes
    # (a live worker's few events) keep the plain statements.
    STAGE_FROM = 50

    def _in_bulk(self, cursor: Cursor, rows: Sequence[Sequence[Any]]) -> TypeGuard[_PgCursor]:
        """Whether to stage ``rows`` through COPY (a PostgreSQL cursor, and enough rows to pay)."""
        return isinstance(cursor, _PgCursor) and len(rows) >= self.STAGE_FROM

    def _insert(
        self,
        cursor: Cursor,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        statement: Callable[[str], str],
    ) -> None:
        if not self._in_bulk(cursor, rows):
            super()._insert(cursor, table, columns, rows, statement)
            return
        _from_staged(cursor, table, columns, rows, statement)

    def insert_rows(self, cursor: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not self._in_bulk(cursor, rows):
            super().insert_rows(cursor, table, columns, rows)
            return
        cursor.copy_rows(f"COPY {table} ({', '.join(columns)}) FROM STDIN", rows)

    def update_rows(
        self, cursor: Cursor, table: str, columns: Sequence[str], key: str, rows: Sequence[Sequence[Any]], where: str
    ) -> None:
        if not self._in_bulk(cursor, rows):
            super().update_rows(cursor, table, columns, key, rows, where)
            return
        sets = ", ".join(f"{name} = staged.{name}" for name in columns)
        _from_staged(
            cursor,
            table,
            (*columns, key),
            rows,
            lambda source: (
                f"UPDATE {table} SET {sets} FROM ({source}) AS staged WHERE {table}.{key} = staged.{key} AND {where}"
            ),
        )

    def rename_index(self, cursor: Cursor, ddl: str, suffix: str) -> None:
        # PostgreSQL renames in place instead of building the index again.
        old, new = _index_name(ddl.format(s=suffix)), _index_name(ddl.format(s=""))
        cursor.execute(f"ALTER INDEX IF EXISTS {old} RENAME TO {new}")

    def close(self) -> None:
        self._pool.close()


def _from_staged(
    cursor: _PgCursor,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    statement: Callable[[str], str],
) -> None:
    """Copy ``rows`` into a session scratch table shaped like ``table``, then run ``statement``
    of a SELECT of them.

    Each use in a transaction takes a scratch table of its own, emptied by the commit: a
    TRUNCATE between uses would cost each time what the whole COPY costs. The statement is
    planned at every run: a plan kept from a batch when the view was small would join a
    grown one by scanning it whole.
    """
    use = cursor.staged[table]
    cursor.staged[table] += 1
    staged = f"{table}_staged{use or ''}"
    # Its columns without their constraints: an update stages only its key and new values.
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {staged} ON COMMIT DELETE ROWS AS SELECT * FROM {table} WITH NO DATA"
    )
    names = ", ".join(columns)
    cursor.copy_rows(f"COPY {staged} ({names}) FROM STDIN", rows)
    cursor.execute(statement(f"SELECT {names} FROM {staged}"), prepare=False)


class _PgCursor:
    """Translates placeholders so callers write one SQL text for both databases."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        # Scratch tables used in this transaction, per table staged (see ``_staged``).
        self.staged: Counter[str] = Counter()

    def execute(self, sql: str, params: Sequence[Any] = (), *, prepare: bool | None = None) -> Any:
        # None: psycopg's default (prepared once it has run a few times).
        return self._cursor.execute(sql.replace("?", "%s"), params, prepare=prepare)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(sql.replace("?", "%s"), rows)

    def fetchall(self) -> list[Any]:
        rows: list[Any] = self._cursor.fetchall()
        return rows

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def copy_rows(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
