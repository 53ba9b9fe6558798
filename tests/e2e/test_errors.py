"""Every error response of the HTTP API (SPEC §8, §9; STYLE "one file for all error responses").

Each refusal is an RFC 9457 problem (``application/problem+json``, a stable ``type`` and
``code``, a Chinese ``title``, a ``detail``) and records nothing: the ledger's head, the
case's version and its events stay as they were. No body leaks a traceback or a module path
(checked on every response by the client, see ``support.open_client``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from api.security import TokenService
from infrastructure.settings import Settings
from tests.e2e.support import (
    ADMIN,
    API,
    COUNTY,
    COURT,
    COURT_UNIT,
    GRID,
    GRID_WORKER,
    IMPORTER,
    JWT_SECRET,
    MEDIATOR,
    OTHER_TOWNSHIP,
    OVERSIGHT,
    PARTY_IDS,
    TOWNSHIP,
    VILLAGE,
    VILLAGE_UNIT,
    Api,
    Who,
    assert_problem,
    case_body,
    open_client,
)

OTHER_KEY = "another-signing-key-that-this-service-never-used-0123456789abcdefghijk"


# ---------------------------------------------------------------------------- 401


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": VILLAGE.user,
        "role": VILLAGE.role,
        "unit": VILLAGE.unit,
        "jurisdiction": VILLAGE.jurisdiction,
        "iss": "caseledger",
        "aud": "caseledger-api",
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


BAD_CREDENTIALS: dict[str, Callable[[], dict[str, str]]] = {
    "no token": dict,
    "garbage token": lambda: _bearer("not-a-jwt"),
    "basic scheme": lambda: {"Authorization": "Basic di16aGFvOnNlY3JldA=="},
    "alg none": lambda: _bearer(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."),
    "another key": lambda: _bearer(jwt.encode(_claims(), OTHER_KEY, algorithm="HS256")),
    "another key, its own kid": lambda: _bearer(
        TokenService(Settings(jwt_secret=OTHER_KEY)).issue(
            user_id=VILLAGE.user, role=VILLAGE.role, unit=VILLAGE.unit, jurisdiction=VILLAGE.jurisdiction
        )
    ),
    "HS512": lambda: _bearer(jwt.encode(_claims(), JWT_SECRET, algorithm="HS512")),
    "expired": lambda: _bearer(
        TokenService(Settings(jwt_secret=JWT_SECRET)).issue(
            user_id=VILLAGE.user,
            role=VILLAGE.role,
            unit=VILLAGE.unit,
            jurisdiction=VILLAGE.jurisdiction,
            now=datetime.now(UTC) - timedelta(days=2),
        )
    ),
    "wrong audience": lambda: _bearer(jwt.encode(_claims(aud="someone-else"), JWT_SECRET, algorithm="HS256")),
    "wrong issuer": lambda: _bearer(jwt.encode(_claims(iss="mallory"), JWT_SECRET, algorithm="HS256")),
    "no expiry": lambda: _bearer(jwt.encode(_claims(exp=None), JWT_SECRET, algorithm="HS256")),
    "unknown role": lambda: _bearer(jwt.encode(_claims(role="superuser"), JWT_SECRET, algorithm="HS256")),
    "no jurisdiction": lambda: _bearer(jwt.encode(_claims(jurisdiction=""), JWT_SECRET, algorithm="HS256")),
}


def test_a_hand_made_token_with_the_right_claims_is_accepted(api: Api, client: TestClient) -> None:
    """Control for the 401 cases below: each forgery differs from this token in one thing only."""
    case_id = api.to("dispatched")
    response = client.post(
        f"{API}/cases/{case_id}/accept", json={}, headers=_bearer(jwt.encode(_claims(), JWT_SECRET, "HS256"))
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS))
def test_a_command_without_valid_credentials_is_401(api: Api, client: TestClient, credentials: str) -> None:
    """SPEC §8/§9: every request is authenticated; a bad bearer token is refused with 401."""
    case_id = api.to("dispatched")
    with api.records_nothing(case_id):
        response = client.post(f"{API}/cases/{case_id}/accept", json={}, headers=BAD_CREDENTIALS[credentials]())
        problem = assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert problem["instance"] == f"/api/v1/cases/{case_id}/accept"


@pytest.mark.parametrize("path", ["/cases/{case_id}", "/cases/{case_id}/events", "/org"])
def test_a_read_without_a_token_is_401(api: Api, client: TestClient, path: str) -> None:
    """SPEC §8: reads are authenticated too."""
    case_id = api.register()
    assert_problem(client.get(API + path.format(case_id=case_id)), 401, "unauthenticated")


def test_registering_without_a_token_records_nothing(api: Api, client: TestClient) -> None:
    """SPEC §8: an unauthenticated 制单 is refused before anything is written."""
    with api.records_nothing():
        assert_problem(client.post(f"{API}/cases", json=case_body()), 401, "unauthenticated")


# ---------------------------------------------------------------------------- 403


def test_a_grid_worker_may_not_dispatch(api: Api) -> None:
    """SPEC §2: 派单 is the township's (yellow, red) or the village's (green)."""
    case_id = api.register()
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(GRID_WORKER, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}), 403, "forbidden"
        )
    assert "grid_worker" in problem["detail"]


OVERSIGHT_WRITES: list[tuple[str, dict[str, Any]]] = [
    ("/cases", case_body()),
    ("/cases/{case_id}/grading", {"risk_color": "red", "difficulty": "complex", "reason": "复核"}),
    ("/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}),
    ("/cases/{case_id}/accept", {}),
    ("/cases/{case_id}/progress", {"note": "查看"}),
    ("/cases/{case_id}/ratings", {"party_id": "p1", "satisfaction": "satisfied", "method": "phone"}),
    ("/cases/{case_id}/review", {"result": "verified"}),
    ("/cases/{case_id}/corrections", {"position": 1, "corrected": {"summary": "改"}, "reason": "改"}),
    ("/cases/{case_id}/mediation/notice", {"party_ids": ["p1"]}),
    (
        "/mediators",
        {
            "name": "王调解",
            "user_id": "med-x",
            "organisation": "城关镇人民调解委员会",
            "organisation_kind": "people_mediation_committee",
            "jurisdiction": "qingxi/chengguan",
        },
    ),
]


@pytest.mark.parametrize("who", [OVERSIGHT, ADMIN], ids=["oversight", "admin"])
@pytest.mark.parametrize(("path", "body"), OVERSIGHT_WRITES, ids=[p for p, _ in OVERSIGHT_WRITES])
def test_oversight_and_admin_write_nothing(api: Api, who: Who, path: str, body: dict[str, Any]) -> None:
    """SPEC §9: oversight reads everything and writes nothing; admin writes no case data."""
    case_id = api.register()
    with api.records_nothing(case_id):
        assert_problem(api.post(who, path.format(case_id=case_id), body), 403, "forbidden")


def test_a_court_may_not_register_a_case(api: Api) -> None:
    """SPEC §2: 制单 is for grid workers, units, township and county centers."""
    with api.records_nothing():
        assert_problem(api.post(COURT, "/cases", case_body()), 403, "forbidden")


def test_a_township_may_not_act_on_another_townships_case(api: Api) -> None:
    """SPEC §9: a township sees and acts on its own cases only."""
    case_id = api.register()
    with api.records_nothing(case_id):
        assert_problem(api.post(OTHER_TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}), 403, "forbidden")
        assert_problem(api.get(OTHER_TOWNSHIP, f"/cases/{case_id}"), 403, "forbidden")
        assert_problem(api.get(OTHER_TOWNSHIP, f"/cases/{case_id}/events"), 403, "forbidden")


def test_a_township_may_not_register_a_case_in_another_township(api: Api) -> None:
    """SPEC §9: registering is confined to the registrar's jurisdiction."""
    with api.records_nothing():
        assert_problem(api.post(OTHER_TOWNSHIP, "/cases", case_body(jurisdiction=GRID)), 403, "forbidden")


