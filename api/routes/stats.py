"""The county center's figures: overview and rankings for any period (SPEC §5, §8)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import ActorDep, MinPositionDep, ReadLogged, Services, ServicesDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.reads import FiguresOut, OverviewOut
from application.access import list_scope
from domain.calendar import CHINA_TZ
from domain.errors import InvalidCommand
from domain.values import CATEGORY_LABELS, CHANNEL_LABELS
from infrastructure.views.queries import Scope, combine

BREAKDOWN_LABELS: dict[str, dict[str, str]] = {
    "category": {str(k): v for k, v in CATEGORY_LABELS.items()},
    "channel": {str(k): v for k, v in CHANNEL_LABELS.items()},
    "risk_color": {"red": "红色", "yellow": "黄色", "green": "绿色"},
}

router = APIRouter(prefix="/api/v1", tags=["figures 统计"], responses=PROBLEM_RESPONSES)

Group = Literal["county", "township", "unit", "handler", "category", "channel", "risk_color"]
Metric = Literal["mean_score", "success_rate", "completion_rate", "on_time_rate", "satisfaction_rate", "registered"]


def period_bounds(start: date | None, end: date | None, today: date) -> tuple[datetime, datetime]:
    """[start, end] as China-time days; the default is the current month up to today."""
    first = start or today.replace(day=1)
    last = end or today
    if last < first:
        raise InvalidCommand("to is before from", field="to")
    if (last - first).days > 3660:
        raise InvalidCommand("a period is at most ten years", field="from")
    return (
        datetime.combine(first, time(0), CHINA_TZ),
        datetime.combine(last + timedelta(days=1), time(0), CHINA_TZ),
    )


def labels(services: Services, group: str, rows: list[dict[str, Any]]) -> None:
    """Chinese names for the groups (places and units from the organisation data)."""
    organisation = services.ledger.organisation
    for row in rows:
        key = row["key"]
        if group in ("county", "township") and key:
            row["label"] = "".join(organisation.place_names(key)[-1:]) or key
        elif group == "unit" and key:
            unit = organisation.units.get(key)
            row["label"] = unit.name if unit else key
        elif group == "handler":
            row["label"] = row.get("handler_name") or key
        elif group in BREAKDOWN_LABELS and key:
            row["label"] = BREAKDOWN_LABELS[group].get(key, key)


def figures(
    services: Services,
    scope: Scope,
    *,
    start: datetime,
    end: datetime,
    group: str,
    as_of: datetime | None = None,
) -> tuple[FiguresOut, list[FiguresOut]]:
    """County totals (within the scope) and the per-group figures."""
    now = services.ledger.clock()
    rows = services.queries.figures(scope, start=start, end=end, group=group, now=now, as_of=as_of)
    labels(services, group, rows)
    return (
        FiguresOut.model_validate({**combine(rows), "key": scope.jurisdiction, "label": "合计"}),
        [FiguresOut.model_validate(row) for row in rows],
    )


@router.get("/stats/overview", response_model=OverviewOut, dependencies=[ReadLogged])
def overview(
    services: ServicesDep,
    actor: ActorDep,
    at: MinPositionDep,
    start: Annotated[
        date | None, Query(alias="from", description="first day (China time); default: 1st of this month")
    ] = None,
    end: Annotated[date | None, Query(alias="to", description="last day, inclusive; default: today")] = None,
    group: Annotated[Group, Query(description="break the figures down by")] = "township",
    as_of: Annotated[AwareDatetime | None, Query(description="figures as they stood at this time")] = None,
) -> OverviewOut:
    """排查、调解、成功率、办结率、按期率、满意率、平均分 for the reader's jurisdiction."""
    scope = Scope(list_scope(actor))
    services.await_views(at, ("cases",))
    today = (as_of or services.ledger.clock()).astimezone(CHINA_TZ).date()
    lo, hi = period_bounds(start, end, today)
    totals, groups = figures(services, scope, start=lo, end=hi, group=group, as_of=as_of)
    return OverviewOut(
        period={"from": lo.date().isoformat(), "to": (hi - timedelta(days=1)).date().isoformat()},
        as_of=as_of.isoformat() if as_of else None,
        group=group,
        totals=totals,
        groups=groups,
        views_position=services.views.positions().get("cases", 0),
    )


@router.get("/rankings", response_model=list[FiguresOut], dependencies=[ReadLogged])
def rankings(
    services: ServicesDep,
    actor: ActorDep,
    at: MinPositionDep,
    level: Annotated[Literal["township", "unit", "handler"], Query()] = "township",
    metric: Annotated[
        Metric, Query(description="what to rank by (highest first; no figure ranks last)")
    ] = "mean_score",
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> list[FiguresOut]:
    """Rankings of townships, units or handlers for a period."""
    scope = Scope(list_scope(actor))
    services.await_views(at, ("cases",))
    lo, hi = period_bounds(start, end, services.ledger.clock().astimezone(CHINA_TZ).date())
    _, groups = figures(services, scope, start=lo, end=hi, group=level)
    groups = [g for g in groups if g.key]
    ranked = sorted(groups, key=lambda g: (getattr(g, metric) is None, -(getattr(g, metric) or 0), g.key or ""))
    for rank, item in enumerate(ranked, start=1):
        item.rank = rank
    return ranked
