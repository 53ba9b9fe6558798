"""Where holiday schedules come from: the bundled ``chinese_calendar`` data and operator files.

An operator file is JSON::

    {"year": 2027,
     "holidays": ["2027-01-01", "2027-10-01/2027-10-07"],
     "workdays": ["2027-09-26"],
     "source": "国务院办公厅关于2027年部分节假日安排的通知"}

``holidays`` lists rest days or inclusive ``start/end`` ranges; ``workdays`` lists the
make-up working Saturdays and Sundays; ``source`` is optional.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections import defaultdict
from collections.abc import Collection
from datetime import date
from typing import Final

import chinese_calendar  # type: ignore[import-untyped]

from domain.calendar import CalendarError, YearSchedule

_log = logging.getLogger(__name__)

_REQUIRED: Final = frozenset({"year", "holidays", "workdays"})
_ALLOWED: Final = _REQUIRED | {"source"}
# date.fromisoformat also takes "20270101" and week dates; operators should write one form.
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@functools.cache
def _seed() -> tuple[YearSchedule, ...]:
    holidays: Collection[date] = chinese_calendar.holidays
    workdays: Collection[date] = chinese_calendar.workdays
    # The package lists a weekday as a "workday" only by mistake; it is a working day
    # anyway, so dropping it changes nothing but keeps YearSchedule's invariant.
    odd = sorted(d for d in workdays if d.weekday() < 5)
    if odd:
        _log.warning("chinese_calendar lists weekday make-up workdays, ignored: %s", odd)
    by_year: defaultdict[int, tuple[set[date], set[date]]] = defaultdict(lambda: (set(), set()))
    for day in holidays:
        by_year[day.year][0].add(day)
    for day in workdays:
        if day.weekday() >= 5:
            by_year[day.year][1].add(day)
    first, last = min(d.year for d in holidays), max(d.year for d in holidays)
    return tuple(
        YearSchedule(year, frozenset(by_year[year][0]), frozenset(by_year[year][1])) for year in range(first, last + 1)
    )


def seed_schedules() -> list[YearSchedule]:
    """The schedules bundled with ``chinese_calendar`` (2004-2026 in version 1.11.0)."""
    # The tuple is cached; a fresh list means a caller that appends cannot alter the seed.
    return list(_seed())


def _parse_date(text: object, where: str) -> date:
    if not isinstance(text, str) or not _ISO_DATE.fullmatch(text):
        raise CalendarError(f"{where}: expected a date as YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CalendarError(f"{where}: {text!r} is not a real date") from None


def _parse_days(items: object, field: str, year: int, *, ranges: bool) -> frozenset[date]:
    if not isinstance(items, list):
        raise CalendarError(f'"{field}" must be a list of dates, got {type(items).__name__}')
    days: set[date] = set()
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        if ranges and isinstance(item, str) and "/" in item:
            start_text, _, end_text = item.partition("/")
            start, end = _parse_date(start_text, where), _parse_date(end_text, where)
            if start > end:
                raise CalendarError(f"{where}: range {item!r} ends before it starts")
            # Checked before expanding so a typo like 2072 cannot produce decades of days.
            if start.year != year or end.year != year:
                raise CalendarError(f"{where}: range {item!r} is not within {year}")
            days.update(date.fromordinal(n) for n in range(start.toordinal(), end.toordinal() + 1))
        else:
            days.add(_parse_date(item, where))
    return frozenset(days)


def parse_schedule(text: str) -> YearSchedule:
    """Read an operator's JSON schedule file; raises :class:`CalendarError` if malformed."""
    try:
        # Editors on Windows often save UTF-8 with a byte-order mark, which json rejects.
        data = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise CalendarError(f"schedule file is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CalendarError("schedule file must contain a JSON object")
    # Unknown keys are refused because a misspelt "workday" would otherwise drop every
    # make-up day without a word.
    if unknown := sorted(set(data) - _ALLOWED):
        raise CalendarError(f"schedule file has unknown keys: {', '.join(unknown)}")
    if missing := sorted(_REQUIRED - set(data)):
        raise CalendarError(f"schedule file is missing: {', '.join(missing)}")
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int):
        raise CalendarError(f'"year" must be an integer, got {year!r}')
    if not isinstance(data.get("source", ""), str):
        raise CalendarError('"source" must be a string')
    holidays = _parse_days(data["holidays"], "holidays", year, ranges=True)
    workdays = _parse_days(data["workdays"], "workdays", year, ranges=False)
    return YearSchedule(year, holidays, workdays)
