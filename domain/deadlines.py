"""Time limits (期限) of the dispute-resolution process on China's working-day calendar.

A period never counts the day of the event. *N working days* end at 24:00 of the N-th
working day after it; *N days* end at 24:00 of the N-th day after it, moved to the next
working day when that day is a rest day (民事诉讼法 第八十五条). "24:00 of day D" is
represented as D+1 at 00:00 China Standard Time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Final

from domain.calendar import CHINA_TZ, WorkCalendar

_ONE_DAY: Final = timedelta(days=1)


class Clock(StrEnum):
    """Which days a period counts."""

    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


@dataclass(frozen=True, slots=True)
class Period:
    """A time limit such as "1个工作日" or "7日"."""

    days: int
    clock: Clock

    def __post_init__(self) -> None:
        if self.days < 0:
            raise ValueError(f"a period cannot be negative, got {self.days} days")
        # Policy may come from configuration as plain strings; normalising here means an
        # unknown clock fails now instead of silently counting calendar days later.
        object.__setattr__(self, "clock", Clock(self.clock))

    @property
    def label(self) -> str:
        """The period as written in Chinese rules, e.g. "1个工作日" or "7日"."""
        unit = "个工作日" if self.clock is Clock.WORKING_DAYS else "日"
        return f"{self.days}{unit}"


@dataclass(frozen=True, slots=True)
class Due:
    """When a period runs out.

    ``provisional`` is true when counting touched a year without a loaded holiday schedule,
    so weekends were the only rest days assumed; reloading the year may move ``at``.
    """

    at: datetime
    provisional: bool


class _Counter:
    """Asks the calendar day by day and remembers whether any answer was a fallback."""

    __slots__ = ("calendar", "provisional")

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self.provisional = False

    def is_workday(self, day: date) -> bool:
        if not self.calendar.covers(day.year):
            self.provisional = True
        return self.calendar.is_workday(day)

    def first_workday_from(self, day: date) -> date:
        while not self.is_workday(day):
            day += _ONE_DAY
        return day


def _china_day(moment: datetime, name: str) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(CHINA_TZ).date()


@lru_cache(maxsize=262_144)
def due_after(calendar: WorkCalendar, start: datetime, period: Period) -> Due:
    """When ``period`` counted from the event at ``start`` runs out.

    The event's day is its date in China Standard Time. A zero period ends at 24:00 of the
    event's day, or of the next working day if that is a rest day. Years without a loaded
    schedule are counted on weekends alone and make the result provisional.
    Raises :class:`ValueError` if ``start`` is naive (a negative :class:`Period` cannot
    be constructed: it raises :class:`ValueError` too).
    """
    return _due_from_day(calendar, _china_day(start, "start"), period)


# Deadlines depend only on the event's day, the period and the calendar; calendars are
# immutable (a loaded year makes a new one), so answers can be remembered per calendar
# (by moment above, since a case's deadlines are asked again with every new event, and by
# day here).
@lru_cache(maxsize=65_536)
def _due_from_day(calendar: WorkCalendar, day: date, period: Period) -> Due:
    counter = _Counter(calendar)
    if period.clock is Clock.WORKING_DAYS:
        remaining = period.days
        while remaining:
            day += _ONE_DAY
            if counter.is_workday(day):
                remaining -= 1
        if period.days == 0:
            day = counter.first_workday_from(day)
    else:
        day = counter.first_workday_from(day + period.days * _ONE_DAY)
    end = datetime.combine(day + _ONE_DAY, time(0), tzinfo=CHINA_TZ)
    return Due(at=end, provisional=counter.provisional)


def working_days_late(calendar: WorkCalendar, due: datetime, done: datetime) -> int:
    """On how many working days the act done at ``done`` was overdue; 0 if on time.

    Counts the working days from the day starting at ``due`` through the day of ``done``,
    both in China Standard Time. Rest days are not counted because nothing could be done
    on them, so an act finished over a weekend after a Friday deadline scores 0: use
    ``done > due`` to decide *whether* it was late.
    """
    first = _china_day(due, "due")
    last = _china_day(done, "done")
    if done <= due:
        return 0
    late = 0
    day = first
    while day <= last:
        if calendar.is_workday(day):
            late += 1
        day += _ONE_DAY
    return late


def _working(days: int) -> Period:
    return Period(days, Clock.WORKING_DAYS)


def _calendar(days: int) -> Period:
    return Period(days, Clock.CALENDAR_DAYS)


DEADLINE_POLICY: Final[Mapping[str, Period]] = MappingProxyType(
    {
        "dispatch": _working(1),
        "accept": _working(1),
        "assign": _working(1),
        "resolve_simple": _calendar(5),
        # 12345 hotline cases are held to this limit as well.
        "resolve_ordinary": _calendar(7),
        "resolve_complex": _working(30),
        # Counted from the day the mediation agreement takes effect.
        "judicial_confirmation": _calendar(30),
        "proposal_objection": _calendar(7),
    }
)
"""Which period each step of the process allows; policy data, not code."""
