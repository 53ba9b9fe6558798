"""一事一考评 (SPEC §5): scores of cases told event by event, figures computed by hand.

Cases are built on the ``Case`` aggregate directly, every step recorded by the importer
(so any time and any unit is accepted), in November 2026: a month without statutory
holidays, so working days are Monday to Friday. Versions count from 1: registered (v1),
dispatched (v2), accepted (v3), handler assigned (v4), unless a test says otherwise.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.calendar import CHINA_TZ, WorkCalendar
from domain.case import Case
from domain.case_deadlines import case_deadlines
from domain.errors import InvalidCommand
from domain.provenance import Provenance
from domain.scoring import (
    POLICY_V1,
    Contribution,
    Evaluation,
    ScoringPolicy,
    evaluate,
    grade_of,
    policy_from_dict,
    policy_to_dict,
)
from domain.values import Actor, Party
from infrastructure.calendar_data import seed_schedules

CALENDAR = WorkCalendar(seed_schedules())
CLERK = Actor("imp-wei", "importer", "qingxi-center", "qingxi")
HANDLER = "gw-zhao"
GRID = "qingxi/chengguan/dongguan/grid-01"
VILLAGE = "chengguan-dongguan"
PARTIES = [Party("p1", "张三", "applicant"), Party("p2", "李四", "respondent")]

D = Decimal


def nov(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An instant in November 2026, China Standard Time. 2 November is a Monday."""
    return datetime(2026, 11, day, hour, minute, tzinfo=CHINA_TZ)


def at(when: datetime) -> Provenance:
    return Provenance(CLERK, when, imported=True)


def registered(when: datetime, parties: list[Party] | None = None) -> Case:
    """v1: an ordinary case (resolve within 7 days of acceptance)."""
    return Case.register(
        uuid4(),
        at(when),
        channel="grid_patrol",
        category="neighbour",
        summary="邻里排水沟堵塞引发争执",
        jurisdiction=GRID,
        parties=parties or list(PARTIES),
        difficulty="ordinary",
    )


def handled_on_time(parties: list[Party] | None = None) -> Case:
    """v1–v4 on Monday 2 November, 09:00–12:00; the resolution is due at 24:00 on Monday 9 November."""
    case = registered(nov(2, 9), parties)
    case.dispatch(at(nov(2, 10)), unit=VILLAGE)
    case.accept(at(nov(2, 11)))
    case.assign(at(nov(2, 12)), handler_id=HANDLER, handler_kind="grid_worker")
    return case


def rate(case: Case, when: datetime, **by_party: str) -> None:
    for party_id, satisfaction in by_party.items():
        case.rate(at(when), party_id=party_id, satisfaction=satisfaction, method="phone")


def scored(case: Case, policy: ScoringPolicy = POLICY_V1) -> Evaluation:
    evaluation = evaluate(case, CALENDAR, policy)
    assert evaluation is not None
    # The projection hands over the deadlines it derived as of another moment: the same score.
    for moment in (case.times[1], datetime(9999, 1, 1, tzinfo=UTC)):
        assert evaluate(case, CALENDAR, policy, deadlines=case_deadlines(case, CALENDAR, moment)) == evaluation
    return evaluation


def figures(evaluation: Evaluation) -> tuple[Decimal, Decimal, Decimal, Decimal, str]:
    return (
        evaluation.satisfaction,
        evaluation.timeliness,
        evaluation.effect,
        evaluation.score,
        evaluation.grade,
    )


def explained(evaluation: Evaluation) -> list[tuple[str, Decimal, str, tuple[int, ...]]]:
    return [(c.component, c.points, c.code, c.versions) for c in evaluation.contributions]


BASE = ("timeliness", D(100), "timeliness_base", ())


# ---------------------------------------------------------------- whole cases


