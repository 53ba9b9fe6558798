"""Rebuilding a view from position zero while the service keeps answering from the old one.

The new tables fill under a suffix; then, in one transaction that holds the tracking lock
(so the live worker waits), the last events are applied, the tables are swapped and the
view's position is set to where the rebuild stands.
"""

from __future__ import annotations

from collections.abc import Callable

from application.ledger import CaseLedger
from infrastructure.views.store import INDEXES, VIEW_TABLES, ViewStore
from infrastructure.worker import ProjectionWorker

SUFFIX = "__rebuild"


def rebuild_view(
    ledger: CaseLedger,
    store: ViewStore,
    view: str,
    *,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild ``view`` from zero and swap it in; returns the position it reached."""
    if view not in VIEW_TABLES:
        raise ValueError(f"unknown view '{view}'; one of: {', '.join(VIEW_TABLES)}")
    store.drop(view, SUFFIX)
    store.create([view], SUFFIX)
    worker = ProjectionWorker(ledger, store, views=[view], suffix=SUFFIX, batch_size=batch_size)
    worker.catch_up(progress)
    with store.db.transaction() as cursor:
        store.read_positions(cursor, [view])  # takes the lock the live worker also takes
        while True:
            reached = store.read_positions(cursor, [view], SUFFIX)[view]
            notifications = ledger.recorder.select_notifications(start=reached + 1, limit=batch_size)
            if not notifications:
                break
            worker.apply_in(cursor, notifications)
        for table in VIEW_TABLES[view]:
            cursor.execute(f"DROP TABLE {table}")
            cursor.execute(f"ALTER TABLE {table}{SUFFIX} RENAME TO {table}")
        for ddl in INDEXES[view]:
            store.db.rename_index(cursor, ddl, SUFFIX)
        store.swap_positions(cursor, view, SUFFIX)
        cursor.execute("DELETE FROM view_schema WHERE view = ?", (view + SUFFIX,))
    return reached
