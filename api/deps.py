"""Request dependencies as ``Annotated`` aliases: the ledger, the actor, the caller."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any
from urllib.parse import unquote

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import Depends, Query, Request

from api.privacy import redacted_query
from api.problems import AuthenticationError, ReadNotLoggedError, ViewsBehindError
from api.security import TokenService
from application.ledger import Caller, CaseLedger
from application.projections.projector import VIEWS
from domain.errors import InvalidCommand
from domain.values import Actor
from infrastructure.integrity.service import IntegrityService
from infrastructure.settings import Settings
from infrastructure.views.queries import ViewQueries
from infrastructure.views.store import ViewStore
from infrastructure.worker import ProjectionWorker, wait_for_position

IDEMPOTENCY_KEY_LIMIT = 128
# Ledger positions are 64-bit in every store; larger numbers cannot name anything.
MAX_POSITION = 2**62
# As many as the worker threads that run plain ``def`` routes (anyio's default limit).
READ_LOG_THREADS = 40


@dataclass
class Services:
    """What the app was built with; one per process, on ``app.state.services``."""

    settings: Settings
    ledger: CaseLedger
    tokens: TokenService
    organisation: dict[str, Any]
    views: ViewStore
    queries: ViewQueries
    worker: ProjectionWorker
    integrity: IntegrityService
    # The threads that write access records beside the reads they log (``record_read``):
    # as many as reads may run at once, so that concurrent records meet in the group
    # commit, which batches them, rather than queueing here one by one.
    read_log: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=READ_LOG_THREADS, thread_name_prefix="read-log")
    )

    def await_views(self, position: int | None, views: tuple[str, ...] = VIEWS, wait: float | None = None) -> None:
        """Read your writes: hold a read until the views have reached ``position`` (bounded)."""
        if position is None or position <= 0:
            return
        head = self.ledger.recorder.max_notification_id() or 0
        if position > head:
            raise InvalidCommand(
                f"min_position {position} is past the ledger's last position {head}", field="min_position"
            )
        timeout = self.settings.read_wait_seconds if wait is None else wait
        if not wait_for_position(self.views, views, position, timeout):
            raise ViewsBehindError(
                f"the views have not reached position {position} within {timeout:g} s; retry shortly",
                position=position,
            )


# The dependencies of the hot write path read the request directly and are ``async def``:
# FastAPI runs a plain ``def`` dependency in a worker thread, and resolving nested
# dependencies and header parameters costs more than the command itself. The headers and
# the bearer scheme they read are documented in the OpenAPI document by ``api.main``.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_ledger(request: Request) -> CaseLedger:
    services: Services = request.app.state.services
    return services.ledger


async def get_actor(request: Request) -> Actor:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("a bearer token is required")
    services: Services = request.app.state.services
    return services.tokens.verify(token.strip())


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    # ``isdigit`` alone admits digits such as "³" that ``int`` refuses.
    if not (value.isascii() and value.isdigit()):
        raise InvalidCommand('If-Match must be the case\'s version, e.g. "3"', field="If-Match")
    return int(value)


async def get_caller(request: Request, actor: Annotated[Actor, Depends(get_actor)]) -> Caller:
    key = request.headers.get("idempotency-key", "")
    if len(key) > IDEMPOTENCY_KEY_LIMIT:
        raise InvalidCommand(
            f"Idempotency-Key is longer than {IDEMPOTENCY_KEY_LIMIT} characters", field="Idempotency-Key"
        )
    body = await request.body()
    request_hash = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + body).hexdigest()
    return Caller(
        actor=actor,
        request_id=getattr(request.state, "request_id", ""),
        idempotency_key=key,
        request_hash=request_hash,
        expected_version=_expected_version(request.headers.get("if-match")),
    )


LedgerDep = Annotated[CaseLedger, Depends(get_ledger)]
ActorDep = Annotated[Actor, Depends(get_actor)]
CallerDep = Annotated[Caller, Depends(get_caller)]
ServicesDep = Annotated[Services, Depends(get_services)]


async def min_position(
    min_position: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_POSITION,
            description="Wait (bounded) until the views include this ledger position (read your writes)",
        ),
    ] = None,
) -> int | None:
    return min_position


MinPositionDep = Annotated[int | None, Depends(min_position)]


def _log_read(
    services: Services, actor: Actor, request_id: str, method: str, path: str, query: str, reason: str
) -> int:
    return services.ledger.record_read(
        actor,
        request_id=request_id,
        method=method,
        path=path,
        # Never a party's ID number or phone in clear: the access log is stored for good.
        query=redacted_query(services.ledger, query),
        reason=reason,
    )


async def record_read(request: Request, actor: Annotated[Actor, Depends(get_actor)]) -> AsyncIterator[None]:
    """Log this read of case data in the ledger while it is served; if that fails, refuse it.

    The record is written in a worker thread while the route runs, and the route's response
    waits for its commit (``ReadLogged`` is function-scoped: this runs on past the ``yield``
    once the response is built, before it is sent). A read costs the longer of the two, not
    their sum, and no data leaves unless its record is committed. A refused read (403, 404,
    422) is recorded all the same. The reason comes from ``X-Access-Reason``
    (percent-encoded, since headers carry no Chinese).
    """
    services: Services = request.app.state.services
    write = partial(
        _log_read,
        services,
        actor,
        getattr(request.state, "request_id", ""),
        request.method,
        request.url.path,
        request.url.query,
        unquote(request.headers.get("x-access-reason", "")),
    )
    # Handed to a thread at once, not as a task that starts at the event loop's next turn.
    pending = asyncio.wrap_future(services.read_log.submit(write))
    try:
        yield
    finally:
        try:
            await pending
        except (OperationalError, InterfaceError) as exc:
            raise ReadNotLoggedError("the read could not be logged, so it is refused; retry shortly") from exc


ReadLogged = Depends(record_read, scope="function")