def test_a_perfect_case_scores_full_marks() -> None:
    """SPEC §5: all steps on time, an agreement performed and both parties satisfied give 100, 优秀."""
    case = handled_on_time()
    case.notify_rights(at(nov(5, 9)), party_ids=["p1", "p2"])  # v5
    case.reach_agreement(at(nov(5, 9, 30)), terms="共同清理排水沟")  # v6
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v7
    case.record_performance(at(nov(6, 10)), performance="performed")  # v8
    rate(case, nov(6, 11), p1="satisfied", p2="satisfied")  # v9, v10

    evaluation = scored(case)

    # S = (100 + 100) / 2 = 100; T = 100; E = 100
    # 0.4*100 + 0.3*100 + 0.3*100 = 40 + 30 + 30 = 100.0
    assert figures(evaluation) == (D(100), D(100), D(100), D("100.0"), "优秀")
    assert (evaluation.grade_code, evaluation.unrated, evaluation.policy) == ("excellent", False, "v1")
    assert explained(evaluation) == [
        ("satisfaction", D(100), "rating_satisfied", (9,)),
        ("satisfaction", D(100), "rating_satisfied", (10,)),
        BASE,
        ("effect", D(100), "agreement_performed", (6, 7, 8)),
    ]


def test_a_late_dispatch_and_a_resolution_three_working_days_late() -> None:
    """SPEC §5: minus 10 per late step, minus 2 per working day the resolution was late."""
    case = registered(nov(2, 9))  # v1 Monday; dispatch due 24:00 Tuesday 3rd
    case.dispatch(at(nov(5, 9)), unit=VILLAGE)  # v2 Thursday 5th: two days late
    case.accept(at(nov(5, 10)))  # v3, due 24:00 Friday 6th: on time; resolution due 24:00 Thursday 12th
    case.assign(at(nov(5, 11)), handler_id=HANDLER, handler_kind="grid_worker")  # v4 on time
    case.conclude(at(nov(17, 10)), outcome="resolved")  # v5 Tuesday 17th
    rate(case, nov(17, 11), p1="satisfied", p2="satisfied")  # v6, v7

    evaluation = scored(case)

    # late working days: Fri 13, Mon 16, Tue 17 = 3 (Sat 14, Sun 15 are rest days)
    # T = 100 - 10 (dispatch) - 10 (resolve) - 2*3 = 74; S = 100; E = 100 (resolved, no agreement)
    # 0.4*100 + 0.3*74 + 0.3*100 = 40 + 22.2 + 30 = 92.2
    assert figures(evaluation) == (D(100), D(74), D(100), D("92.2"), "优秀")
    assert explained(evaluation) == [
        ("satisfaction", D(100), "rating_satisfied", (6,)),
        ("satisfaction", D(100), "rating_satisfied", (7,)),
        BASE,
        ("timeliness", D(-10), "late_step_dispatch", (2,)),
        ("timeliness", D(-10), "late_step_resolve", (5,)),
        ("timeliness", D(-6), "resolution_late_days", (5,)),
        ("effect", D(100), "resolved_without_agreement", (5,)),
    ]
    assert [c.label for c in evaluation.contributions[3:6]] == ["派单超时", "办理超时", "办理超期3个工作日"]


def test_a_case_reopened_after_a_dissatisfied_rating() -> None:
    """SPEC §5: reopening costs 20 of E, and each party's latest rating (any round) makes S."""
    case = handled_on_time()
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v5
    rate(case, nov(5, 11), p1="satisfied", p2="dissatisfied")  # v6, v7
    case.reopen_after_rating(at(nov(5, 14)), reason="李四认为排水沟仍未疏通")  # v8, resolution due 24:00 Thu 12th
    assert evaluate(case, CALENDAR) is None  # handling again: not scored until concluded again
    case.conclude(at(nov(9, 10)), outcome="resolved")  # v9, on time
    rate(case, nov(9, 11), p2="neutral")  # v10 replaces p2's round-1 rating; p1 keeps v6

    evaluation = scored(case)

    # S = (100 + 60) / 2 = 80; T = 100; E = 100 - 20 = 80
    # 0.4*80 + 0.3*100 + 0.3*80 = 32 + 30 + 24 = 86.0
    assert figures(evaluation) == (D(80), D(100), D(80), D("86.0"), "良好")
    assert explained(evaluation) == [
        ("satisfaction", D(100), "rating_satisfied", (6,)),
        ("satisfaction", D(60), "rating_neutral", (10,)),
        BASE,
        ("effect", D(100), "resolved_without_agreement", (9,)),
        ("effect", D(-20), "reopened", (8,)),
    ]
    assert evaluation.contributions[-1].label == "因当事人不满意重新办理"


