"""Request dependencies as ``Annotated`` aliases: the ledger, the actor, the caller."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import AuthenticationError, ViewsBehindError
from api.security import TokenService
from application.ledger import Caller, CaseLedger
from application.projections.projector import VIEWS
from domain.errors import InvalidCommand
from domain.values import Actor
from infrastructure.settings import Settings
from infrastructure.views.queries import ViewQueries
from infrastructure.views.store import ViewStore
from infrastructure.worker import ProjectionWorker, wait_for_position


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

    def await_views(self, position: int | None, views: tuple[str, ...] = VIEWS, wait: float | None = None) -> None:
        """Read your writes: hold a read until the views have reached ``position`` (bounded)."""
        if position is None or position <= 0:
            return
        timeout = self.settings.read_wait_seconds if wait is None else wait
        if not wait_for_position(self.views, views, position, timeout):
            raise ViewsBehindError(
                f"the views have not reached position {position} within {timeout:g} s; retry shortly",
                position=position,
            )


# Dependencies that never block are ``async def``: FastAPI runs a plain ``def`` dependency
# in a worker thread, and those hops cost more than the work on the hot write path.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_ledger(services: Annotated[Services, Depends(get_services)]) -> CaseLedger:
    return services.ledger


_bearer = HTTPBearer(auto_error=False, description="caseledger token (`caseledger token ...`)")


async def get_actor(
    services: Annotated[Services, Depends(get_services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("a bearer token is required")
    return services.tokens.verify(credentials.credentials)


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise InvalidCommand('If-Match must be the case\'s version, e.g. "3"', field="If-Match")
    return int(value)


async def get_caller(
    request: Request,
    actor: Annotated[Actor, Depends(get_actor)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=128,
            description="Repeat a command safely: the same key replays the first response.",
        ),
    ] = None,
    if_match: Annotated[
        str | None, Header(alias="If-Match", description="The version the command expects (optimistic concurrency).")
    ] = None,
) -> Caller:
    body = await request.body()
    request_hash = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + body).hexdigest()
    return Caller(
        actor=actor,
        request_id=getattr(request.state, "request_id", ""),
        idempotency_key=idempotency_key or "",
        request_hash=request_hash,
        expected_version=_expected_version(if_match),
    )


LedgerDep = Annotated[CaseLedger, Depends(get_ledger)]
ActorDep = Annotated[Actor, Depends(get_actor)]
CallerDep = Annotated[Caller, Depends(get_caller)]
ServicesDep = Annotated[Services, Depends(get_services)]


async def min_position(
    min_position: Annotated[
        int | None,
        Query(ge=0, description="Wait (bounded) until the views include this ledger position (read your writes)"),
    ] = None,
) -> int | None:
    return min_position


MinPositionDep = Annotated[int | None, Depends(min_position)]
