"""The projection worker: follows the ledger and keeps the read views, exactly once.

Each batch of notifications becomes view rows and new tracked positions in one
transaction, so a worker killed at any point resumes where its last commit left off. On
PostgreSQL a subscription wakes it when events arrive; SQLite cannot be subscribed to, so
there it polls.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from application.ledger import CaseLedger
from application.projections.projector import VIEWS, Changes, LedgerProjector
from domain.calendar_book import CalendarBook
from domain.case import Case
from domain.policy_book import PolicyBook
from infrastructure.batch_writer import BatchNotWritten, BatchWriter, PositionsMoved, WriterProcess, WriterProcessFailed
from infrastructure.integrity.log import MerkleLog
from infrastructure.views.db import Cursor, PostgresViews
from infrastructure.views.store import ViewStore

log = structlog.get_logger("caseledger.worker")

BOOK_TOPICS = [
    get_topic(cls)
    for cls in (CalendarBook.Opened, CalendarBook.YearLoaded, PolicyBook.Opened, PolicyBook.PolicyAdopted)
]


class ProjectionWorker:
    """Applies ledger events to the views in batches; ``views`` and ``suffix`` select a rebuild."""

    def __init__(
        self,
        ledger: CaseLedger,
        store: ViewStore,
        *,
        views: Sequence[str] = VIEWS,
        suffix: str = "",
        batch_size: int = 1000,
        log: MerkleLog | None = None,
        signer: Callable[[], object] | None = None,
        checkpoint_every: float = 60.0,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.views = tuple(views)
        self.suffix = suffix
        self.batch_size = batch_size
        # The Merkle log is appended with the views (same transaction, its own position).
        self.log = log
        self.sign_checkpoint = signer
        self.checkpoint_every = checkpoint_every
        self._last_checkpoint = 0.0
        self.projector = LedgerProjector(ledger.mapper, self._load_case, ledger.seed_calendar)
        self.writer = BatchWriter(store, self.views, suffix, log)
        self._primed_to = 0
        self._bulk_lag: int | None = None  # per catch-up, once its first batch is full
        # Batches far behind are written by a child process where it can connect (PostgreSQL).
        self._writer_conninfo = store.db.conninfo if isinstance(store.db, PostgresViews) else None
        self.stopping = threading.Event()
        self._wake = threading.Event()

    def _load_case(self, case_id: UUID, version: int | None) -> Case:
        case: Any = self.ledger.repository.get(case_id, version=version)
        return case  # type: ignore[no-any-return]

    def _prime(self, upto: int) -> None:
        """Replay the calendar and policy books up to where the views stand."""
        while self._primed_to < upto:
            page = self.ledger.recorder.select_notifications(
                start=self._primed_to + 1, limit=self.batch_size, stop=upto, topics=BOOK_TOPICS
            )
            for notification in page:
                self.projector.follow_book(self.ledger.mapper.to_domain_event(notification))
            self._primed_to = page[-1].id if page else upto

    def run_once(self) -> int:
        """Project one batch; returns how many notifications it read (0 when caught up)."""
        notifications = self._next_batch(self._stored_positions())
        if not notifications:
            return 0
        with self._forgetting_on_error():
            self._apply(notifications)
        return len(notifications)

    def _stored_positions(self) -> dict[str, int]:
        positions = self.store.positions()
        return {view: positions.get(view + self.suffix, 0) for view in self._tracked()}

    def _next_batch(self, done: dict[str, int]) -> Sequence[Notification]:
        start = min(done.values())
        self._prime(start)
        return self.ledger.recorder.select_notifications(start=start + 1, limit=self.batch_size)

    @contextmanager
    def _forgetting_on_error(self) -> Iterator[None]:
        try:
            yield
        except Exception:
            # The projector moved ahead of the views; start it again from what they hold.
            self.projector.forget()
            if self.log is not None:
                self.log.forget()
            self._primed_to = 0
            raise

    def _apply(self, notifications: Sequence[Notification]) -> None:
        with self.store.db.transaction() as cursor:
            self.apply_in(cursor, notifications)

    def apply_in(self, cursor: Cursor, notifications: Sequence[Notification]) -> None:
        """Project ``notifications`` and write them in the caller's transaction."""
        done = self.store.read_positions(cursor, self._tracked(), self.suffix)
        changes = self._project(notifications, done)
        self._write_in(cursor, notifications, done, changes)

    def _project(self, notifications: Sequence[Notification], done: dict[str, int]) -> Changes:
        # Views this worker does not keep count as done, so the projector derives nothing for them.
        done = {**done, **{view: notifications[-1].id for view in VIEWS if view not in self.views}}
        changes = self.projector.project(notifications, done)
        self._primed_to = max(self._primed_to, notifications[-1].id)
        return changes

    def _write_in(
        self, cursor: Cursor, notifications: Sequence[Notification], done: dict[str, int], changes: Changes
    ) -> None:
        """Write a projected batch; ``done`` are the positions it was projected from."""
        if changes.calendar_changed:
            self._refresh_provisional(cursor, changes)
        self.writer.write_in(cursor, notifications, done, changes)

    def _far_behind(self, notifications: Sequence[Notification]) -> bool:
        """Whether the views are so far behind that counting the roll-ups again costs less."""
        if len(notifications) < self.batch_size or "cases" not in self.views:
            return False
        if self._bulk_lag is None:
            # Counting the roll-ups again from a stored case costs about what adding two events to
            # them costs, and the batches far behind are written much faster without them.
            self._bulk_lag = max(5 * self.batch_size, self.store.case_count(self.suffix) // 2)
        head = self.ledger.recorder.max_notification_id() or 0
        return head - notifications[-1].id > self._bulk_lag

    def _write_batch(
        self, notifications: Sequence[Notification], done: dict[str, int], changes: Changes, bulk: bool
    ) -> None:
        """The writer thread's part: one batch in one transaction, if nobody moved the positions."""
        refresh = partial(self._refresh_provisional, changes=changes) if changes.calendar_changed else None
        self.writer.write(notifications, done, changes, bulk, first=refresh)

    def _tracked(self) -> tuple[str, ...]:
        return self.writer.tracked

    def checkpoint_due(self) -> None:
        """Sign a checkpoint when the interval has passed (the signer skips an unchanged tree)."""
        if self.sign_checkpoint is None or time.monotonic() - self._last_checkpoint < self.checkpoint_every:
            return
        self._last_checkpoint = time.monotonic()
        try:
            self.sign_checkpoint()
        except Exception as exc:  # a missed checkpoint is retried at the next interval
            log.error("checkpoint_failed", error_type=type(exc).__name__, exc_info=exc)

    def _refresh_provisional(self, cursor: Cursor, changes: Changes) -> None:
        # Rows of this batch were already derived again by the projector.
        stored = [row for row in self.store.provisional_cases(cursor, self.suffix) if row[0] not in changes.cases]
        self.projector.refresh(sorted(stored), changes)

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Project until no notification is left; returns how many were applied.

        Each batch is written while the next one is projected: by a second thread, or, on
        PostgreSQL while the views are far behind, by a child process (a thread shares this
        one's core). The writer checks, under the tracking lock, that the positions are still
        those the batch was projected from: when another worker moved them, this one starts
        again from what is stored, so no event is applied twice.
        """
        applied = 0
        with fewer_collections(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="view-writer") as writer:
            while not self.stopping.is_set():
                try:
                    return applied + self._catch_up_pass(writer, progress)
                except WriterProcessFailed as failed:
                    # Written by the thread from now on: slower, and it says whether the
                    # database refused the batch or only the process failed.
                    log.warning("writer_process_failed", error=str(failed))
                    self._writer_conninfo = None
                    applied += failed.applied
                except PositionsMoved as moved:
                    applied += moved.applied
        return applied

    def _catch_up_pass(self, executor: ThreadPoolExecutor, progress: Callable[[int], None] | None) -> int:
        applied = 0
        done = self._stored_positions()
        self._bulk_lag = None
        pending: tuple[Callable[[], None], int] | None = None  # (wait for it, its events)
        child: WriterProcess | None = None

        def settle() -> None:
            nonlocal applied, pending
            if pending is None:
                return
            wait, count = pending
            pending = None
            try:
                wait()
            except BatchNotWritten as unwritten:
                unwritten.applied = applied
                raise
            applied += count
            if progress is not None:
                progress(count)

        def stop_child() -> None:
            nonlocal child
            if child is not None:
                child.close()
                child = None
                if self.log is not None:
                    self.log.forget()  # the child appended the log meanwhile

        with self._forgetting_on_error():
            try:
                while not self.stopping.is_set():
                    notifications = self._next_batch(done)
                    if not notifications:
                        break
                    changes = self._project(notifications, done)
                    settle()
                    bulk = self._far_behind(notifications)
                    if bulk and not changes.calendar_changed and self._writer_conninfo is not None:
                        if child is None:
                            child = WriterProcess(
                                self._writer_conninfo, self.views, self.suffix, with_log=self.log is not None
                            )
                        child.submit(notifications, done, changes)
                        pending = child.result, len(notifications)
                    else:
                        stop_child()
                        future = executor.submit(self._write_batch, notifications, done, changes, bulk)
                        pending = future.result, len(notifications)
                        if changes.calendar_changed:
                            # Its refresh reads and moves the projector: nothing may project meanwhile.
                            settle()
                    done = {view: max(position, notifications[-1].id) for view, position in done.items()}
            finally:
                try:
                    settle()
                finally:
                    stop_child()
        return applied

    def run_forever(self, idle: float = 0.05) -> None:
        """Follow the ledger until ``stop()``; errors are logged and retried."""
        listener = self._subscribe()
        try:
            while not self.stopping.is_set():
                try:
                    read = self.catch_up()
                except Exception as exc:  # the next attempt starts from the last commit
                    log.error("projection_failed", error_type=type(exc).__name__, exc_info=exc)
                    self.stopping.wait(1.0)
                    continue
                if not read:
                    self.checkpoint_due()
                    self._wake.wait(idle)
                    self._wake.clear()
        finally:
            if listener is not None:
                listener.join(timeout=2)

    def _subscribe(self) -> threading.Thread | None:
        """On PostgreSQL, wake on new events through a subscription; elsewhere, poll."""
        try:
            head = self.ledger.recorder.max_notification_id() or 0
            subscription = self.ledger.recorder.subscribe(gt=head)
        except (NotImplementedError, AttributeError, TypeError):
            return None

        def listen() -> None:
            with subscription:
                for _ in subscription:
                    self._wake.set()
                    if self.stopping.is_set():
                        break

        self._subscription = subscription
        thread = threading.Thread(target=listen, name="projection-subscription", daemon=True)
        thread.start()
        return thread

    def wake(self) -> None:
        """Look for new events now (called after a save in the same process)."""
        self._wake.set()

    def stop(self) -> None:
        self.stopping.set()
        self._wake.set()
        subscription = getattr(self, "_subscription", None)
        if subscription is not None:
            subscription.stop()

    def lag(self) -> dict[str, dict[str, int]]:
        """Each view's position and how far it is behind the ledger's head."""
        head = self.ledger.recorder.max_notification_id() or 0
        positions = self.store.positions()
        return {
            view: {"position": positions.get(view, 0), "lag": head - positions.get(view, 0)} for view in self._tracked()
        }


@contextmanager
def fewer_collections(young: int = 50_000) -> Iterator[None]:
    """Run the cyclic garbage collector less often while a batch's rows are made and dropped.

    Every batch allocates tens of thousands of short-lived rows, and the collector's default
    pace (every 700 allocations, scanning the young objects, the cached cases among them)
    costs a fifth of a catch-up. The rows hold no cycles; reference counting frees them.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(young, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def wait_for_position(store: ViewStore, views: Sequence[str], position: int, timeout: float) -> bool:
    """Read-your-writes: wait (bounded) until the views have reached ``position``."""
    deadline = time.monotonic() + timeout
    while True:
        positions = store.positions()
        if all(positions.get(view, 0) >= position for view in views):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
