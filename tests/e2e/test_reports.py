"""日分析、周综述、月报告 over HTTP: periods, figures that agree with the overview, the workbook.

The demo county (80 cases over the last four months) is loaded through the ledger, and every
report is read with ``min_position`` at the ledger's head so the embedded worker has caught up.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from fastapi import FastAPI

from domain.calendar import CHINA_TZ
from infrastructure.demo import load_demo
from tests.e2e.support import ADMIN, COUNTY, COURT, OVERSIGHT, TOWNSHIP, Api, Who, assert_problem

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COUNTS = (
    "registered",
    "registered_concluded",
    "concluded",
    "mediated",
    "mediated_successfully",
    "on_time",
    "ratings",
    "ratings_satisfied",
    "scored",
    "overdue_now",
    "open_now",
)
BREAKDOWNS = {
    "按乡镇": "by_township",
    "按纠纷类别": "by_category",
    "按来源渠道": "by_channel",
    "按风险等级": "by_risk_color",
}
HEADINGS = {
    "排查纠纷数": "registered",
    "其中已办结数": "registered_concluded",
    "办结率": "completion_rate",
    "办结数": "concluded",
    "按期办结数": "on_time",
    "按期办结率": "on_time_rate",
    "调解纠纷数": "mediated",
    "调解成功数": "mediated_successfully",
    "调解成功率": "success_rate",
    "评价人次": "ratings",
    "满意人次": "ratings_satisfied",
    "满意率": "satisfaction_rate",
    "考评案件数": "scored",
    "平均分": "mean_score",
    "当前超期数": "overdue_now",
    "当前在办数": "open_now",
}
RATES = {"completion_rate", "on_time_rate", "success_rate", "satisfaction_rate"}
SHEETS = ["总览", "按乡镇", "按纠纷类别", "按来源渠道", "按风险等级", "超期案件", "红色案件"]
HEADER = 3  # row 1: the title, row 2: the period, row 3: the headings


@pytest.fixture
def head(app: FastAPI, api: Api) -> int:
    """The demo county loaded; the ledger's head position."""
    load_demo(app.state.services.ledger, cases=80)
    return api.head()


def today(app: FastAPI) -> date:
    moment = app.state.services.ledger.clock()
    day: date = moment.astimezone(CHINA_TZ).date()
    return day


