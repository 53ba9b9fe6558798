"""The FastAPI application, built from settings (or a ready ledger, in tests)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.deps import IDEMPOTENCY_KEY_LIMIT, Services
from api.middleware import RequestContextMiddleware
from api.problems import install_problem_handlers
from api.routes import (
    cases,
    court,
    integrity,
    mediation,
    mediators,
    ops,
    oversight,
    parties,
    policies,
    reports,
    stats,
)
from api.schemas.common import Problem
from api.security import TokenService
from application.ledger import CaseLedger
from infrastructure.bootstrap import build_integrity, build_ledger, build_views, organisation_data
from infrastructure.logs import configure_logging
from infrastructure.settings import Settings
from infrastructure.views.queries import ViewQueries
from infrastructure.worker import ProjectionWorker

DESCRIPTION = """
矛盾纠纷多元化解案件台账 — every step of a dispute case (制单 派单 接单 做单 评单 考单) is an
immutable event; state and deadlines are derived from the events. Errors are RFC 9457 problem
details. Commands accept `If-Match` (the version) and `Idempotency-Key`.
"""


COMMAND_HEADERS = [
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Repeat a command safely: the same key replays the first response and records nothing again.",
        "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_LIMIT},
    },
    {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": 'The version the command expects, e.g. "3" (optimistic concurrency; stale → 412).',
        "schema": {"type": "string"},
    },
]


READ_REASON_HEADER = {
    "name": "X-Access-Reason",
    "in": "header",
    "required": False,
    "description": "Why this read is made (percent-encoded UTF-8); kept in the access log with the read.",
    "schema": {"type": "string"},
}


def document_request_headers(schema: dict[str, Any]) -> None:
    """The bearer scheme on every API operation and the command headers on every command.

    The dependencies read these from the request directly (see ``api.deps``), so they are
    declared here, in one place, for readers of the document.
    """
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "`caseledger token ...`"}
    }
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            operation["security"] = [{"bearer": []}]
            if method == "post":
                operation.setdefault("parameters", []).extend(COMMAND_HEADERS)
            elif method == "get":
                operation.setdefault("parameters", []).append(READ_REASON_HEADER)


def create_app(settings: Settings | None = None, *, ledger: CaseLedger | None = None) -> FastAPI:
    """The service; ``ledger`` lets tests share one in-memory store."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    the_ledger = ledger or build_ledger(settings)
    views = build_views(settings)
    checkpoints = build_integrity(settings, views)
    services = Services(
        settings=settings,
        ledger=the_ledger,
        tokens=TokenService(settings),
        organisation=organisation_data(settings.org_file),
        views=views,
        queries=ViewQueries(views.db),
        worker=ProjectionWorker(
            the_ledger,
            views,
            log=checkpoints.log,
            signer=checkpoints.checkpoint,
            checkpoint_every=settings.checkpoint_interval_seconds,
        ),
        integrity=checkpoints,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        thread = None
        if settings.runs_embedded_worker():
            the_ledger.saved_listeners.append(services.worker.wake)
            thread = threading.Thread(target=services.worker.run_forever, name="projection-worker", daemon=True)
            thread.start()
        try:
            yield
        finally:
            services.worker.stop()
            services.read_log.shutdown()
            if thread is not None:
                thread.join(timeout=10)
            views.db.close()
            if ledger is None:
                the_ledger.close()

    app = FastAPI(
        title="caseledger 矛盾纠纷案件台账",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.services = services
    install_problem_handlers(app)
    for module in (cases, mediation, parties, court, mediators, stats, policies, reports, oversight, integrity, ops):
        app.include_router(module.router)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
            document_request_headers(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
