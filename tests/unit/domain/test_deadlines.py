"""Deadlines on the 2026 statutory calendar, provisional years and lateness."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import CHINA_TZ, WorkCalendar
from domain.deadlines import (
    DEADLINE_POLICY,
    Clock,
    Due,
    Period,
    due_after,
    working_days_late,
)
from infrastructure.calendar_data import parse_schedule, seed_schedules

SEEDED = WorkCalendar(seed_schedules())
ONE_WORKING_DAY = Period(1, Clock.WORKING_DAYS)
NEW_YEAR_2027 = '{"year": 2027, "holidays": ["2027-01-01/2027-01-03"], "workdays": []}'


def cst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant in China Standard Time."""
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


def end_of(year: int, month: int, day: int) -> datetime:
    """24:00 CST of the given day, i.e. 00:00 of the next one."""
    return cst(year, month, day) + timedelta(days=1)


def test_period_labels_read_as_chinese_rules() -> None:
    """Rule: periods are written "N个工作日" (working days) or "N日" (days)."""
    assert ONE_WORKING_DAY.label == "1个工作日"
    assert Period(7, Clock.CALENDAR_DAYS).label == "7日"
    assert DEADLINE_POLICY["resolve_complex"].label == "30个工作日"


def test_period_refuses_negative_days_and_unknown_clocks() -> None:
    """Rule: a period is a non-negative count on a known clock."""
    with pytest.raises(ValueError, match="negative"):
        due_after(SEEDED, cst(2026, 9, 30), Period(-1, Clock.CALENDAR_DAYS))
    with pytest.raises(ValueError):
        Period(1, "fortnights")  # type: ignore[arg-type]
    assert Period(1, "working_days").clock is Clock.WORKING_DAYS  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    """Rule: days are China Standard Time days, so an instant without a zone is ambiguous."""
    with pytest.raises(ValueError, match="timezone-aware"):
        due_after(SEEDED, datetime(2026, 9, 30, 10), ONE_WORKING_DAY)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_days_late(SEEDED, cst(2026, 10, 9), datetime(2026, 10, 9, 10))


def test_policy_holds_the_specified_periods() -> None:
    """Rule: dispatch/accept/assign 1 working day; resolve 5/7 days or 30 working days; 30 and 7 days after agreement."""
    assert dict(DEADLINE_POLICY) == {
        "dispatch": ONE_WORKING_DAY,
        "accept": ONE_WORKING_DAY,
        "assign": ONE_WORKING_DAY,
        "resolve_simple": Period(5, Clock.CALENDAR_DAYS),
        "resolve_ordinary": Period(7, Clock.CALENDAR_DAYS),
        "resolve_complex": Period(30, Clock.WORKING_DAYS),
        "judicial_confirmation": Period(30, Clock.CALENDAR_DAYS),
        "proposal_objection": Period(7, Clock.CALENDAR_DAYS),
    }
    with pytest.raises(TypeError):
        DEADLINE_POLICY["dispatch"] = Period(2, Clock.WORKING_DAYS)  # type: ignore[index]


def test_one_working_day_on_the_eve_of_national_day_lands_after_the_holiday() -> None:
    """Rule: N working days skip the 2026-10-01..07 rest days; the event day is not counted."""
    due = due_after(SEEDED, cst(2026, 9, 30, 15), DEADLINE_POLICY["dispatch"])
    assert due == Due(at=end_of(2026, 10, 8), provisional=False)
    assert due.at.utcoffset() == timedelta(hours=8)


def test_weekday_inside_the_holiday_is_not_a_working_day() -> None:
    """Rule: Mon 2026-10-05 is a statutory rest day, so it neither counts nor starts a count."""
    assert due_after(SEEDED, cst(2026, 10, 5, 9), ONE_WORKING_DAY).at == end_of(2026, 10, 8)
    three = Period(3, Clock.WORKING_DAYS)
    assert due_after(SEEDED, cst(2026, 9, 28, 9), three).at == end_of(2026, 10, 8)


def test_make_up_saturday_counts_as_a_working_day() -> None:
    """Rule: Sat 2026-10-10 is a make-up working day (调休上班), so it can be the N-th working day."""
    assert due_after(SEEDED, cst(2026, 10, 9, 16), ONE_WORKING_DAY).at == end_of(2026, 10, 10)


def test_event_on_the_make_up_saturday_counts_from_the_next_working_day() -> None:
    """Rule: the event's own day is never counted, even when it is a make-up working day."""
    assert due_after(SEEDED, cst(2026, 10, 10, 10), ONE_WORKING_DAY).at == end_of(2026, 10, 12)


