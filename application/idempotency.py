"""Idempotency records, saved in the same transaction as the command's events.

Because the record and the events commit together, a retry after a lost reply finds the
record and replays the first response; a concurrent duplicate loses the race on the
record's version and does the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate


def record_id(user_id: str, key: str) -> UUID:
    """Keys are scoped to the user who sent them."""
    return uuid5(NAMESPACE_URL, f"caseledger:idempotency:{user_id}:{key}")


class IdempotencyRecord(Aggregate):
    """The first response to a request that carried an ``Idempotency-Key``."""

    class Recorded(Aggregate.Created):
        key: str
        user_id: str
        request_hash: str
        result: dict[str, Any]
        occurred_at: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.request_hash = self.request_hash
            aggregate.result = dict(self.result)

    request_hash: str
    result: dict[str, Any]

    @classmethod
    def record(
        cls, *, key: str, user_id: str, request_hash: str, result: dict[str, Any], occurred_at: datetime
    ) -> IdempotencyRecord:
        return cls._create(
            cls.Recorded,
            id=record_id(user_id, key),
            key=key,
            user_id=user_id,
            request_hash=request_hash,
            result=result,
            occurred_at=occurred_at,
        )