def test_the_handler_may_not_rate_their_own_case(api: Api) -> None:
    """SPEC §2 评单: never the case's own handler (here the village clerk who handled it)."""
    case_id = api.to("concluded", handler="unit")
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(
                VILLAGE, f"/cases/{case_id}/ratings", {"party_id": "p1", "satisfaction": "satisfied", "method": "phone"}
            ),
            403,
            "forbidden",
        )
    assert "handler" in problem["detail"]


def test_a_grid_worker_handler_may_not_rate_either(api: Api) -> None:
    """SPEC §2 评单: the grid worker who handled the case cannot collect its rating."""
    case_id = api.to("concluded")
    with api.records_nothing(case_id):
        assert_problem(
            api.post(
                GRID_WORKER,
                f"/cases/{case_id}/ratings",
                {"party_id": "p1", "satisfaction": "satisfied", "method": "phone"},
            ),
            403,
            "forbidden",
        )


def test_a_village_may_not_dispatch_a_yellow_case(api: Api) -> None:
    """SPEC §2 派单: the village dispatches green cases only; yellow and red go through the township."""
    case_id = api.register(risk_color="yellow")
    with api.records_nothing(case_id):
        assert_problem(api.post(VILLAGE, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}), 403, "forbidden")


def test_only_the_handler_concludes(api: Api) -> None:
    """SPEC §2 办结: by the handler."""
    case_id = api.to("handling")
    with api.records_nothing(case_id):
        assert_problem(api.post(TOWNSHIP, f"/cases/{case_id}/conclusion", {"outcome": "resolved"}), 403, "forbidden")


