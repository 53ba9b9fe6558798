"""Role × action × jurisdiction over every endpoint of the app (SPEC §2 "who", §8, §9).

Every route of ``create_app`` has an entry in ``TABLE``, keyed by (method, path template); a
route without one fails ``test_the_table_covers_every_route``, so a new endpoint cannot ship
without its access rule. Each route is called by each role of SPEC §9 twice: as an actor
whose jurisdiction holds the target (``inside``) and as one whose jurisdiction does not
(``outside``). Outcome classes:

* ``allowed``: 2xx, or a refusal that is not about who is asking: 409 (the target is in a
  state where the step does not apply) or a 422 raised by the ledger (``invalid-command``).
  A 422 ``validation-error`` (the request body did not fit the schema) never counts as
  allowed, so a broken request body cannot pass for an authorised call.
* ``forbidden``: 403 ``forbidden``.
* ``hidden``: 404. Only the judicial-confirmation record answers so: a court, or a reader
  outside the record's jurisdiction, learns nothing about records not addressed to it.
  Every other read outside the jurisdiction is an explicit 403 (SPEC §9 "refusals are
  explicit"); case ids are random UUIDs, so a 403 reveals nothing guessable.
* ``scoped``: lists, figures and reports answer 200 to every reader and hold only what lies
  in the reader's jurisdiction; here the target case (or its confirmation record) must be
  listed for an inside reader and absent for an outside one (the figures themselves are
  recounted in ``test_jurisdiction_property.py``).

The targets live in 清溪县 grid 东关社区/第1网格 (the narrowest jurisdiction of any inside
actor): a red case mediated to an agreement, submitted to the county court for judicial
confirmation, concluded, rated and closed, and a qualified mediator with one complaint. A
closed case makes most case commands answer 409 for an authorised caller, so the matrix
checks the gates (role, then place) in front of the state check without depending on the
order in which the parametrised calls run; the commands that still apply to a closed case
(follow-up, correction, performance, payment order, the court's ruling) may succeed. The
erasure of the target's party p2 awaits approval, asked by a county official who is none of the
matrix's actors, so any authorised approver may give it.

Jurisdiction does not apply to: the oversight body (SPEC §9 "reads everything", whatever its
token's jurisdiction: its outside variant is allowed too); data that is not case data (the
organisation tree, scoring policies, integrity proofs: any authenticated caller); signing a
checkpoint (admin, oversight). Adopting a scoring policy changes the scoring of the whole
county, so it is expected of a county center whose jurisdiction is the county.

Command expectations are written from SPEC §2 explicitly (``SPEC_WHO``, with the SPEC words
beside each) and compared with ``application.access.COMMAND_ROLES``; where SPEC is silent the
entry says so and follows the code. Token attacks (SPEC §8 "every request is authenticated")
are run against every API route at the end.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from api.security import key_id
from application.access import CASE_READERS, COMMAND_ROLES, IMPORTABLE
from domain.calendar import CHINA_TZ
from infrastructure.settings import Settings
from tests.e2e.support import (
    ADMIN,
    COUNTY,
    COUNTY_FILING,
    COURT,
    COURT_UNIT,
    GRID,
    GRID_WORKER,
    IMPORTER,
    JWT_SECRET,
    MEDIATOR,
    OTHER_TOWNSHIP,
    OTHER_TOWNSHIP_GRID,
    OTHER_VILLAGE,
    OVERSIGHT,
    PARTY_IDS,
    TOWNSHIP,
    VILLAGE,
    VILLAGE_UNIT,
    Api,
    Who,
    case_body,
    open_client,
)

# ---------------------------------------------------------------------------- roles and actors

GW, UNIT, MED, TC, CC, CT, OV, IMP, ADM = (
    "grid_worker",
    "unit",
    "mediator",
    "township_center",
    "county_center",
    "court",
    "oversight",
    "importer",
    "admin",
)
ROLES = (GW, UNIT, MED, TC, CC, CT, OV, IMP, ADM)
ELSEWHERE = "lanshan"  # a county that is not the demo county: outside every qingxi path

INSIDE: dict[str, Who] = {
    GW: GRID_WORKER,
    UNIT: VILLAGE,
    MED: MEDIATOR,
    TC: TOWNSHIP,
    CC: COUNTY,
    CT: COURT,
    OV: OVERSIGHT,
    IMP: IMPORTER,
    ADM: ADMIN,
}
OUTSIDE: dict[str, Who] = {
    GW: Who("gw-he", GW, "hekou-shahe", OTHER_TOWNSHIP_GRID),
    UNIT: OTHER_VILLAGE,  # 西关社区: the same township, another village
    MED: Who("med-he", MED, "hekou-pmc", "qingxi/hekou"),
    TC: OTHER_TOWNSHIP,
    CC: Who("cty-lan", CC, "lanshan-center", ELSEWHERE),
    CT: Who("judge-lan", CT, "lanshan-court", ELSEWHERE),
    OV: Who("jj-lan", OV, "lanshan-discipline", ELSEWHERE),
    IMP: Who("arch-lan", IMP, "lanshan-center", ELSEWHERE),
    ADM: Who("ops-lan", ADM, "lanshan-center", ELSEWHERE),
}
PLACES = ("inside", "outside")


def actor(role: str, place: str) -> Who:
    return (INSIDE if place == "inside" else OUTSIDE)[role]


# ---------------------------------------------------------------------------- SPEC's expectations

HANDLERS = frozenset({GW, MED})  # handler kinds besides the unit itself (SPEC §2 assign: grid worker or mediator)
IMPORTED = frozenset({IMP})  # SPEC §9: the importer brings in historical paper records (any step, marked imported)

# SPEC §2 "who" column (and §3, §4 where the step is described there), written out.
SPEC_WHO: dict[str, frozenset[str]] = {
    # 制单: "grid worker, unit, township or county center"
    "register": frozenset({GW, UNIT, TC, CC}) | IMPORTED,
    # 研判: "township/county center"
    "grade": frozenset({TC, CC}) | IMPORTED,
    # 派单: "township center (yellow, red), village (green)"
    "dispatch": frozenset({TC, UNIT}) | IMPORTED,
    # 接单 / 退单: "the unit it was dispatched to": a village, a department or the township center
    # itself (the organisation lists township centers among the units a case goes to)
    "accept": frozenset({UNIT, TC}) | IMPORTED,
    "return": frozenset({UNIT, TC}) | IMPORTED,
    # assign: "accepting unit"
    "assign": frozenset({UNIT, TC}) | IMPORTED,
    # 做单: "handler, unit, township"
    "progress": HANDLERS | {UNIT, TC} | IMPORTED,
    "escalate": HANDLERS | {UNIT, TC} | IMPORTED,
    # 做单 转办单: the row names handler, unit and township for the step; handing the case to
    # another unit is an act of the accepting unit or the township (a handler asks them)
    "transfer": frozenset({UNIT, TC}) | IMPORTED,
    # 做单: "an extension needs township approval"
    "extend": frozenset({TC}) | IMPORTED,
    # §3 mediation: the mediator records it; the 做单 row adds the unit and the township
    "choose_mediator": frozenset({MED, UNIT, TC}) | IMPORTED,
    "notify_rights": frozenset({MED, UNIT, TC}) | IMPORTED,
    "appraisal": frozenset({MED, UNIT, TC}) | IMPORTED,
    "session": frozenset({MED, UNIT, TC}) | IMPORTED,
    "undisputed_facts": frozenset({MED, UNIT, TC}) | IMPORTED,
    "proposal": frozenset({MED, UNIT, TC}) | IMPORTED,
    "proposal_response": frozenset({MED, UNIT, TC}) | IMPORTED,
    "agreement": frozenset({MED, UNIT, TC}) | IMPORTED,
    "failure": frozenset({MED, UNIT, TC}) | IMPORTED,
    # 办结: "handler": a grid worker, a mediator, or the accepting unit's clerk (which may be the
    # township center when the case was dispatched to it); the ledger checks it is *the* handler
    "conclude": HANDLERS | {UNIT, TC} | IMPORTED,
    # 评单: "township center or village … never the case's own handler"
    "rate": frozenset({TC, UNIT}) | IMPORTED,
    # 考单 复核: "township center"
    "review": frozenset({TC}) | IMPORTED,
    # CaseReopened after a dissatisfied rating: SPEC names no role; the township that reviews
    "reopen": frozenset({TC}) | IMPORTED,
    # PerformanceRecorded: SPEC silent; the mediation side that recorded the agreement
    "performance": frozenset({MED, UNIT, TC}) | IMPORTED,
    # FollowUpVisited 回访: SPEC silent; those who collect ratings by visit
    "follow_up": frozenset({TC, UNIT}) | IMPORTED,
    # EntryCorrected: SPEC silent; the centers that keep the ledger
    "correct": frozenset({TC, CC}) | IMPORTED,
    # §3 "parties may jointly apply to a court" / "a creditor may apply": recorded by the mediation side
    "judicial_confirmation": frozenset({MED, UNIT, TC}) | IMPORTED,
    "payment_order": frozenset({MED, UNIT, TC}) | IMPORTED,
    # §3 "the court posts its ruling"
    "ruling": frozenset({CT}) | IMPORTED,
    # §3 Mediator aggregate: SPEC silent on who registers, examines and finds
    "register_mediator": frozenset({TC, CC}) | IMPORTED,
    "qualify_mediator": frozenset({CC}) | IMPORTED,
    "lodge_complaint": frozenset({UNIT, TC, CC}) | IMPORTED,
    "find_complaint": frozenset({CC}) | IMPORTED,
    # §4 "an operator must be able to load a new year's schedule"
    "load_calendar": frozenset({ADM}),
    # §5 policies are versioned data, adopted as an event: SPEC silent on who; the county center
    "adopt_policy": frozenset({CC}),
    # §10 "personal data is encrypted at rest": erasing a party's data, asked by one official and
    # approved by another; SPEC silent on who; the centers; never imported
    "request_erasure": frozenset({TC, CC}),
    "approve_erasure": frozenset({TC, CC}),
}

# Commands with no HTTP route, and why.
OFF_HTTP = {
    "load_calendar": "an operator's CLI command (`caseledger calendar load`)",
}

# SPEC §9: who reads case data. Everyone who works on cases; the court only what was submitted
# to it; oversight everything (whatever its jurisdiction); the admin nothing.
SPEC_READERS = frozenset({GW, UNIT, MED, TC, CC, IMP})


# ---------------------------------------------------------------------------- the targets


@dataclass
class World:
    app: FastAPI
    client: TestClient
    api: Api
    case_id: str
    confirmation_id: str
    mediator_id: str  # the target mediator, registered in the grid
    case_mediator_id: str  # the mediator who mediated the target case
    complaint_id: str
    registered_day: str
    head: int


ERASED_PARTY = "p2"
ERASURE_REQUESTER = Who("cty-wu", CC, "qingxi-center", "qingxi")


def _build(api: Api) -> dict[str, Any]:
    case_mediator_id = api.register_mediator()
    case_id = api.to("handling", handler="mediator", mediator_id=case_mediator_id, risk_color="red")
    api.ok(MEDIATOR, f"/cases/{case_id}/mediation/notice", {"party_ids": PARTY_IDS})
    api.ok(
        MEDIATOR,
        f"/cases/{case_id}/mediation/agreement",
        {"terms": "李四赔偿张三3500元", "amount": "3500", "debtor_party_id": "p2", "creditor_party_id": "p1"},
    )
    confirmation_id = api.ok(
        MEDIATOR, f"/cases/{case_id}/judicial-confirmation", {"court": COURT_UNIT, "applicant_party_ids": PARTY_IDS}
    )["confirmation_id"]
    api.ok(MEDIATOR, f"/cases/{case_id}/conclusion", {"outcome": "resolved", "note": "达成协议"})
    for party_id in PARTY_IDS:
        api.ok(
            TOWNSHIP,
            f"/cases/{case_id}/ratings",
            {"party_id": party_id, "satisfaction": "satisfied", "method": "phone"},
        )
    api.ok(TOWNSHIP, f"/cases/{case_id}/review", {"result": "verified", "note": "准予销项"})

    mediator_id = api.ok(
        TOWNSHIP,
        "/mediators",
        {
            "name": "网格调解员",
            "user_id": "med-grid",
            "organisation": "东关社区人民调解委员会",
            "organisation_kind": "people_mediation_committee",
            "jurisdiction": GRID,
        },
    )["mediator_id"]
    api.ok(COUNTY, f"/mediators/{mediator_id}/qualification", {"examination": "2026年度人民调解员联合考核"})
    complaint_id = api.ok(
        TOWNSHIP, f"/mediators/{mediator_id}/complaints", {"ground": "partiality", "description": "偏袒一方"}
    )["complaint_id"]

    # The erasure of p2's data awaits approval, asked by a county official who is not among the
    # matrix's actors: every inside center may approve it (the first does, the others meet 409).
    api.ok(ERASURE_REQUESTER, f"/cases/{case_id}/parties/{ERASED_PARTY}/erasure", {"reason": "当事人申请删除个人信息"})

    registered_at = api.case(case_id)["registered_at"]
    registered_day = datetime.fromisoformat(registered_at).astimezone(CHINA_TZ).date().isoformat()
    head = api.head()
    # A signed checkpoint, so the inclusion proof has a tree to prove against.
    response = api.client.post("/api/v1/integrity/checkpoints", params={"min_position": head}, headers=api.auth(ADMIN))
    assert response.status_code == 201, response.text
    return {
        "case_id": case_id,
        "confirmation_id": confirmation_id,
        "mediator_id": mediator_id,
        "case_mediator_id": case_mediator_id,
        "complaint_id": complaint_id,
        "registered_day": registered_day,
        "head": head,
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir: Path = tmp_path_factory.mktemp("access-matrix") / "data"
    settings = Settings(
        backend="memory", jwt_secret=JWT_SECRET, data_dir=data_dir, log_level="WARNING", read_wait_seconds=30
    )
    app = create_app(settings)
    with open_client(app) as client:
        api = Api(app, client)
        yield World(app=app, client=client, api=api, **_build(api))


# ---------------------------------------------------------------------------- the expectation table


class Outcome(StrEnum):
    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"
    HIDDEN = "hidden"
    SCOPED_IN = "scoped, target listed"
    SCOPED_OUT = "scoped, target absent"
    FIGURES = "scoped figures (200; recounted in test_jurisdiction_property)"


Body = Callable[[World], dict[str, Any]]


def _fixed(body: dict[str, Any]) -> Body:
    return lambda _w: body


@dataclass(frozen=True)
class Command:
    """A write. ``command`` names its entry in COMMAND_ROLES (``None``: not a ledger command)."""

    command: str | None
    body: Body
    who: frozenset[str] = frozenset()
    placed: bool = True  # refused (403) to an authorised role acting outside its jurisdiction

    def roles(self) -> frozenset[str]:
        return SPEC_WHO[self.command] if self.command else self.who

    def expect(self, role: str, place: str) -> Outcome:
        if role not in self.roles():
            return Outcome.FORBIDDEN
        if self.placed and place == "outside":
            return Outcome.FORBIDDEN
        return Outcome.ALLOWED


@dataclass(frozen=True)
class CaseRead:
    """One case's data: its readers within their jurisdiction, the court if it was submitted to it."""

    def expect(self, role: str, place: str) -> Outcome:
        if role == OV:
            return Outcome.ALLOWED
        if role == CT:  # the inside court is the one the target case applied to
            return Outcome.ALLOWED if place == "inside" else Outcome.FORBIDDEN
        if role in SPEC_READERS:
            return Outcome.ALLOWED if place == "inside" else Outcome.FORBIDDEN
        return Outcome.FORBIDDEN


