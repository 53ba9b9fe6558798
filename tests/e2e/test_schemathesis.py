"""Schemathesis over the service's own OpenAPI document, in process, with a token per role.

A small demo county (20 cases with their mediators, court applications and rulings) is loaded
through the ledger first; the document is then loaded from the app (``/openapi.json`` over
ASGI, which starts the app's lifespan and so its projection worker; schemathesis' pytest
plugin ends the lifespan when the test ends). Every operation is exercised by stateless
property tests as each role below, in separate runs so one failure cannot hide another:

* ``valid``: requests that fit the document;
* ``invalid``: requests that do not (where the operation takes any input);
* ``real ids``: valid requests whose path names a demo case, confirmation or mediator, so the
  reads of one case reach real data rather than a 404;
* ``caught up``: valid reads whose ``min_position`` is the ledger's head (any other position
  is left to the ``valid`` run), so the figures and lists are explored past the wait.

Every response must not be a server error (``not_a_server_error``), must have a documented
status (``status_code_conformance``) and match the documented schema
(``response_schema_conformance``); for the roles that see masked personal data (county
center, oversight) it must hold no 18-digit ID number and no 11-digit mobile number in clear
(``no_personal_data_in_clear``), unless the number is an echo of the request itself (a
validation error quoting its input). A failing run is not shrunk (its first failing request
is reported as generated) and the other runs go on; the failures are reported together.

The run is bounded (a few examples per operation, run and role; no deadline) so that it takes
about a minute on a two-core machine, half that under ``pytest -n 2``.

How it is driven: each operation's ``as_strategy()`` under a plain ``@given``, one pytest test
per role. (``schemathesis.pytest.from_fixture`` fails under pytest 9.2, whose nodes have no
``_nodeid`` any more; and one app cannot serve several tests, because the plugin ends every
ASGI lifespan at each test's teardown, closing the app's view store.)

What the runs found is pinned by the plain tests at the end of the module, one request each.
"""

from __future__ import annotations

import io
import json
import re
import traceback
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from api.main import create_app
from domain.case import Case
from infrastructure.demo import demo_case_ids, load_demo
from infrastructure.settings import Settings
from tests.e2e.support import (
    COUNTY,
    COURT,
    GRID_WORKER,
    JWT_SECRET,
    OVERSIGHT,
    TOWNSHIP,
    VILLAGE,
    Api,
    Who,
    open_client,
)

ROLES: dict[str, Who] = {
    "township_center": TOWNSHIP,
    "county_center": COUNTY,
    "oversight": OVERSIGHT,
    "court": COURT,
    "grid_worker": GRID_WORKER,
}
MASKED_ROLES = {"county_center", "oversight"}
DEMO_CASES = 20
EXAMPLES = 4  # per operation, run and role
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

# Not next to a letter or digit, so pieces of UUIDs, hashes and signatures are no match.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")


class Known:
    """Ids of the demo data, for the ``real ids`` runs."""

    def __init__(self, app: FastAPI) -> None:
        ledger = app.state.services.ledger
        self.case_id = [str(cid) for cid in demo_case_ids(2026, DEMO_CASES)]
        cases: list[Case] = [ledger.get_case(cid) for cid in demo_case_ids(2026, DEMO_CASES)]
        self.confirmation_id = sorted({cid for case in cases for cid in case.confirmations})
        self.mediator_id = sorted({case.mediator_id for case in cases if case.mediator_id})
        self.party_id = ["p1", "p2"]
        self.head = int(ledger.recorder.max_notification_id() or 0)


