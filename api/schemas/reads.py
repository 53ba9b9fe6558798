"""Bodies of the read side: case list, evaluation, figures, rankings, court records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.case_view import HandlerOut, PartyOut, cst
from application.privacy import render
from domain.case import Status
from domain.values import CATEGORY_LABELS, CHANNEL_LABELS, Category, Channel


def local(value: str | None) -> str | None:
    """A stored UTC time shown in China Standard Time."""
    return cst(datetime.fromisoformat(value)) if value else None


class CaseListItem(BaseModel):
    case_id: str
    version: int
    position: int = Field(description="Ledger position of the case's latest event")
    status: str
    status_label: str
    risk_color: str
    difficulty: str
    category: str
    category_label: str
    channel: str
    channel_label: str
    jurisdiction: str
    township: str | None
    village: str | None
    grid: str | None
    unit: str
    accepted_unit: str
    handler: HandlerOut | None
    summary: str = Field(description="References to parties read as labels here, e.g. [当事人p1], [当事人p1电话]")
    external_ref: str
    registered_at: str
    concluded_at: str | None
    closed_at: str | None
    next_due_at: str | None = Field(description="Earliest deadline still running")
    next_due_kind: str | None
    overdue: bool = Field(description="A required deadline has passed with its step not done")
    provisional: bool
    missed_steps: int
    score: float | None
    grade: str | None
    county_flagged: bool


class CasePage(BaseModel):
    items: list[CaseListItem]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last")
    views_position: int = Field(description="Ledger position the list reflects")


def case_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A case row of the view as the fields of a ``CaseListItem``.

    A page validates its items' fields in one pass (``case_page``): building each item's
    model on its own costs more than the rest of turning a row into JSON.
    """
    return {
        "case_id": row["case_id"],
        "version": row["version"],
        "position": row["position"],
        "status": row["status"],
        "status_label": Status.LABELS[row["status"]],
        "risk_color": row["risk_color"],
        "difficulty": row["difficulty"],
        "category": row["category"],
        "category_label": CATEGORY_LABELS[Category(row["category"])],
        "channel": row["channel"],
        "channel_label": CHANNEL_LABELS[Channel(row["channel"])],
        "jurisdiction": row["jurisdiction"],
        "township": row["township"],
        "village": row["village"],
        "grid": row["grid"],
        "unit": row["unit"],
        "accepted_unit": row["accepted_unit"],
        "handler": (
            {"id": row["handler_id"], "kind": row["handler_kind"], "name": row["handler_name"]}
            if row["handler_id"]
            else None
        ),
        # References to parties read as labels: a list does not decrypt each case's parties.
        "summary": render(row["summary"]),
        "external_ref": row["external_ref"],
        "registered_at": local(row["registered_at"]) or "",
        "concluded_at": local(row["concluded_at"]),
        "closed_at": local(row["closed_at"]),
        "next_due_at": local(row["next_due_at"]),
        "next_due_kind": row["next_due_kind"],
        "overdue": row["overdue"],
        "provisional": bool(row["provisional"]),
        "missed_steps": row["missed_steps"],
        "score": row["score"],
        "grade": row["grade"],
        "county_flagged": bool(row["county_flagged"]),
    }


def case_item(row: dict[str, Any]) -> CaseListItem:
    """One case row of the view as a list item."""
    return CaseListItem.model_validate(case_fields(row))


def case_page(rows: list[dict[str, Any]], next_cursor: str | None, views_position: int) -> CasePage:
    """A page of the case list from its view rows."""
    return CasePage.model_validate(
        {"items": [case_fields(row) for row in rows], "next_cursor": next_cursor, "views_position": views_position}
    )


class ContributionOut(BaseModel):
    component: str = Field(examples=["timeliness"])
    points: float
    code: str = Field(examples=["late_step_dispatch"])
    label: str = Field(examples=["派单超时"])
    versions: list[int] = Field(description="Case versions of the events behind this contribution")
    positions: list[int] = Field(description="Ledger positions of those events")


class EvaluationOut(BaseModel):
    """一事一考评: the score of a concluded case and every contribution to it."""

    case_id: str
    policy: str
    recorded: bool = Field(description="False for a what-if re-score under ?policy=, which records nothing")
    score: float
    grade: str
    grade_code: str
    satisfaction: float
    timeliness: float
    effect: float
    unrated: bool
    contributions: list[ContributionOut]


class FiguresOut(BaseModel):
    """SPEC §5 roll-up of one group for a period."""

    key: str | None
    label: str | None = None
    registered: int = Field(description="排查纠纷: cases registered in the period")
    registered_concluded: int = Field(description="of those, concluded by the end of the reading")
    concluded: int = Field(description="cases concluded in the period")
    mediated: int = Field(description="调解纠纷: mediation ended (agreement or failure) in the period")
    mediated_successfully: int = Field(description="调解成功: agreement reached")
    on_time: int
    ratings: int
    ratings_satisfied: int
    scored: int
    overdue_now: int
    open_now: int
    success_rate: float | None = Field(description="调解成功率 = mediated successfully ÷ mediated")
    completion_rate: float | None = Field(description="办结率 = registered and concluded ÷ registered")
    on_time_rate: float | None = Field(description="concluded with every step on time ÷ concluded")
    satisfaction_rate: float | None = Field(description="满意率 = satisfied ratings ÷ all ratings")
    mean_score: float | None
    rank: int | None = None


class OverviewOut(BaseModel):
    period: dict[str, str]
    as_of: str | None
    group: str
    totals: FiguresOut
    groups: list[FiguresOut]
    views_position: int


class CourtRecordOut(BaseModel):
    """A mediation agreement submitted for judicial confirmation (司法确认)."""

    confirmation_id: str
    case_id: str
    court: str
    status: str = Field(description="pending, confirmed or rejected")
    applied_at: str | None
    window_due_at: str | None = Field(description="End of the 30 days from the agreement taking effect")
    ruled_at: str | None
    ruling_number: str
    agreement: dict[str, Any]
    parties: list[PartyOut]
    mediator: dict[str, Any]
    jurisdiction: str


class CourtPage(BaseModel):
    items: list[CourtRecordOut]
    next_cursor: str | None
    views_position: int


def evaluation_out(
    case_id: str, data: dict[str, Any], *, recorded: bool, positions: dict[int, int] | None = None
) -> EvaluationOut:
    """An evaluation document, its contributions pointed at ledger positions."""
    contributions = [
        ContributionOut(
            component=c["component"],
            points=c["points"],
            code=c["code"],
            label=c["label"],
            versions=c["versions"],
            positions=c.get("positions") or [positions[v] for v in c["versions"] if positions and v in positions],
        )
        for c in data["contributions"]
    ]
    return EvaluationOut(
        case_id=case_id,
        policy=data["policy"],
        recorded=recorded,
        score=data["score"],
        grade=data["grade"],
        grade_code=data["grade_code"],
        satisfaction=data["satisfaction"],
        timeliness=data["timeliness"],
        effect=data["effect"],
        unrated=data["unrated"],
        contributions=contributions,
    )