@dataclass(frozen=True)
class MediatorRead:
    """A mediator's record (no party data): every case reader within its jurisdiction, the court too."""

    def expect(self, role: str, place: str) -> Outcome:
        if role == OV:
            return Outcome.ALLOWED
        if role in SPEC_READERS | {CT}:
            return Outcome.ALLOWED if place == "inside" else Outcome.FORBIDDEN
        return Outcome.FORBIDDEN


@dataclass(frozen=True)
class Scoped:
    """Lists, figures, reports: limited to the reader's jurisdiction; not for the court or the admin.

    ``lists_target``: the inside answer must mention the target (a list it belongs in).
    """

    lists_target: bool = False
    params: Callable[[World], dict[str, Any]] = lambda _w: {}

    def expect(self, role: str, place: str) -> Outcome:
        if role in (CT, ADM):
            return Outcome.FORBIDDEN
        if not self.lists_target:
            return Outcome.FIGURES
        if role == OV or place == "inside":
            return Outcome.SCOPED_IN
        return Outcome.SCOPED_OUT


@dataclass(frozen=True)
class CourtRecords:
    """司法确认 records: the court reads those addressed to it, others read within their jurisdiction."""

    lists_target: bool = True
    params: Callable[[World], dict[str, Any]] = lambda _w: {"limit": 200}

    def expect(self, role: str, place: str) -> Outcome:
        if role == ADM:
            return Outcome.FORBIDDEN
        if role == OV or place == "inside":
            return Outcome.SCOPED_IN
        return Outcome.SCOPED_OUT