@pytest.fixture
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The service with the demo county loaded (one per test: the ASGI lifespan ends with the test)."""
    settings = Settings(
        backend="memory",
        jwt_secret=JWT_SECRET,
        data_dir=tmp_path_factory.mktemp("schemathesis") / "data",
        log_level="WARNING",
        # A min_position the views never reach is refused after this wait (see the `valid` runs).
        read_wait_seconds=0.2,
    )
    app = create_app(settings)
    load_demo(app.state.services.ledger, cases=DEMO_CASES)
    yield app


@pytest.fixture
def api_schema(app: FastAPI) -> Any:
    """The app's OpenAPI document, loaded over ASGI (which starts the app's lifespan)."""
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _sent(response: schemathesis.Response) -> str:
    request = response.request
    body = request.body or b""
    return f"{request.url} {body.decode('utf-8', 'replace') if isinstance(body, bytes) else body}"


def readable(content: bytes) -> str:
    """The text of a body: JSON as it is, an Excel workbook (a zip) as the XML of its sheets."""
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as workbook:
            return " ".join(workbook.read(name).decode("utf-8", "replace") for name in workbook.namelist())
    return content.decode("utf-8", "replace")


ACCESS_LOG = "/api/v1/access-log"


def no_personal_data_in_clear(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any) -> None:
    """SPEC §10: personal data is masked in views for roles that do not need it.

    The access log quotes the path and query of every read by design (for oversight), and
    here those are the earlier generated requests with their random numbers: they are left out.
    """
    text = readable(response.content or b"")
    if case.operation.path == ACCESS_LOG and response.status_code == 200:
        items = json.loads(text)["items"]
        text = json.dumps([{k: v for k, v in item.items() if k not in ("path", "query")} for item in items])
    sent = _sent(response)
    leaked = sorted({m for pattern in (ID_NUMBER, MOBILE) for m in pattern.findall(text) if m not in sent})
    if leaked:
        raise AssertionError(f"personal numbers in clear for a masked role: {leaked}")


def _runs(operation: Any, known: Known) -> dict[str, st.SearchStrategy[schemathesis.Case]]:
    """The separate runs for one operation (see the module's docstring)."""
    runs = {"valid": operation.as_strategy(GenerationMode.POSITIVE)}
    takes_input = any(
        True for group in (operation.path_parameters, operation.query, operation.headers, operation.body) for _ in group
    )
    if takes_input:
        runs["invalid"] = operation.as_strategy(GenerationMode.NEGATIVE)
    caught_up = {"min_position": known.head} if any(p.name == "min_position" for p in operation.query) else None
    names = {p.name for p in operation.path_parameters}
    choices = {name: getattr(known, name) for name in names if getattr(known, name, None)}
    if choices and choices.keys() == names:
        runs["real ids"] = st.one_of(
            [
                operation.as_strategy(
                    GenerationMode.POSITIVE, path_parameters=dict(zip(choices, values, strict=True)), query=caught_up
                )
                for values in zip(*(ids[:3] for ids in choices.values()), strict=False)
            ]
        )
    if caught_up is not None:
        runs["caught up"] = operation.as_strategy(GenerationMode.POSITIVE, query=caught_up)
    return runs


def exercise(operation: Any, run: str, strategy: st.SearchStrategy[Any], token: str, masked: bool) -> str | None:
    """One property test of one operation; the failure report, if any."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def test(case: schemathesis.Case) -> None:
        headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call(headers=headers)
        extra = [no_personal_data_in_clear] if masked else []
        case.validate_response(response, checks=CHECKS, additional_checks=extra, headers=headers)

    try:
        test()
    except (Exception, BaseExceptionGroup) as exc:  # a check failed: keep the report, go on with the others
        # An exception the app raised (a 500 over HTTP) carries the request as a note ("Reproduce with").
        return f"{operation.label} [{run}]: " + "".join(traceback.format_exception_only(exc)).strip()
    return None


@pytest.mark.parametrize("role", list(ROLES))
def test_every_operation_as(api_schema: Any, app: FastAPI, role: str) -> None:
    """Every operation of the document as ``role``: no 5xx, documented status and schema; for the
    masked roles no personal number in clear."""
    who = ROLES[role]
    token = app.state.services.tokens.issue(
        user_id=who.user, role=who.role, unit=who.unit, jurisdiction=who.jurisdiction
    )
    known = Known(app)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40, "the document lost its operations"
    failures = [
        report
        for operation in operations
        for run, strategy in _runs(operation, known).items()
        if (report := exercise(operation, run, strategy, token, role in MASKED_ROLES)) is not None
    ]
    assert not failures, f"{len(failures)} runs failed as {role}:\n\n" + "\n\n".join(failures)


def test_masked_roles_see_no_personal_number_of_the_demo(app: FastAPI, api_schema: Any) -> None:
    """Deterministic complement of the custom check: every demo case, its audit trail and score,
    every confirmation record, the lists and reports, read by the masked roles, hold no ID number
    or mobile number in clear, while the township (which works with the parties) sees them."""
    from schemathesis.python.asgi import get_client

    known = Known(app)
    tokens = app.state.services.tokens
    paths = [
        "/api/v1/cases?limit=200",
        "/api/v1/court/confirmations?limit=200",
        "/api/v1/reports/monthly",
        "/api/v1/reports/monthly?format=xlsx",
        "/api/v1/access-log",
    ]
    for case_id in known.case_id:
        paths += [f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/events", f"/api/v1/cases/{case_id}/evaluation"]
    paths += [f"/api/v1/court/confirmations/{cid}" for cid in known.confirmation_id]
    with get_client(app) as client:
        township = tokens.issue(user_id="tw", role="township_center", unit="qingxi-center", jurisdiction="qingxi")
        seen = "".join(
            readable(client.get(path, headers={"Authorization": f"Bearer {township}"}).content) for path in paths
        )
        assert MOBILE.search(seen), "control: the township should see the parties' phone numbers"
        for role in sorted(MASKED_ROLES):
            who = ROLES[role]
            token = tokens.issue(user_id=who.user, role=who.role, unit=who.unit, jurisdiction=who.jurisdiction)
            leaks = {}
            for path in paths:
                response = client.get(path, headers={"Authorization": f"Bearer {token}"})
                assert response.status_code in (200, 403, 409), (role, path, response.status_code, response.text[:300])
                text = readable(response.content)
                found = ID_NUMBER.findall(text) + MOBILE.findall(text)
                if found:
                    leaks[path] = found
            assert not leaks, f"{role} sees personal numbers in clear: {leaks}"


# ---------------------------------------------------------------------------- what schemathesis found, pinned


@pytest.fixture
def short_wait(tmp_path: Path) -> Settings:
    """As the e2e default (``conftest.settings``), with a short read wait: a position is never reached here."""
    return Settings(
        backend="memory", jwt_secret=JWT_SECRET, data_dir=tmp_path / "data", log_level="WARNING", read_wait_seconds=0.5
    )


@pytest.fixture
def app_http(short_wait: Settings) -> Iterator[tuple[FastAPI, Api]]:
    """A plain app (no demo) over a ``TestClient``, its lifespan running."""
    app = create_app(short_wait)
    with open_client(app) as client:
        yield app, Api(app, client)


def documented(app: FastAPI, method: str, path: str) -> set[str]:
    statuses: set[str] = set(app.openapi()["paths"][path][method]["responses"])
    return statuses


@pytest.mark.parametrize("body", [b"\xff", b'{"note": "\xe4"}'], ids=["one byte", "latin-1 in a JSON string"])
def test_a_body_that_is_not_utf8_gets_a_documented_status(app_http: tuple[FastAPI, Api], body: bytes) -> None:
    """A command body that is not UTF-8 is refused like malformed JSON: 422, as documented.

    (Schemathesis' invalid runs of every POST operation: the answer is 400 ``bad-request``
    "There was an error parsing the body", a status no operation documents; malformed JSON
    such as ``{`` gets the documented 422.)"""
    app, api = app_http
    case_id = api.to("dispatched")
    headers = {**api.auth(VILLAGE), "Content-Type": "application/json"}
    malformed = api.client.post(f"/api/v1/cases/{case_id}/accept", content=b"{", headers=headers)
    assert malformed.status_code == 422, malformed.text  # control
    response = api.client.post(f"/api/v1/cases/{case_id}/accept", content=body, headers=headers)
    allowed = documented(app, "post", "/api/v1/cases/{case_id}/accept")
    assert str(response.status_code) in allowed, (
        f"{response.status_code} is not among {sorted(allowed)}: {response.text}"
    )


@pytest.mark.parametrize(
    "path", ["/api/v1/cases", "/api/v1/stats/overview", "/api/v1/reports/{kind}", "/api/v1/court/confirmations"]
)
def test_a_min_position_beyond_the_ledger_head_is_a_documented_client_error(
    app_http: tuple[FastAPI, Api], path: str
) -> None:
    """``min_position`` past the ledger's head names a write that has not happened: the read is refused
    at once with a documented 4xx, rather than held for ``read_wait_seconds`` and answered 503
    ``views-behind``, which no operation documents and which schemathesis counts as a server error."""
    app, api = app_http
    head = int(app.state.services.ledger.recorder.max_notification_id() or 0)
    response = api.client.get(path.format(kind="daily"), params={"min_position": head + 1000}, headers=api.auth(COUNTY))
    allowed = documented(app, "get", path)
    assert str(response.status_code) in allowed, (
        f"{response.status_code} is not among {sorted(allowed)}: {response.text}"
    )
    assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    ("path", "params", "who"),
    [
        pytest.param("/api/v1/integrity/inclusion", {"position": 2**63}, COUNTY, id="inclusion position"),
        pytest.param("/api/v1/access-log", {"before": 2**63}, OVERSIGHT, id="access-log before"),
    ],
)
def test_an_integer_too_large_for_the_database_is_a_client_error(
    app_http: tuple[FastAPI, Api], path: str, params: dict[str, int], who: Who
) -> None:
    """A query integer the schema accepts (no maximum) but SQLite cannot hold (≥ 2**63) is refused
    with a documented 4xx, not a 500 ``internal-error`` from ``OverflowError`` (schemathesis' valid
    runs of these operations)."""
    app, api = app_http
    api.register()
    assert api.client.post("/api/v1/integrity/checkpoints", headers=api.auth(OVERSIGHT)).status_code == 201
    response = api.client.get(path, params=params, headers=api.auth(who))
    allowed = documented(app, "get", path)
    assert response.status_code < 500, response.text
    assert str(response.status_code) in allowed, f"{response.status_code} is not among {sorted(allowed)}"
