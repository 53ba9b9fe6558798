"""Integrity for auditors: signed checkpoints, inclusion and consistency proofs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import MAX_POSITION, ActorDep, MinPositionDep, ServicesDep
from api.problems import PROBLEM_RESPONSES
from domain.errors import NotPermitted
from domain.values import Role
from infrastructure.integrity.log import LOG_VIEW
from infrastructure.integrity.service import checkpoint_document

router = APIRouter(prefix="/api/v1/integrity", tags=["integrity 完整性"], responses=PROBLEM_RESPONSES)


@router.get("/checkpoints")
def checkpoints(
    services: ServicesDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """Signed tree heads (newest first) and the public key that verifies them."""
    signer = services.integrity.signer
    return {
        "algorithm": signer.algorithm,
        "key_id": signer.key_id,
        "public_key_pem": signer.public_key_pem(),
        "checkpoints": [checkpoint_document(c) for c in services.integrity.checkpoints(limit)],
    }


@router.post("/checkpoints", status_code=201)
def sign_checkpoint(services: ServicesDep, actor: ActorDep, at: MinPositionDep) -> dict[str, Any]:
    """Sign a checkpoint of the log now (administrators and oversight)."""
    if actor.role not in (Role.ADMIN, Role.OVERSIGHT):
        raise NotPermitted("only administrators and oversight take checkpoints on demand")
    services.await_views(at, (LOG_VIEW,))
    return checkpoint_document(services.integrity.checkpoint())


@router.get("/inclusion")
def inclusion(
    services: ServicesDep,
    actor: ActorDep,
    position: Annotated[int, Query(ge=1, le=MAX_POSITION, description="ledger position of the event")],
    tree_size: Annotated[
        int | None, Query(ge=1, le=MAX_POSITION, description="a checkpoint's size; default the newest")
    ] = None,
) -> dict[str, Any]:
    """Inclusion proof (RFC 9162 §2.1.3) of one event in a checkpoint's tree."""
    return services.integrity.inclusion(position, tree_size)


@router.get("/consistency")
def consistency(
    services: ServicesDep,
    actor: ActorDep,
    old_size: Annotated[int, Query(alias="from", ge=0, le=MAX_POSITION)],
    new_size: Annotated[int, Query(alias="to", ge=0, le=MAX_POSITION)],
) -> dict[str, Any]:
    """Consistency proof (RFC 9162 §2.1.4) that a later checkpoint's tree extends an earlier one."""
    return services.integrity.consistency(old_size, new_size)