@dataclass(frozen=True)
class CourtRecord:
    """One 司法确认 record: 404 (not 403) to a court it was not addressed to and to outside readers."""

    def expect(self, role: str, place: str) -> Outcome:
        if role == ADM:
            return Outcome.FORBIDDEN
        if role == OV or place == "inside":
            return Outcome.ALLOWED
        return Outcome.HIDDEN


@dataclass(frozen=True)
class Authenticated:
    """Not case data (organisation tree, scoring policies, integrity proofs): any authenticated caller."""

    params: Callable[[World], dict[str, Any]] = lambda _w: {}

    def expect(self, role: str, place: str) -> Outcome:
        return Outcome.ALLOWED


@dataclass(frozen=True)
class OversightOnly:
    """The access log: oversight only (SPEC §1: every read is itself logged, for oversight)."""

    def expect(self, role: str, place: str) -> Outcome:
        return Outcome.ALLOWED if role == OV else Outcome.FORBIDDEN


@dataclass(frozen=True)
class Public:
    """Operations probes: no token needed."""

    def expect(self, role: str, place: str) -> Outcome:
        return Outcome.ALLOWED


Rule = Command | CaseRead | MediatorRead | Scoped | CourtRecords | CourtRecord | Authenticated | OversightOnly | Public

C = "/api/v1/cases/{case_id}"
M = "/api/v1/cases/{case_id}/mediation"
POLICY_EFFECTIVE = "2030-01-01T00:00:00+08:00"


