"""The in-memory store with the per-case hash chain: ``PERSISTENCE_MODULE=infrastructure.integrity.popo``.

The library's ``POPOApplicationRecorder`` appends the events under its lock; here, under the
same lock, the chain rows are computed and kept in a dict. If the chain step fails, the
events just appended are taken out again before the lock is released, so nobody ever sees
events without their chain rows (the in-memory "transaction").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing import persistence
from eventsourcing import popo as es_popo  # the module, so that its factory is not a name here
from eventsourcing.persistence import StoredEvent

from infrastructure.integrity.chain import ChainRow, link, predecessors


class ChainedPOPOApplicationRecorder(es_popo.POPOApplicationRecorder):
    """The library's in-memory application recorder, plus one chain row per event, atomically."""

    chain_table_name = "event_chain"

    def __init__(self) -> None:
        super().__init__()
        self._event_chain: dict[UUID, dict[int, ChainRow]] = {}

    def _update_table(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        # Called by the library with ``self._database_lock`` held.
        mark = len(self._stored_events)
        notification_ids = super()._update_table(stored_events, **kwargs)
        try:
            if notification_ids is None:
                raise persistence.ProgrammingError("the events' insert returned no notification ids")
            self._insert_chain(stored_events, notification_ids)
        except BaseException:
            self._undo_events(mark)
            raise
        return notification_ids

    def _undo_events(self, mark: int) -> None:
        for event in self._stored_events[mark:]:
            versions = self._stored_events_index[str(event.originator_id)]
            versions.pop(event.originator_version, None)
            if not versions:
                del self._stored_events_index[str(event.originator_id)]
        del self._stored_events[mark:]

    def _insert_chain(self, stored_events: Sequence[StoredEvent], ids: Sequence[int]) -> None:
        """Under the recorder's lock: compute every new row first, then store them all."""
        stored: dict[tuple[UUID, int], bytes] = {}
        for key, version in predecessors(stored_events):
            row = self._event_chain.get(key, {}).get(version)
            if row is not None:
                stored[(key, version)] = row.hash
        rows = link(stored_events, ids, stored)
        for row in rows:
            if row.originator_version in self._event_chain.get(row.originator_id, {}):
                raise persistence.IntegrityError(f"chain row already recorded: {row}")
        for row in rows:
            self._event_chain.setdefault(row.originator_id, {})[row.originator_version] = row

    def select_chain(self, originator_id: UUID) -> list[ChainRow]:
        """The aggregate's chain rows, by version."""
        with self._database_lock:
            versions = self._event_chain.get(originator_id, {})
            return [versions[v] for v in sorted(versions)]


class ChainedPOPOFactory(es_popo.POPOFactory):
    """The library's in-memory factory, making chained application recorders."""

    def application_recorder(self) -> persistence.ApplicationRecorder:
        return ChainedPOPOApplicationRecorder()


Factory = ChainedPOPOFactory
