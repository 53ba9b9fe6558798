"""Scoring policies (一事一考评): adopt one with an effective date; list them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, Field

from api.deps import ActorDep, CallerDep, LedgerDep
from api.problems import PROBLEM_RESPONSES
from api.routes.replies import reply
from api.schemas.common import Command, CommandReply
from domain.scoring import POLICY_V1, policy_to_dict

router = APIRouter(prefix="/api/v1/policies", tags=["figures 统计"], responses=PROBLEM_RESPONSES)


class AdoptPolicy(Command):
    """A scoring policy and the date from which cases concluded are scored under it."""

    policy: dict[str, Any] = Field(
        description="Policy data as in GET /api/v1/policies (name required; missing keys take v1's values)",
        examples=[{"name": "v2", "reopen_penalty": 30}],
    )
    effective_from: AwareDatetime = Field(examples=["2027-01-01T00:00:00+08:00"])


@router.post("", status_code=201, response_model=CommandReply)
def adopt(body: AdoptPolicy, ledger: LedgerDep, caller: CallerDep) -> Response:
    """Adopt a scoring policy (an audited event); it never changes scores of earlier conclusions."""
    result = ledger.adopt_policy(caller, policy=body.policy, effective_from=body.effective_from)
    return reply(result, status=201, id_field="policy_book_id")


@router.get("")
def list_policies(ledger: LedgerDep, actor: ActorDep) -> list[dict[str, Any]]:
    """v1 and every adopted policy, with the date each took effect."""
    adopted = [
        {"effective_from": effective_from.isoformat(), **policy_to_dict(policy)}
        for effective_from, policy in ledger.policy_adoptions()
    ]
    return [{"effective_from": None, **policy_to_dict(POLICY_V1)}, *adopted]