# ---------------------------------------------------------------------------- 404


def test_an_unknown_case_is_404(api: Api) -> None:
    """SPEC §8: a case id that names nothing."""
    missing = uuid4()
    with api.records_nothing():
        assert_problem(api.get(TOWNSHIP, f"/cases/{missing}"), 404, "case-not-found")
        assert_problem(api.get(TOWNSHIP, f"/cases/{missing}/events"), 404, "case-not-found")
        assert_problem(api.post(TOWNSHIP, f"/cases/{missing}/dispatch", {"unit": VILLAGE_UNIT}), 404, "case-not-found")
        assert_problem(api.post(VILLAGE, f"/cases/{missing}/accept"), 404, "case-not-found")


def test_an_unknown_route_is_404(api: Api, client: TestClient) -> None:
    """Unknown paths answer with a problem too, not a bare JSON error."""
    with api.records_nothing():
        assert_problem(api.get(TOWNSHIP, "/nowhere"), 404, "not-found")
        assert_problem(api.post(TOWNSHIP, f"/cases/{uuid4()}/teleport", {}), 404, "not-found")
        assert_problem(client.get("/no-such-page"), 404, "not-found")


def test_a_wrong_method_is_405(api: Api) -> None:
    """A known path with a method it does not take answers with a problem."""
    case_id = api.register()
    with api.records_nothing(case_id):
        assert_problem(api.get(TOWNSHIP, f"/cases/{case_id}/dispatch"), 405, "method-not-allowed")


def _court_case(api: Api) -> str:
    """A mediated case with a monetary agreement, not yet applied for confirmation."""
    mediator_id = api.register_mediator()
    case_id = api.to("handling", handler="mediator", mediator_id=mediator_id)
    api.ok(MEDIATOR, f"/cases/{case_id}/mediation/notice", {"party_ids": PARTY_IDS})
    api.ok(
        MEDIATOR,
        f"/cases/{case_id}/mediation/agreement",
        {"terms": "李四赔偿张三3500元", "amount": "3500", "debtor_party_id": "p2", "creditor_party_id": "p1"},
    )
    return case_id


def test_a_ruling_on_a_confirmation_id_that_names_no_case_is_404(api: Api) -> None:
    """SPEC §8: the court posts to /court/confirmations/{id}/ruling; an unknown id is not found."""
    with api.records_nothing():
        for confirmation_id in ("nope", f"{uuid4()}-jc1"):
            assert_problem(
                api.post(
                    COURT,
                    f"/court/confirmations/{confirmation_id}/ruling",
                    {"ruling": "confirmed", "ruling_number": "(2026)清民特1号"},
                ),
                404,
                "case-not-found",
            )


def test_a_ruling_on_an_unknown_confirmation_of_a_real_case_is_404(api: Api) -> None:
    """SPEC §8: a confirmation id whose case exists but which was never applied for is still not found."""
    case_id = _court_case(api)
    with api.records_nothing(case_id):
        response = api.post(
            COURT,
            f"/court/confirmations/{case_id}-jc7/ruling",
            {"ruling": "confirmed", "ruling_number": "(2026)清民特1号"},
        )
        assert response.status_code == 404, response.text
        assert_problem(response, 404, response.json()["code"])


