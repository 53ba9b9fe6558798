"""Group commit: concurrent commands share one transaction of the event store.

Each ``save`` of the library takes the events table's lock and several round trips, so
saving one command at a time caps the write rate however many requests wait. Here the
first waiting thread becomes the leader and saves every queued command's aggregates in
one transaction; the others wait for their share of the result. If the shared save
fails, each command is saved on its own, so a conflict reaches only the command that
caused it and every other command still commits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Recording

Save = Callable[..., list[Recording[Any]]]


@dataclass
class _Request:
    ids: set[Any]
    events: Sequence[Any]
    done: threading.Event = field(default_factory=threading.Event)
    recordings: list[Recording[Any]] | None = None
    error: BaseException | None = None


class GroupCommit:
    """Batches ``save`` calls from concurrent threads (at most ``limit`` commands a batch)."""

    def __init__(self, save: Save, *, limit: int = 64) -> None:
        self._save = save
        self._limit = limit
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._leading = False

    def save(self, *aggregates: Any) -> list[Recording[Any]]:
        """Save these aggregates, possibly in one transaction with other threads' commands."""
        # The events are taken out of the aggregates once, here: a failed shared save must
        # leave them in hand for the one-by-one retry.
        request = _Request({a.id for a in aggregates}, [e for a in aggregates for e in a.collect_events()])
        with self._lock:
            self._queue.append(request)
            lead = not self._leading
            if lead:
                self._leading = True
        if lead:
            self._lead()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.recordings is not None
        return request.recordings

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
                if not batch:
                    self._leading = False
                    return
            self._commit(batch)

    def _commit(self, batch: list[_Request]) -> None:
        if len(batch) > 1 and self._commit_together(batch):
            return
        for request in batch:
            try:
                request.recordings = self._save(*request.events)
            except BaseException as exc:  # handed to the waiting command, which raises it
                request.error = exc
            request.done.set()

    def _commit_together(self, batch: list[_Request]) -> bool:
        """One transaction for the whole batch; False if it failed, to save one by one.

        Saved alone, each command then meets its own fate: a conflict, or (if the shared
        commit did land after all) its own rows, which idempotency replays.
        """
        try:
            recordings = self._save(*(e for request in batch for e in request.events))
        except Exception:
            return False
        for request in batch:
            request.recordings = [r for r in recordings if r.domain_event.originator_id in request.ids]
            request.done.set()
        return True
