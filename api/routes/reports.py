"""The county center's reports: 日分析, 周综述, 月报告 as JSON or an Excel workbook (SPEC §7, §8)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ActorDep, MinPositionDep, ReadLogged, Services, ServicesDep
from api.problems import PROBLEM_RESPONSES
from api.routes.stats import BREAKDOWN_LABELS, labels, period_bounds
from api.schemas.case_view import cst
from api.schemas.reads import CaseListItem, FiguresOut, case_item
from application.access import list_scope
from domain.calendar import CHINA_TZ
from domain.case import Status
from domain.errors import NotFound
from domain.values import jurisdiction_contains
from infrastructure.reports_xlsx import report_workbook
from infrastructure.views.queries import CaseFilter, Scope

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Kind = Literal["daily", "weekly", "monthly"]
KINDS: dict[Kind, str] = {"daily": "日分析", "weekly": "周综述", "monthly": "月报告"}
CASES_LISTED = 50
# Figures compared with the previous period (环比); rates and scores as differences.
CHANGE_FIELDS = (
    "registered",
    "concluded",
    "mediated",
    "mediated_successfully",
    "success_rate",
    "completion_rate",
    "on_time_rate",
    "satisfaction_rate",
    "mean_score",
)
COUNTY_LEVEL = "县本级"  # cases registered on the county itself, under no township

router = APIRouter(prefix="/api/v1", tags=["figures 统计"], responses=PROBLEM_RESPONSES)


class ReportPeriodOut(BaseModel):
    """统计周期: China-time days, both inclusive."""

    model_config = ConfigDict(populate_by_name=True, title="统计周期")

    start: date = Field(alias="from", title="起始日", examples=["2026-11-16"])
    end: date = Field(alias="to", title="截止日（含）", examples=["2026-11-22"])
    days: int = Field(title="天数")


class ChangeOut(BaseModel):
    """环比: this period minus the previous one (rates in fractions, e.g. 0.05 = 5 个百分点)."""

    model_config = ConfigDict(title="环比增减")

    registered: int = Field(title="排查纠纷数增减")
    concluded: int = Field(title="办结数增减")
    mediated: int = Field(title="调解纠纷数增减")
    mediated_successfully: int = Field(title="调解成功数增减")
    success_rate: float | None = Field(title="调解成功率增减", description="null when either period has no rate")
    completion_rate: float | None = Field(title="办结率增减")
    on_time_rate: float | None = Field(title="按期办结率增减")
    satisfaction_rate: float | None = Field(title="满意率增减")
    mean_score: float | None = Field(title="平均分增减")


class ReportOut(BaseModel):
    """矛盾纠纷日分析 / 周综述 / 月报告 of the reader's jurisdiction."""

    model_config = ConfigDict(title="矛盾纠纷分析报告")

    kind: Kind = Field(title="报告类型")
    kind_label: str = Field(title="报告类型名称", examples=["周综述"])
    title: str = Field(title="标题", examples=["清溪县矛盾纠纷日分析（2026年11月20日）"])
    jurisdiction: str | None = Field(title="辖区", description="the reader's jurisdiction path; null: the whole ledger")
    place: str = Field(title="辖区名称", examples=["清溪县"])
    period: ReportPeriodOut = Field(title="统计周期")
    generated_at: str = Field(title="生成时间", description="China Standard Time")
    views_position: int = Field(title="数据截至台账位置", description="Ledger position the figures reflect")
    totals: FiguresOut = Field(title="合计")
    by_township: list[FiguresOut] = Field(title="按乡镇（街道）")
    by_category: list[FiguresOut] = Field(title="按纠纷类别")
    by_channel: list[FiguresOut] = Field(title="按来源渠道")
    by_risk_color: list[FiguresOut] = Field(title="按风险等级")
    overdue: list[CaseListItem] = Field(
        title="超期案件", description=f"open cases overdue now, earliest deadline first (at most {CASES_LISTED})"
    )
    overdue_count: int = Field(title="超期案件总数", description="all open overdue cases, listed or not")
    red_cases: list[CaseListItem] = Field(
        title="红色案件", description=f"cases graded red registered in the period (at most {CASES_LISTED})"
    )
    red_count: int = Field(title="红色案件总数", description="all red cases registered in the period")
    previous_period: ReportPeriodOut | None = Field(default=None, title="上期", description="weekly and monthly only")
    previous: FiguresOut | None = Field(default=None, title="上期合计", description="weekly and monthly only")
    change: ChangeOut | None = Field(default=None, title="环比增减", description="weekly and monthly only")


def report_period(kind: Kind, day: date) -> tuple[date, date]:
    """The day; its Monday–Sunday week; or its calendar month."""
    if kind == "daily":
        return day, day
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    first = day.replace(day=1)
    following = (first + timedelta(days=31)).replace(day=1)
    return first, following - timedelta(days=1)