def test_an_unknown_mediator_is_404(api: Api) -> None:
    """SPEC §3: mediator endpoints on an id that names no mediator."""
    missing = uuid4()
    with api.records_nothing():
        assert_problem(api.get(TOWNSHIP, f"/mediators/{missing}"), 404, "mediator-not-found")
        assert_problem(
            api.post(COUNTY, f"/mediators/{missing}/qualification", {"examination": "联合考核"}),
            404,
            "mediator-not-found",
        )
        assert_problem(
            api.post(TOWNSHIP, f"/mediators/{missing}/complaints", {"ground": "partiality", "description": "偏袒一方"}),
            404,
            "mediator-not-found",
        )
        assert_problem(
            api.post(COUNTY, f"/mediators/{missing}/complaints/c1/finding", {"valid": True, "finding": "属实"}),
            404,
            "mediator-not-found",
        )


def test_a_case_id_is_not_a_mediator_id(api: Api) -> None:
    """A case's id on a mediator route is not found, whatever the store holds under it."""
    case_id = api.register()
    with api.records_nothing(case_id):
        assert_problem(api.get(TOWNSHIP, f"/mediators/{case_id}"), 404, "mediator-not-found")


# ---------------------------------------------------------------------------- 409


def test_rating_before_conclusion_is_409(api: Api) -> None:
    """SPEC §2: rating before conclusion does not fit the case's state."""
    case_id = api.to("handling")
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(
                TOWNSHIP,
                f"/cases/{case_id}/ratings",
                {"party_id": "p1", "satisfaction": "satisfied", "method": "phone"},
            ),
            409,
            "invalid-transition",
        )
    assert problem["state"] == "handling"
    assert problem["case_id"] == case_id


def test_accepting_twice_is_409(api: Api) -> None:
    """SPEC §2: accepting twice."""
    case_id = api.to("accepted")
    with api.records_nothing(case_id):
        assert_problem(api.post(VILLAGE, f"/cases/{case_id}/accept"), 409, "invalid-transition")


def test_dispatching_a_closed_case_is_409(api: Api) -> None:
    """SPEC §2: dispatching a closed case."""
    case_id = api.to("closed")
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}), 409, "invalid-transition"
        )
    assert problem["state"] == "closed"


def test_a_second_judicial_confirmation_ruling_is_409(api: Api) -> None:
    """SPEC §3: an application is ruled on once."""
    case_id = _court_case(api)
    confirmation_id = api.ok(
        MEDIATOR, f"/cases/{case_id}/judicial-confirmation", {"court": COURT_UNIT, "applicant_party_ids": PARTY_IDS}
    )["confirmation_id"]
    ruling = {"ruling": "confirmed", "ruling_number": "(2026)清民特3号"}
    api.ok(COURT, f"/court/confirmations/{confirmation_id}/ruling", ruling)
    with api.records_nothing(case_id):
        assert_problem(
            api.post(COURT, f"/court/confirmations/{confirmation_id}/ruling", ruling), 409, "invalid-transition"
        )


# ---------------------------------------------------------------------------- 412


def test_a_stale_if_match_is_412(api: Api) -> None:
    """SPEC §8: If-Match carries the version the command expects."""
    case_id = api.to("dispatched")
    with api.records_nothing(case_id):
        response = api.post(VILLAGE, f"/cases/{case_id}/accept", if_match=1)
        problem = assert_problem(response, 412, "version-mismatch")
    assert problem["current_version"] == 2
    assert response.headers["etag"] == '"2"'


# ---------------------------------------------------------------------------- 413


@pytest.fixture
def small_client(tmp_path: Path) -> Iterator[tuple[FastAPI, TestClient]]:
    settings = Settings(
        backend="memory", jwt_secret=JWT_SECRET, data_dir=tmp_path / "small", log_level="WARNING", max_body_bytes=2048
    )
    app = create_app(settings)
    with open_client(app) as client:
        yield app, client


def test_a_body_over_the_limit_is_413(small_client: tuple[FastAPI, TestClient]) -> None:
    """A body larger than ``max_body_bytes`` is refused before it is read; nothing is recorded."""
    app, client = small_client
    api = Api(app, client)
    case_id = api.register()
    with api.records_nothing(case_id):
        response = api.post(TOWNSHIP, f"/cases/{case_id}/progress", {"note": "很长的记录" * 300})
        problem = assert_problem(response, 413, "payload-too-large")
        assert "2048" in problem["detail"]
        assert_problem(api.post(TOWNSHIP, "/cases", case_body(summary="长" * 1000)), 413, "payload-too-large")