def _report_params(w: World) -> dict[str, Any]:
    return {"date": w.registered_day}


TABLE: dict[tuple[str, str], Rule] = {
    # ---- case lifecycle (SPEC §2)
    ("POST", "/api/v1/cases"): Command("register", _fixed(case_body(jurisdiction=GRID))),
    ("POST", f"{C}/grading"): Command(
        "grade", _fixed({"risk_color": "red", "difficulty": "complex", "reason": "复核研判"})
    ),
    ("POST", f"{C}/dispatch"): Command("dispatch", _fixed({"unit": VILLAGE_UNIT})),
    ("POST", f"{C}/accept"): Command("accept", _fixed({})),
    ("POST", f"{C}/return"): Command("return", _fixed({"reason": "不属本单位职责"})),
    ("POST", f"{C}/assign"): Command(
        "assign", _fixed({"handler_kind": "grid_worker", "handler_id": GRID_WORKER.user, "handler_name": "孙网格员"})
    ),
    ("POST", f"{C}/progress"): Command("progress", _fixed({"note": "电话联系双方"})),
    ("POST", f"{C}/escalation"): Command(
        "escalate", _fixed({"kind": "whistle", "to": "qingxi-housing", "reason": "需住建部门到场"})
    ),
    ("POST", f"{C}/transfer"): Command("transfer", _fixed({"to_unit": "qingxi-housing", "reason": "涉及房屋质量"})),
    ("POST", f"{C}/extension"): Command("extend", _fixed({"extra_days": 5, "reason": "等待鉴定结论"})),
    ("POST", f"{C}/conclusion"): Command("conclude", _fixed({"outcome": "resolved", "note": "双方和解"})),
    ("POST", f"{C}/ratings"): Command(
        "rate", _fixed({"party_id": "p1", "satisfaction": "satisfied", "method": "phone"})
    ),
    ("POST", f"{C}/review"): Command("review", _fixed({"result": "verified", "note": "准予销项"})),
    ("POST", f"{C}/reopen"): Command("reopen", _fixed({"reason": "当事人不满意"})),
    ("POST", f"{C}/performance"): Command("performance", _fixed({"performance": "performed", "note": "已履行"})),
    ("POST", f"{C}/follow-up"): Command("follow_up", _fixed({"method": "phone", "note": "回访双方"})),
    ("POST", f"{C}/corrections"): Command(
        "correct", _fixed({"position": 1, "corrected": {"summary": "楼上卫生间漏水（更正）"}, "reason": "登记有误"})
    ),
    ("POST", f"{C}/judicial-confirmation"): Command(
        "judicial_confirmation", _fixed({"court": COURT_UNIT, "applicant_party_ids": PARTY_IDS})
    ),
    ("POST", f"{C}/payment-order"): Command("payment_order", _fixed({"court": COURT_UNIT, "creditor_party_id": "p1"})),
    # ---- mediation (SPEC §3)
    ("POST", f"{M}/mediator-choice"): Command(
        "choose_mediator", lambda w: {"mediator_id": w.mediator_id, "method": "written", "chosen_by": PARTY_IDS}
    ),
    ("POST", f"{M}/notice"): Command("notify_rights", _fixed({"party_ids": PARTY_IDS})),
    ("POST", f"{M}/appraisal"): Command(
        "appraisal", _fixed({"appraisal_id": "ap1", "matter": "漏水原因", "institution": "县建设工程质量检测站"})
    ),
    ("POST", f"{M}/sessions"): Command(
        "session", _fixed({"on_site": True, "attendees": ["张三", "李四"], "notes": "第一次调解"})
    ),
    ("POST", f"{M}/undisputed-facts"): Command(
        "undisputed_facts", _fixed({"facts": "漏水属实", "consenting_party_ids": PARTY_IDS})
    ),
    ("POST", f"{M}/proposal"): Command("proposal", _fixed({"proposal_id": "pr1", "terms": "李四赔偿3000元"})),
    ("POST", f"{M}/proposal-response"): Command(
        "proposal_response", _fixed({"proposal_id": "pr1", "party_id": "p1", "response": "accepted"})
    ),
    ("POST", f"{M}/agreement"): Command("agreement", _fixed({"terms": "李四赔偿张三100元", "amount": "100"})),
    ("POST", f"{M}/failure"): Command("failure", _fixed({"advice": ["litigation"], "filed_with": COUNTY_FILING})),
    # ---- erasure of a party's personal data (SPEC §10)
    ("POST", f"{C}/parties/{{party_id}}/erasure"): Command("request_erasure", _fixed({"reason": "当事人申请"})),
    ("POST", f"{C}/parties/{{party_id}}/erasure/approval"): Command("approve_erasure", _fixed({})),
    # ---- reading a case
    ("GET", C): CaseRead(),
    ("GET", f"{C}/events"): CaseRead(),
    ("GET", f"{C}/evaluation"): CaseRead(),
    ("GET", "/api/v1/cases"): Scoped(lists_target=True, params=lambda _w: {"limit": 200}),
    # ---- the court
    ("POST", "/api/v1/court/confirmations/{confirmation_id}/ruling"): Command(
        "ruling", _fixed({"ruling": "confirmed", "ruling_number": "(2026)湘1199民特1号"})
    ),
    ("GET", "/api/v1/court/confirmations"): CourtRecords(),
    ("GET", "/api/v1/court/confirmations/{confirmation_id}"): CourtRecord(),
    # ---- mediators
    ("POST", "/api/v1/mediators"): Command(
        "register_mediator",
        _fixed(
            {
                "name": "新调解员",
                "user_id": "med-new",
                "organisation": "东关社区人民调解委员会",
                "organisation_kind": "people_mediation_committee",
                "jurisdiction": GRID,
            }
        ),
    ),
    ("GET", "/api/v1/mediators/{mediator_id}"): MediatorRead(),
    ("POST", "/api/v1/mediators/{mediator_id}/qualification"): Command(
        "qualify_mediator", _fixed({"examination": "2026年度人民调解员联合考核"})
    ),
    ("POST", "/api/v1/mediators/{mediator_id}/complaints"): Command(
        "lodge_complaint", _fixed({"ground": "other", "description": "调解拖延"})
    ),
    ("POST", "/api/v1/mediators/{mediator_id}/complaints/{complaint_id}/finding"): Command(
        "find_complaint", _fixed({"valid": False, "finding": "查无实据"})
    ),
    # ---- figures and reports (SPEC §8 "county center"; every reader within its jurisdiction)
    ("GET", "/api/v1/stats/overview"): Scoped(),
    ("GET", "/api/v1/rankings"): Scoped(),
    ("GET", "/api/v1/reports/{kind}"): Scoped(lists_target=True, params=_report_params),
    # ---- scoring policies: the policy book serves the whole county, so only a county center
    # whose jurisdiction is the county may adopt one
    ("POST", "/api/v1/policies"): Command(
        "adopt_policy", lambda _w: {"policy": {"name": f"matrix-{uuid4().hex[:8]}"}, "effective_from": POLICY_EFFECTIVE}
    ),
    ("GET", "/api/v1/policies"): Authenticated(),
    # ---- oversight and integrity
    ("GET", "/api/v1/access-log"): OversightOnly(),
    ("GET", "/api/v1/integrity/checkpoints"): Authenticated(),
    # Signing the current tree head writes no case data and concerns no place.
    ("POST", "/api/v1/integrity/checkpoints"): Command(None, _fixed({}), who=frozenset({ADM, OV}), placed=False),
    ("GET", "/api/v1/integrity/inclusion"): Authenticated(params=lambda _w: {"position": 1}),
    ("GET", "/api/v1/integrity/consistency"): Authenticated(params=lambda _w: {"from": 1, "to": 2}),
    # ---- reference data and operations
    ("GET", "/api/v1/org"): Authenticated(),
    ("GET", "/health"): Public(),
    ("GET", "/ready"): Public(),
}