def report(api: Api, kind: str, who: Who = COUNTY, **params: Any) -> dict[str, Any]:
    response = api.get(who, f"/reports/{kind}", min_position=api.head(), **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def overview(api: Api, body: dict[str, Any], who: Who = COUNTY) -> dict[str, Any]:
    period = body["period"]
    response = api.get(who, "/stats/overview", **{"from": period["from"], "to": period["to"]})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def workbook(api: Api, kind: str, **params: Any) -> tuple[openpyxl.Workbook, dict[str, str]]:
    response = api.get(COUNTY, f"/reports/{kind}", min_position=api.head(), format="xlsx", **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    return openpyxl.load_workbook(io.BytesIO(response.content)), dict(response.headers)


def cell(value: Any) -> Any:
    """What the workbook shows for a JSON figure: a dash where there is none."""
    return "—" if value is None else value


def headings(sheet: Any) -> list[str]:
    return [c.value for c in sheet[HEADER]]


# ---------------------------------------------------------------------- periods and titles


@pytest.mark.parametrize(
    ("kind", "day", "first", "last", "before"),
    [
        ("daily", "2026-11-20", "2026-11-20", "2026-11-20", None),
        ("weekly", "2026-11-20", "2026-11-16", "2026-11-22", ("2026-11-09", "2026-11-15")),
        ("weekly", "2026-11-16", "2026-11-16", "2026-11-22", ("2026-11-09", "2026-11-15")),
        ("weekly", "2026-11-22", "2026-11-16", "2026-11-22", ("2026-11-09", "2026-11-15")),
        ("weekly", "2027-01-01", "2026-12-28", "2027-01-03", ("2026-12-21", "2026-12-27")),
        ("monthly", "2026-11-20", "2026-11-01", "2026-11-30", ("2026-10-01", "2026-10-31")),
        ("monthly", "2028-02-10", "2028-02-01", "2028-02-29", ("2028-01-01", "2028-01-31")),
        ("monthly", "2027-01-31", "2027-01-01", "2027-01-31", ("2026-12-01", "2026-12-31")),
    ],
)
def test_the_period_is_the_day_its_week_or_its_month(
    api: Api, head: int, kind: str, day: str, first: str, last: str, before: tuple[str, str] | None
) -> None:
    body = report(api, kind, date=day)
    assert body["kind"] == kind
    assert body["period"]["from"] == first and body["period"]["to"] == last
    assert body["period"]["days"] == (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
    assert body["views_position"] >= head
    if before is None:
        assert body["previous_period"] is None and body["previous"] is None and body["change"] is None
    else:
        assert (body["previous_period"]["from"], body["previous_period"]["to"]) == before
        assert body["previous"] is not None and body["change"] is not None


def test_titles_name_the_county_the_kind_and_the_period(api: Api, head: int) -> None:
    assert report(api, "daily", date="2026-11-20")["title"] == "清溪县矛盾纠纷日分析（2026年11月20日）"
    assert report(api, "weekly", date="2026-11-20")["title"] == "清溪县矛盾纠纷周综述（2026年11月16日—2026年11月22日）"
    monthly = report(api, "monthly", date="2026-11-20")
    assert monthly["title"] == "清溪县矛盾纠纷月报告（2026年11月）"
    assert monthly["kind_label"] == "月报告" and monthly["place"] == "清溪县"


def test_the_default_day_is_today_in_china(app: FastAPI, api: Api, head: int) -> None:
    body = report(api, "daily")
    assert body["period"]["from"] == body["period"]["to"] == today(app).isoformat()
    assert body["generated_at"].endswith("+08:00")


# ---------------------------------------------------------------------- figures


@pytest.mark.parametrize("kind", ["daily", "weekly", "monthly"])
@pytest.mark.parametrize("days_ago", [0, 30])
def test_totals_equal_the_overview_and_every_breakdown_adds_up(
    app: FastAPI, api: Api, head: int, kind: str, days_ago: int
) -> None:
    body = report(api, kind, date=(today(app) - timedelta(days=days_ago)).isoformat())
    assert body["totals"] == overview(api, body)["totals"]
    for key in ("by_township", "by_category", "by_channel", "by_risk_color"):
        rows = body[key]
        assert all(row["label"] for row in rows), key
        for count in COUNTS:
            assert sum(row[count] for row in rows) == body["totals"][count], (key, count)
    assert [row["label"] for row in body["by_risk_color"]] == ["红色", "黄色", "绿色"]
    assert {row["label"] for row in body["by_township"]} == {"城关镇", "河口镇", "山阳乡"}
    if kind == "monthly" and days_ago == 30:
        assert body["totals"]["registered"] > 0, "a month ago the demo county had cases"


@pytest.mark.parametrize("kind", ["weekly", "monthly"])
def test_previous_period_and_change(app: FastAPI, api: Api, head: int, kind: str) -> None:
    body = report(api, kind, date=(today(app) - timedelta(days=20)).isoformat())
    before = body["previous_period"]
    earlier = overview(api, {"period": before})["totals"]
    assert body["previous"] == earlier
    for count in ("registered", "concluded", "mediated", "mediated_successfully"):
        assert body["change"][count] == body["totals"][count] - earlier[count]
    for rate in ("success_rate", "satisfaction_rate", "completion_rate", "on_time_rate"):
        now, was = body["totals"][rate], earlier[rate]
        expected = None if now is None or was is None else round(now - was, 4)
        assert body["change"][rate] == expected, rate


def test_overdue_lists_open_overdue_cases_by_deadline(app: FastAPI, api: Api, head: int) -> None:
    body = report(api, "monthly")
    overdue = body["overdue"]
    assert overdue, "the demo county has overdue cases"
    assert body["overdue_count"] == body["totals"]["overdue_now"]
    assert len(overdue) == min(50, body["overdue_count"])
    assert all(case["overdue"] and case["status"] != "closed" for case in overdue)
    deadlines = [case["next_due_at"] for case in overdue]
    assert deadlines == sorted(deadlines)


def test_red_cases_are_read_your_writes(app: FastAPI, api: Api, head: int) -> None:
    """A red case registered now is in today's report at once (with min_position)."""
    before = report(api, "daily")
    case_id = api.register(risk_color="red", summary="两村因山林界址争议聚集对峙，存在激化风险")
    after = report(api, "daily")
    assert after["views_position"] >= api.head()
    assert after["totals"]["registered"] == before["totals"]["registered"] + 1
    assert after["red_count"] == before["red_count"] + 1
    assert case_id in [case["case_id"] for case in after["red_cases"]]
    red = next(row for row in after["by_risk_color"] if row["key"] == "red")
    assert red["registered"] == after["red_count"]
    first, last = after["period"]["from"], after["period"]["to"]
    for case in after["red_cases"]:
        assert case["risk_color"] == "red"
        assert first <= case["registered_at"][:10] <= last


# ---------------------------------------------------------------------- who may read


def test_a_township_center_sees_only_its_township(app: FastAPI, api: Api, head: int) -> None:
    day = (today(app) - timedelta(days=30)).isoformat()
    county = report(api, "monthly", date=day)
    township = report(api, "monthly", who=TOWNSHIP, date=day)
    assert township["jurisdiction"] == "qingxi/chengguan" and township["place"] == "城关镇"
    assert township["title"].startswith("城关镇矛盾纠纷月报告")
    assert [row["key"] for row in township["by_township"]] == ["qingxi/chengguan"]
    assert township["totals"] == overview(api, township, who=TOWNSHIP)["totals"]
    chengguan = next(row for row in county["by_township"] if row["key"] == "qingxi/chengguan")
    assert township["by_township"][0] == chengguan
    for case in (*township["overdue"], *township["red_cases"]):
        assert case["township"] == "qingxi/chengguan"
    assert township["totals"]["registered"] < county["totals"]["registered"]


def test_oversight_reads_the_whole_county(app: FastAPI, api: Api, head: int) -> None:
    county = report(api, "weekly")
    oversight = report(api, "weekly", who=OVERSIGHT)
    assert oversight["jurisdiction"] is None and oversight["place"] == "清溪县"
    assert oversight["totals"]["registered"] == county["totals"]["registered"]


@pytest.mark.parametrize("who", [COURT, ADMIN], ids=["court", "admin"])
def test_courts_and_admins_are_refused(api: Api, head: int, who: Who) -> None:
    assert_problem(api.get(who, "/reports/daily"), 403, "forbidden")
    assert_problem(api.get(who, "/reports/monthly", format="xlsx"), 403, "forbidden")


def test_without_a_token_is_401(api: Api) -> None:
    assert_problem(api.client.get("/api/v1/reports/daily"), 401, "unauthenticated")


# ---------------------------------------------------------------------- bad requests


def test_an_unknown_kind_is_404(api: Api) -> None:
    problem = assert_problem(api.get(COUNTY, "/reports/yearly"), 404, "not-found")
    assert "daily" in problem["detail"]


@pytest.mark.parametrize("day", ["2026-13-01", "2026-02-30", "yesterday", "20261120", "1900-01-01"])
def test_a_bad_date_is_422(api: Api, day: str) -> None:
    assert_problem(api.get(COUNTY, "/reports/daily", date=day), 422, "validation-error")


def test_an_unknown_format_is_422(api: Api) -> None:
    assert_problem(api.get(COUNTY, "/reports/daily", format="pdf"), 422, "validation-error")


# ---------------------------------------------------------------------- the workbook


@pytest.mark.parametrize("kind", ["daily", "weekly", "monthly"])
def test_the_workbook_has_every_sheet_with_the_json_figures(app: FastAPI, api: Api, head: int, kind: str) -> None:
    day = (today(app) - timedelta(days=30)).isoformat()
    body = report(api, kind, date=day)
    book, _ = workbook(api, kind, date=day)
    assert book.sheetnames == ([*SHEETS, "环比"] if kind != "daily" else SHEETS)
    for sheet in book.worksheets:
        assert sheet["A1"].value == body["title"], sheet.title
        assert sheet.freeze_panes is not None and sheet.freeze_panes.endswith(str(HEADER + 1)), sheet.title
        assert all(c.font.b for c in sheet[HEADER] if c.value), sheet.title

    overview_sheet = book["总览"]
    assert headings(overview_sheet) == ["指标", "数值", "口径说明"]
    shown = {row[0].value: row[1] for row in overview_sheet.iter_rows(min_row=HEADER + 1) if row[0].value}
    assert set(shown) == set(HEADINGS)
    for heading, key in HEADINGS.items():
        assert shown[heading].value == cell(body["totals"][key]), heading
        if key in RATES and body["totals"][key] is not None:
            assert "%" in shown[heading].number_format, heading

    for name, key in BREAKDOWNS.items():
        sheet = book[name]
        columns = headings(sheet)
        assert set(HEADINGS) <= set(columns), name
        rows = list(sheet.iter_rows(min_row=HEADER + 1, values_only=True))
        assert len(rows) == len(body[key]) + 1, name
        for values, figures in zip(rows, [*body[key], body["totals"]], strict=True):
            assert values[0] == figures["label"], name
            for heading, field in HEADINGS.items():
                assert values[columns.index(heading)] == cell(figures[field]), (name, figures["label"], heading)
        rate_column = columns.index("调解成功率")
        formats = {row[rate_column].number_format for row in sheet.iter_rows(min_row=HEADER + 1)}
        assert all("%" in f for f in formats if f != "General"), formats
        assert sheet.column_dimensions["A"].width >= 10

    for name, key in (("超期案件", "overdue"), ("红色案件", "red_cases")):
        sheet = book[name]
        assert {"案件编号", "登记时间", "乡镇（街道）", "纠纷类别", "风险等级", "到期时间", "案情摘要"} <= set(
            headings(sheet)
        )
        listed = [r[1] for r in sheet.iter_rows(min_row=HEADER + 1, values_only=True) if isinstance(r[0], int)]
        assert listed == [case["case_id"] for case in body[key]], name

    if kind != "daily":
        sheet = book["环比"]
        assert headings(sheet)[:2] == ["指标", "本期"] and "增减" in headings(sheet)
        change = {r[0]: r for r in sheet.iter_rows(min_row=HEADER + 1, values_only=True)}
        for heading, field in HEADINGS.items():
            if field in body["change"]:
                assert change[heading][1] == cell(body["totals"][field]), heading
                assert change[heading][2] == cell(body["previous"][field]), heading
                assert change[heading][3] == cell(body["change"][field]), heading


def test_the_workbook_is_a_named_attachment(app: FastAPI, api: Api, head: int) -> None:
    _, headers = workbook(api, "daily", date="2026-11-20")
    disposition = headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="caseledger-daily-2026-11-20.xlsx"' in disposition
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == "清溪县矛盾纠纷日分析（2026年11月20日）.xlsx"
    _, weekly = workbook(api, "weekly", date="2026-11-20")
    assert 'filename="caseledger-weekly-2026-W47.xlsx"' in weekly["content-disposition"]
    _, monthly = workbook(api, "monthly", date="2026-11-20")
    assert 'filename="caseledger-monthly-2026-11.xlsx"' in monthly["content-disposition"]


def test_accept_header_asks_for_the_workbook(api: Api, head: int) -> None:
    headers = {**api.auth(COUNTY), "Accept": XLSX}
    response = api.client.get("/api/v1/reports/weekly", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert openpyxl.load_workbook(io.BytesIO(response.content)).sheetnames[-1] == "环比"
    explicit = api.client.get("/api/v1/reports/weekly", headers=headers, params={"format": "json"})
    assert explicit.headers["content-type"].startswith("application/json")
    refused = {**api.auth(COUNTY), "Accept": f"{XLSX};q=0, application/json"}
    assert (
        api.client.get("/api/v1/reports/weekly", headers=refused).headers["content-type"].startswith("application/json")
    )


def test_an_empty_period_still_makes_a_workbook(api: Api) -> None:
    """No cases at all: zeros, dashes for rates, and a note on the empty case sheets."""
    body = report(api, "monthly", date="2026-11-20")
    assert body["totals"]["registered"] == 0 and body["totals"]["success_rate"] is None
    book, _ = workbook(api, "monthly", date="2026-11-20")
    assert book["红色案件"].cell(HEADER + 1, 1).value == "本期无红色案件"
    assert book["超期案件"].cell(HEADER + 1, 1).value == "无超期案件"
