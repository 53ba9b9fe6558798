"""``AccessRecord``: one read of case data — who, what, when and why (SPEC §9).

Each read is its own small aggregate, so recording reads never contends with anything, and
every record is an event of the ledger: the same integrity proofs cover it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.provenance import Provenance
from domain.values import Actor


class AccessRecord(Aggregate):
    """A recorded read."""

    class Recorded(Aggregate.Created):
        actor: Actor
        occurred_at: datetime
        request_id: str
        imported: bool
        method: str
        path: str
        query: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.path = self.path

    path: str

    def __init__(self) -> None:
        """State is set by the event's ``apply``."""

    @classmethod
    def record(cls, record_id: UUID, p: Provenance, *, method: str, path: str, query: str, reason: str) -> AccessRecord:
        return cls._create(
            cls.Recorded,
            id=record_id,
            **p.event_fields(),
            method=method,
            path=path[:500],
            query=query[:1000],
            reason=reason[:500],
        )
