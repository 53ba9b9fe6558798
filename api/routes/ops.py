"""Operations and reference data: health, readiness, organisation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import ActorDep, ServicesDep
from api.problems import PROBLEM_RESPONSES, problem

router = APIRouter(tags=["operations 运维"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", response_model=None)
def ready(request: Request, services: ServicesDep) -> dict[str, Any] | JSONResponse:
    """The event store answers; reports the ledger's head position."""
    try:
        head = services.ledger.recorder.max_notification_id()
    except Exception as exc:  # readiness must answer 503, whatever broke
        return problem(request, 503, "unavailable", "服务暂不可用", f"event store unreachable: {type(exc).__name__}")
    views = services.worker.lag()
    return {
        "status": "ready",
        "backend": services.settings.backend,
        "ledger_position": head or 0,
        "views": views,
        "embedded_worker": services.settings.runs_embedded_worker(),
    }


@router.get("/api/v1/org", tags=["organisation 组织"], responses=PROBLEM_RESPONSES)
def organisation(services: ServicesDep, actor: ActorDep) -> dict[str, Any]:
    """The jurisdiction tree and the units (operator-provided; the demo county is bundled)."""
    return services.organisation
