"""Deadlines of cases as the ledger shows them, on China's 2026 working-day calendar (SPEC §4)."""

from __future__ import annotations

from uuid import UUID

import pytest

from application.ledger import CaseLedger
from domain.case_deadlines import CaseDeadline
from domain.errors import InvalidCommand, InvalidTransition, NotPermitted
from infrastructure.calendar_data import parse_schedule
from tests.unit.application.support import CaseDriver, Cast, Clock, cst, deadline_of, end_of, refused, stored

SCHEDULE_2027 = """{
  "year": 2027,
  "holidays": ["2027-01-01/2027-01-03", "2027-10-01/2027-10-07"],
  "workdays": ["2027-09-26", "2027-10-09"],
  "source": "国务院办公厅关于2027年部分节假日安排的通知"
}"""


def deadlines(ledger: CaseLedger, cast: Cast, case_id: UUID) -> list[CaseDeadline]:
    return ledger.view_case(case_id, cast.township.actor).deadlines


def test_dispatch_is_due_at_the_end_of_the_next_working_day(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §4: 1 working day after registration, the day of registration not counted."""
    case_id = drive.to("registered")  # Monday 14 September

    dispatch = deadline_of(deadlines(ledger, cast, case_id), "dispatch")

    assert (dispatch.due_at, dispatch.status, dispatch.provisional) == (end_of(2026, 9, 15), "open", False)


def test_a_case_registered_on_the_eve_of_national_day_is_due_after_the_holiday(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §4: 1–7 October 2026 are rest days, so a case registered on 30 September is due at 24:00 on 8 October."""
    clock.set(cst(2026, 9, 30, 16))
    case_id = drive.to("registered")

    assert deadline_of(deadlines(ledger, cast, case_id), "dispatch").due_at == end_of(2026, 10, 8)


def test_a_make_up_sunday_is_a_working_day(ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock) -> None:
    """SPEC §4: Sunday 20 September 2026 is a make-up working day (调休上班)."""
    clock.set(cst(2026, 9, 18, 17))  # Friday
    case_id = drive.to("registered")

    assert deadline_of(deadlines(ledger, cast, case_id), "dispatch").due_at == end_of(2026, 9, 20)


def test_a_make_up_saturday_is_a_working_day(ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock) -> None:
    """SPEC §4: Saturday 10 October 2026 is a make-up working day."""
    clock.set(cst(2026, 10, 9, 11))  # Friday
    case_id = drive.to("registered")

    assert deadline_of(deadlines(ledger, cast, case_id), "dispatch").due_at == end_of(2026, 10, 10)


def test_a_case_registered_in_the_mid_autumn_holiday_is_due_the_second_working_day_after(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §4: registered on Saturday 26 September (a rest day), the next working day is Monday 28th."""
    clock.set(cst(2026, 9, 26, 9))
    case_id = drive.to("registered")

    assert deadline_of(deadlines(ledger, cast, case_id), "dispatch").due_at == end_of(2026, 9, 28)


def test_a_dispatch_on_time_is_met(ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock) -> None:
    """SPEC §4: a step done before its deadline has met it."""
    case_id = drive.to("registered")
    clock.set(cst(2026, 9, 15, 23, 59))
    drive.dispatch(case_id)

    dispatch = deadline_of(deadlines(ledger, cast, case_id), "dispatch")

    assert (dispatch.status, dispatch.done_at, dispatch.done_position) == ("met", cst(2026, 9, 15, 23, 59), 2)


def test_a_late_acceptance_is_missed(ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock) -> None:
    """SPEC §2/§4: accept within 1 working day of dispatch; later is missed."""
    case_id = drive.to("dispatched")  # Monday
    clock.set(cst(2026, 9, 16, 0, 1))  # just after 24:00 on Tuesday
    drive.accept(case_id)

    accept = deadline_of(deadlines(ledger, cast, case_id), "accept")

    assert (accept.due_at, accept.status) == (end_of(2026, 9, 15), "missed")


def test_an_open_deadline_past_due_is_missed(ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock) -> None:
    """SPEC §4: a deadline that has passed with the step not done shows as missed."""
    case_id = drive.to("registered")
    clock.set(cst(2026, 9, 17))

    dispatch = deadline_of(deadlines(ledger, cast, case_id), "dispatch")

    assert (dispatch.status, dispatch.done_at) == ("missed", None)


def test_assignment_is_due_one_working_day_after_acceptance(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: a grid worker or mediator is named within 1 working day of acceptance."""
    case_id = drive.to("handling")

    assign = deadline_of(deadlines(ledger, cast, case_id), "assign")

    assert (assign.due_at, assign.status) == (end_of(2026, 9, 15), "met")


def test_a_return_starts_a_new_dispatch_deadline(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §2: a returned case goes back to dispatch, on a fresh 1-working-day clock."""
    case_id = drive.to("dispatched")
    clock.set(cst(2026, 9, 15, 9))
    ledger.return_case(case_id, cast.village, reason="不属本社区")

    first, second = (d for d in deadlines(ledger, cast, case_id) if d.kind == "dispatch")

    assert (first.status, second.started_at, second.due_at) == ("met", cst(2026, 9, 15, 9), end_of(2026, 9, 16))


# ---------------------------------------------------------------- resolution


@pytest.mark.parametrize(
    ("channel", "difficulty", "due"),
    [
        # accepted Monday 14 September; day 5 is Saturday 19th, so Sunday 20th (a make-up working day)
        pytest.param("grid_patrol", "simple", end_of(2026, 9, 20), id="simple-5-days"),
        pytest.param("grid_patrol", "ordinary", end_of(2026, 9, 21), id="ordinary-7-days"),
        pytest.param("hotline_12345", "simple", end_of(2026, 9, 21), id="hotline-simple-7-days"),
        pytest.param("hotline_12345", "ordinary", end_of(2026, 9, 21), id="hotline-ordinary-7-days"),
        # 30 working days skip the Mid-Autumn and National Day rest days and count both make-up days
        pytest.param("grid_patrol", "complex", end_of(2026, 10, 30), id="complex-30-working-days"),
    ],
)
def test_the_resolution_period_follows_difficulty_and_channel(
    channel: str, difficulty: str, due: object, ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2/§4: 5 days simple, 7 days ordinary and every 12345 ticket, 30 working days complex."""
    case_id = drive.to("accepted", channel=channel, difficulty=difficulty)

    assert deadline_of(deadlines(ledger, cast, case_id), "resolve").due_at == due


def test_every_12345_hotline_ticket_is_resolved_within_seven_days(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2: 7 days "ordinary, and every 12345 hotline ticket" — a complex hotline ticket too."""
    case_id = drive.to("accepted", channel="hotline_12345", difficulty="complex")

    assert deadline_of(deadlines(ledger, cast, case_id), "resolve").due_at == end_of(2026, 9, 21)


def test_a_conclusion_within_the_period_meets_the_resolution_deadline(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §4: the resolution deadline is met by the conclusion."""
    case_id = drive.to("handling")
    clock.set(cst(2026, 9, 21, 18))
    drive.conclude(case_id)

    resolve = deadline_of(deadlines(ledger, cast, case_id), "resolve")

    assert (resolve.status, resolve.done_position) == ("met", len(stored(ledger, case_id)))


def test_a_reopened_case_gets_a_new_resolution_deadline(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §2: reopening reopens handling, on a new resolution period counted from the reopening."""
    case_id = drive.to("concluded")
    clock.set(cst(2026, 9, 16, 9))
    ledger.complete_review(case_id, cast.township, result="rectification", note="回访发现未落实")

    first, second = (d for d in deadlines(ledger, cast, case_id) if d.kind == "resolve")

    assert (first.round, first.status) == (1, "met")
    assert (second.round, second.started_at, second.due_at, second.status) == (
        2,
        cst(2026, 9, 16, 9),
        end_of(2026, 9, 23),
        "open",
    )


# ---------------------------------------------------------------- extensions


def test_an_extension_moves_the_resolution_deadline_and_keeps_the_original(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2/§4: an approved extension moves the resolution deadline; the original stays on record."""
    case_id = drive.to("handling")

    ledger.extend_deadline(case_id, cast.township, extra_days=3, reason="等待鉴定结论")

    resolve = deadline_of(deadlines(ledger, cast, case_id), "resolve")
    assert (resolve.due_at, resolve.original_due_at) == (end_of(2026, 9, 24), end_of(2026, 9, 21))
    assert type(stored(ledger, case_id)[-1]).__name__ == "DeadlineExtended"


def test_extensions_add_up_and_keep_the_first_deadline(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §4: the original deadline stays on record through every extension."""
    case_id = drive.to("handling")

    ledger.extend_deadline(case_id, cast.township, extra_days=3, reason="等待鉴定结论")
    ledger.extend_deadline(case_id, cast.township, extra_days=2, reason="当事人外出")

    resolve = deadline_of(deadlines(ledger, cast, case_id), "resolve")
    assert (resolve.due_at, resolve.original_due_at) == (end_of(2026, 9, 28), end_of(2026, 9, 21))


def test_without_an_extension_there_is_no_original_deadline(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §4: original_due_at is set only when an extension moved the deadline."""
    case_id = drive.to("handling")

    assert deadline_of(deadlines(ledger, cast, case_id), "resolve").original_due_at is None


def test_an_extension_needs_the_township_centers_approval(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: an extension needs township approval; the unit handling it may not extend its own deadline."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, NotPermitted):
        ledger.extend_deadline(case_id, cast.village, extra_days=3, reason="忙")


def test_an_extension_needs_a_reason(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: an extension needs township approval and a reason."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, InvalidCommand, match="reason"):
        ledger.extend_deadline(case_id, cast.township, extra_days=3, reason=" ")


@pytest.mark.parametrize("extra_days", [0, -2])
def test_an_extension_is_of_at_least_one_day(
    extra_days: int, ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §4: an extension moves the deadline later."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, InvalidCommand, match="extra_days"):
        ledger.extend_deadline(case_id, cast.township, extra_days=extra_days, reason="等待鉴定")


def test_an_extension_before_acceptance_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: there is no resolution deadline to extend before the case is accepted."""
    case_id = drive.to("dispatched")

    with refused(ledger, case_id, InvalidTransition):
        ledger.extend_deadline(case_id, cast.township, extra_days=3, reason="等待鉴定")


# ---------------------------------------------------------------- years beyond the loaded calendar


def test_a_deadline_in_a_year_without_a_schedule_is_provisional(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §4: beyond the loaded data a deadline is counted on weekends only and marked provisional."""
    clock.set(cst(2026, 12, 31, 15))  # Thursday; 1 January 2027 is a Friday
    case_id = drive.to("registered")

    dispatch = deadline_of(deadlines(ledger, cast, case_id), "dispatch")

    assert (dispatch.due_at, dispatch.provisional) == (end_of(2027, 1, 1), True)


def test_a_provisional_deadline_becomes_final_when_its_year_is_loaded(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §4: a provisional deadline is recomputed when the year's schedule arrives."""
    clock.set(cst(2026, 12, 31, 15))
    case_id = drive.to("registered")

    ledger.load_calendar_year(
        cast.admin, parse_schedule(SCHEDULE_2027), source="国办发明电〔2026〕X号", digest="sha256:0"
    )

    view = ledger.view_case(case_id, cast.township.actor)
    dispatch = deadline_of(view.deadlines, "dispatch")
    assert (dispatch.due_at, dispatch.provisional) == (end_of(2027, 1, 4), False)
    assert 2027 in view.calendar_years


def test_loading_a_year_is_recorded_with_its_source(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §4: a new year's schedule is loaded as an event, so its adoption is audited."""
    result = ledger.load_calendar_year(
        cast.admin, parse_schedule(SCHEDULE_2027), source="国办发明电〔2026〕X号", digest="sha256:abc"
    )

    loaded = stored(ledger, UUID(result.id))[-1]
    assert (loaded.year, loaded.source, loaded.digest, loaded.actor) == (
        2027,
        "国办发明电〔2026〕X号",
        "sha256:abc",
        cast.admin.actor,
    )
    assert result.extra == {"year": 2027}


def test_only_the_administrator_loads_a_calendar_year(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §4/§9: loading a year's schedule is an operator's act."""
    before = ledger.recorder.max_notification_id()

    with pytest.raises(NotPermitted):
        ledger.load_calendar_year(cast.county, parse_schedule(SCHEDULE_2027), source="s", digest="d")

    assert ledger.recorder.max_notification_id() == before


def test_a_deadline_within_the_bundled_years_is_final(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §4: the bundled data covers 2004–2026, so deadlines counted there are final."""
    clock.set(cst(2026, 12, 30, 15))
    case_id = drive.to("registered")

    dispatch = deadline_of(deadlines(ledger, cast, case_id), "dispatch")

    assert (dispatch.due_at, dispatch.provisional) == (end_of(2026, 12, 31), False)


def test_a_deadline_runs_from_when_the_step_happened_not_when_it_was_reported(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §4/§6: periods count from occurred_at; a registration at 23:58 entered after midnight is Monday's."""
    clock.set(cst(2026, 9, 15, 0, 5))

    case_id = drive.register(occurred_at=cst(2026, 9, 14, 23, 58))

    dispatch = deadline_of(deadlines(ledger, cast, case_id), "dispatch")
    assert (dispatch.started_at, dispatch.due_at) == (cst(2026, 9, 14, 23, 58), end_of(2026, 9, 15))
