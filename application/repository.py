"""Loading aggregates: the library's repository, folding events without a protocol check per event.

The library's default projector asserts ``isinstance(event, CanMutateProtocol)`` for every
event it folds. On Python 3.11 that check against a runtime-checkable protocol walks the
protocol's attributes each time, and it cost more than decoding the event: about 40% of
loading a case. Every event of this ledger is one of the library's domain events, so it
has ``mutate``; the fold calls it directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository


def fold(aggregate: Any, events: Iterable[Any]) -> Any:
    """The aggregate after ``events`` (``None`` before the first)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class LedgerRepository(Repository[UUID]):
    """``Repository`` whose ``get`` folds with ``fold`` unless told otherwise."""

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        kwargs.setdefault("projector_func", fold)
        return super().get(aggregate_id, **kwargs)
