"""The case lifecycle end to end over HTTP (SPEC §2, §3, §8): 制单 派单 接单 做单 评单 考单 and the court."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from tests.e2e.support import (
    COUNTY,
    COUNTY_FILING,
    COURT,
    COURT_UNIT,
    DEPARTMENT,
    DEPARTMENT_UNIT,
    GRID_WORKER,
    MEDIATOR,
    OTHER_VILLAGE,
    OTHER_VILLAGE_UNIT,
    PARTY_IDS,
    TOWNSHIP,
    VILLAGE,
    VILLAGE_UNIT,
    Api,
    case_body,
)

DEADLINE_FIELDS = {
    "kind",
    "label",
    "round",
    "period",
    "started_at",
    "due_at",
    "original_due_at",
    "provisional",
    "status",
}


def deadlines_of(case: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [d for d in case["deadlines"] if d["kind"] == kind]


def test_a_case_goes_from_registration_to_closed_over_http(api: Api) -> None:
    """SPEC §2: register → grade → dispatch → accept → assign → progress → conclude → rate → review closes."""
    registered = case_body(risk_color="green", channel="grid_patrol")
    response = api.post(GRID_WORKER, "/cases", registered)
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"1"'
    reply = response.json()
    case_id = reply["case_id"]
    assert reply["id"] == case_id
    assert reply["version"] == 1
    assert isinstance(reply["position"], int)

    steps: list[tuple[Any, str, dict[str, Any]]] = [
        (TOWNSHIP, "grading", {"risk_color": "yellow", "difficulty": "simple", "reason": "涉及相邻关系，风险可控"}),
        (TOWNSHIP, "dispatch", {"unit": VILLAGE_UNIT, "note": "请社区组织调处"}),
        (VILLAGE, "accept", {}),
        (
            VILLAGE,
            "assign",
            {"handler_kind": "grid_worker", "handler_id": GRID_WORKER.user, "handler_name": "孙网格员"},
        ),
        (GRID_WORKER, "progress", {"note": "已上门查看漏水点"}),
        (GRID_WORKER, "conclusion", {"outcome": "resolved", "note": "双方达成和解"}),
        (TOWNSHIP, "ratings", {"party_id": "p1", "satisfaction": "satisfied", "method": "phone"}),
        (TOWNSHIP, "ratings", {"party_id": "p2", "satisfaction": "neutral", "method": "visit", "comment": "基本满意"}),
        (TOWNSHIP, "review", {"result": "verified", "note": "材料齐全，准予销项"}),
    ]
    for version, (who, path, body) in enumerate(steps, start=2):
        response = api.post(who, f"/cases/{case_id}/{path}", body, if_match=version - 1)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["version"] == version
        assert response.json()["case_id"] == case_id
        assert response.headers["etag"] == f'"{version}"'

    case = api.case(case_id)
    assert case["status"] == "closed"
    assert case["status_label"] == "已销项"
    assert case["version"] == 10
    assert case["summary"] == registered["summary"]
    assert case["jurisdiction_names"] == ["清溪县", "城关镇", "东关社区", "第1网格"]
    assert case["difficulty"] == "simple"
    assert case["accepted_unit"] == VILLAGE_UNIT
    assert case["handler"] == {"id": GRID_WORKER.user, "kind": "grid_worker", "name": "孙网格员"}
    assert case["conclusion"]["outcome"] == "resolved"
    assert [(r["party_id"], r["satisfaction"]) for r in case["ratings"]] == [("p1", "satisfied"), ("p2", "neutral")]
    assert case["review"]["result"] == "verified"
    assert case["registered_by"]["user_id"] == GRID_WORKER.user
    assert case["overdue"] is False

    assert [d["kind"] for d in case["deadlines"]] == ["dispatch", "accept", "assign", "resolve"]
    for deadline in case["deadlines"]:
        assert deadline.keys() >= DEADLINE_FIELDS
        assert datetime.fromisoformat(deadline["due_at"]).utcoffset() is not None
        assert deadline["due_at"].endswith("T00:00:00+08:00"), deadline
        assert deadline["status"] == "met", deadline
        assert deadline["provisional"] in (True, False)
        assert deadline["original_due_at"] is None
        assert datetime.fromisoformat(deadline["done_at"]) <= datetime.fromisoformat(deadline["due_at"])
    assert deadlines_of(case, "resolve")[0]["period"] == {"days": 5, "clock": "calendar_days", "label": "5日"}
    assert deadlines_of(case, "dispatch")[0]["period"]["label"] == "1个工作日"

    events = api.events(case_id)
    assert [e["type"] for e in events] == [
        "CaseRegistered",
        "CaseGraded",
        "CaseDispatched",
        "CaseAccepted",
        "HandlerAssigned",
        "ProgressRecorded",
        "CaseConcluded",
        "SatisfactionRated",
        "SatisfactionRated",
        "ReviewCompleted",
    ]
    assert [e["position"] for e in events] == list(range(1, 11))
    actors = [e["actor"]["user_id"] for e in events]
    assert (
        actors
        == [GRID_WORKER.user] + [TOWNSHIP.user] * 2 + [VILLAGE.user] * 2 + [GRID_WORKER.user] * 2 + [TOWNSHIP.user] * 3
    )
    assert events[2]["actor"] == {
        "user_id": TOWNSHIP.user,
        "role": "township_center",
        "unit": "chengguan-center",
        "jurisdiction": "qingxi/chengguan",
    }
    for earlier, later in itertools.pairwise(events):
        assert datetime.fromisoformat(earlier["recorded_at"]) <= datetime.fromisoformat(later["recorded_at"])
    for event in events:
        assert datetime.fromisoformat(event["occurred_at"]) <= datetime.fromisoformat(event["recorded_at"])
        assert event["imported"] is False
        assert event["request_id"]
    assert events[0]["data"]["summary"] == registered["summary"]
    assert events[0]["data"]["channel"] == "grid_patrol"
    assert events[2]["data"]["unit"] == VILLAGE_UNIT
    assert events[6]["data"]["outcome"] == "resolved"
    assert events[8]["data"] == {"party_id": "p2", "satisfaction": "neutral", "method": "visit", "comment": "基本满意"}
    assert events[9]["data"]["result"] == "verified"


def test_mediation_ends_in_a_court_confirmed_agreement_and_a_payment_order(api: Api) -> None:
    """SPEC §3: a qualified mediator mediates; parties apply jointly; the court rules; the creditor applies."""
    response = api.post(
        COUNTY,
        "/mediators",
        {
            "name": "王调解",
            "user_id": MEDIATOR.user,
            "organisation": "城关镇人民调解委员会",
            "organisation_kind": "people_mediation_committee",
            "specialties": ["邻里纠纷"],
            "jurisdiction": "qingxi/chengguan",
        },
    )
    assert response.status_code == 201, response.text
    mediator_id = response.json()["mediator_id"]
    api.ok(COUNTY, f"/mediators/{mediator_id}/qualification", {"examination": "2026年度人民调解员联合考核"})
    mediator = api.get(TOWNSHIP, f"/mediators/{mediator_id}").json()
    assert mediator["qualified"] is True
    assert mediator["user_id"] == MEDIATOR.user

    case_id = api.to("accepted")
    api.ok(VILLAGE, f"/cases/{case_id}/assign", {"handler_kind": "mediator", "mediator_id": mediator_id})
    base = f"/cases/{case_id}/mediation"
    api.ok(MEDIATOR, f"{base}/notice", {"party_ids": PARTY_IDS, "notes": "已告知双方调解的权利义务"})
    api.ok(MEDIATOR, f"{base}/sessions", {"on_site": True, "attendees": ["张三", "李四"], "notes": "现场查看漏水点"})
    api.ok(MEDIATOR, f"{base}/undisputed-facts", {"facts": "漏水源于楼上卫生间", "consenting_party_ids": PARTY_IDS})
    api.ok(MEDIATOR, f"{base}/proposal", {"proposal_id": "fa1", "terms": "李四修复防水层并赔偿3500元"})
    api.ok(MEDIATOR, f"{base}/proposal-response", {"proposal_id": "fa1", "party_id": "p1", "response": "accepted"})
    api.ok(
        MEDIATOR,
        f"{base}/agreement",
        {
            "terms": "李四于十日内修复防水层并赔偿张三装修损失3500元",
            "amount": "3500.00",
            "debtor_party_id": "p2",
            "creditor_party_id": "p1",
            "performance_due": "2026-12-31",
        },
    )
    applied = api.ok(
        MEDIATOR, f"/cases/{case_id}/judicial-confirmation", {"court": COURT_UNIT, "applicant_party_ids": PARTY_IDS}
    )
    confirmation_id = applied["confirmation_id"]
    assert confirmation_id

    ruled = api.post(
        COURT,
        f"/court/confirmations/{confirmation_id}/ruling",
        {"ruling": "confirmed", "ruling_number": "(2026)清民特12号"},
    )
    assert ruled.status_code == 200, ruled.text
    assert ruled.json()["case_id"] == case_id
    api.ok(MEDIATOR, f"/cases/{case_id}/payment-order", {"court": COURT_UNIT, "creditor_party_id": "p1"})

    case = api.case(case_id)
    assert case["handler"]["kind"] == "mediator"
    assert case["mediator_id"] == mediator_id
    assert case["mediation"]["rights_notified"] is True
    assert case["mediation"]["sessions"] == 1
    assert case["mediation"]["agreement"]["amount"] == "3500.00"
    assert case["mediation"]["agreement"]["creditor_party_id"] == "p1"
    assert case["confirmations"] == [
        {
            "confirmation_id": confirmation_id,
            "court": COURT_UNIT,
            "status": "confirmed",
            "ruling_number": "(2026)清民特12号",
            "applied_position": 11,
        }
    ]
    assert case["payment_orders"] == 1
    assert deadlines_of(case, "judicial_confirmation")[0]["status"] == "met"
    assert [e["type"] for e in api.events(case_id)][3:] == [
        "HandlerAssigned",
        "RightsNotified",
        "MediationSessionHeld",
        "UndisputedFactsRecorded",
        "ProposalIssued",
        "ProposalAccepted",
        "AgreementReached",
        "JudicialConfirmationApplied",
        "JudicialConfirmationRuled",
        "PaymentOrderApplied",
    ]
    ruling = api.events(case_id)[11]
    assert ruling["actor"]["role"] == "court"
    assert ruling["data"]["ruling"] == "confirmed"
    assert ruling["data"]["confirmation_id"] == confirmation_id


def test_a_rectification_order_reopens_handling(api: Api) -> None:
    """SPEC §2 考单: a review ordering rectification (督促整改) reopens handling in a new round."""
    case_id = api.to("concluded")
    api.ok(TOWNSHIP, f"/cases/{case_id}/review", {"result": "rectification", "note": "赔偿款未落实，请继续跟进"})

    case = api.case(case_id)
    assert case["status"] == "handling"
    assert case["round"] == 2
    assert case["conclusion"] is None
    assert [r["reason"] for r in case["reopenings"]] == ["rectification"]
    assert [(d["round"], d["status"]) for d in deadlines_of(case, "resolve")] == [(1, "met"), (2, "open")]

    api.ok(GRID_WORKER, f"/cases/{case_id}/progress", {"note": "已督促赔偿款到位"})
    api.ok(GRID_WORKER, f"/cases/{case_id}/conclusion", {"outcome": "resolved"})
    api.ok(TOWNSHIP, f"/cases/{case_id}/review", {"result": "verified"})
    assert api.case(case_id)["status"] == "closed"
    types = api.event_types(case_id)
    assert types[types.index("CaseConcluded") :] == [
        "CaseConcluded",
        "ReviewCompleted",
        "ProgressRecorded",
        "CaseConcluded",
        "ReviewCompleted",
    ]


def test_a_dissatisfied_rating_lets_the_township_reopen_the_case(api: Api) -> None:
    """SPEC §2: CaseReopened after a dissatisfied rating."""
    case_id = api.to("concluded")
    api.ok(TOWNSHIP, f"/cases/{case_id}/ratings", {"party_id": "p2", "satisfaction": "dissatisfied", "method": "visit"})
    api.ok(TOWNSHIP, f"/cases/{case_id}/reopen", {"reason": "当事人对处理结果不满意"})

    case = api.case(case_id)
    assert case["status"] == "handling"
    assert case["round"] == 2
    assert [r["reason"] for r in case["reopenings"]] == ["dissatisfied"]
    assert api.event_types(case_id)[-2:] == ["SatisfactionRated", "CaseReopened"]
    assert api.events(case_id)[-1]["data"] == {"reason": "当事人对处理结果不满意"}


def test_a_returned_case_is_dispatched_again(api: Api) -> None:
    """SPEC §2 退单: a return needs a reason and goes back to dispatch."""
    case_id = api.to("dispatched")
    api.ok(VILLAGE, f"/cases/{case_id}/return", {"reason": "涉及劳动欠薪，不属于社区职责"})
    case = api.case(case_id)
    assert case["status"] == "registered"
    assert case["unit"] == ""

    api.ok(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": DEPARTMENT_UNIT, "note": "转县人社局办理"})
    api.ok(DEPARTMENT, f"/cases/{case_id}/accept")
    case = api.case(case_id)
    assert case["status"] == "accepted"
    assert case["accepted_unit"] == DEPARTMENT_UNIT
    assert [d["kind"] for d in case["deadlines"]] == ["dispatch", "accept", "dispatch", "accept", "assign", "resolve"]
    assert all(d["status"] in ("met", "open") for d in case["deadlines"]), case["deadlines"]
    assert api.event_types(case_id) == [
        "CaseRegistered",
        "CaseDispatched",
        "CaseReturned",
        "CaseDispatched",
        "CaseAccepted",
    ]
    assert api.events(case_id)[2]["data"] == {"unit": VILLAGE_UNIT, "reason": "涉及劳动欠薪，不属于社区职责"}


def test_the_village_a_case_is_dispatched_to_can_accept_it(api: Api) -> None:
    """SPEC §2 接单: "the unit it was dispatched to" accepts or returns; a dispatch never leaves a case stuck.

    Either the township may not dispatch a 东关 case to 西关社区 (refused, nothing recorded), or, once it
    has, 西关社区 can accept (or return) it.
    """
    case_id = api.register()
    dispatched = api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": OTHER_VILLAGE_UNIT})
    if dispatched.status_code != 200:
        assert dispatched.status_code == 422, dispatched.text
        assert api.case(case_id)["version"] == 1
        return
    accepted = api.post(OTHER_VILLAGE, f"/cases/{case_id}/accept")
    returned = api.post(OTHER_VILLAGE, f"/cases/{case_id}/return", {"reason": "不属于本社区"})
    assert 200 in (accepted.status_code, returned.status_code), (accepted.text, returned.text)


def test_a_transferred_case_is_accepted_by_the_new_unit(api: Api) -> None:
    """SPEC §2 转办单: the case goes to another unit, which must accept it."""
    case_id = api.to("handling")
    api.ok(VILLAGE, f"/cases/{case_id}/transfer", {"to_unit": DEPARTMENT_UNIT, "reason": "涉及劳动欠薪，转人社局"})
    case = api.case(case_id)
    assert case["status"] == "dispatched"
    assert case["unit"] == DEPARTMENT_UNIT
    assert case["handler"] is None
    assert case["transfers"] == [{"from": VILLAGE_UNIT, "to": DEPARTMENT_UNIT}]

    api.ok(DEPARTMENT, f"/cases/{case_id}/accept")
    assert api.case(case_id)["accepted_unit"] == DEPARTMENT_UNIT
    assert api.event_types(case_id)[-2:] == ["CaseTransferred", "CaseAccepted"]


def test_an_extension_moves_the_resolution_deadline_and_keeps_the_original(api: Api) -> None:
    """SPEC §4: an approved extension moves the resolution deadline; the original stays on record."""
    case_id = api.to("handling")
    before = deadlines_of(api.case(case_id), "resolve")[0]
    assert before["original_due_at"] is None

    api.ok(TOWNSHIP, f"/cases/{case_id}/extension", {"extra_days": 5, "reason": "需等待房屋鉴定结论"})

    after = deadlines_of(api.case(case_id), "resolve")[0]
    assert after["original_due_at"] == before["due_at"]
    assert datetime.fromisoformat(after["due_at"]) > datetime.fromisoformat(before["due_at"])
    assert after["started_at"] == before["started_at"]
    assert after["period"] == before["period"]
    event = api.events(case_id)[-1]
    assert event["type"] == "DeadlineExtended"
    assert event["actor"]["role"] == "township_center"
    assert event["data"] == {"extra_days": 5, "reason": "需等待房屋鉴定结论"}


def test_a_correction_names_the_entry_and_leaves_it_unchanged(api: Api) -> None:
    """SPEC §2 EntryCorrected: a correcting entry names the position it corrects; nothing is edited."""
    case_id = api.to("dispatched")
    original = api.events(case_id)[0]["data"]["summary"]
    api.ok(
        TOWNSHIP,
        f"/cases/{case_id}/corrections",
        {"position": 1, "corrected": {"summary": "楼上厨房漏水致楼下受损"}, "reason": "登记时误写漏水位置"},
    )

    events = api.events(case_id)
    assert events[0]["data"]["summary"] == original
    correction = events[-1]
    assert correction["type"] == "EntryCorrected"
    assert correction["version"] == 3  # the case's third entry; its ledger position counts logged reads too
    assert correction["data"] == {
        "position": 1,
        "corrected": {"summary": "楼上厨房漏水致楼下受损"},
        "reason": "登记时误写漏水位置",
    }
    case = api.case(case_id)
    assert case["summary"] == "楼上厨房漏水致楼下受损"
    assert case["corrections"] == [3]
    assert case["status"] == "dispatched"


def test_a_failed_mediation_records_the_advice_and_the_filing(api: Api) -> None:
    """SPEC §3: MediationFailed with the advice given and the filing with the county center."""
    mediator_id = api.register_mediator()
    case_id = api.to("handling", handler="mediator", mediator_id=mediator_id)
    base = f"/cases/{case_id}/mediation"
    api.ok(MEDIATOR, f"{base}/notice", {"party_ids": PARTY_IDS})
    api.ok(MEDIATOR, f"{base}/sessions", {"notes": "双方分歧较大"})
    api.ok(
        MEDIATOR,
        f"{base}/failure",
        {"advice": ["litigation", "arbitration"], "filed_with": COUNTY_FILING, "note": "告知可向法院起诉"},
    )
    api.ok(
        MEDIATOR, f"/cases/{case_id}/conclusion", {"outcome": "unresolved_referred", "referred_to": "清溪县人民法院"}
    )

    case = api.case(case_id)
    failure = case["mediation"]["failure"]
    assert failure["advice"] == ["litigation", "arbitration"]
    assert failure["filed_with"] == COUNTY_FILING
    assert case["conclusion"]["outcome"] == "unresolved_referred"
    assert case["conclusion"]["referred_to"] == "清溪县人民法院"
    event = api.events(case_id)[-2]
    assert event["type"] == "MediationFailed"
    assert event["data"]["advice"] == ["litigation", "arbitration"]
