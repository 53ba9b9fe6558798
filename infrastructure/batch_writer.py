"""Writing projected batches: in one transaction each, only from the positions they were projected from.

The projection worker derives a batch's rows and hands them here. ``BatchWriter`` writes
them beside the Merkle log's leaves and the new positions; ``WriterProcess`` does the same
from a child process, so that on PostgreSQL a catch-up far behind the ledger projects on
one core while its rows are written from another (Python threads would share one).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from eventsourcing.persistence import Notification

from application.projections.projector import Changes
from infrastructure.integrity.log import LOG_VIEW, MerkleLog
from infrastructure.views.db import Cursor, PostgresViews
from infrastructure.views.store import ViewStore


class BatchNotWritten(RuntimeError):
    """A batch in flight was not written: the worker starts again from what is stored."""

    applied = 0  # events the worker had applied before it, in the same catch-up


class PositionsMoved(BatchNotWritten):
    """The views' positions changed under a batch in flight (another worker wrote them)."""


class WriterProcessFailed(BatchNotWritten):
    """The writer process could not write a batch or ended: the worker goes on without it."""


class BatchWriter:
    """Writes a worker's batches: its views (under ``suffix``) and, if kept, the Merkle log."""

    def __init__(self, store: ViewStore, views: Sequence[str], suffix: str, log: MerkleLog | None) -> None:
        self.store = store
        self.suffix = suffix
        self.log = log
        self.tracked = (*views, LOG_VIEW) if log is not None else tuple(views)

    def check(self, cursor: Cursor, done: dict[str, int]) -> None:
        """Take the tracking lock; fail if the positions are not those the batch was projected from."""
        found = self.store.read_positions(cursor, self.tracked, self.suffix)
        if found != done:
            raise PositionsMoved(f"views moved from {done} to {found} while a batch was projected")

    def write_in(
        self,
        cursor: Cursor,
        notifications: Sequence[Notification],
        done: dict[str, int],
        changes: Changes,
        *,
        bulk: bool = False,
    ) -> None:
        """Write a projected batch in the caller's transaction; ``done``: the positions it was projected from."""
        if changes:
            self.store.write(cursor, changes, self.suffix, bulk=bulk)
        if self.log is not None:
            fresh = [n for n in notifications if n.id > done[LOG_VIEW]]
            if fresh:
                self.log.append(cursor, fresh)
                cursor.execute("UPDATE view_positions SET position = ? WHERE view = ?", (fresh[-1].id, LOG_VIEW))

    def write(
        self,
        notifications: Sequence[Notification],
        done: dict[str, int],
        changes: Changes,
        bulk: bool,
        first: Callable[[Cursor], None] | None = None,
    ) -> None:
        """One batch in a transaction of its own; ``first`` runs in it once the positions are checked."""
        try:
            with self.store.db.transaction() as cursor:
                self.check(cursor, done)
                if first is not None:
                    first(cursor)
                self.write_in(cursor, notifications, done, changes, bulk=bulk)
        except Exception:
            if self.log is not None:
                self.log.forget()  # it may have moved ahead of what was committed
            raise


class WriterProcess:
    """A ``BatchWriter`` in a child process, one batch in flight at a time (PostgreSQL only).

    The child is a fresh interpreter (``python -m infrastructure.batch_writer``) fed through
    its standard input and answering on its standard output: it shares nothing with this
    process, which may run threads, and it does not import the caller's main module.
    """

    def __init__(self, conninfo: str, views: Sequence[str], suffix: str, *, with_log: bool) -> None:
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
            )
        except OSError as error:
            raise WriterProcessFailed(f"the view writer process did not start: {error}") from error
        assert self._process.stdin is not None and self._process.stdout is not None
        self._to = Connection(os.dup(self._process.stdin.fileno()), readable=False)
        self._from = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdin.close()
        self._process.stdout.close()
        # The connection string goes through the pipe, not the command line others can read.
        self._send((conninfo, tuple(views), suffix, with_log))

    def submit(self, notifications: Sequence[Notification], done: dict[str, int], changes: Changes) -> None:
        # Plain tuples, pickled once with the standard pickler: the notification objects and
        # multiprocessing's own pickler cost more.
        plain = [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications]
        self._send((plain, done, changes))

    def _send(self, message: Any) -> None:
        try:
            self._to.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as error:
            raise WriterProcessFailed(f"the view writer process ended: {error}") from error

    def result(self) -> None:
        """Wait for the batch in flight; raise what its write raised."""
        try:
            failure = self._from.recv()
        except EOFError:
            raise WriterProcessFailed("the view writer process ended before answering") from None
        if failure is not None:
            kind, text = failure
            raise PositionsMoved(text) if kind == "moved" else WriterProcessFailed(f"the view writer failed: {text}")

    def close(self) -> None:
        with contextlib.suppress(OSError):  # it may have ended already
            self._to.send_bytes(pickle.dumps(None))
        self._to.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._from.close()


def _serve(requests: Connection, answers: Connection) -> None:
    """The child: write each batch it is sent, answer ``None`` or the failure, until sent ``None``."""
    gc.set_threshold(50_000, *gc.get_threshold()[1:])  # see worker.fewer_collections
    conninfo, views, suffix, with_log = _receive(requests)
    store = ViewStore(PostgresViews(conninfo, pool_size=1))
    writer = BatchWriter(store, views, suffix, MerkleLog(store.db) if with_log else None)
    try:
        while (batch := _receive(requests)) is not None:
            plain, done, changes = batch
            notifications = [
                Notification(id=i, originator_id=originator, originator_version=version, topic=topic, state=state)
                for i, originator, version, topic, state in plain
            ]
            try:
                writer.write(notifications, done, changes, bulk=True)
            except PositionsMoved as moved:
                answers.send(("moved", str(moved)))
            except Exception as error:  # sent back to the worker, which starts again from what is stored
                answers.send(("failed", f"{type(error).__name__}: {error}"))
            else:
                answers.send(None)
    finally:
        store.db.close()


def _receive(pipe: Connection) -> Any:
    try:
        message = pipe.recv_bytes()
    except EOFError:  # the worker is gone
        return None
    return pickle.loads(message)


if __name__ == "__main__":
    # Standard output carries the answers: anything printed goes to standard error instead.
    answers = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    _serve(Connection(os.dup(0), writable=False), answers)