# Served by FastAPI itself, outside the OpenAPI document: the document and its viewers.
DOCUMENTATION_ROUTES = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route, routers included (HEAD left out)."""
    try:  # FastAPI ≥ 0.16x keeps included routers as branches of app.routes
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI flattens app.routes itself
        contexts: Any = app.routes
    else:
        contexts = iter_route_contexts(app.routes)
    found: set[tuple[str, str]] = set()
    for route in contexts:
        path = route.path
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, path))
    return found


def test_the_table_covers_every_route(world: World) -> None:
    """A route without an access rule here fails: a new endpoint must say who may call it."""
    routes = app_routes(world.app)
    missing = sorted(routes - set(TABLE) - DOCUMENTATION_ROUTES)
    stale = sorted(set(TABLE) - routes)
    assert not missing, f"routes without an entry in TABLE: {missing}"
    assert not stale, f"TABLE entries that name no route: {stale}"


@pytest.mark.parametrize("command", sorted(set(COMMAND_ROLES) | set(SPEC_WHO)))
def test_command_roles_agree_with_spec(command: str) -> None:
    """COMMAND_ROLES (plus the importer's IMPORTABLE steps) is SPEC §2's "who", command by command."""
    assert command in SPEC_WHO, f"{command} is in COMMAND_ROLES but SPEC_WHO does not say who may do it"
    assert command in COMMAND_ROLES, f"{command} is in SPEC_WHO but no role may issue it (COMMAND_ROLES)"
    in_code = {str(r) for r in COMMAND_ROLES[command]} | ({IMP} if command in IMPORTABLE else set())
    assert in_code == set(SPEC_WHO[command]), (
        f"{command}: code allows {sorted(in_code)}, SPEC says {sorted(SPEC_WHO[command])}"
    )


def test_case_readers_agree_with_spec() -> None:
    """SPEC §9: the readers of case data; the court is a reader only of what was submitted to it."""
    assert {str(r) for r in CASE_READERS} == SPEC_READERS | {CT, OV}


def test_every_command_has_a_route_in_the_table() -> None:
    """Every ledger command is exercised over HTTP by the matrix, unless it is listed in OFF_HTTP."""
    on_routes = {rule.command for rule in TABLE.values() if isinstance(rule, Command) and rule.command}
    assert set(COMMAND_ROLES) - on_routes == set(OFF_HTTP)


# ---------------------------------------------------------------------------- the matrix


def _path(template: str, w: World) -> str:
    return template.format(
        case_id=w.case_id,
        confirmation_id=w.confirmation_id,
        mediator_id=w.mediator_id,
        complaint_id=w.complaint_id,
        party_id=ERASED_PARTY,
        kind="daily",
    )


def call(w: World, method: str, template: str, headers: dict[str, str]) -> httpx.Response:
    """One request to the route as it is called in the matrix."""
    rule = TABLE[(method, template)]
    path = _path(template, w)
    if method == "POST":
        assert isinstance(rule, Command)
        return w.client.post(path, json=rule.body(w), headers=headers, params={"min_position": w.head})
    params: dict[str, Any] = {"min_position": w.head}
    extra = getattr(rule, "params", None)
    if extra is not None:
        params.update(extra(w))
    return w.client.get(path, headers=headers, params=params)


def _target_ids(w: World, template: str) -> tuple[str, ...]:
    if "court/confirmations" in template:
        return (w.confirmation_id,)
    return (w.case_id,)


def outcome_of(response: httpx.Response, w: World, rule: Rule, template: str) -> str:
    """The outcome class a response falls in (or a description of what it was instead)."""
    status = response.status_code
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    if status == 403 and code == "forbidden":
        return Outcome.FORBIDDEN
    if status == 404:
        return Outcome.HIDDEN
    if isinstance(rule, Scoped | CourtRecords) and status == 200:
        if not rule.lists_target:
            return Outcome.FIGURES
        listed = any(target in response.text for target in _target_ids(w, template))
        return Outcome.SCOPED_IN if listed else Outcome.SCOPED_OUT
    if 200 <= status < 300 or status == 409 or (status == 422 and code != "validation-error"):
        return Outcome.ALLOWED
    return f"HTTP {status} {code}"


MATRIX = [
    pytest.param(method, path, role, place, id=f"{method} {path} {role} {place}")
    for (method, path) in TABLE
    for role in ROLES
    for place in PLACES
]


@pytest.mark.parametrize(("method", "path", "role", "place"), MATRIX)
def test_access(world: World, method: str, path: str, role: str, place: str) -> None:
    """Each route × role × inside/outside the target's jurisdiction gives SPEC's outcome class."""
    rule = TABLE[(method, path)]
    expected = rule.expect(role, place)
    response = call(world, method, path, world.api.auth(actor(role, place)))
    got = outcome_of(response, world, rule, path)
    assert got == expected, (
        f"{method} {path} as {role} ({place}): expected {expected}, got {got}: {response.text[:400]}"
    )


def test_figures_and_reports_name_the_readers_jurisdiction(world: World) -> None:
    """The report says whose jurisdiction it covers: the reader's own (oversight: the whole ledger)."""
    for role in (GW, UNIT, MED, TC, CC, IMP):
        for place in PLACES:
            who = actor(role, place)
            report = world.api.ok_get(who, "/reports/daily", date=world.registered_day, min_position=world.head)
            assert report["jurisdiction"] == who.jurisdiction, (role, place, report["jurisdiction"])
    assert world.api.ok_get(OUTSIDE[OV], "/reports/daily", min_position=world.head)["jurisdiction"] is None


def test_an_unauthorised_command_records_nothing(world: World) -> None:
    """Refused calls of the matrix leave the target case as it was (spot check on a fresh case)."""
    api = world.api
    case_id = api.register()
    with api.records_nothing(case_id):
        for role in (OV, ADM, CT):
            response = api.post(INSIDE[role], f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT})
            assert response.status_code == 403, response.text
        response = api.post(OUTSIDE[TC], f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT})
        assert response.status_code == 403, response.text