def test_a_streamed_body_over_the_limit_is_413(small_client: tuple[FastAPI, TestClient]) -> None:
    """Without a Content-Length the limit still holds while the body is read."""
    app, client = small_client
    api = Api(app, client)
    case_id = api.register()
    body = json.dumps({"note": "很长的记录" * 300}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    with api.records_nothing(case_id):
        response = client.post(
            f"{API}/cases/{case_id}/progress",
            content=chunks(),
            headers={**api.auth(TOWNSHIP), "Content-Type": "application/json"},
        )
        assert_problem(response, 413, "payload-too-large")


# ---------------------------------------------------------------------------- 422


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_missing_field_is_422(api: Api) -> None:
    """Request bodies are validated: 派单 needs a unit."""
    case_id = api.register()
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"note": "x"}), 422, "validation-error"
        )
    assert problem["errors"][0]["location"] == ["body", "unit"]
    assert "unit" in problem["detail"]


def test_an_unknown_field_is_422(api: Api) -> None:
    """Unknown fields are refused rather than ignored."""
    case_id = api.register()
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT, "priority": "high"}),
            422,
            "validation-error",
        )
    assert problem["errors"][0]["location"] == ["body", "priority"]


def test_a_bad_enum_is_422(api: Api) -> None:
    """SPEC §2: channels, categories and colors are closed lists."""
    with api.records_nothing():
        problem = assert_problem(api.post(TOWNSHIP, "/cases", case_body(channel="wechat")), 422, "validation-error")
        assert problem["errors"][0]["location"] == ["body", "channel"]
        assert_problem(api.post(TOWNSHIP, "/cases", case_body(risk_color="purple")), 422, "validation-error")


def test_a_malformed_json_body_is_422(api: Api, client: TestClient) -> None:
    """A body that is not JSON is a validation error, not a 500."""
    case_id = api.register()
    with api.records_nothing(case_id):
        response = client.post(
            f"{API}/cases/{case_id}/dispatch",
            content=b'{"unit": "chengguan-',
            headers={**api.auth(TOWNSHIP), "Content-Type": "application/json"},
        )
        assert_problem(response, 422, "validation-error")


def test_a_case_id_that_is_not_a_uuid_is_422(api: Api) -> None:
    """Path parameters are validated."""
    with api.records_nothing():
        assert_problem(api.get(TOWNSHIP, "/cases/not-a-uuid"), 422, "validation-error")


def test_occurred_at_in_the_future_is_422(api: Api) -> None:
    """SPEC §6: occurred_at never lies ahead of the server's clock."""
    case_id = api.register()
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(
                TOWNSHIP,
                f"/cases/{case_id}/dispatch",
                {"unit": VILLAGE_UNIT, "occurred_at": (_now() + timedelta(minutes=5)).isoformat()},
            ),
            422,
            "invalid-command",
        )
    assert problem["field"] == "occurred_at"


def test_occurred_at_eleven_minutes_ago_is_422_for_anyone_but_the_importer(api: Api) -> None:
    """SPEC §6: occurred_at precedes recording by at most a few minutes (10), except imports."""
    case_id = api.register()
    eleven_minutes_ago = (_now() - timedelta(minutes=11)).isoformat()
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT, "occurred_at": eleven_minutes_ago}),
            422,
            "invalid-command",
        )
        assert problem["field"] == "occurred_at"
        assert_problem(api.post(TOWNSHIP, "/cases", case_body(occurred_at=eleven_minutes_ago)), 422, "invalid-command")
    imported = api.post(IMPORTER, "/cases", case_body(occurred_at=eleven_minutes_ago))
    assert imported.status_code == 201, imported.text


def test_a_naive_occurred_at_is_422(api: Api) -> None:
    """SPEC §4/§6: times carry an offset; a naive one is ambiguous."""
    case_id = api.register()
    naive = _now().replace(tzinfo=None).isoformat()
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT, "occurred_at": naive}),
            422,
            "validation-error",
        )
    assert problem["errors"][0]["location"] == ["body", "occurred_at"]


@pytest.mark.parametrize("if_match", ["abc", '"two"', '"-1"', '"1.0"', "*"])
def test_a_malformed_if_match_is_422(api: Api, if_match: str) -> None:
    """SPEC §8: If-Match names the case's version."""
    case_id = api.to("dispatched")
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(VILLAGE, f"/cases/{case_id}/accept", if_match=if_match), 422, "invalid-command"
        )
    assert problem["field"] == "If-Match"