def test_one_party_satisfied_and_one_dissatisfied() -> None:
    """SPEC §5: S is the mean over the parties' ratings, 满意 100 and 不满意 0."""
    case = handled_on_time()
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v5
    rate(case, nov(5, 11), p1="satisfied", p2="dissatisfied")  # v6, v7

    evaluation = scored(case)

    # S = (100 + 0) / 2 = 50; T = 100; E = 100
    # 0.4*50 + 0.3*100 + 0.3*100 = 20 + 30 + 30 = 80.0
    assert figures(evaluation) == (D(50), D(100), D(100), D("80.0"), "良好")
    assert explained(evaluation)[:2] == [
        ("satisfaction", D(100), "rating_satisfied", (6,)),
        ("satisfaction", D(0), "rating_dissatisfied", (7,)),
    ]


def test_an_unrated_case_counts_as_neutral_and_is_flagged() -> None:
    """SPEC §5: no rating gives S = 60 and the flag ``unrated``; an unperformed agreement gives E = 80."""
    case = handled_on_time()
    case.notify_rights(at(nov(5, 9)), party_ids=["p1", "p2"])  # v5
    case.reach_agreement(at(nov(5, 9, 30)), terms="共同清理排水沟", performance_due="2026-11-30")  # v6
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v7

    evaluation = scored(case)

    # S = 60 (unrated); T = 100; E = 80 (agreement, performance pending)
    # 0.4*60 + 0.3*100 + 0.3*80 = 24 + 30 + 24 = 78.0
    assert figures(evaluation) == (D(60), D(100), D(80), D("78.0"), "良好")
    assert evaluation.unrated is True
    assert explained(evaluation) == [
        ("satisfaction", D(60), "unrated", ()),
        BASE,
        ("effect", D(80), "agreement_pending", (6, 7)),
    ]


def test_a_failed_mediation_properly_referred_and_filed() -> None:
    """SPEC §5: mediation failed, the routes advised, filed and referred gives E = 50."""
    case = handled_on_time()
    case.notify_rights(at(nov(5, 9)), party_ids=["p1", "p2"])  # v5
    case.fail_mediation(at(nov(5, 9, 30)), advice=["litigation"], filed_with="qingxi-center")  # v6
    case.conclude(at(nov(5, 10)), outcome="unresolved_referred", referred_to="青溪县人民法院")  # v7
    rate(case, nov(5, 11), p1="neutral", p2="neutral")  # v8, v9

    evaluation = scored(case)

    # S = (60 + 60) / 2 = 60; T = 100; E = 50
    # 0.4*60 + 0.3*100 + 0.3*50 = 24 + 30 + 15 = 69.0
    assert figures(evaluation) == (D(60), D(100), D(50), D("69.0"), "合格")
    assert explained(evaluation)[-1] == ("effect", D(50), "failed_referred_filed", (6, 7))


def test_a_referral_without_a_failed_mediation_is_still_a_proper_referral() -> None:
    """SPEC §2 办结 unresolved-referred names where it went, so SPEC §5 gives it the referral's 50."""
    case = handled_on_time()
    case.conclude(at(nov(5, 10)), outcome="unresolved_referred", referred_to="青溪县人社局")  # v5

    evaluation = scored(case)

    # S = 60 (unrated); T = 100; E = 50
    # 0.4*60 + 0.3*100 + 0.3*50 = 24 + 30 + 15 = 69.0
    assert figures(evaluation) == (D(60), D(100), D(50), D("69.0"), "合格")
    assert explained(evaluation)[-1] == ("effect", D(50), "unresolved_referred", (5,))


def test_an_unresolved_case_without_referral_earns_no_effect_points() -> None:
    """SPEC §5: unresolved without referral gives E = 0 (here the recorded referral was corrected away)."""
    case = handled_on_time()
    case.conclude(at(nov(5, 10)), outcome="unresolved_referred", referred_to="县信访局")  # v5
    case.correct(at(nov(5, 10, 30)), position=5, corrected={"referred_to": ""}, reason="并未移交，登记有误")  # v6
    rate(case, nov(5, 11), p1="dissatisfied", p2="dissatisfied")  # v7, v8

    evaluation = scored(case)

    # S = (0 + 0) / 2 = 0; T = 100; E = 0
    # 0.4*0 + 0.3*100 + 0.3*0 = 0 + 30 + 0 = 30.0
    assert figures(evaluation) == (D(0), D(100), D(0), D("30.0"), "不合格")
    assert evaluation.grade_code == "fail"
    assert explained(evaluation)[-1] == ("effect", D(0), "unresolved_unreferred", (5,))


