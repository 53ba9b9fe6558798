"""China's statutory working-day calendar (法定工作日历), versioned by year.

Each year's holiday arrangement is published by the State Council a few weeks before the
year starts, so the calendar is data: one :class:`YearSchedule` per loaded year. Days of
years that are not loaded fall back to a plain Monday-to-Friday week; callers that need to
know whether an answer is final ask :meth:`WorkCalendar.covers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Final, NoReturn
from zoneinfo import ZoneInfo

CHINA_TZ: Final = ZoneInfo("Asia/Shanghai")

_SATURDAY: Final = 5


class CalendarError(ValueError):
    """A holiday schedule is inconsistent or cannot be read."""


def _days(label: str, days: Iterable[date]) -> str:
    return f"{label} " + ", ".join(d.isoformat() for d in sorted(days))


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's arrangement: statutory rest days and make-up working days (调休上班).

    ``holidays`` are every rest day of the statutory holidays, weekend days included;
    ``workdays`` are the Saturdays and Sundays on which people work instead.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        # Accept any iterable so callers may pass sets or lists; the frozen copy keeps the
        # schedule hashable and safe to share between calendars.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`CalendarError` unless the schedule is self-consistent."""
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise CalendarError(f"schedule year must be an integer, got {self.year!r}")
        everything = self.holidays | self.workdays
        # A datetime is a date subclass but never equals a date, so it would silently
        # never match a lookup.
        not_dates = [d for d in everything if not isinstance(d, date) or isinstance(d, datetime)]
        if not_dates:
            raise CalendarError(f"{self.year} schedule: entries must be dates, got {not_dates!r}")
        problems: list[str] = []
        outside = {d for d in everything if d.year != self.year}
        if outside:
            problems.append(_days(f"dates outside {self.year}:", outside))
        both = self.holidays & self.workdays
        if both:
            problems.append(_days("dates listed as both holiday and make-up workday:", both))
        weekdays = {d for d in self.workdays if d.weekday() < _SATURDAY}
        if weekdays:
            problems.append(_days("make-up workdays that are not a Saturday or Sunday:", weekdays))
        if problems:
            raise CalendarError(f"{self.year} schedule is invalid: " + "; ".join(problems))


class WorkCalendar:
    """An immutable set of loaded year schedules answering "is this a working day?".

    When several schedules for one year are given, the last one wins, which is how an
    operator corrects a year (see :meth:`with_schedule`).
    """

    __slots__ = ("_by_year", "_holidays", "_workdays")

    _by_year: Mapping[int, YearSchedule]
    _holidays: frozenset[date]
    _workdays: frozenset[date]

    def __init__(self, schedules: Iterable[YearSchedule] = ()) -> None:
        by_year = {schedule.year: schedule for schedule in schedules}
        # One flat set per kind keeps is_workday to two hash lookups; schedules validate
        # that each date lies in its own year, so the union cannot mix years up.
        holidays = frozenset(d for s in by_year.values() for d in s.holidays)
        workdays = frozenset(d for s in by_year.values() for d in s.workdays)
        object.__setattr__(self, "_by_year", MappingProxyType(dict(sorted(by_year.items()))))
        object.__setattr__(self, "_holidays", holidays)
        object.__setattr__(self, "_workdays", workdays)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(loaded_years={self.loaded_years!r})"

    @property
    def loaded_years(self) -> tuple[int, ...]:
        """The years with a loaded schedule, ascending."""
        return tuple(self._by_year)

    def covers(self, year: int) -> bool:
        """Whether ``year`` has a loaded schedule (otherwise answers are weekends-only)."""
        return year in self._by_year

    def schedule(self, year: int) -> YearSchedule:
        """The loaded schedule of ``year``; raises :class:`KeyError` if none is loaded."""
        try:
            return self._by_year[year]
        except KeyError:
            raise KeyError(f"no holiday schedule loaded for {year}") from None

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day; Mon-Fri only for years that are not loaded."""
        if isinstance(day, datetime):
            # The day of an instant depends on the time zone; make the caller pick it.
            raise TypeError("is_workday takes a date; convert the datetime to CHINA_TZ first")
        if day.year in self._by_year:
            return day in self._workdays or (day.weekday() < _SATURDAY and day not in self._holidays)
        return day.weekday() < _SATURDAY

    def with_schedule(self, schedule: YearSchedule) -> WorkCalendar:
        """A new calendar with ``schedule`` added, replacing any schedule of the same year."""
        return WorkCalendar((*self._by_year.values(), schedule))
