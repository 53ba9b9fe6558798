"""The case lifecycle of SPEC §2, step by step, and the refusals that keep it in order."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from application.ledger import CaseLedger
from domain.errors import CaseNotFoundError, DomainError, InvalidCommand, InvalidTransition, NotPermitted
from tests.unit.application.support import (
    COUNTY_FILING,
    GRID,
    PARTIES,
    PARTY_IDS,
    VILLAGE_UNIT,
    CaseDriver,
    Cast,
    Clock,
    deadline_of,
    refused,
    spec_names,
    stored,
)

DEPARTMENT = "qingxi-hrss"

# ---------------------------------------------------------------- 制单 register


def test_registering_opens_a_case_waiting_for_dispatch(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §2 制单: CaseRegistered with channel, jurisdiction, category, parties, summary, color, difficulty."""
    result = ledger.register_case(
        cast.grid_worker,
        channel="grid_patrol",
        category="land",
        summary="宅基地边界争议",
        jurisdiction=GRID,
        parties=list(PARTIES),
        risk_color="yellow",
        difficulty="complex",
    )

    case = ledger.get_case(UUID(result.id))
    assert result.version == 1
    assert spec_names(ledger, case.id) == ["CaseRegistered"]
    assert (case.status, case.channel, case.category, case.jurisdiction) == ("registered", "grid_patrol", "land", GRID)
    assert (case.risk_color, case.difficulty, case.summary) == ("yellow", "complex", "宅基地边界争议")
    assert sorted(case.parties) == PARTY_IDS


