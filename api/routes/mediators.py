"""Mediator endpoints: registration, qualification, complaints and findings."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from api.deps import ActorDep, CallerDep, LedgerDep, ReadLogged
from api.problems import PROBLEM_RESPONSES
from api.routes.replies import reply
from api.schemas import mediators as s
from api.schemas.common import CommandReply
from application.access import authorize_read

router = APIRouter(prefix="/api/v1/mediators", tags=["mediators 调解员"], responses=PROBLEM_RESPONSES)


@router.post("", status_code=201, response_model=CommandReply)
def register(body: s.RegisterMediator, ledger: LedgerDep, caller: CallerDep) -> Response:
    """Register a mediator."""
    return reply(ledger.register_mediator(caller, **body.model_dump()), status=201, id_field="mediator_id")


@router.get("/{mediator_id}", response_model=s.MediatorOut, dependencies=[ReadLogged])
def read(mediator_id: UUID, ledger: LedgerDep, actor: ActorDep) -> s.MediatorOut:
    """A mediator's qualification and complaints."""
    mediator = ledger.get_mediator(mediator_id)
    authorize_read(actor, mediator.jurisdiction)
    return s.MediatorOut(
        mediator_id=str(mediator.id),
        version=mediator.version,
        name=mediator.name,
        user_id=mediator.user_id,
        organisation=mediator.organisation,
        organisation_kind=mediator.organisation_kind,
        specialties=mediator.specialties,
        jurisdiction=mediator.jurisdiction,
        qualified=mediator.qualified,
        complaints=[
            {"complaint_id": cid, "ground": c["ground"], "lodged_at": c["lodged_at"].isoformat(), "valid": c["valid"]}
            for cid, c in mediator.complaints.items()
        ],
    )


@router.post("/{mediator_id}/qualification", response_model=CommandReply)
def qualify(mediator_id: UUID, body: s.Qualify, ledger: LedgerDep, caller: CallerDep) -> Response:
    """Record the joint examination that qualifies the mediator."""
    return reply(ledger.qualify_mediator(mediator_id, caller, **body.model_dump()), id_field="mediator_id")


@router.post("/{mediator_id}/complaints", response_model=CommandReply)
def complain(mediator_id: UUID, body: s.Complaint, ledger: LedgerDep, caller: CallerDep) -> Response:
    """Lodge a complaint on a statutory ground."""
    return reply(ledger.lodge_complaint(mediator_id, caller, **body.model_dump()), id_field="mediator_id")


@router.post("/{mediator_id}/complaints/{complaint_id}/finding", response_model=CommandReply)
def find(mediator_id: UUID, complaint_id: str, body: s.Finding, ledger: LedgerDep, caller: CallerDep) -> Response:
    """Find a complaint valid or invalid; the third valid one in 12 months ends the qualification."""
    return reply(
        ledger.find_complaint(mediator_id, caller, complaint_id=complaint_id, **body.model_dump()),
        id_field="mediator_id",
    )
