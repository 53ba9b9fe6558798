"""The ``CalendarBook`` aggregate: each year's working-day schedule an operator loaded.

Loading is an event, so who adopted which schedule, and when, is on the record.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain.calendar import WorkCalendar, YearSchedule
from domain.values import Actor

CALENDAR_BOOK_ID = uuid5(NAMESPACE_URL, "caseledger:calendar-book")


class CalendarBook(Aggregate):
    """Years loaded on top of the bundled seed."""

    class Event(Aggregate.Event):
        actor: Actor
        occurred_at: datetime
        request_id: str
        imported: bool

    class Opened(Event, Aggregate.Created):
        def apply(self, aggregate: Any) -> None:
            aggregate.schedules = {}

    class YearLoaded(Event):
        year: int
        holidays: list[str]
        workdays: list[str]
        source: str
        digest: str

        def apply(self, aggregate: Any) -> None:
            aggregate.schedules[self.year] = YearSchedule(
                year=self.year,
                holidays=frozenset(date.fromisoformat(d) for d in self.holidays),
                workdays=frozenset(date.fromisoformat(d) for d in self.workdays),
            )

    schedules: dict[int, YearSchedule]

    def __init__(self) -> None:
        """State is set by the events' ``apply`` methods, so replay and commands agree."""

    @classmethod
    def open(cls, fields: dict[str, Any]) -> CalendarBook:
        return cls._create(cls.Opened, id=CALENDAR_BOOK_ID, **fields)

    def load(self, fields: dict[str, Any], schedule: YearSchedule, *, source: str, digest: str) -> None:
        """Adopt a year's schedule (a re-load of the same year replaces it)."""
        self.trigger_event(
            self.YearLoaded,
            **fields,
            year=schedule.year,
            holidays=sorted(d.isoformat() for d in schedule.holidays),
            workdays=sorted(d.isoformat() for d in schedule.workdays),
            source=source,
            digest=digest,
        )

    def calendar(self, seed: WorkCalendar) -> WorkCalendar:
        result = seed
        for schedule in self.schedules.values():
            result = result.with_schedule(schedule)
        return result
