"""Mediation endpoints (SPEC §3): notice, appraisal, sessions, facts, proposals, outcome."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from api.deps import CallerDep, LedgerDep
from api.problems import PROBLEM_RESPONSES
from api.routes.replies import reply
from api.schemas import cases as s
from api.schemas.common import CommandReply

router = APIRouter(prefix="/api/v1/cases/{case_id}/mediation", tags=["mediation 调解"], responses=PROBLEM_RESPONSES)


@router.post("/mediator-choice", response_model=CommandReply)
def choose_mediator(case_id: UUID, body: s.ChooseMediator, ledger: LedgerDep, caller: CallerDep) -> Response:
    """Parties choose a qualified mediator."""
    return reply(ledger.choose_mediator(case_id, caller, **body.model_dump()))


@router.post("/notice", response_model=CommandReply)
def notice(case_id: UUID, body: s.Notice, ledger: LedgerDep, caller: CallerDep) -> Response:
    """告知: notify parties of their rights and duties."""
    return reply(ledger.notify_rights(case_id, caller, **body.model_dump()))


@router.post("/appraisal", response_model=CommandReply)
def appraisal(case_id: UUID, body: s.Appraisal, ledger: LedgerDep, caller: CallerDep) -> Response:
    """Request a technical appraisal, or record its conclusion (when ``conclusion`` is given)."""
    if body.conclusion:
        return reply(
            ledger.complete_appraisal(
                case_id,
                caller,
                appraisal_id=body.appraisal_id,
                conclusion=body.conclusion,
                occurred_at=body.occurred_at,
            )
        )
    return reply(
        ledger.request_appraisal(
            case_id,
            caller,
            appraisal_id=body.appraisal_id,
            matter=body.matter,
            institution=body.institution,
            occurred_at=body.occurred_at,
        )
    )


@router.post("/sessions", response_model=CommandReply)
def session(case_id: UUID, body: s.Session, ledger: LedgerDep, caller: CallerDep) -> Response:
    """A mediation session."""
    return reply(ledger.hold_session(case_id, caller, **body.model_dump()))


@router.post("/undisputed-facts", response_model=CommandReply)
def undisputed_facts(case_id: UUID, body: s.UndisputedFacts, ledger: LedgerDep, caller: CallerDep) -> Response:
    """无争议事实记载, with every party's consent."""
    return reply(ledger.record_undisputed_facts(case_id, caller, **body.model_dump()))


@router.post("/proposal", response_model=CommandReply)
def proposal(case_id: UUID, body: s.Proposal, ledger: LedgerDep, caller: CallerDep) -> Response:
    """无异议调解方案: issue a proposal."""
    return reply(ledger.issue_proposal(case_id, caller, **body.model_dump()))


@router.post("/proposal-response", response_model=CommandReply)
def proposal_response(case_id: UUID, body: s.ProposalAnswer, ledger: LedgerDep, caller: CallerDep) -> Response:
    """A party accepts or objects (objections only within the period)."""
    return reply(ledger.respond_to_proposal(case_id, caller, **body.model_dump()))


@router.post("/agreement", response_model=CommandReply)
def agreement(case_id: UUID, body: s.Agreement, ledger: LedgerDep, caller: CallerDep) -> Response:
    """调解协议: terms, money owed, performance deadline."""
    data = body.model_dump()
    data["amount"] = f"{body.amount:.2f}"
    return reply(ledger.reach_agreement(case_id, caller, **data))


@router.post("/failure", response_model=CommandReply)
def failure(case_id: UUID, body: s.Failure, ledger: LedgerDep, caller: CallerDep) -> Response:
    """调解不成: advice given and filing with the county center."""
    return reply(ledger.fail_mediation(case_id, caller, **body.model_dump()))
