"""Helpers of the end-to-end tests: the demo county's actors, request bodies, and ``Api``.

``Who`` names the actors of the bundled demo county (清溪县); tokens are issued by the app's
own ``TokenService``. ``open_client`` checks every response it receives for leaked internals
(a traceback or a Python module path), and ``assert_problem`` the shape of every refusal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

# Long enough for HS512 as well, so a test can forge HS512 tokens without a key-length warning.
JWT_SECRET = "e2e-signing-key-for-the-caseledger-http-tests-0123456789abcdefghijklmnop"
API = "/api/v1"

GRID = "qingxi/chengguan/dongguan/grid-01"
OTHER_TOWNSHIP_GRID = "qingxi/hekou/shahe/grid-01"
VILLAGE_UNIT = "chengguan-dongguan"
OTHER_VILLAGE_UNIT = "chengguan-xiguan"
DEPARTMENT_UNIT = "qingxi-hrss"
COURT_UNIT = "qingxi-court"
COUNTY_FILING = "qingxi-center"


@dataclass(frozen=True)
class Who:
    """An actor of the demo county, as a bearer token would name them."""

    user: str
    role: str
    unit: str
    jurisdiction: str


TOWNSHIP = Who("tw-li", "township_center", "chengguan-center", "qingxi/chengguan")
OTHER_TOWNSHIP = Who("hk-he", "township_center", "hekou-center", "qingxi/hekou")
VILLAGE = Who("v-zhao", "unit", VILLAGE_UNIT, "qingxi/chengguan/dongguan")
OTHER_VILLAGE = Who("v-qian", "unit", OTHER_VILLAGE_UNIT, "qingxi/chengguan/xiguan")
DEPARTMENT = Who("hrss-ma", "unit", DEPARTMENT_UNIT, "qingxi")
GRID_WORKER = Who("gw-sun", "grid_worker", VILLAGE_UNIT, GRID)
MEDIATOR = Who("med-wang", "mediator", "chengguan-pmc", "qingxi/chengguan")
COURT = Who("judge-liu", "court", COURT_UNIT, "qingxi")
COUNTY = Who("cty-chen", "county_center", "qingxi-center", "qingxi")
OVERSIGHT = Who("jj-zhou", "oversight", "qingxi-discipline", "qingxi")
IMPORTER = Who("arch-wu", "importer", "qingxi-center", "qingxi")
ADMIN = Who("ops-admin", "admin", "qingxi-center", "qingxi")

PARTIES = [
    {"party_id": "p1", "name": "张三", "kind": "applicant", "phone": "13800138000"},
    {"party_id": "p2", "name": "李四", "kind": "respondent", "phone": "13900139000"},
]
PARTY_IDS = ["p1", "p2"]

# A traceback, a source file, or a dotted path into the service or its libraries.
LEAK = re.compile(
    r"Traceback|File \"|\.py\b|\b(?:api|application|domain|infrastructure|starlette|fastapi|pydantic|"
    r"pydantic_core|eventsourcing|jwt|uvicorn|anyio)\.[A-Za-z_]+"
)


CHINESE = re.compile(r"[\u4e00-\u9fff]")


def case_body(**overrides: Any) -> dict[str, Any]:
    """A valid 制单 body for a yellow neighbour dispute in 东关社区 grid 1."""
    body: dict[str, Any] = {
        "channel": "visit",
        "category": "neighbour",
        "summary": "楼上卫生间漏水致楼下天花板受损，双方就维修和赔偿发生争执",
        "jurisdiction": GRID,
        "risk_color": "yellow",
        "difficulty": "ordinary",
        "parties": PARTIES,
    }
    body.update(overrides)
    return body


def assert_no_leak(response: httpx.Response) -> None:
    """No response may carry a traceback or a Python module path."""
    text = response.text
    match = LEAK.search(text)
    assert match is None, f"{response.request.method} {response.request.url.path} leaks {match.group(0)!r}: {text}"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem: status, media type, stable ``type``/``code``, a Chinese title, a detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["type"] == f"/problems/{code}", problem
    assert problem["code"] == code, problem
    assert CHINESE.search(problem["title"]), problem
    assert isinstance(problem["detail"], str) and problem["detail"].strip(), problem
    return problem


Headers = Callable[..., dict[str, str]]


@contextmanager
def open_client(app: FastAPI) -> Iterator[TestClient]:
    """A client with the lifespan running; 500s come back as responses rather than exceptions."""
    with TestClient(app, raise_server_exceptions=False) as client:

        def check(response: httpx.Response) -> None:
            response.read()
            assert_no_leak(response)

        client.event_hooks["response"].append(check)
        yield client


def make_headers(app: FastAPI) -> Headers:
    """``headers(role, user, unit, jurisdiction, ...)`` for tokens of this app."""

    def headers(
        role: str,
        user: str,
        unit: str,
        jurisdiction: str,
        *,
        if_match: str | int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, str]:
        """Bearer token (and optional If-Match / Idempotency-Key) for one actor."""
        token = app.state.services.tokens.issue(user_id=user, role=role, unit=unit, jurisdiction=jurisdiction)
        result = {"Authorization": f"Bearer {token}"}
        if if_match is not None:
            result["If-Match"] = f'"{if_match}"' if isinstance(if_match, int) else if_match
        if idempotency_key is not None:
            result["Idempotency-Key"] = idempotency_key
        return result

    return headers


class Api:
    """Speaks to the service as the actors of the demo county do."""

    def __init__(self, app: FastAPI, client: TestClient) -> None:
        self.app = app
        self.client = client
        self.headers = make_headers(app)

    def auth(self, who: Who, **extra: Any) -> dict[str, str]:
        return self.headers(who.role, who.user, who.unit, who.jurisdiction, **extra)

    def post(self, who: Who, path: str, body: dict[str, Any] | None = None, **extra: Any) -> httpx.Response:
        return self.client.post(API + path, json={} if body is None else body, headers=self.auth(who, **extra))

    def get(self, who: Who, path: str, **params: Any) -> httpx.Response:
        return self.client.get(API + path, headers=self.auth(who), params=params)

    def ok(self, who: Who, path: str, body: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        """POST a command that must succeed; its reply."""
        response = self.post(who, path, body, **extra)
        assert response.status_code in (200, 201), response.text
        reply: dict[str, Any] = response.json()
        return reply

    # ---------------------------------------------------------------- reading

    def ok_get(self, who: Who, path: str, **params: Any) -> dict[str, Any]:
        """GET that must answer 200; returns the JSON body."""
        response = self.get(who, path, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def case(self, case_id: str, who: Who = TOWNSHIP) -> dict[str, Any]:
        response = self.get(who, f"/cases/{case_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def events(self, case_id: str, who: Who = TOWNSHIP) -> list[dict[str, Any]]:
        response = self.get(who, f"/cases/{case_id}/events")
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()
        return data

    def event_types(self, case_id: str) -> list[str]:
        return [e["type"] for e in self.events(case_id)]

    def head(self) -> int:
        """The ledger's last position of anything but a logged read (reads are logged as events)."""
        recorder = self.app.state.services.ledger.recorder
        top = int(recorder.max_notification_id() or 0)
        for notification in reversed(recorder.select_notifications(start=1, limit=top or 1)):
            if "AccessRecord" not in notification.topic:
                return int(notification.id)
        return 0

    @contextmanager
    def records_nothing(self, case_id: str | None = None) -> Iterator[None]:
        """The block must leave the ledger, and the case's version and events, as they were."""
        head = self.head()
        before = (self.case(case_id)["version"], self.events(case_id)) if case_id else None
        yield
        assert self.head() == head, "something was recorded"
        if case_id is not None:
            assert (self.case(case_id)["version"], self.events(case_id)) == before

    # ---------------------------------------------------------------- driving a case

    def register(self, who: Who = TOWNSHIP, **overrides: Any) -> str:
        response = self.post(who, "/cases", case_body(**overrides))
        assert response.status_code == 201, response.text
        case_id: str = response.json()["case_id"]
        return case_id

    def register_mediator(self, user: str = MEDIATOR.user, jurisdiction: str = "qingxi/chengguan") -> str:
        """Registered by the township, qualified by the county center."""
        reply = self.ok(
            TOWNSHIP,
            "/mediators",
            {
                "name": "王调解",
                "user_id": user,
                "organisation": "城关镇人民调解委员会",
                "organisation_kind": "people_mediation_committee",
                "specialties": ["邻里纠纷"],
                "jurisdiction": jurisdiction,
            },
        )
        mediator_id: str = reply["mediator_id"]
        self.ok(COUNTY, f"/mediators/{mediator_id}/qualification", {"examination": "2026年度人民调解员联合考核"})
        return mediator_id

    def to(self, stage: str, *, handler: str = "grid_worker", mediator_id: str = "", **overrides: Any) -> str:
        """A new case brought to ``stage``: registered, dispatched, accepted, handling, concluded, closed.

        The handler is the grid worker, the mediator (``mediator_id``), or the village clerk (``unit``).
        """
        stages = ("registered", "dispatched", "accepted", "handling", "concluded", "closed")
        case_id = self.register(**overrides)
        wanted = stages.index(stage)
        if wanted >= 1:
            self.ok(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT})
        if wanted >= 2:
            self.ok(VILLAGE, f"/cases/{case_id}/accept")
        if wanted >= 3:
            if handler == "mediator":
                body = {"handler_kind": "mediator", "mediator_id": mediator_id}
            elif handler == "unit":
                body = {"handler_kind": "unit", "handler_id": VILLAGE.user, "handler_name": "赵主任"}
            else:
                body = {"handler_kind": "grid_worker", "handler_id": GRID_WORKER.user, "handler_name": "孙网格员"}
            self.ok(VILLAGE, f"/cases/{case_id}/assign", body)
        if wanted >= 4:
            concluder = {"mediator": MEDIATOR, "unit": VILLAGE}.get(handler, GRID_WORKER)
            self.ok(concluder, f"/cases/{case_id}/conclusion", {"outcome": "resolved", "note": "双方和解"})
        if wanted >= 5:
            for party_id in PARTY_IDS:
                self.ok(
                    TOWNSHIP,
                    f"/cases/{case_id}/ratings",
                    {"party_id": party_id, "satisfaction": "satisfied", "method": "phone"},
                )
            self.ok(TOWNSHIP, f"/cases/{case_id}/review", {"result": "verified", "note": "准予销项"})
        return case_id
