"""Tamper evidence for the event store: a per-case hash chain written with every event.

``infrastructure.integrity.chain`` defines the byte formats and the verifier; the
``postgres``, ``sqlite`` and ``popo`` modules are ``PERSISTENCE_MODULE`` values that extend
the library's recorders to write the chain in the events' own transaction. They are kept
apart so that importing this package never imports psycopg.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from infrastructure.integrity.chain import (
    GENESIS,
    ChainGapError,
    ChainRow,
    chain_hash,
    event_digest,
    verify_chain,
)

__all__ = [
    "GENESIS",
    "ChainGapError",
    "ChainRow",
    "ChainedRecorder",
    "chain_hash",
    "event_digest",
    "verify_aggregate",
    "verify_chain",
]


class ChainedRecorder(Protocol):
    """What the chained recorders of every backend offer beyond the library's."""

    chain_table_name: str

    def select_chain(self, originator_id: UUID) -> list[ChainRow]: ...

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]: ...


def verify_aggregate(recorder: ChainedRecorder, originator_id: UUID) -> int | None:
    """The first version of this aggregate whose stored chain does not match its events, or ``None``."""
    events = recorder.select_events(originator_id)
    chain = recorder.select_chain(originator_id)
    return verify_chain(
        [(e.originator_id, e.originator_version, e.topic, e.state) for e in events],
        [(r.originator_version, r.hash) for r in chain],
        originator_id=originator_id,
    )
