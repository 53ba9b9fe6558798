"""Refusals that belong to the application layer rather than the domain."""

from __future__ import annotations

from domain.errors import DomainError


class IdempotencyKeyReused(DomainError):
    """An ``Idempotency-Key`` came back with a different request body."""

    code = "idempotency-key-reused"
    title = "幂等键已用于不同的请求"
