"""Erasure of a party's personal data (PIPL; SPEC §10): requested by one official, approved by another.

The erasure destroys the party's data key (crypto-shredding): the events stay as recorded,
so the hash chain and the Merkle proofs still verify, and every read of the party's fields
shows ``[已删除]``. Statutory retention (restricting instead of erasing while a law requires
keeping the data) is decided by the officials before they ask; it is not modelled here.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Path, Response

from api.deps import CallerDep, LedgerDep
from api.problems import PROBLEM_RESPONSES
from api.routes.replies import reply
from api.schemas.cases import ErasureApproval, ErasureRequest
from api.schemas.common import CommandReply

router = APIRouter(
    prefix="/api/v1/cases/{case_id}/parties/{party_id}", tags=["privacy 个人信息"], responses=PROBLEM_RESPONSES
)

PartyId = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


@router.post("/erasure", response_model=CommandReply)
def request_erasure(
    case_id: UUID, body: ErasureRequest, ledger: LedgerDep, caller: CallerDep, party_id: str = PartyId
) -> Response:
    """Request the erasure of a party's personal data (township or county center; PartyErasureRequested)."""
    return reply(ledger.request_party_erasure(case_id, caller, party_id=party_id, **body.model_dump()))


@router.post("/erasure/approval", response_model=CommandReply)
def approve_erasure(
    case_id: UUID, body: ErasureApproval, ledger: LedgerDep, caller: CallerDep, party_id: str = PartyId
) -> Response:
    """Approve a pending erasure: a different official; the party's key is destroyed (PartyErased)."""
    return reply(ledger.approve_party_erasure(case_id, caller, party_id=party_id, **body.model_dump()))
