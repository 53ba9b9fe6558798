"""Holiday schedule sources: the chinese_calendar seed and operator JSON files."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar  # type: ignore[import-untyped]
import pytest

from domain.calendar import CalendarError, WorkCalendar, YearSchedule
from infrastructure.calendar_data import parse_schedule, seed_schedules

EXAMPLE = Path(__file__).parents[3] / "infrastructure" / "data" / "calendar-2027.example.json"


def test_seed_covers_2004_to_2026_exactly() -> None:
    """Rule: the calendar is seeded for 2004-2026 from chinese_calendar 1.11.0."""
    assert [schedule.year for schedule in seed_schedules()] == list(range(2004, 2027))


def test_seed_agrees_with_chinese_calendar_on_every_day() -> None:
    """Rule: the seeded calendar says what chinese_calendar says for each day of 2004-2026."""
    calendar = WorkCalendar(seed_schedules())
    day = date(2004, 1, 1)
    while day.year <= 2026:
        assert calendar.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_seed_is_cached_but_not_shared() -> None:
    """Rule: the seed is built once at start-up; a caller's list cannot change it."""
    first = seed_schedules()
    first.clear()
    second = seed_schedules()
    assert len(second) == 23
    assert all(a is b for a, b in zip(second, seed_schedules(), strict=True))


def test_example_file_loads_as_2027() -> None:
    """Rule: an operator loads a year from a JSON file; ranges in holidays are inclusive."""
    schedule = parse_schedule(EXAMPLE.read_text(encoding="utf-8"))
    assert schedule.year == 2027
    assert {date(2027, 1, 1), date(2027, 1, 3), date(2027, 10, 7)} <= schedule.holidays
    assert date(2027, 10, 8) not in schedule.holidays
    assert "example" in json.loads(EXAMPLE.read_text(encoding="utf-8"))["source"].lower()
    calendar = WorkCalendar(seed_schedules()).with_schedule(schedule)
    assert calendar.covers(2027)
    assert not calendar.is_workday(date(2027, 10, 4))


def test_schedule_round_trips_through_json() -> None:
    """Rule: a schedule written as an operator file reads back equal."""
    original = YearSchedule(
        2027,
        frozenset({date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 6)}),
        frozenset({date(2027, 2, 20)}),
    )
    text = json.dumps(
        {
            "year": original.year,
            "holidays": sorted(d.isoformat() for d in original.holidays),
            "workdays": sorted(d.isoformat() for d in original.workdays),
            "source": "国务院办公厅关于2027年部分节假日安排的通知",
        },
        ensure_ascii=False,
    )
    assert parse_schedule(text) == original
    assert parse_schedule("\ufeff" + text) == original


def test_ranges_and_single_days_may_mix() -> None:
    """Rule: holidays may be listed as single days or "start/end" ranges."""
    text = '{"year": 2027, "holidays": ["2027-01-01/2027-01-03", "2027-01-03"], "workdays": []}'
    assert parse_schedule(text).holidays == {
        date(2027, 1, 1),
        date(2027, 1, 2),
        date(2027, 1, 3),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[2027]", "JSON object"),
        ('{"holidays": [], "workdays": []}', "missing: year"),
        ('{"year": 2027, "holidays": []}', "missing: workdays"),
        ('{"year": 2027, "holidays": [], "workday": []}', "unknown keys: workday"),
        ('{"year": "2027", "holidays": [], "workdays": []}', "integer"),
        ('{"year": true, "holidays": [], "workdays": []}', "integer"),
        ('{"year": 2027, "holidays": "2027-01-01", "workdays": []}', "must be a list"),
        (
            '{"year": 2027, "holidays": ["2027-13-01"], "workdays": []}',
            "not a real date",
        ),
        ('{"year": 2027, "holidays": ["2027/01/01"], "workdays": []}', "YYYY-MM-DD"),
        ('{"year": 2027, "holidays": ["20270101"], "workdays": []}', "YYYY-MM-DD"),
        ('{"year": 2027, "holidays": [20270101], "workdays": []}', "YYYY-MM-DD"),
        (
            '{"year": 2027, "holidays": ["2027-10-07/2027-10-01"], "workdays": []}',
            "ends before",
        ),
        (
            '{"year": 2027, "holidays": ["2027-12-31/2028-01-02"], "workdays": []}',
            "within 2027",
        ),
        (
            '{"year": 2027, "holidays": [], "workdays": ["2027-02-06/2027-02-07"]}',
            "YYYY-MM-DD",
        ),
        ('{"year": 2027, "holidays": ["2026-12-31"], "workdays": []}', "outside 2027"),
        (
            '{"year": 2027, "holidays": ["2027-02-20"], "workdays": ["2027-02-20"]}',
            "both",
        ),
        (
            '{"year": 2027, "holidays": [], "workdays": ["2027-02-22"]}',
            "not a Saturday",
        ),
        ('{"year": 2027, "holidays": [], "workdays": [], "source": 1}', "source"),
    ],
)
def test_malformed_files_raise_calendar_error(text: str, message: str) -> None:
    """Rule: an operator's malformed schedule is refused with a CalendarError saying why."""
    with pytest.raises(CalendarError, match=message):
        parse_schedule(text)