def previous_period(kind: Kind, first: date) -> tuple[date, date]:
    """The period just before the one starting on ``first``."""
    return report_period(kind, first - timedelta(days=1))


def _period_out(first: date, last: date) -> ReportPeriodOut:
    return ReportPeriodOut(start=first, end=last, days=(last - first).days + 1)


def _day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def report_title(kind: Kind, place: str, first: date, last: date) -> str:
    if kind == "daily":
        span = _day(first)
    elif kind == "weekly":
        span = f"{_day(first)}—{_day(last)}"
    else:
        span = f"{first.year}年{first.month}月"
    return f"{place}矛盾纠纷{KINDS[kind]}（{span}）"


def file_names(kind: Kind, title: str, first: date) -> str:
    """``Content-Disposition`` with an ASCII fallback and the Chinese title (RFC 6266, 8187)."""
    if kind == "weekly":
        year, week, _ = first.isocalendar()
        stem = f"{year}-W{week:02d}"
    elif kind == "monthly":
        stem = f"{first:%Y-%m}"
    else:
        stem = first.isoformat()
    fallback = f"caseledger-{kind}-{stem}.xlsx"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(title + '.xlsx', safe='')}"


def place_name(services: Services, jurisdiction: str | None) -> str:
    """The county's name for the whole county, otherwise the name of the reader's place."""
    organisation = services.ledger.organisation
    if jurisdiction is None or "/" not in jurisdiction:
        return organisation.name or "".join(organisation.place_names(jurisdiction or "")[-1:]) or "全县"
    return "".join(organisation.place_names(jurisdiction)[-1:]) or jurisdiction


def _zero(key: str, label: str) -> FiguresOut:
    counts = ("registered", "registered_concluded", "concluded", "mediated", "mediated_successfully")
    more = ("on_time", "ratings", "ratings_satisfied", "scored", "overdue_now", "open_now")
    return FiguresOut.model_validate(
        {
            "key": key,
            "label": label,
            **dict.fromkeys((*counts, *more), 0),
            **dict.fromkeys(("success_rate", "completion_rate", "on_time_rate", "satisfaction_rate", "mean_score")),
        }
    )


def _ordered(rows: list[FiguresOut], expected: dict[str, str]) -> list[FiguresOut]:
    """Every expected group in its usual order (zeros where none), then any other group found."""
    found = {row.key: row for row in rows}
    listed = [found.get(key) or _zero(key, label) for key, label in expected.items()]
    return listed + [row for row in rows if row.key not in expected]


def _townships(services: Services, jurisdiction: str | None) -> dict[str, str]:
    """Townships overlapping the reader's jurisdiction, in the organisation's order."""
    return {
        node.path: node.name
        for node in services.ledger.organisation.nodes.values()
        if node.level == "township"
        and (
            jurisdiction is None
            or jurisdiction_contains(jurisdiction, node.path)
            or jurisdiction_contains(node.path, jurisdiction)
        )
    }


def _difference(now: float | None, before: float | None, digits: int) -> float | None:
    return None if now is None or before is None else round(now - before, digits)


def change(current: FiguresOut, before: FiguresOut) -> ChangeOut:
    return ChangeOut(
        registered=current.registered - before.registered,
        concluded=current.concluded - before.concluded,
        mediated=current.mediated - before.mediated,
        mediated_successfully=current.mediated_successfully - before.mediated_successfully,
        success_rate=_difference(current.success_rate, before.success_rate, 4),
        completion_rate=_difference(current.completion_rate, before.completion_rate, 4),
        on_time_rate=_difference(current.on_time_rate, before.on_time_rate, 4),
        satisfaction_rate=_difference(current.satisfaction_rate, before.satisfaction_rate, 4),
        mean_score=_difference(current.mean_score, before.mean_score, 1),
    )