def test_registering_with_an_unknown_channel_is_refused(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §2 制单: the channel is one of the listed 来源."""
    before = ledger.recorder.max_notification_id()

    with pytest.raises(InvalidCommand) as refusal:
        ledger.register_case(
            cast.township, channel="fax", category="land", summary="x", jurisdiction=GRID, parties=list(PARTIES)
        )

    assert refusal.value.context["field"] == "channel"
    assert ledger.recorder.max_notification_id() == before


def test_registering_in_an_unknown_place_is_refused(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §6: the case's jurisdiction path is a real place of the organisation."""
    before = ledger.recorder.max_notification_id()

    with pytest.raises(InvalidCommand) as refusal:
        ledger.register_case(
            cast.county,
            channel="visit",
            category="land",
            summary="x",
            jurisdiction="qingxi/atlantis",
            parties=list(PARTIES),
        )

    assert refusal.value.context["field"] == "jurisdiction"
    assert ledger.recorder.max_notification_id() == before


def test_a_command_on_an_unknown_case_is_not_found(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §2: every command applies to an existing case."""
    with pytest.raises(CaseNotFoundError):
        ledger.dispatch(uuid4(), cast.township, unit=VILLAGE_UNIT)


# ---------------------------------------------------------------- 研判 grade


def test_grading_changes_color_and_difficulty(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 研判: color and difficulty may be re-graded, with a reason."""
    case_id = drive.to("registered")

    ledger.grade(case_id, cast.township, risk_color="red", difficulty="complex", reason="涉及群体性风险")

    case = ledger.get_case(case_id)
    assert (case.risk_color, case.difficulty) == ("red", "complex")
    assert spec_names(ledger, case_id)[-1] == "CaseGraded"


def test_grading_without_a_reason_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 研判: a re-grading needs a reason."""
    case_id = drive.to("registered")

    with refused(ledger, case_id, InvalidCommand, match="reason"):
        ledger.grade(case_id, cast.township, risk_color="red", difficulty="complex", reason="  ")


def test_grading_a_concluded_case_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: a command that does not fit the case's state is refused."""
    case_id = drive.to("concluded")

    with refused(ledger, case_id, InvalidTransition):
        ledger.grade(case_id, cast.township, risk_color="red", difficulty="complex", reason="复查")


# ---------------------------------------------------------------- 派单 dispatch


def test_dispatch_sends_the_case_to_a_unit(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 派单: CaseDispatched names the unit, which is then to accept it."""
    case_id = drive.to("registered")

    result = ledger.dispatch(case_id, cast.township, unit=VILLAGE_UNIT, note="请东关社区处理")

    case = ledger.get_case(case_id)
    assert result.version == 2
    assert (case.status, case.unit) == ("dispatched", VILLAGE_UNIT)
    assert spec_names(ledger, case_id) == ["CaseRegistered", "CaseDispatched"]


def test_a_red_case_is_flagged_to_the_county_when_dispatched(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 派单: red cases are also flagged to the county center."""
    red = drive.to("registered", risk_color="red")
    yellow = drive.to("registered", risk_color="yellow")

    ledger.dispatch(red, cast.township, unit=VILLAGE_UNIT)
    ledger.dispatch(yellow, cast.township, unit=VILLAGE_UNIT)

    assert ledger.get_case(red).county_flagged is True
    assert ledger.get_case(yellow).county_flagged is False


def test_dispatching_to_an_unknown_unit_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 派单: the case goes to a village or department that exists."""
    case_id = drive.to("registered")

    with refused(ledger, case_id, InvalidCommand, match="unknown unit"):
        ledger.dispatch(case_id, cast.township, unit="nowhere-committee")


def test_dispatching_to_a_unit_that_cannot_act_on_the_case_is_refused(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2 派单/§9: a case is sent only to a unit whose jurisdiction covers it, or it could never be accepted."""
    case_id = drive.to("registered")

    # 沙河村 lies in 河口镇; it could neither accept nor return a case of 城关镇 (SPEC §9).
    with refused(ledger, case_id, DomainError):
        ledger.dispatch(case_id, cast.township, unit="hekou-shahe")


def test_dispatching_twice_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: a command that does not fit the case's state is refused."""
    case_id = drive.to("dispatched")

    with refused(ledger, case_id, InvalidTransition):
        ledger.dispatch(case_id, cast.township, unit=DEPARTMENT)


def test_dispatching_a_closed_case_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: dispatching a closed case is refused and nothing is recorded."""
    case_id = drive.to("closed")

    with refused(ledger, case_id, InvalidTransition, match="closed"):
        ledger.dispatch(case_id, cast.township, unit=VILLAGE_UNIT)


# ---------------------------------------------------------------- 接单 accept / 退单 return


def test_accepting_takes_the_case(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 接单: the unit it was dispatched to accepts it."""
    case_id = drive.to("dispatched")

    ledger.accept(case_id, cast.village)

    case = ledger.get_case(case_id)
    assert (case.status, case.accepted_unit) == ("accepted", VILLAGE_UNIT)
    assert spec_names(ledger, case_id)[-1] == "CaseAccepted"


def test_accepting_twice_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: accepting twice is refused and nothing is recorded."""
    case_id = drive.to("accepted")

    with refused(ledger, case_id, InvalidTransition):
        ledger.accept(case_id, cast.village)


def test_accepting_before_dispatch_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: a case is accepted only after it was dispatched."""
    case_id = drive.to("registered")

    with refused(ledger, case_id, InvalidTransition):
        ledger.accept(case_id, cast.village)


def test_a_return_goes_back_to_dispatch(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 退单: a return needs a reason and goes back to dispatch."""
    case_id = drive.to("dispatched")

    ledger.return_case(case_id, cast.village, reason="不属本社区管辖")

    case = ledger.get_case(case_id)
    assert (case.status, case.unit) == ("registered", "")
    assert spec_names(ledger, case_id)[-1] == "CaseReturned"


def test_a_returned_case_can_be_dispatched_again(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 退单: the returned case is dispatched anew, here to a department."""
    case_id = drive.to("dispatched")
    ledger.return_case(case_id, cast.village, reason="属劳动争议")

    ledger.dispatch(case_id, cast.township, unit=DEPARTMENT)

    assert ledger.get_case(case_id).unit == DEPARTMENT


def test_a_return_without_a_reason_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 退单: a return needs a reason."""
    case_id = drive.to("dispatched")

    with refused(ledger, case_id, InvalidCommand, match="reason"):
        ledger.return_case(case_id, cast.village, reason="")


def test_returning_an_accepted_case_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 退单: only a dispatched case not yet accepted is returned."""
    case_id = drive.to("accepted")

    with refused(ledger, case_id, InvalidTransition):
        ledger.return_case(case_id, cast.village, reason="改变主意")


# ---------------------------------------------------------------- assign


def test_assigning_names_the_handler(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 assign: the accepting unit names a grid worker or mediator."""
    case_id = drive.to("accepted")

    ledger.assign(case_id, cast.village, handler_id="gw-zhao", handler_kind="grid_worker", handler_name="赵网格")

    case = ledger.get_case(case_id)
    assert (case.status, case.handler_id, case.handler_kind) == ("handling", "gw-zhao", "grid_worker")
    assert spec_names(ledger, case_id)[-1] == "HandlerAssigned"


def test_assigning_before_acceptance_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: a handler is named by the unit that accepted the case."""
    case_id = drive.to("dispatched")

    with refused(ledger, case_id, InvalidTransition):
        ledger.assign(case_id, cast.village, handler_id="gw-zhao", handler_kind="grid_worker")


def test_assigning_a_handler_of_an_unknown_kind_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 assign: the handler is a grid worker or a mediator (or the unit itself)."""
    case_id = drive.to("accepted")

    with refused(ledger, case_id, InvalidCommand, match="handler_kind"):
        ledger.assign(case_id, cast.village, handler_id="court-feng", handler_kind="court")


# ---------------------------------------------------------------- 做单 handle


def test_progress_is_recorded_while_handling(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 做单: ProgressRecorded by the handler."""
    case_id = drive.to("handling")

    ledger.record_progress(case_id, cast.grid_worker, note="已上门了解情况")

    assert spec_names(ledger, case_id)[-1] == "ProgressRecorded"


def test_progress_before_assignment_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: handling steps come after a handler is assigned."""
    case_id = drive.to("accepted")

    with refused(ledger, case_id, InvalidTransition):
        ledger.record_progress(case_id, cast.grid_worker, note="已上门")


def test_an_escalation_is_recorded(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 做单: CaseEscalated (吹哨/联席会)."""
    case_id = drive.to("handling")

    ledger.escalate(case_id, cast.township, kind="whistle", to="县自然资源局", reason="需部门联合执法")

    assert ledger.get_case(case_id).escalations == [{"kind": "whistle", "to": "县自然资源局"}]
    assert spec_names(ledger, case_id)[-1] == "CaseEscalated"


def test_a_transfer_waits_for_acceptance_by_the_new_unit(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 转办单: CaseTransferred sends the case to another unit, which must accept it."""
    case_id = drive.to("handling")

    ledger.transfer(case_id, cast.village, to_unit=DEPARTMENT, reason="属欠薪纠纷")

    case = ledger.get_case(case_id)
    assert (case.status, case.unit, case.accepted_unit, case.handler_id) == ("dispatched", DEPARTMENT, "", "")
    assert spec_names(ledger, case_id)[-1] == "CaseTransferred"


def test_the_old_unit_cannot_accept_a_transferred_case(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 转办单: only the new unit accepts the transferred case."""
    case_id = drive.to("handling")
    ledger.transfer(case_id, cast.village, to_unit=DEPARTMENT, reason="属欠薪纠纷")

    with refused(ledger, case_id, NotPermitted):
        ledger.accept(case_id, cast.village)


def test_the_new_unit_accepts_and_assigns_a_transferred_case(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 转办单: the new unit accepts, then names its own handler."""
    case_id = drive.to("handling")
    ledger.transfer(case_id, cast.village, to_unit=DEPARTMENT, reason="属欠薪纠纷")

    ledger.accept(case_id, cast.department)
    ledger.assign(case_id, cast.department, handler_id="dep-li", handler_kind="unit")

    case = ledger.get_case(case_id)
    assert (case.status, case.accepted_unit, case.handler_id) == ("handling", DEPARTMENT, "dep-li")
    assert case.transfers == [{"from": VILLAGE_UNIT, "to": DEPARTMENT}]


def test_a_transfer_to_the_unit_that_has_the_case_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 转办单: a transfer hands the case to another unit."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, InvalidCommand, match="already with that unit"):
        ledger.transfer(case_id, cast.village, to_unit=VILLAGE_UNIT, reason="x")


def test_a_transfer_before_assignment_leaves_no_assignment_deadline_hanging(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §2/§4: once the new unit accepts and assigns, no deadline of the first unit stays open or overdue."""
    case_id = drive.to("accepted")
    ledger.transfer(case_id, cast.village, to_unit=DEPARTMENT, reason="属欠薪纠纷")
    ledger.accept(case_id, cast.department)
    ledger.assign(case_id, cast.department, handler_id="dep-li", handler_kind="unit")
    clock.advance(days=3)

    view = ledger.view_case(case_id, cast.township.actor)

    hanging = [(d.kind, d.status) for d in view.deadlines if d.kind != "resolve" and d.done_at is None]
    assert hanging == []


# ---------------------------------------------------------------- 办结 conclude


def test_the_handler_concludes_the_case(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 办结: CaseConcluded with the outcome, by the handler."""
    case_id = drive.to("handling")

    ledger.conclude(case_id, cast.grid_worker, outcome="partially_resolved", note="部分达成")

    case = ledger.get_case(case_id)
    assert case.status == "concluded"
    assert case.conclusion is not None and case.conclusion["outcome"] == "partially_resolved"
    assert spec_names(ledger, case_id)[-1] == "CaseConcluded"


def test_concluding_before_assignment_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: concluding before a handler is assigned is refused and nothing is recorded."""
    case_id = drive.to("accepted")

    with refused(ledger, case_id, InvalidTransition):
        ledger.conclude(case_id, cast.village, outcome="resolved")


def test_an_unresolved_case_must_say_where_it_was_referred(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 办结: unresolved-referred names where it was referred."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, InvalidCommand, match="referred"):
        ledger.conclude(case_id, cast.grid_worker, outcome="unresolved_referred")


def test_an_unresolved_case_is_concluded_with_its_referral(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 办结: outcome unresolved-referred, with where it was referred."""
    case_id = drive.to("handling")

    ledger.conclude(case_id, cast.grid_worker, outcome="unresolved_referred", referred_to="县劳动仲裁院")

    conclusion = ledger.get_case(case_id).conclusion
    assert conclusion is not None and conclusion["referred_to"] == "县劳动仲裁院"


def test_concluding_twice_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: a command that does not fit the case's state is refused."""
    case_id = drive.to("concluded")

    with refused(ledger, case_id, InvalidTransition):
        ledger.conclude(case_id, cast.grid_worker, outcome="resolved")


# ---------------------------------------------------------------- 评单 rate


def test_a_party_rates_a_concluded_case(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 评单: SatisfactionRated for a party, with method and optional comment."""
    case_id = drive.to("concluded")

    ledger.rate(case_id, cast.township, party_id="p1", satisfaction="neutral", method="visit", comment="还行")

    [rating] = ledger.get_case(case_id).ratings
    assert (rating["party_id"], rating["satisfaction"], rating["method"]) == ("p1", "neutral", "visit")
    assert spec_names(ledger, case_id)[-1] == "SatisfactionRated"


def test_rating_before_conclusion_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: rating before conclusion is refused and nothing is recorded."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, InvalidTransition):
        ledger.rate(case_id, cast.township, party_id="p1", satisfaction="satisfied", method="phone")


def test_a_party_rates_only_once_per_round(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 评单: each party gives one rating."""
    case_id = drive.to("concluded")
    ledger.rate(case_id, cast.township, party_id="p1", satisfaction="satisfied", method="phone")

    with refused(ledger, case_id, InvalidTransition, match="already rated"):
        ledger.rate(case_id, cast.village, party_id="p1", satisfaction="dissatisfied", method="online")


def test_a_rating_for_someone_who_is_not_a_party_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 评单: ratings are the parties' own."""
    case_id = drive.to("concluded")

    with refused(ledger, case_id, InvalidCommand, match="unknown party"):
        ledger.rate(case_id, cast.township, party_id="p9", satisfaction="satisfied", method="phone")


def test_a_rating_with_an_unknown_satisfaction_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 评单: 满意 / 一般 / 不满意 only."""
    case_id = drive.to("concluded")

    with refused(ledger, case_id, InvalidCommand, match="satisfaction"):
        ledger.rate(case_id, cast.township, party_id="p1", satisfaction="ecstatic", method="phone")


# ---------------------------------------------------------------- 考单 review, reopen


def test_review_before_conclusion_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: review before conclusion is refused and nothing is recorded."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, InvalidTransition):
        ledger.complete_review(case_id, cast.township, result="verified")


def test_a_verified_review_closes_the_case(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 考单 复核: verified and closed (销项)."""
    case_id = drive.to("concluded")

    ledger.complete_review(case_id, cast.township, result="verified", note="核实无误")

    assert ledger.get_case(case_id).status == "closed"
    assert spec_names(ledger, case_id)[-1] == "ReviewCompleted"


def test_reviewing_a_closed_case_again_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: a closed case is not reviewed twice."""
    case_id = drive.to("closed")

    with refused(ledger, case_id, InvalidTransition):
        ledger.complete_review(case_id, cast.township, result="verified")


def test_a_rectification_order_reopens_handling(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 考单: rectification ordered (督促整改) reopens handling."""
    case_id = drive.to("concluded")

    ledger.complete_review(case_id, cast.township, result="rectification", note="协议未落实")

    case = ledger.get_case(case_id)
    assert (case.status, case.round, case.conclusion) == ("handling", 2, None)
    assert [r["reason"] for r in case.reopenings] == ["rectification"]


def test_a_rectification_order_must_say_what_to_rectify(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 考单: a rectification order says what is to be rectified."""
    case_id = drive.to("concluded")

    with refused(ledger, case_id, InvalidCommand, match="rectif"):
        ledger.complete_review(case_id, cast.township, result="rectification")


def test_a_case_reopened_by_rectification_is_concluded_again(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: after rectification the handler concludes again and the new round is rated."""
    case_id = drive.to("concluded")
    ledger.rate(case_id, cast.township, party_id="p1", satisfaction="satisfied", method="phone")
    ledger.complete_review(case_id, cast.township, result="rectification", note="协议未落实")

    ledger.conclude(case_id, cast.grid_worker, outcome="resolved")
    ledger.rate(case_id, cast.township, party_id="p1", satisfaction="satisfied", method="phone")

    assert [r["round"] for r in ledger.get_case(case_id).ratings] == [1, 2]


def test_a_dissatisfied_rating_lets_the_township_reopen_handling(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2: CaseReopened after a dissatisfied rating reopens handling."""
    case_id = drive.to("concluded")
    ledger.rate(case_id, cast.township, party_id="p2", satisfaction="dissatisfied", method="visit")

    ledger.reopen(case_id, cast.township, reason="当事人不满意赔偿数额")

    case = ledger.get_case(case_id)
    assert (case.status, case.round) == ("handling", 2)
    assert [r["reason"] for r in case.reopenings] == ["dissatisfied"]
    assert spec_names(ledger, case_id)[-1] == "CaseReopened"


def test_reopening_without_a_dissatisfied_rating_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: a case is reopened only after a dissatisfied rating (or a rectification order)."""
    case_id = drive.to("concluded")
    ledger.rate(case_id, cast.township, party_id="p1", satisfaction="neutral", method="phone")

    with refused(ledger, case_id, InvalidTransition, match="dissatisfied"):
        ledger.reopen(case_id, cast.township, reason="复查")


# ---------------------------------------------------------------- after conclusion


def test_a_follow_up_visit_is_recorded_after_conclusion(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: FollowUpVisited (回访) after conclusion, even once closed."""
    case_id = drive.to("closed")

    ledger.follow_up(case_id, cast.township, method="visit", note="双方关系已缓和")

    assert ledger.get_case(case_id).follow_ups == 1
    assert spec_names(ledger, case_id)[-1] == "FollowUpVisited"


def test_a_follow_up_before_conclusion_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: a follow-up visit comes after conclusion."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, InvalidTransition):
        ledger.follow_up(case_id, cast.township, method="visit", note="回访")


def test_performance_without_an_agreement_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2: PerformanceRecorded is the performance of an agreement."""
    case_id = drive.to("concluded")

    with refused(ledger, case_id, InvalidTransition, match="no agreement"):
        ledger.record_performance(case_id, cast.township, performance="performed")


def test_a_failed_mediation_ends_in_a_referral_and_conclusion(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2–§3: a case handled by the unit may fail mediation and be concluded as referred."""
    case_id = drive.to("handling")
    ledger.fail_mediation(case_id, cast.village, advice=["arbitration"], filed_with=COUNTY_FILING)

    ledger.conclude(case_id, cast.grid_worker, outcome="unresolved_referred", referred_to="劳动仲裁委")

    assert spec_names(ledger, case_id)[-2:] == ["MediationFailed", "CaseConcluded"]


# ---------------------------------------------------------------- 更正 corrections


def test_a_correction_names_the_position_it_corrects_and_changes_the_state(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2 EntryCorrected: names the position of the corrected event and the corrected values."""
    case_id = drive.to("dispatched")

    result = ledger.correct(case_id, cast.township, position=1, corrected={"summary": "邻里排水沟纠纷"}, reason="笔误")

    correction = stored(ledger, case_id)[-1]
    assert (result.version, correction.position, correction.corrected) == (3, 1, {"summary": "邻里排水沟纠纷"})
    assert ledger.get_case(case_id).summary == "邻里排水沟纠纷"


def test_a_correction_never_edits_the_original_entry(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 EntryCorrected: a mistaken event is never edited or deleted."""
    case_id = drive.to("dispatched")
    before = stored(ledger, case_id)

    ledger.correct(case_id, cast.township, position=1, corrected={"category": "land"}, reason="分类错误")

    after = stored(ledger, case_id)
    assert after[: len(before)] == before
    assert after[0].category == "neighbour"
    assert ledger.get_case(case_id).category == "land"


def test_a_corrected_time_can_turn_a_missed_deadline_into_a_met_one(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §2 EntryCorrected/§4: a corrected occurred_at moves the deadline's met/missed status."""
    case_id = drive.to("registered")
    clock.advance(days=2)  # dispatched on Wednesday: the Tuesday deadline is missed
    drive.dispatch(case_id)
    assert deadline_of(ledger.view_case(case_id, cast.township.actor).deadlines, "dispatch").status == "missed"

    # The paper slip shows the dispatch was made on Tuesday afternoon and only entered late.
    tuesday = clock.now() - timedelta(days=1, hours=2)
    ledger.correct(case_id, cast.township, position=2, corrected={"occurred_at": tuesday.isoformat()}, reason="补录")

    dispatch = deadline_of(ledger.view_case(case_id, cast.township.actor).deadlines, "dispatch")
    assert (dispatch.status, dispatch.done_at) == ("met", tuesday)


def test_a_correction_of_a_position_the_case_does_not_have_is_refused(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2 EntryCorrected: the position names an entry of this case."""
    case_id = drive.to("dispatched")

    with refused(ledger, case_id, InvalidCommand, match="position"):
        ledger.correct(case_id, cast.township, position=7, corrected={"summary": "x"}, reason="笔误")


def test_a_correction_is_not_itself_corrected(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 EntryCorrected: a correction is corrected by correcting the original entry again."""
    case_id = drive.to("registered")
    ledger.correct(case_id, cast.township, position=1, corrected={"summary": "一"}, reason="笔误")

    with refused(ledger, case_id, InvalidCommand, match="correction"):
        ledger.correct(case_id, cast.township, position=2, corrected={"reason": "x"}, reason="笔误")


def test_a_correction_of_a_judgement_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 EntryCorrected: outcomes are not clerical slips; only listed fields are corrected."""
    case_id = drive.to("concluded")
    concluded_at = len(stored(ledger, case_id))

    with refused(ledger, case_id, InvalidCommand, match="outcome"):
        ledger.correct(case_id, cast.township, position=concluded_at, corrected={"outcome": "resolved"}, reason="x")


def test_a_corrected_time_must_keep_the_entries_in_order(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §2 EntryCorrected: a corrected occurred_at stays between its neighbours."""
    case_id = drive.to("registered")
    clock.advance(hours=1)
    drive.dispatch(case_id)
    too_early = clock.now() - timedelta(hours=2)

    with refused(ledger, case_id, InvalidCommand, match="order"):
        ledger.correct(case_id, cast.township, position=2, corrected={"occurred_at": too_early.isoformat()}, reason="x")


def test_a_corrected_time_may_not_lie_after_the_correction(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §2 EntryCorrected/§6: nothing happens after it is recorded, so a corrected time is never in the future."""
    case_id = drive.to("dispatched")
    tomorrow = clock.now() + timedelta(days=1)

    with refused(ledger, case_id, InvalidCommand):
        ledger.correct(case_id, cast.township, position=2, corrected={"occurred_at": tomorrow.isoformat()}, reason="x")


def test_a_correction_is_held_to_the_rules_of_the_field_it_corrects(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2 制单/EntryCorrected: a summary must not be empty, corrected or not."""
    case_id = drive.to("registered")

    with refused(ledger, case_id, InvalidCommand, match="summary"):
        ledger.correct(case_id, cast.township, position=1, corrected={"summary": "   "}, reason="清空")
