"""Command bodies for the case lifecycle (SPEC §2) and mediation (SPEC §3)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas.common import Command
from domain.values import (
    Category,
    Channel,
    ChoiceMethod,
    Difficulty,
    EscalationKind,
    FailureAdvice,
    Outcome,
    Performance,
    ProposalResponse,
    RatingMethod,
    ReviewResult,
    RiskColor,
    Ruling,
    Satisfaction,
)


class PartyIn(BaseModel):
    """A party to the dispute (personal fields are masked in views)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    party_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", examples=["p1"])
    name: str = Field(min_length=1, max_length=100, examples=["张三"])
    kind: Literal["applicant", "respondent", "third_party"] = "applicant"
    phone: str = Field("", max_length=20, pattern=r"^[0-9+\- ]*$", examples=["13800138000"])
    id_number: str = Field("", max_length=18, pattern=r"^([0-9]{17}[0-9Xx])?$", examples=["110101199003074514"])
    address: str = Field("", max_length=200)


class RegisterCase(Command):
    """制单."""

    channel: Channel = Field(examples=["hotline_12345"])
    category: Category = Field(examples=["neighbour"])
    summary: str = Field(
        min_length=1,
        max_length=4000,
        examples=["楼上漏水致楼下天花板受损，双方就赔偿发生争执"],
        description="Parties' names, phones, ID numbers and addresses written here are recorded as references "
        "to the parties (as in every free-text field); ⟦ and ⟧ are refused",
    )
    jurisdiction: str = Field(
        min_length=1,
        max_length=300,
        description="county/township/village/grid codes",
        examples=["qingxi/chengguan/dongguan/grid-01"],
    )
    parties: list[PartyIn] = Field(min_length=1, max_length=50)
    risk_color: RiskColor = RiskColor.GREEN
    difficulty: Difficulty = Difficulty.ORDINARY
    external_ref: str = Field("", max_length=100, description="e.g. the 12345 ticket number")


class Grade(Command):
    """研判: re-grade with a reason."""

    risk_color: RiskColor
    difficulty: Difficulty
    reason: str = Field(min_length=1, max_length=4000)


class Dispatch(Command):
    """派单."""

    unit: str = Field(min_length=1, max_length=100, examples=["chengguan-dongguan"])
    note: str = Field("", max_length=4000)


class Accept(Command):
    """接单."""


class Return(Command):
    """退单."""

    reason: str = Field(min_length=1, max_length=4000)


class Assign(Command):
    """Name a grid worker (handler_id) or a qualified mediator (mediator_id)."""

    handler_kind: Literal["grid_worker", "mediator", "unit"]
    handler_id: str = Field("", max_length=100, examples=["gw-001"])
    handler_name: str = Field("", max_length=100)
    mediator_id: str = Field("", max_length=64)


class Progress(Command):
    """做单 note."""

    note: str = Field(min_length=1, max_length=4000)


class Escalate(Command):
    """吹哨 / 联席会 / mediation committee."""

    kind: EscalationKind
    to: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)


class Transfer(Command):
    """转办单."""

    to_unit: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=4000)


class Extend(Command):
    """Township-approved extension."""

    extra_days: int = Field(ge=1, le=60)
    reason: str = Field(min_length=1, max_length=4000)


class Conclude(Command):
    """办结."""

    outcome: Outcome
    referred_to: str = Field("", max_length=200)
    note: str = Field("", max_length=4000)


class Rate(Command):
    """评单."""

    party_id: str = Field(min_length=1, max_length=64)
    satisfaction: Satisfaction
    method: RatingMethod
    comment: str = Field("", max_length=1000)


class Review(Command):
    """复核."""

    result: ReviewResult
    note: str = Field("", max_length=4000)


class Reopen(Command):
    """Reopen after a dissatisfied rating."""

    reason: str = Field(min_length=1, max_length=4000)


