"""What the read views hold, derived from a case's state: pure functions, no storage.

One place decides every derived figure (what counts as mediated, on time, concluded), so a
rebuild, the live projection and a "what if" re-score can never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, StoredEvent

from domain.calendar import WorkCalendar
from domain.case import Case, Status, spec_event_name
from domain.case_deadlines import OPTIONAL_WINDOWS, case_deadlines
from domain.scoring import Evaluation, ScoringPolicy, evaluate
from domain.values import Actor, ReviewResult, Satisfaction

# Far enough ahead that no deadline is judged against the projection's own clock: the
# views store due and done times, and "overdue now" is asked at query time.
_NO_NOW = datetime(9999, 1, 1, tzinfo=UTC)
REQUIRED_STEPS = ("dispatch", "accept", "assign", "resolve")


# Stamps already made, by moment; emptied when full (see ``stamp``).
_STAMPS: dict[datetime, str] = {}
_STAMPS_HELD = 1 << 16


def stamp(moment: datetime | None) -> str | None:
    """Times in the views: UTC, fixed width, so text order is time order on every backend."""
    if moment is None:
        return None
    text = _STAMPS.get(moment)
    if text is None:
        # Made once per moment: a case row stamps the same times again at each of the case's
        # versions, and deadlines are derived anew (equal, not identical) every time.
        if len(_STAMPS) >= _STAMPS_HELD:
            _STAMPS.clear()
        text = _STAMPS[moment] = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return text


@lru_cache(maxsize=4096)
def places(jurisdiction: str) -> dict[str, str | None]:
    """County, township, village and grid of a path, each as its own path prefix."""
    parts = jurisdiction.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    levels = ("county", "township", "village", "grid")
    return {level: prefixes[i] if i < len(prefixes) else None for i, level in enumerate(levels)}


def _time_of(case: Case, version: int | None) -> datetime | None:
    return case.times[version] if version is not None else None


def case_row(
    case: Case,
    calendar: WorkCalendar,
    policy_at: Callable[[datetime], ScoringPolicy],
) -> tuple[dict[str, Any], Evaluation | None]:
    """The case-list row (with its figures) and the evaluation, if concluded."""
    deadlines = case_deadlines(case, calendar, _NO_NOW)
    required = [d for d in deadlines if d.kind not in OPTIONAL_WINDOWS]
    pending = [d for d in required if d.done_at is None]
    next_due = min(pending, key=lambda d: d.due_at) if pending else None
    late = [d for d in required if d.done_at is not None and d.done_at > d.due_at]

    conclusion_at = _time_of(case, case.conclusion["version"]) if case.conclusion else None
    closed_at = (
        _time_of(case, case.review["version"])
        if case.status == Status.CLOSED and case.review and case.review["result"] == ReviewResult.VERIFIED
        else None
    )
    outcome = _mediation_outcome(case)
    evaluation = evaluate(case, calendar, policy_at(conclusion_at), deadlines=deadlines) if conclusion_at else None
    dispatched = next((d for d in deadlines if d.kind == "dispatch" and d.done_at is not None), None)
    row = {
        "case_id": str(case.id),
        "version": case.version,
        "status": case.status,
        "risk_color": case.risk_color,
        "difficulty": case.difficulty,
        "category": case.category,
        "channel": case.channel,
        **places(case.jurisdiction),  # a cached dict, copied into the row here
        "jurisdiction": case.jurisdiction,
        "unit": case.unit,
        "accepted_unit": case.accepted_unit,
        "handler_id": case.handler_id,
        "handler_kind": case.handler_kind,
        "handler_name": case.handler_name,
        "summary": case.summary,
        "external_ref": case.external_ref,
        "registered_at": stamp(case.times[1]),
        "dispatched_at": stamp(dispatched.done_at if dispatched else None),
        "concluded_at": stamp(conclusion_at),
        "closed_at": stamp(closed_at),
        "outcome": case.conclusion["outcome"] if case.conclusion else None,
        "mediation_ended_at": stamp(outcome[0]),
        "mediated": int(outcome[0] is not None),
        "mediation_success": int(outcome[1]),
        "next_due_at": stamp(next_due.due_at if next_due else None),
        "next_due_kind": next_due.kind if next_due else None,
        "provisional": int(any(d.provisional for d in pending)),
        "missed_steps": len(late),
        "on_time": None if conclusion_at is None else int(not late),
        "ratings_total": len(case.ratings),
        "ratings_satisfied": sum(1 for r in case.ratings if r["satisfaction"] == Satisfaction.SATISFIED),
        "score": float(evaluation.score) if evaluation else None,
        "grade": evaluation.grade if evaluation else None,
        "policy": evaluation.policy if evaluation else None,
        "county_flagged": int(case.county_flagged),
        "imported": int(case.imported),
    }
    return row, evaluation


def _mediation_outcome(case: Case) -> tuple[datetime | None, bool]:
    """When mediation last ended (either way) and whether that end was an agreement."""
    ends = [
        (record["version"], kind == "agreement")
        for kind, record in (("agreement", case.agreement), ("failure", case.mediation_failure))
        if record is not None
    ]
    if not ends:
        return None, False
    version, success = max(ends)
    return case.times[version], success


def court_rows(case: Case, calendar: WorkCalendar) -> list[dict[str, Any]]:
    """One record per judicial-confirmation application of the case."""
    if case.agreement is None:
        return []
    window = case.confirmation_window(calendar)
    agreement = case.agreement
    mediator = {"mediator_id": case.mediator_id, "name": case.handler_name if case.handler_kind == "mediator" else ""}
    rows = []
    for confirmation_id, record in case.confirmations.items():
        rows.append(
            {
                "confirmation_id": confirmation_id,
                "case_id": str(case.id),
                "court": record["court"],
                "status": record["status"],
                "applied_at": stamp(case.times[record["applied"]]),
                "window_due_at": stamp(window),
                "ruled_at": stamp(_time_of(case, record.get("ruled"))),
                "ruling_number": record["ruling_number"],
                "agreement": {
                    "terms": agreement["terms"],
                    "amount": agreement["amount"],
                    "debtor_party_id": agreement["debtor_party_id"],
                    "creditor_party_id": agreement["creditor_party_id"],
                    "performance_due": agreement["performance_due"],
                    "effective_at": stamp(case.agreement_effective_at()),
                },
                "parties": [p.as_dict() for p in case.parties.values()],
                "mediator": mediator,
                "jurisdiction": case.jurisdiction,
                "township": places(case.jurisdiction)["township"],
            }
        )
    return rows


_COMMON = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "actor",
        "occurred_at",
        "request_id",
        "imported",
        "originator_topic",
    }
)


def _plain(value: Any) -> Any:
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def event_type(event: Any) -> str:
    """The audit trail's name for an event: SPEC names for cases, prefixed otherwise."""
    owner = type(event).__qualname__.split(".")[0]
    name = type(event).__name__
    return spec_event_name(name) if owner == "Case" else f"{owner}{name}"


