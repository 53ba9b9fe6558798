"""The working-day calendar: schedule validation, versioning and 2026 holidays."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.calendar import CHINA_TZ, CalendarError, WorkCalendar, YearSchedule
from infrastructure.calendar_data import seed_schedules

SEEDED = WorkCalendar(seed_schedules())


def _schedule_2027() -> YearSchedule:
    new_year = frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)})
    return YearSchedule(2027, new_year, frozenset({date(2027, 9, 26)}))


def test_schedule_rejects_a_date_outside_its_year() -> None:
    """Rule: a year's schedule only holds that year's days."""
    with pytest.raises(CalendarError, match=r"outside 2027: 2026-12-31"):
        YearSchedule(2027, frozenset({date(2026, 12, 31)}), frozenset())


def test_schedule_rejects_a_day_both_rest_and_work() -> None:
    """Rule: a day is either a statutory rest day or a make-up working day, not both."""
    with pytest.raises(CalendarError, match=r"both holiday and make-up workday: 2027-09-26"):
        YearSchedule(2027, frozenset({date(2027, 9, 26)}), frozenset({date(2027, 9, 26)}))


def test_schedule_rejects_a_weekday_make_up_day() -> None:
    """Rule: make-up working days (调休上班) fall on a Saturday or Sunday."""
    with pytest.raises(CalendarError, match=r"not a Saturday or Sunday: 2027-09-27"):
        YearSchedule(2027, frozenset(), frozenset({date(2027, 9, 27)}))


def test_schedule_rejects_datetimes() -> None:
    """Rule: schedules list calendar days (CST dates), not instants."""
    with pytest.raises(CalendarError, match="must be dates"):
        YearSchedule(2027, frozenset({datetime(2027, 1, 1, tzinfo=CHINA_TZ)}), frozenset())


def test_seeded_calendar_reports_its_years() -> None:
    """Rule: the calendar is seeded for 2004-2026 and knows which years it covers."""
    assert SEEDED.loaded_years == tuple(range(2004, 2027))
    assert SEEDED.covers(2026)
    assert not SEEDED.covers(2027)
    assert SEEDED.schedule(2026).year == 2026
    with pytest.raises(KeyError, match="2027"):
        SEEDED.schedule(2027)


def test_national_day_2026_rest_days_include_weekdays() -> None:
    """Rule: 2026-10-01..07 are rest days; a weekday inside a statutory holiday is not a working day."""
    for day in range(1, 8):
        assert not SEEDED.is_workday(date(2026, 10, day))
    assert date(2026, 10, 5).weekday() == 0  # a Monday, still a rest day
    assert SEEDED.is_workday(date(2026, 9, 30))
    assert SEEDED.is_workday(date(2026, 10, 8))


def test_make_up_days_around_national_day_2026_are_working_days() -> None:
    """Rule: make-up days (调休上班) for National Day 2026 are Sun 09-20 and Sat 10-10, both working days."""
    assert SEEDED.schedule(2026).workdays >= {date(2026, 9, 20), date(2026, 10, 10)}
    assert SEEDED.is_workday(date(2026, 9, 20))
    assert SEEDED.is_workday(date(2026, 10, 10))
    assert not SEEDED.is_workday(date(2026, 10, 11))  # the Sunday after is an ordinary rest day


def test_mid_autumn_2026_is_its_own_holiday() -> None:
    """Rule: in the 2026 arrangement Mid-Autumn is Fri 09-25 to Sun 09-27, separate from National Day."""
    assert [SEEDED.is_workday(date(2026, 9, d)) for d in range(24, 29)] == [
        True,
        False,
        False,
        False,
        True,
    ]


def test_spring_festival_2026() -> None:
    """Rule: Spring Festival 2026 rests 02-15..02-23; Sat 02-14 and Sat 02-28 are make-up working days."""
    assert all(not SEEDED.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert SEEDED.is_workday(date(2026, 2, 14))
    assert SEEDED.is_workday(date(2026, 2, 28))
    assert SEEDED.is_workday(date(2026, 2, 24))


def test_unloaded_year_counts_weekends_only() -> None:
    """Rule: a year that is not loaded is Mon-Fri work, Sat/Sun rest."""
    assert SEEDED.is_workday(date(2027, 1, 1))  # a Friday; New Year is unknown until loaded
    assert not SEEDED.is_workday(date(2027, 1, 2))
    assert SEEDED.is_workday(date(2003, 10, 1))


def test_with_schedule_returns_a_new_calendar() -> None:
    """Rule: loading a year creates a new calendar version; the old one is unchanged."""
    loaded = SEEDED.with_schedule(_schedule_2027())
    assert loaded.covers(2027) and not SEEDED.covers(2027)
    assert not loaded.is_workday(date(2027, 1, 1))
    assert loaded.is_workday(date(2027, 9, 26))
    assert loaded.loaded_years[-1] == 2027


def test_reloading_a_year_replaces_it() -> None:
    """Rule: an operator's re-loaded year replaces the earlier schedule of that year."""
    first = SEEDED.with_schedule(_schedule_2027())
    corrected = first.with_schedule(YearSchedule(2027, frozenset(), frozenset()))
    assert corrected.is_workday(date(2027, 1, 1))
    assert not corrected.is_workday(date(2027, 9, 26))
    assert corrected.loaded_years.count(2027) == 1


def test_calendar_is_immutable() -> None:
    """Rule: a calendar version never changes once built."""
    with pytest.raises(AttributeError):
        SEEDED._by_year = {}


def test_is_workday_refuses_datetimes() -> None:
    """Rule: the day of an event is its CST date, which the caller must choose explicitly."""
    with pytest.raises(TypeError):
        SEEDED.is_workday(datetime(2026, 10, 1, tzinfo=CHINA_TZ))