# ---------------------------------------------------------------------------- dispatch targets


@pytest.mark.parametrize(
    ("unit", "member"),
    [
        pytest.param("qingxi-court", Who("judge-liu", CT, "qingxi-court", "qingxi"), id="the court"),
        pytest.param("qingxi-center", COUNTY, id="the county center"),
    ],
)
def test_a_case_is_dispatched_only_where_someone_may_accept_it(world: World, unit: str, member: Who) -> None:
    """SPEC §2 派单/接单: the unit a case is dispatched to accepts it. Dispatching to a unit whose
    people hold a role that may not accept strands the case: it can be neither accepted, returned,
    nor dispatched again. Either the dispatch is refused, or a member of that unit may accept."""
    api = world.api
    case_id = api.register()
    dispatched = api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": unit})
    if dispatched.status_code != 200:
        assert dispatched.status_code == 422, dispatched.text
        return
    accepted = api.post(member, f"/cases/{case_id}/accept")
    returned = api.post(member, f"/cases/{case_id}/return", {"reason": "不属本单位"})
    assert accepted.status_code == 200 or returned.status_code == 200, (
        f"case dispatched to {unit} ({dispatched.status_code}) but its {member.role} may neither accept "
        f"({accepted.status_code}: {accepted.json().get('detail')}) nor return it ({returned.status_code})"
    )