def test_calendar_days_ending_on_a_holiday_roll_forward() -> None:
    """Rule: N days ending on a rest day end on the next working day (Civil Procedure Law Art. 85)."""
    objection = DEADLINE_POLICY["proposal_objection"]
    assert due_after(SEEDED, cst(2026, 9, 28, 9), objection).at == end_of(2026, 10, 8)
    assert due_after(SEEDED, cst(2026, 3, 7, 9), objection).at == end_of(2026, 3, 16)
    simple = DEADLINE_POLICY["resolve_simple"]
    assert due_after(SEEDED, cst(2026, 9, 21, 9), simple).at == end_of(2026, 9, 28)


def test_calendar_days_ending_on_a_make_up_saturday_do_not_roll() -> None:
    """Rule: a make-up Saturday is a working day, so a period ending on it ends that day."""
    objection = DEADLINE_POLICY["proposal_objection"]
    assert due_after(SEEDED, cst(2026, 10, 3, 9), objection).at == end_of(2026, 10, 10)


def test_judicial_confirmation_counts_holiday_days_then_rolls() -> None:
    """Rule: 30 days from the agreement taking effect count rest days but may not end on one."""
    confirmation = DEADLINE_POLICY["judicial_confirmation"]
    assert due_after(SEEDED, cst(2026, 9, 7, 11), confirmation).at == end_of(2026, 10, 8)


def test_complex_case_has_thirty_working_days() -> None:
    """Rule: complex cases get 30 working days, skipping Mid-Autumn and National Day 2026."""
    due = due_after(SEEDED, cst(2026, 9, 15, 10), DEADLINE_POLICY["resolve_complex"])
    assert due == Due(at=end_of(2026, 11, 2), provisional=False)


def test_spring_festival_2026() -> None:
    """Rule: 2026-02-15..23 are rest days; Sat 02-14 and Sat 02-28 are make-up working days."""
    assert due_after(SEEDED, cst(2026, 2, 13, 17), ONE_WORKING_DAY).at == end_of(2026, 2, 14)
    assert due_after(SEEDED, cst(2026, 2, 14, 10), ONE_WORKING_DAY).at == end_of(2026, 2, 24)
    ordinary = DEADLINE_POLICY["resolve_ordinary"]
    assert due_after(SEEDED, cst(2026, 2, 12, 10), ordinary).at == end_of(2026, 2, 24)
    five = Period(5, Clock.WORKING_DAYS)
    assert due_after(SEEDED, cst(2026, 2, 14, 10), five).at == end_of(2026, 2, 28)


def test_zero_periods_end_the_same_day_or_the_next_working_day() -> None:
    """Rule: a zero period ends at 24:00 of the event's day, moved to a working day if needed."""
    assert due_after(SEEDED, cst(2026, 9, 30, 9), Period(0, Clock.CALENDAR_DAYS)).at == end_of(2026, 9, 30)
    assert due_after(SEEDED, cst(2026, 10, 3, 9), Period(0, Clock.WORKING_DAYS)).at == end_of(2026, 10, 8)


def test_event_day_is_the_china_standard_time_date() -> None:
    """Rule: days are CST days; 2026-09-30T17:30Z is 2026-10-01 01:30 CST."""
    start = datetime(2026, 9, 30, 17, 30, tzinfo=UTC)
    assert start.astimezone(CHINA_TZ) == cst(2026, 10, 1, 1, 30)
    # 9 days from 10-01 end on the make-up Saturday 10-10; counted from the UTC date
    # (09-30) they would end on 10-09.
    due = due_after(SEEDED, start, Period(9, Clock.CALENDAR_DAYS))
    assert due.at == end_of(2026, 10, 10) == datetime(2026, 10, 10, 16, tzinfo=UTC)
    # 09-19T16:30Z is Sunday 09-20 in CST, itself a make-up day and so not counted.
    sunday = datetime(2026, 9, 19, 16, 30, tzinfo=UTC)
    assert due_after(SEEDED, sunday, ONE_WORKING_DAY).at == end_of(2026, 9, 21)


def test_late_evening_and_midnight_events_fall_on_different_days() -> None:
    """Rule: an event at 23:59 CST belongs to that day; one at 00:00 CST to the next."""
    assert due_after(SEEDED, cst(2026, 9, 29, 23, 59), ONE_WORKING_DAY).at == end_of(2026, 9, 30)
    assert due_after(SEEDED, cst(2026, 9, 30), ONE_WORKING_DAY).at == end_of(2026, 10, 8)


def test_deadline_within_a_loaded_year_is_final() -> None:
    """Rule: a count that stays inside loaded years is not provisional."""
    assert due_after(SEEDED, cst(2026, 12, 29, 10), ONE_WORKING_DAY) == Due(at=end_of(2026, 12, 30), provisional=False)