def test_a_partly_resolved_case() -> None:
    """SPEC §5: partially resolved gives E = 60."""
    case = handled_on_time()
    case.conclude(at(nov(5, 10)), outcome="partially_resolved")  # v5
    rate(case, nov(5, 11), p1="satisfied", p2="satisfied")  # v6, v7

    evaluation = scored(case)

    # S = 100; T = 100; E = 60
    # 0.4*100 + 0.3*100 + 0.3*60 = 40 + 30 + 18 = 88.0
    assert figures(evaluation) == (D(100), D(100), D(60), D("88.0"), "良好")


@pytest.mark.parametrize(
    ("performance", "effect", "score", "code"),
    [
        # 0.4*100 + 0.3*100 + 0.3*80 = 40 + 30 + 24 = 94.0
        ("partly", D(80), D("94.0"), "agreement_partly_performed"),
        # 0.4*100 + 0.3*100 + 0.3*60 = 40 + 30 + 18 = 88.0
        ("not_performed", D(60), D("88.0"), "agreement_not_performed"),
    ],
)
def test_an_agreement_partly_or_not_performed(performance: str, effect: Decimal, score: Decimal, code: str) -> None:
    """SPEC §5: partly performed counts as still pending (80); not performed gives 60."""
    case = handled_on_time()
    case.notify_rights(at(nov(5, 9)), party_ids=["p1", "p2"])  # v5
    case.reach_agreement(at(nov(5, 9, 30)), terms="赔偿修缮费", amount="800")  # v6
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v7
    rate(case, nov(5, 11), p1="satisfied", p2="satisfied")  # v8, v9
    case.record_performance(at(nov(20, 10)), performance=performance)  # v10

    evaluation = scored(case)

    assert (evaluation.effect, evaluation.score) == (effect, score)
    assert explained(evaluation)[-1] == ("effect", effect, code, (6, 7, 10))


def test_every_instance_of_a_step_counts_after_a_return_and_a_transfer() -> None:
    """SPEC §5: each step done after its deadline costs 10, including repeated accept and dispatch steps."""
    case = registered(nov(2, 9))  # v1
    case.dispatch(at(nov(2, 10)), unit=VILLAGE)  # v2, accept due 24:00 Tue 3rd
    case.return_(at(nov(4, 10)), reason="不属本村管辖")  # v3 Wed 4th: accept step ended late
    case.dispatch(at(nov(6, 10)), unit=VILLAGE)  # v4 Fri 6th: second dispatch was due 24:00 Thu 5th, late
    case.accept(at(nov(6, 11)))  # v5 on time; resolution due 24:00 Fri 13th
    case.assign(at(nov(6, 12)), handler_id=HANDLER, handler_kind="grid_worker")  # v6 on time
    case.transfer(at(nov(9, 10)), to_unit="chengguan-xiguan", reason="涉及西关村")  # v7, accept due 24:00 Tue 10th
    case.accept(at(nov(11, 10)))  # v8 Wed 11th: late
    case.assign(at(nov(11, 11)), handler_id=HANDLER, handler_kind="grid_worker")  # v9 on time
    case.conclude(at(nov(13, 10)), outcome="resolved")  # v10 on time
    rate(case, nov(13, 11), p1="satisfied", p2="satisfied")  # v11, v12

    evaluation = scored(case)

    # T = 100 - 10 (accept, returned late) - 10 (second dispatch) - 10 (accept after transfer) = 70
    # 0.4*100 + 0.3*70 + 0.3*100 = 40 + 21 + 30 = 91.0
    assert figures(evaluation) == (D(100), D(70), D(100), D("91.0"), "优秀")
    assert explained(evaluation)[2:6] == [
        BASE,
        ("timeliness", D(-10), "late_step_accept", (3,)),
        ("timeliness", D(-10), "late_step_dispatch", (4,)),
        ("timeliness", D(-10), "late_step_accept", (8,)),
    ]