def build_report(services: Services, scope: Scope, kind: Kind, day: date) -> ReportOut:
    """Every figure and list of the report, read at one moment."""
    position = services.views.positions().get("cases", 0)
    now = services.ledger.clock()
    queries = services.queries
    first, last = report_period(kind, day)
    lo, hi = period_bounds(first, last, first)

    def totals(start: datetime, end: datetime) -> FiguresOut:
        row = queries.figures(scope, start=start, end=end, group="scope", now=now)[0]
        return FiguresOut.model_validate({**row, "key": scope.jurisdiction, "label": "合计"})

    def grouped(group: str) -> list[FiguresOut]:
        rows = queries.figures(scope, start=lo, end=hi, group=group, now=now)
        labels(services, group, rows)
        for row in rows:
            if group == "township" and not row["key"]:
                row["label"] = COUNTY_LEVEL
        return [FiguresOut.model_validate(row) for row in rows]

    open_statuses = [s for s in Status.LABELS if s != Status.CLOSED]
    overdue = queries.list_cases(
        scope, CaseFilter(status=open_statuses, overdue=True), now=now, sort="due_asc", limit=CASES_LISTED
    )
    red = queries.list_cases(
        scope,
        CaseFilter(risk_color=["red"], registered_from=lo, registered_to=hi),
        now=now,
        sort="registered_asc",
        limit=CASES_LISTED,
    )
    place = place_name(services, scope.jurisdiction)
    current = totals(lo, hi)
    by_risk_color = _ordered(grouped("risk_color"), BREAKDOWN_LABELS["risk_color"])
    body = ReportOut(
        kind=kind,
        kind_label=KINDS[kind],
        title=report_title(kind, place, first, last),
        jurisdiction=scope.jurisdiction,
        place=place,
        period=_period_out(first, last),
        generated_at=cst(now),
        views_position=position,
        totals=current,
        by_township=_ordered(grouped("township"), _townships(services, scope.jurisdiction)),
        by_category=_ordered(grouped("category"), BREAKDOWN_LABELS["category"]),
        by_channel=_ordered(grouped("channel"), BREAKDOWN_LABELS["channel"]),
        by_risk_color=by_risk_color,
        overdue=[case_item(row) for row in overdue.items],
        # The same conditions as the lists, counted over the whole scope.
        overdue_count=current.overdue_now,
        red_cases=[case_item(row) for row in red.items],
        red_count=next((g.registered for g in by_risk_color if g.key == "red"), 0),
    )
    if kind != "daily":
        before_first, before_last = previous_period(kind, first)
        before = totals(*period_bounds(before_first, before_last, before_first))
        body.previous_period = _period_out(before_first, before_last)
        body.previous = before
        body.change = change(current, before)
    return body


def _names(services: Services, report: ReportOut) -> dict[str, str]:
    """Names of the places and units the case sheets mention."""
    organisation = services.ledger.organisation
    names: dict[str, str] = {}
    for case in (*report.overdue, *report.red_cases):
        for path in (case.township, case.village):
            if path and path not in names:
                names[path] = "".join(organisation.place_names(path)[-1:]) or path
        for unit_id in (case.unit, case.accepted_unit):
            unit = organisation.units.get(unit_id)
            if unit is not None:
                names[unit_id] = unit.name
    return names


def _wants_xlsx(accept: str | None) -> bool:
    """Whether the Accept header asks for the spreadsheet (with a non-zero quality)."""
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == XLSX:
            quality = next((p.split("=", 1)[1] for p in params if p.lower().startswith("q=")), "1")
            try:
                return float(quality) > 0
            except ValueError:
                return False
    return False


@router.get(
    "/reports/{kind}",
    response_model=ReportOut,
    summary="Report 日分析 / 周综述 / 月报告",
    responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
    dependencies=[ReadLogged],
)
def report(
    services: ServicesDep,
    actor: ActorDep,
    at: MinPositionDep,
    response: Response,
    kind: Annotated[
        str,
        Path(
            description="daily 日分析 (the day), weekly 周综述 (its Monday–Sunday week), monthly 月报告 (its month)",
            json_schema_extra={"enum": list(KINDS)},
        ),
    ],
    day: Annotated[
        date | None,
        Query(
            alias="date",
            ge=date(1970, 1, 1),
            le=date(2199, 12, 31),
            description="a day in the period (China time); default: today",
        ),
    ] = None,
    output: Annotated[
        Literal["json", "xlsx"] | None,
        Query(alias="format", description="json (default) or xlsx; `Accept: " + XLSX + "` also gives xlsx"),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response | ReportOut:
    """日分析、周综述、月报告: figures by township, category, channel and risk colour, overdue and red cases."""
    scope = Scope(list_scope(actor))
    chosen = next((k for k in KINDS if k == kind), None)
    if chosen is None:
        raise NotFound(f"no report '{kind[:32]}'; the reports are {', '.join(KINDS)}")
    services.await_views(at, ("cases",))
    today = services.ledger.clock().astimezone(CHINA_TZ).date()
    body = build_report(services, scope, chosen, day or today)
    if output == "xlsx" or (output is None and _wants_xlsx(accept)):
        data: dict[str, Any] = body.model_dump(mode="json", by_alias=True)
        return Response(
            content=report_workbook(data, _names(services, body)),
            media_type=XLSX,
            headers={
                "Content-Disposition": file_names(chosen, body.title, body.period.start),
                "Cache-Control": "no-store",
                "Vary": "Accept",
            },
        )
    response.headers["Vary"] = "Accept"
    return body