def test_an_if_match_of_digits_other_than_ascii_is_422(api: Api) -> None:
    """SPEC §8: "³" is a digit to Python but names no version; refused like any malformed If-Match.

    Sent straight to the app as the byte 0xB3 (which a server reads, as latin-1, as "³"):
    ``TestClient`` would re-encode it as UTF-8.
    """
    case_id = api.to("dispatched")
    headers = [(k.lower().encode(), v.encode()) for k, v in api.auth(VILLAGE).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/v1/cases/{case_id}/accept",
        "raw_path": f"/api/v1/cases/{case_id}/accept".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*headers, (b"content-type", b"application/json"), (b"if-match", b'"\xb3"')],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with api.records_nothing(case_id):
        asyncio.run(api.app(scope, receive, send))
    body = json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
    assert (sent[0]["status"], body["code"], body["field"]) == (422, "invalid-command", "If-Match")


def test_an_unknown_jurisdiction_is_422(api: Api) -> None:
    """SPEC §6: the case's jurisdiction path names a place of the organisation."""
    with api.records_nothing():
        problem = assert_problem(
            api.post(COUNTY, "/cases", case_body(jurisdiction="qingxi/atlantis/grid-01")), 422, "invalid-command"
        )
    assert problem["field"] == "jurisdiction"


def test_an_unknown_unit_is_422(api: Api) -> None:
    """SPEC §2: a case is dispatched to a unit that exists."""
    case_id = api.register()
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": "chengguan-atlantis"}), 422, "invalid-command"
        )
    assert problem["field"] == "unit"


def test_an_unknown_court_is_422(api: Api) -> None:
    """SPEC §3: judicial confirmation names a court of the organisation."""
    case_id = _court_case(api)
    with api.records_nothing(case_id):
        assert_problem(
            api.post(
                MEDIATOR,
                f"/cases/{case_id}/judicial-confirmation",
                {"court": VILLAGE_UNIT, "applicant_party_ids": PARTY_IDS},
            ),
            422,
            "invalid-command",
        )


def test_an_unknown_party_is_422(api: Api) -> None:
    """SPEC §2 评单: ratings are by the case's parties."""
    case_id = api.to("concluded")
    with api.records_nothing(case_id):
        assert_problem(
            api.post(
                TOWNSHIP,
                f"/cases/{case_id}/ratings",
                {"party_id": "p9", "satisfaction": "satisfied", "method": "phone"},
            ),
            422,
            "invalid-command",
        )


def test_the_same_idempotency_key_with_another_body_is_422(api: Api) -> None:
    """SPEC §8: an Idempotency-Key stands for one request; reusing it for another is refused."""
    first = api.post(TOWNSHIP, "/cases", case_body(), idempotency_key="reg-1")
    assert first.status_code == 201, first.text
    case_id = first.json()["case_id"]
    with api.records_nothing(case_id):
        problem = assert_problem(
            api.post(TOWNSHIP, "/cases", case_body(summary="另一起纠纷"), idempotency_key="reg-1"),
            422,
            "idempotency-key-reused",
        )
        assert problem["idempotency_key"] == "reg-1"
        assert_problem(
            api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}, idempotency_key="reg-1"),
            422,
            "idempotency-key-reused",
        )


def test_a_payment_order_by_someone_other_than_the_creditor_is_422(api: Api) -> None:
    """SPEC §3: the creditor applies for a payment order."""
    case_id = _court_case(api)
    with api.records_nothing(case_id):
        assert_problem(
            api.post(MEDIATOR, f"/cases/{case_id}/payment-order", {"court": COURT_UNIT, "creditor_party_id": "p2"}),
            422,
            "invalid-command",
        )


def test_a_court_may_not_read_a_case_not_submitted_to_it(api: Api) -> None:
    """SPEC §9: a court sees the confirmation records addressed to it; the oversight body reads everything."""
    case_id = api.register()
    assert_problem(api.get(COURT, f"/cases/{case_id}"), 403, "forbidden")
    assert api.get(OVERSIGHT, f"/cases/{case_id}").status_code == 200
    outsider = Who("judge-x", "court", "other-court", "other-county")
    assert_problem(api.get(outsider, f"/cases/{case_id}"), 403, "forbidden")


def test_an_admin_may_not_read_case_data(api: Api) -> None:
    """SPEC §9: each role sees only what it needs; the admin does not read parties' cases."""
    case_id = api.register()
    assert_problem(api.get(ADMIN, f"/cases/{case_id}"), 403, "forbidden")
    assert api.get(COUNTY, f"/cases/{case_id}").status_code == 200