def test_an_approved_extension_moves_the_resolution_deadline() -> None:
    """SPEC §4–§5: resolution lateness is judged against the extended deadline."""
    case = handled_on_time()  # resolution due 24:00 Monday 9th
    case.extend_deadline(at(nov(5, 10)), extra_days=7, reason="需等待鉴定结果")  # v5: now due 24:00 Monday 16th
    case.conclude(at(nov(16, 10)), outcome="resolved")  # v6
    rate(case, nov(16, 11), p1="satisfied", p2="satisfied")  # v7, v8

    # 0.4*100 + 0.3*100 + 0.3*100 = 100.0
    assert figures(scored(case)) == (D(100), D(100), D(100), D("100.0"), "优秀")


def test_timeliness_and_effect_do_not_go_below_zero() -> None:
    """SPEC §5: T and E are "not below 0"; the lift to 0 is listed so contributions still add up."""
    harsh = replace(POLICY_V1, name="harsh", late_step_penalty=60, reopen_penalty=100)
    case = registered(nov(2, 9))  # v1
    case.dispatch(at(nov(5, 9)), unit=VILLAGE)  # v2 late
    case.accept(at(nov(5, 10)))  # v3; resolution due 24:00 Thu 12th
    case.assign(at(nov(5, 11)), handler_id=HANDLER, handler_kind="grid_worker")  # v4
    case.conclude(at(nov(17, 10)), outcome="partially_resolved")  # v5, 3 working days late
    rate(case, nov(17, 11), p1="dissatisfied")  # v6
    case.reopen_after_rating(at(nov(17, 14)), reason="未达成一致")  # v7; due 24:00 Tue 24th
    case.conclude(at(nov(18, 10)), outcome="partially_resolved")  # v8 on time

    evaluation = scored(case, harsh)

    # T = 100 - 60 - 60 - 2*3 = -26 → 0;  E = 60 - 100 = -40 → 0;  S = 0 (only p1 rated)
    # 0.4*0 + 0.3*0 + 0.3*0 = 0.0
    assert figures(evaluation) == (D(0), D(0), D(0), D("0.0"), "不合格")
    assert explained(evaluation)[1:] == [
        BASE,
        ("timeliness", D(-60), "late_step_dispatch", (2,)),
        ("timeliness", D(-60), "late_step_resolve", (5,)),
        ("timeliness", D(-6), "resolution_late_days", (5,)),
        ("timeliness", D(26), "timeliness_floor", ()),
        ("effect", D(60), "partially_resolved", (8,)),
        ("effect", D(-100), "reopened", (7,)),
        ("effect", D(40), "effect_floor", ()),
    ]


# ---------------------------------------------------------------- rounding and grades


def test_scores_round_half_up_to_one_decimal() -> None:
    """SPEC §5 "one decimal": a score of x.25 rounds up (HALF_UP), not to the even digit."""
    policy = replace(
        POLICY_V1,
        name="half-up-check",
        satisfaction=D("0.25"),
        timeliness=D("0.25"),
        effect=D("0.5"),
        late_day_penalty=1,
    )
    case = handled_on_time()  # resolution due 24:00 Monday 9th
    case.conclude(at(nov(16, 10)), outcome="resolved")  # v5: Tue 10 – Mon 16 = 5 working days late
    rate(case, nov(16, 11), p1="satisfied", p2="satisfied")  # v6, v7

    evaluation = scored(case, policy)

    # T = 100 - 10 - 1*5 = 85
    # 0.25*100 + 0.25*85 + 0.5*100 = 25 + 21.25 + 50 = 96.25 → 96.3 (HALF_EVEN would give 96.2)
    assert figures(evaluation) == (D(100), D(85), D(100), D("96.3"), "优秀")