class PerformanceIn(Command):
    """履行情况."""

    performance: Performance
    note: str = Field("", max_length=4000)


class FollowUp(Command):
    """回访."""

    method: RatingMethod
    note: str = Field(min_length=1, max_length=4000)


class Correction(Command):
    """更正: name the position (case version) of the entry and the corrected values."""

    position: int = Field(ge=1)
    corrected: dict[str, Any] = Field(min_length=1, examples=[{"summary": "更正后的纠纷简述"}])
    reason: str = Field(min_length=1, max_length=4000)


class ChooseMediator(Command):
    """Parties choose a qualified mediator (书面/现场/网络申请)."""

    mediator_id: str = Field(min_length=1, max_length=64)
    method: ChoiceMethod
    chosen_by: list[str] = Field(min_length=1)


class Notice(Command):
    """告知权利义务."""

    party_ids: list[str] = Field(min_length=1)
    notes: str = Field("", max_length=4000)


class Appraisal(Command):
    """Request (no conclusion) or complete (with conclusion) a technical appraisal."""

    appraisal_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    matter: str = Field("", max_length=4000)
    institution: str = Field("", max_length=200)
    conclusion: str = Field("", max_length=4000)


class Session(Command):
    """A mediation session."""

    on_site: bool = True
    attendees: list[str] = Field(default_factory=list, max_length=50)
    notes: str = Field(min_length=1, max_length=4000)


class UndisputedFacts(Command):
    """无争议事实记载."""

    facts: str = Field(min_length=1, max_length=4000)
    consenting_party_ids: list[str] = Field(min_length=1)


class Proposal(Command):
    """无异议调解方案."""

    proposal_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    terms: str = Field(min_length=1, max_length=4000)


class ProposalAnswer(Command):
    """A party's answer to a proposal."""

    proposal_id: str = Field(min_length=1, max_length=64)
    party_id: str = Field(min_length=1, max_length=64)
    response: ProposalResponse
    reason: str = Field("", max_length=4000)


class Agreement(Command):
    """调解协议."""

    terms: str = Field(min_length=1, max_length=4000)
    amount: Decimal = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2, examples=["3500.00"])
    debtor_party_id: str = Field("", max_length=64)
    creditor_party_id: str = Field("", max_length=64)
    performance_due: str = Field("", pattern=r"^(\d{4}-\d{2}-\d{2})?$", examples=["2026-12-31"])
    effective_on: str = Field(
        "",
        pattern=r"^(\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z))?)?$",
        description="When the agreement took effect (all signed): a date (that day, China time) or a time with "
        "an offset; defaults to occurred_at",
        examples=["2026-11-20"],
    )

    @field_validator("effective_on")
    @classmethod
    def _utc_z(cls, value: str) -> str:
        return value.replace("Z", "+00:00")


class Failure(Command):
    """调解不成."""

    advice: list[FailureAdvice] = Field(min_length=1)
    filed_with: str = Field(min_length=1, max_length=200, examples=["qingxi-center"])
    note: str = Field("", max_length=4000)


class ConfirmationApplication(Command):
    """司法确认申请 (joint)."""

    court: str = Field(min_length=1, max_length=100, examples=["qingxi-court"])
    applicant_party_ids: list[str] = Field(min_length=1)


class RulingIn(Command):
    """The court's ruling."""

    ruling: Ruling
    ruling_number: str = Field(min_length=1, max_length=100, examples=["(2026)湘0101民特12号"])
    note: str = Field("", max_length=4000)


class PaymentOrder(Command):
    """支付令申请."""

    court: str = Field(min_length=1, max_length=100)
    creditor_party_id: str = Field(min_length=1, max_length=64)


class ErasureRequest(Command):
    """Ask that a party's personal data be erased (its key destroyed once a second official approves)."""

    reason: str = Field(min_length=1, max_length=1000, examples=["当事人依法申请删除个人信息"])


class ErasureApproval(Command):
    """A second township or county center official approves a pending erasure."""
