"""The ``PolicyBook`` aggregate: scoring policies adopted, each with an effective date.

A case is scored under the policy in force when it was concluded (SPEC §5), so adopting
a policy never changes the score of a case concluded before its effective date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidCommand
from domain.scoring import POLICY_V1, ScoringPolicy, policy_from_dict, policy_to_dict
from domain.values import Actor

POLICY_BOOK_ID = uuid5(NAMESPACE_URL, "caseledger:policy-book")


class PolicyBook(Aggregate):
    """Every adoption of a scoring policy."""

    class Event(Aggregate.Event):
        actor: Actor
        occurred_at: datetime
        request_id: str
        imported: bool

    class Opened(Event, Aggregate.Created):
        def apply(self, aggregate: Any) -> None:
            aggregate.adoptions = []

    class PolicyAdopted(Event):
        policy: dict[str, Any]
        effective_from: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.adoptions.append((self.effective_from, policy_from_dict(self.policy)))
            aggregate.adoptions.sort(key=lambda item: item[0])

    adoptions: list[tuple[datetime, ScoringPolicy]]

    def __init__(self) -> None:
        """State is set by the events' ``apply`` methods, so replay and commands agree."""

    @classmethod
    def open(cls, fields: dict[str, Any]) -> PolicyBook:
        return cls._create(cls.Opened, id=POLICY_BOOK_ID, **fields)

    def adopt(self, fields: dict[str, Any], policy: ScoringPolicy, effective_from: datetime) -> None:
        """Adopt a policy from a date on; a name already adopted is refused."""
        if policy.name == POLICY_V1.name or any(p.name == policy.name for _, p in self.adoptions):
            raise InvalidCommand(f"a policy named '{policy.name}' already exists", field="name")
        if effective_from.tzinfo is None:
            raise InvalidCommand("effective_from needs a time zone offset", field="effective_from")
        self.trigger_event(self.PolicyAdopted, **fields, policy=policy_to_dict(policy), effective_from=effective_from)


def policy_in_force(adoptions: list[tuple[datetime, ScoringPolicy]], at: datetime) -> ScoringPolicy:
    """The policy whose effective date is the latest not after ``at`` (v1 before any)."""
    current = POLICY_V1
    for effective_from, policy in adoptions:
        if effective_from <= at:
            current = policy
    return current


def policy_named(adoptions: list[tuple[datetime, ScoringPolicy]], name: str) -> ScoringPolicy | None:
    """An adopted policy (or v1) by name, for "what if" re-scoring."""
    if name == POLICY_V1.name:
        return POLICY_V1
    return next((p for _, p in adoptions if p.name == name), None)