def test_the_mean_of_three_ratings_is_kept_to_two_decimals() -> None:
    """SPEC §5: S = mean rating; kept to 0.01 so the weighted sum can be redone from the figures shown."""
    three = [*PARTIES, Party("p3", "王五", "respondent")]
    case = handled_on_time(three)
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v5
    rate(case, nov(5, 11), p1="satisfied", p2="neutral", p3="dissatisfied")  # v6, v7, v8

    evaluation = scored(case)

    # S = (100 + 60 + 0) / 3 = 53.333… → 53.33; T = 100; E = 100
    # 0.4*53.33 + 0.3*100 + 0.3*100 = 21.332 + 30 + 30 = 81.332 → 81.3
    assert figures(evaluation) == (D("53.33"), D(100), D(100), D("81.3"), "良好")


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        ("100.0", ("优秀", "excellent")),
        ("90.0", ("优秀", "excellent")),
        ("89.9", ("良好", "good")),
        ("75.0", ("良好", "good")),
        ("74.9", ("合格", "pass")),
        ("60.0", ("合格", "pass")),
        ("59.9", ("不合格", "fail")),
        ("0.0", ("不合格", "fail")),
    ],
)
def test_grades_apply_from_their_threshold_up(score: str, grade: tuple[str, str]) -> None:
    """SPEC §5: 优秀 ≥ 90, 良好 ≥ 75, 合格 ≥ 60, else 不合格."""
    assert grade_of(D(score), POLICY_V1) == grade


# ---------------------------------------------------------------- when a case is scored


def test_only_a_concluded_or_closed_case_is_scored() -> None:
    """SPEC §5: "for every concluded case"; closing it after review does not change the score."""
    case = handled_on_time()
    assert evaluate(case, CALENDAR) is None
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v5
    rate(case, nov(5, 11), p1="satisfied", p2="satisfied")  # v6, v7
    concluded = scored(case)
    case.complete_review(at(nov(6, 10)), result="verified")  # v8: closed (销项)

    assert case.status == "closed"
    assert scored(case) == concluded


def test_a_rectification_order_reopens_and_costs_the_reopening_penalty() -> None:
    """SPEC §5: reopening after a rectification order (督促整改) also costs 20."""
    case = handled_on_time()
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v5
    case.complete_review(at(nov(5, 14)), result="rectification", note="未附现场照片")  # v6 reopens
    assert evaluate(case, CALENDAR) is None
    case.conclude(at(nov(6, 10)), outcome="resolved")  # v7

    evaluation = scored(case)

    # S = 60 (unrated); T = 100; E = 100 - 20 = 80
    # 0.4*60 + 0.3*100 + 0.3*80 = 24 + 30 + 24 = 78.0
    assert figures(evaluation) == (D(60), D(100), D(80), D("78.0"), "良好")
    assert evaluation.contributions[-1] == Contribution("effect", D(-20), "reopened", "因督促整改重新办理", (6,))


# ---------------------------------------------------------------- rendering


def test_the_explanation_renders_as_json_with_ledger_positions() -> None:
    """SPEC §5: the explanation lists each contribution and the ledger positions of its events."""
    case = handled_on_time()
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v5
    rate(case, nov(5, 11), p1="satisfied", p2="dissatisfied")  # v6, v7
    positions = {version: 100 + version for version in range(1, case.version + 1)}

    data = scored(case).as_dict(positions)

    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert {key: data[key] for key in ("policy", "score", "grade", "grade_code", "unrated")} == {
        "policy": "v1",
        "score": 80.0,
        "grade": "良好",
        "grade_code": "good",
        "unrated": False,
    }
    assert data["contributions"][1] == {
        "component": "satisfaction",
        "points": 0.0,
        "code": "rating_dissatisfied",
        "label": "当事人不满意",
        "versions": [7],
        "positions": [107],
    }
    assert data["contributions"][2]["positions"] == []  # the timeliness base comes from no event
    assert "positions" not in scored(case).as_dict()["contributions"][0]


def test_a_version_without_a_position_is_refused() -> None:
    """SPEC §5: an explanation must trace to the record, so a missing position is an error, not a gap."""
    case = handled_on_time()
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v5

    with pytest.raises(KeyError, match="5"):
        scored(case).as_dict({1: 1})


# ---------------------------------------------------------------- policies as data


