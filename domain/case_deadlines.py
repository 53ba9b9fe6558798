"""Deadlines of a case, derived from its events and the calendar (SPEC §4).

Nothing here is stored: the same events give the same deadlines, and a deadline that
was provisional becomes final as soon as its year's schedule is loaded.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from domain.calendar import WorkCalendar
from domain.deadlines import DEADLINE_POLICY, Due, Period, due_after
from domain.values import Channel, Difficulty

if TYPE_CHECKING:
    from domain.case import Case

# Windows a party may use or let pass; letting one pass is not a failure of the office.
OPTIONAL_WINDOWS = frozenset({"judicial_confirmation", "proposal_objection"})

LABELS = {
    "dispatch": "派单时限",
    "accept": "接单时限",
    "assign": "指派时限",
    "resolve": "办理时限",
    "judicial_confirmation": "申请司法确认期限",
    "proposal_objection": "调解方案异议期",
}


class CaseDeadline(NamedTuple):
    """One deadline of a case and how it stands at ``now`` (a tuple: a case has many, made often)."""

    kind: str
    ref: str
    round: int
    period: Period
    started_at: datetime
    due_at: datetime
    original_due_at: datetime | None
    provisional: bool
    done_at: datetime | None
    done_position: int | None
    started_position: int
    status: str  # met | missed | open | lapsed

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def resolve_period(case: Case) -> Period:
    """5 days simple, 7 days ordinary, 30 working days complex; every 12345 hotline ticket 7 days."""
    if case.channel == Channel.HOTLINE_12345:
        return DEADLINE_POLICY["resolve_ordinary"]
    if case.difficulty == Difficulty.COMPLEX:
        return DEADLINE_POLICY["resolve_complex"]
    if case.difficulty == Difficulty.SIMPLE:
        return DEADLINE_POLICY["resolve_simple"]
    return DEADLINE_POLICY["resolve_ordinary"]


def _period(case: Case, kind: str) -> Period:
    return resolve_period(case) if kind == "resolve" else DEADLINE_POLICY[kind]


def _start(case: Case, step: dict[str, Any]) -> datetime:
    if step["kind"] == "judicial_confirmation":
        return case.agreement_effective_at()
    return case.times[step["started"]]


def case_deadlines(case: Case, calendar: WorkCalendar, now: datetime) -> list[CaseDeadline]:
    """Every deadline the case has had, in the order its clocks started."""
    result = []
    for step in case.steps:
        kind = step["kind"]
        period = _period(case, kind)
        start = _start(case, step)
        due: Due = due_after(calendar, start, period)
        original = None
        if step["extra_days"]:
            original = due.at
            due = due_after(calendar, start, Period(period.days + step["extra_days"], period.clock))
        done_position = step["done"]
        done_at = case.times[done_position] if done_position is not None else None
        result.append(
            CaseDeadline(
                kind=kind,
                ref=step["ref"],
                round=step["round"],
                period=period,
                started_at=start,
                due_at=due.at,
                original_due_at=original,
                provisional=due.provisional,
                done_at=done_at,
                done_position=done_position,
                started_position=step["started"],
                status=status_at(kind, due.at, done_at, now),
            )
        )
    return result


def status_at(kind: str, due_at: datetime, done_at: datetime | None, now: datetime) -> str:
    """How a deadline stands at ``now``: met, missed, open or (an optional window) lapsed."""
    if done_at is not None:
        return "met" if done_at <= due_at else "missed"
    if now <= due_at:
        return "open"
    return "lapsed" if kind in OPTIONAL_WINDOWS else "missed"


def is_overdue(deadlines: list[CaseDeadline]) -> bool:
    """A required deadline has passed with its step still not done."""
    return any(d.status == "missed" and d.done_at is None and d.kind not in OPTIONAL_WINDOWS for d in deadlines)