# ---------------------------------------------------------------------------- token attacks

NOW = int(time.time())
OTHER_KEY = "another-signing-key-that-this-service-never-used-0123456789abcdefghijk"
SERVICE_KID = key_id(JWT_SECRET)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": TOWNSHIP.user,
        "role": TOWNSHIP.role,
        "unit": TOWNSHIP.unit,
        "jurisdiction": TOWNSHIP.jurisdiction,
        "iss": "caseledger",
        "aud": "caseledger-api",
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unsigned(alg: str, **header: Any) -> str:
    return f"{_b64({'alg': alg, 'typ': 'JWT', **header})}.{_b64(_claims())}."


def _hs(claims: dict[str, Any], key: str = JWT_SECRET, alg: str = "HS256", kid: str | None = SERVICE_KID) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)


def _rsa() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": SERVICE_KID})


def _es() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(_claims(), key, algorithm="ES256", headers={"kid": SERVICE_KID})


def _strip_signature(token: str) -> str:
    return token.rsplit(".", 1)[0] + "."


# Each differs from a good township token (see the control below) in one thing.
TOKEN_ATTACKS: dict[str, Callable[[], dict[str, str]]] = {
    "no token": dict,
    "empty bearer": lambda: {"Authorization": "Bearer "},
    "alg none": lambda: {"Authorization": f"Bearer {_unsigned('none')}"},
    "alg None with the service kid": lambda: {"Authorization": f"Bearer {_unsigned('None', kid=SERVICE_KID)}"},
    "alg NONE": lambda: {"Authorization": f"Bearer {_unsigned('NONE')}"},
    "HS256 header, signature stripped": lambda: {"Authorization": f"Bearer {_strip_signature(_hs(_claims()))}"},
    "HS384 with the service key": lambda: {"Authorization": f"Bearer {_hs(_claims(), alg='HS384')}"},
    "HS512 with the service key": lambda: {"Authorization": f"Bearer {_hs(_claims(), alg='HS512')}"},
    "RS256 with the service kid": lambda: {"Authorization": f"Bearer {_rsa()}"},
    "ES256 with the service kid": lambda: {"Authorization": f"Bearer {_es()}"},
    "unknown kid, signed with the service key": lambda: {
        "Authorization": f"Bearer {_hs(_claims(), kid='0123456789abcdef')}"
    },
    "service kid, another key": lambda: {"Authorization": f"Bearer {_hs(_claims(), key=OTHER_KEY)}"},
    "expired": lambda: {"Authorization": f"Bearer {_hs(_claims(iat=NOW - 7200, exp=NOW - 3600))}"},
    "not yet valid": lambda: {"Authorization": f"Bearer {_hs(_claims(nbf=NOW + 3600))}"},
    "wrong audience": lambda: {"Authorization": f"Bearer {_hs(_claims(aud='someone-else'))}"},
    "no audience": lambda: {"Authorization": f"Bearer {_hs(_claims(aud=None))}"},
    "wrong issuer": lambda: {"Authorization": f"Bearer {_hs(_claims(iss='mallory'))}"},
    "no subject": lambda: {"Authorization": f"Bearer {_hs(_claims(sub=None))}"},
}

API_ROUTES = [key for key, rule in TABLE.items() if not isinstance(rule, Public)]


def test_the_control_token_is_accepted(world: World) -> None:
    """Control for the attacks: a hand-made token with the right header and claims reads a case."""
    response = world.client.get(_path(C, world), headers={"Authorization": f"Bearer {_hs(_claims())}"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("attack", list(TOKEN_ATTACKS))
def test_a_token_attack_is_401_on_every_route(world: World, attack: str) -> None:
    """SPEC §8: every request is authenticated; a forged, expired or foreign token is 401 everywhere."""
    wrong = []
    for method, template in API_ROUTES:
        response = call(world, method, template, TOKEN_ATTACKS[attack]())
        body = response.json()
        if response.status_code != 401 or body.get("code") != "unauthenticated":
            wrong.append(f"{method} {template}: {response.status_code} {body.get('code')}")
        elif not response.headers.get("www-authenticate", "").startswith("Bearer"):
            wrong.append(f"{method} {template}: 401 without WWW-Authenticate: Bearer")
    assert not wrong, f"{attack}: " + "; ".join(wrong)