def test_a_policy_round_trips_through_json_safe_data() -> None:
    """SPEC §5: policies are versioned data, stored in the event that adopts them."""
    custom = replace(
        POLICY_V1,
        name="v2",
        satisfaction=D("0.5"),
        timeliness=D("0.25"),
        effect=D("0.25"),
        scored_steps=("dispatch", "resolve"),
        grades=((85, "优秀", "excellent"), (60, "合格", "pass")),
    )
    for policy in (POLICY_V1, custom):
        data = policy_to_dict(policy)
        assert policy_from_dict(json.loads(json.dumps(data))) == policy
    assert policy_to_dict(POLICY_V1)["satisfaction"] == "0.4"
    assert policy_to_dict(POLICY_V1)["grades"][0] == [90, "优秀", "excellent"]


def test_a_policy_read_from_json_numbers_and_defaults() -> None:
    """SPEC §5: weights given as JSON numbers are read exactly; keys left out keep v1's values."""
    policy = policy_from_dict({"name": "v1.1", "satisfaction": 0.5, "timeliness": 0.2, "effect": "0.3"})

    assert (policy.satisfaction, policy.timeliness, policy.effect) == (D("0.5"), D("0.2"), D("0.3"))
    assert replace(policy, name="v1", satisfaction=D("0.4"), timeliness=D("0.3")) == POLICY_V1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bonus": 5}, "policy.bonus"),
        ({"satisfaction": "0.5"}, "policy.satisfaction"),  # weights add up to 1.1
        ({"satisfaction": "lots"}, "policy.satisfaction"),
        ({"timeliness": True}, "policy.timeliness"),
        ({"late_step_penalty": -5}, "policy.late_step_penalty"),
        ({"reopen_penalty": 2.5}, "policy.reopen_penalty"),
        ({"unrated_points": True}, "policy.unrated_points"),
        ({"agreement_performed": 120}, "policy.agreement_performed"),
        ({"satisfaction_points": {"satisfied": 100, "neutral": 60}}, "policy.satisfaction_points"),
        ({"satisfaction_points": [100, 60, 0]}, "policy.satisfaction_points"),
        ({"scored_steps": ["dispatch", "judicial_confirmation"]}, "policy.scored_steps"),
        ({"scored_steps": "dispatch"}, "policy.scored_steps"),
        ({"grades": [[60, "合格", "pass"], [90, "优秀", "excellent"]]}, "policy.grades"),
        ({"grades": [[90, "优秀", "fail"]]}, "policy.grades"),
        ({"grades": [[90, "优秀"]]}, "policy.grades"),
        ({"fail_grade": ["不合格"]}, "policy.fail_grade"),
        ({"name": ""}, "policy.name"),
    ],
)
def test_a_bad_policy_is_refused(change: dict[str, Any], field: str) -> None:
    """SPEC §5: a policy is data from outside, so unknown keys and bad values are refused by name."""
    data = {**policy_to_dict(POLICY_V1), "name": "bad", **change}

    with pytest.raises(InvalidCommand) as refusal:
        policy_from_dict(data)

    assert refusal.value.context["field"] == field


def test_a_policy_without_a_name_or_not_an_object_is_refused() -> None:
    """SPEC §5: policies are versioned, so every policy names its version."""
    data = policy_to_dict(POLICY_V1)
    del data["name"]
    with pytest.raises(InvalidCommand, match="name"):
        policy_from_dict(data)
    with pytest.raises(InvalidCommand, match="object"):
        policy_from_dict([("name", "v1")])  # type: ignore[arg-type]


def test_a_policy_cannot_be_changed_through_the_mapping_it_was_given() -> None:
    """SPEC §5: an adopted policy is immutable data."""
    points = {"satisfied": 100, "neutral": 60, "dissatisfied": 0}
    policy = replace(POLICY_V1, name="v1-copy", satisfaction_points=points)
    points["neutral"] = 99

    assert policy.satisfaction_points["neutral"] == 60
    assert hash(policy) == hash(replace(policy))


def test_scoring_changes_nothing_in_the_case() -> None:
    """SPEC §5: any case can be re-scored "what if" under another policy without changing anything."""
    case = handled_on_time()
    case.conclude(at(nov(5, 10)), outcome="resolved")  # v5
    assert len(case.collect_events()) == 5  # the pending events of the story so far
    what_if = replace(POLICY_V1, name="what-if", late_step_penalty=50)

    assert (scored(case, what_if).policy, scored(case).policy) == ("what-if", "v1")
    assert (case.version, case.collect_events()) == (5, [])