def test_counting_into_an_unloaded_year_is_provisional_until_it_is_loaded() -> None:
    """Rule: counting into 2027 before its schedule is loaded uses weekends only and is provisional."""
    start = cst(2026, 12, 31, 10)
    assert due_after(SEEDED, start, ONE_WORKING_DAY) == Due(at=end_of(2027, 1, 1), provisional=True)
    loaded = SEEDED.with_schedule(parse_schedule(NEW_YEAR_2027))
    assert due_after(loaded, start, ONE_WORKING_DAY) == Due(at=end_of(2027, 1, 4), provisional=False)


def test_calendar_days_into_an_unloaded_year_are_provisional() -> None:
    """Rule: N days ending in an unloaded year are provisional even when the date does not move."""
    start = cst(2026, 12, 28, 10)
    ordinary = DEADLINE_POLICY["resolve_ordinary"]
    assert due_after(SEEDED, start, ordinary) == Due(at=end_of(2027, 1, 4), provisional=True)
    loaded = SEEDED.with_schedule(parse_schedule(NEW_YEAR_2027))
    assert due_after(loaded, start, ordinary) == Due(at=end_of(2027, 1, 4), provisional=False)


def test_done_by_the_deadline_is_not_late() -> None:
    """Rule: an act done at or before 24:00 of the last day is on time."""
    due = end_of(2026, 10, 8)
    assert working_days_late(SEEDED, due, due) == 0
    assert working_days_late(SEEDED, due, cst(2026, 10, 8, 23, 59)) == 0
    assert working_days_late(SEEDED, due, datetime(2026, 10, 8, 15, 59, tzinfo=UTC)) == 0


def test_lateness_counts_working_days_including_make_up_days() -> None:
    """Rule: lateness counts working days from the due day to the day done; Sat 2026-10-10 is one."""
    due = end_of(2026, 10, 8)
    assert working_days_late(SEEDED, due, cst(2026, 10, 9, 10)) == 1
    assert working_days_late(SEEDED, due, datetime(2026, 10, 8, 16, 30, tzinfo=UTC)) == 1
    assert working_days_late(SEEDED, due, cst(2026, 10, 10, 9)) == 2
    assert working_days_late(SEEDED, due, cst(2026, 10, 11, 9)) == 2
    assert working_days_late(SEEDED, due, cst(2026, 10, 12, 9)) == 3


def test_lateness_skips_rest_days() -> None:
    """Rule: days on which nothing could be done (rest days) do not count as late days."""
    due = cst(2026, 10, 1)
    assert working_days_late(SEEDED, due, cst(2026, 10, 7, 20)) == 0
    assert working_days_late(SEEDED, due, cst(2026, 10, 8, 9)) == 1


def test_lateness_in_an_unloaded_year_uses_weekends_only() -> None:
    """Rule: lateness in an unloaded year counts Mon-Fri; loading the year changes the count."""
    due, done = cst(2027, 1, 1), cst(2027, 1, 4, 9)
    assert working_days_late(SEEDED, due, done) == 2
    loaded = SEEDED.with_schedule(parse_schedule(NEW_YEAR_2027))
    assert working_days_late(loaded, due, done) == 1


_ZONES = st.sampled_from([UTC, CHINA_TZ, ZoneInfo("America/New_York"), timezone(timedelta(hours=14))])


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2004, 1, 1),
        max_value=datetime(2030, 12, 31, 23, 59, 59),
        timezones=_ZONES,
    ),
    days=st.integers(min_value=0, max_value=60),
    clock=st.sampled_from(Clock),
)
def test_due_after_always_ends_at_midnight_cst_after_a_working_day(start: datetime, days: int, clock: Clock) -> None:
    """Rule: every period ends at 24:00 CST of a working day after the event, provisional only past 2026."""
    due = due_after(SEEDED, start, Period(days, clock))
    assert due.at > start
    local = due.at.astimezone(CHINA_TZ)
    assert local.time() == time(0)
    last_day = local.date() - timedelta(days=1)
    event_day = start.astimezone(CHINA_TZ).date()
    assert SEEDED.is_workday(last_day)
    if clock is Clock.WORKING_DAYS and days:
        counted = _days_between(event_day, last_day)
        assert sum(SEEDED.is_workday(day) for day in counted) == days
    else:
        # Calendar days (and a zero period) end on the nominal day unless it is a rest
        # day, in which case only rest days may lie between it and the actual end.
        nominal = event_day + timedelta(days=days)
        assert last_day >= nominal
        skipped = _days_between(nominal - timedelta(days=1), last_day - timedelta(days=1))
        assert not any(SEEDED.is_workday(day) for day in skipped)
    # The last day is always consulted; UTC+14 can put a 2004 start on 2003-12-31 in
    # China, an unloaded day that only some counts consult.
    if last_day.year > 2026:
        assert due.provisional
    elif event_day.year >= 2004:
        assert not due.provisional


def _days_between(after: date, through: date) -> list[date]:
    return [after + timedelta(days=n) for n in range(1, (through - after).days + 1)]
