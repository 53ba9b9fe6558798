"""Every read of case data is logged before any of it leaves the server (SPEC §9, issue 4).

The access record is written while the route runs; the response waits for its commit. A read
whose record cannot be committed is refused, and nothing of the case is in the refusal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.e2e.support import COUNTY, OVERSIGHT, PARTIES, TOWNSHIP, Api, assert_problem, case_body, open_client

# Long enough that a response not held for its record would be sent before the record commits.
SLOW_WRITE_SECONDS = 0.3


class OnResponseStart:
    """Pure ASGI: calls ``check`` as each response starts, before any of its body is sent."""

    def __init__(self, app: ASGIApp, check: Callable[[Scope], None]) -> None:
        self.app = app
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def checked(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.check(scope)
            await send(message)

        await self.app(scope, receive, checked)


def reads(case_id: str) -> list[tuple[Any, str]]:
    """(who, path) of reads of case data, one of each kind."""
    return [
        (TOWNSHIP, f"/cases/{case_id}"),
        (TOWNSHIP, "/cases"),
        (TOWNSHIP, f"/cases/{case_id}/events"),
        (OVERSIGHT, "/access-log"),
    ]


def test_a_read_whose_record_cannot_be_committed_is_refused_with_nothing_of_the_case(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 4: no record, no read: 503 read-not-logged, even when the route had its answer ready."""
    case_id = api.register()
    ledger = api.app.state.services.ledger

    def fails(*_: Any, **__: Any) -> int:
        time.sleep(SLOW_WRITE_SECONDS)  # the route is done by now: its response must be dropped
        raise OperationalError("the event store is unreachable")

    monkeypatch.setattr(ledger, "record_read", fails)
    for who, path in reads(case_id):
        response = api.get(who, path)
        problem = assert_problem(response, 503, "read-not-logged")
        assert set(problem) <= {"type", "title", "status", "detail", "code", "instance", "request_id"}, problem
        for secret in (case_body()["summary"], *(p["name"] for p in PARTIES), *(p["phone"] for p in PARTIES)):
            assert secret not in response.text, path


def test_a_refused_read_whose_record_cannot_be_committed_is_refused_for_that(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read the route refuses (403) still waits for its record; a failed record answers 503."""
    case_id = api.register()

    def fails(*_: Any, **__: Any) -> int:
        raise OperationalError("the event store is unreachable")

    monkeypatch.setattr(api.app.state.services.ledger, "record_read", fails)
    assert_problem(api.get(COUNTY, "/access-log"), 503, "read-not-logged")
    assert_problem(api.get(TOWNSHIP, f"/cases/{case_id}/evaluation"), 503, "read-not-logged")


def test_a_served_read_has_its_record_committed_before_its_response_starts(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 4: when the first byte of a read's response leaves, its access record is in the ledger."""
    ledger = app.state.services.ledger
    record_read = ledger.record_read
    committed: dict[str, int] = {}

    def slow(*args: Any, **kwargs: Any) -> int:
        time.sleep(SLOW_WRITE_SECONDS)
        position: int = record_read(*args, **kwargs)
        committed[kwargs["request_id"]] = position
        return position

    def in_the_ledger(scope: Scope) -> None:
        if scope["path"].startswith("/api/v1/cases/"):
            position = committed.get(scope["state"]["request_id"])
            assert position is not None, f"{scope['path']} answered before its access record was committed"
            stored = ledger.recorder.select_notifications(start=position, limit=1)
            assert stored and "AccessRecord" in stored[0].topic

    app.add_middleware(OnResponseStart, check=in_the_ledger)
    with open_client(app) as client:
        api = Api(app, client)
        case_id = api.register()
        monkeypatch.setattr(ledger, "record_read", slow)
        for who, path in reads(case_id)[:3]:
            assert api.get(who, path).status_code == 200, path
        assert_problem(api.get(COUNTY, f"/cases/{case_id}/evaluation"), 409, "invalid-transition")
    assert len(committed) == 4


def test_the_record_is_written_while_the_route_runs(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record and the query overlap: a read costs the longer of the two, not their sum."""
    case_id = api.register()
    ledger = api.app.state.services.ledger
    record_read, view_case = ledger.record_read, ledger.view_case
    route_started = threading.Event()
    overlapped: list[bool] = []

    def waits_for_the_route(*args: Any, **kwargs: Any) -> int:
        overlapped.append(route_started.wait(timeout=5))
        position: int = record_read(*args, **kwargs)
        return position

    def starts(*args: Any, **kwargs: Any) -> Any:
        route_started.set()
        return view_case(*args, **kwargs)

    monkeypatch.setattr(ledger, "record_read", waits_for_the_route)
    monkeypatch.setattr(ledger, "view_case", starts)
    assert api.case(case_id)["case_id"] == case_id
    assert overlapped == [True]