def json_text(value: Any) -> str:
    """A view's JSON column as stored: compact, Chinese as written."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=4096)
def actor_json(actor: Actor) -> str:
    """The audit trail's actor as JSON text: a few officials act thousands of times, and one
    text object per official is also sent to the writer process once per batch."""
    return json_text(actor.as_dict())


def audit_entry(event: Any, notification: Notification) -> dict[str, Any]:
    """One audit-trail row: who, when (both clocks), which request, and the stored event.

    The event's data is kept exactly as stored (topic and state) rather than re-encoded:
    that is both cheaper on a rebuild and what an auditor wants to see. The state stays the
    stored bytes until the view store writes it.
    """
    return {
        "position": notification.id,
        "aggregate_id": str(event.originator_id),
        "version": event.originator_version,
        "type": event_type(event),
        "actor": actor_json(event.actor),
        "occurred_at": stamp(event.occurred_at),
        "recorded_at": stamp(event.timestamp),
        "request_id": event.request_id,
        "imported": int(event.imported),
        "topic": notification.topic,
        "state": notification.state,
    }


def audit_data(mapper: Mapper[UUID], row: dict[str, Any]) -> dict[str, Any]:
    """The data of a stored audit row, decoded by the ledger's own mapper."""
    stored = StoredEvent(
        originator_id=UUID(row["aggregate_id"]),
        originator_version=int(row["version"]),
        topic=row["topic"],
        state=row["state"].encode("utf-8"),
    )
    event = mapper.to_domain_event(stored)
    return {k: _plain(v) for k, v in vars(event).items() if k not in _COMMON}


def access_row(event: Any, position: int) -> dict[str, Any]:
    """One entry of the access log: who read what, when, and why."""
    return {
        "position": position,
        "user_id": event.actor.user_id,
        "role": event.actor.role,
        "unit": event.actor.unit,
        "method": event.method,
        "path": event.path,
        "query": event.query,
        "reason": event.reason,
        "occurred_at": stamp(event.occurred_at),
        "request_id": event.request_id,
    }
