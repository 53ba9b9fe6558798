"""The court's side: posting a judicial-confirmation ruling."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import CallerDep, LedgerDep
from api.problems import PROBLEM_RESPONSES
from api.routes.replies import reply
from api.schemas.cases import RulingIn
from api.schemas.common import CommandReply

router = APIRouter(prefix="/api/v1/court", tags=["court 法院"], responses=PROBLEM_RESPONSES)


@router.post("/confirmations/{confirmation_id}/ruling", response_model=CommandReply)
def rule(confirmation_id: str, body: RulingIn, ledger: LedgerDep, caller: CallerDep) -> Response:
    """The addressed court posts its ruling: confirmed or rejected, with the ruling number."""
    result = ledger.rule_on_confirmation(confirmation_id, caller, **body.model_dump())
    return reply(result)
