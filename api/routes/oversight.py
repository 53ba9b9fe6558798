"""Oversight (纪检监察): the access log — every read of case data, who, what, when, why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import MAX_POSITION, ActorDep, MinPositionDep, ReadLogged, ServicesDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.reads import local
from domain.errors import NotPermitted
from domain.values import Role

router = APIRouter(prefix="/api/v1", tags=["oversight 监督"], responses=PROBLEM_RESPONSES)


class AccessEntry(BaseModel):
    position: int = Field(description="Ledger position of the access record (covered by the integrity proofs)")
    user_id: str
    role: str
    unit: str
    method: str
    path: str
    query: str
    reason: str
    occurred_at: str
    request_id: str


class AccessPage(BaseModel):
    items: list[AccessEntry]
    next_before: int | None = Field(description="Pass as ?before= for older entries; null at the start")


@router.get("/access-log", response_model=AccessPage, dependencies=[ReadLogged])
def access_log(
    services: ServicesDep,
    actor: ActorDep,
    at: MinPositionDep,
    user: Annotated[str | None, Query(max_length=100)] = None,
    path: Annotated[str | None, Query(max_length=300, description="entries whose path starts with this")] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_POSITION)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AccessPage:
    """Who read which case data, when and why; newest first. Oversight only."""
    if actor.role != Role.OVERSIGHT:
        raise NotPermitted("only oversight reads the access log")
    services.await_views(at, ("access",))
    rows = services.queries.access_log(user_id=user, path_prefix=path, limit=limit, before=before)
    items = [AccessEntry(**{**row, "occurred_at": local(row["occurred_at"]) or ""}) for row in rows]
    return AccessPage(items=items, next_before=items[-1].position if len(items) == limit else None)
