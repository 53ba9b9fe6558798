"""The daily / weekly / monthly report as an Excel workbook (SPEC §7), written in memory.

:func:`report_workbook` takes the report as plain data (the JSON body of
``GET /api/v1/reports/{kind}``) and returns the bytes of an ``.xlsx`` file: one sheet per
part of the report, Chinese sheet names and headings, the title in row 1, a bold frozen
header row, rates as percentages.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]

from domain.case_deadlines import LABELS as DEADLINE_LABELS

# The figures of one group (SPEC §5): field, heading, how the value is shown, definition.
METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("registered", "排查纠纷数", "count", "本期登记的矛盾纠纷"),
    ("registered_concluded", "其中已办结数", "count", "本期登记、截至生成时已办结"),
    ("completion_rate", "办结率", "rate", "其中已办结数 ÷ 排查纠纷数"),
    ("concluded", "办结数", "count", "本期办结的纠纷（含以前登记的）"),
    ("on_time", "按期办结数", "count", "本期办结且各环节均未超时"),
    ("on_time_rate", "按期办结率", "rate", "按期办结数 ÷ 办结数"),
    ("mediated", "调解纠纷数", "count", "本期调解结束（达成协议或调解终止）"),
    ("mediated_successfully", "调解成功数", "count", "本期达成调解协议"),
    ("success_rate", "调解成功率", "rate", "调解成功数 ÷ 调解纠纷数"),
    ("ratings", "评价人次", "count", "本期办结纠纷的当事人满意度评价"),
    ("ratings_satisfied", "满意人次", "count", "评价为“满意”的人次"),
    ("satisfaction_rate", "满意率", "rate", "满意人次 ÷ 评价人次"),
    ("scored", "考评案件数", "count", "本期办结并已一事一考评"),
    ("mean_score", "平均分", "score", "一事一考评平均得分"),
    ("overdue_now", "当前超期数", "count", "截至生成时有环节超期未办、尚未销项"),
    ("open_now", "当前在办数", "count", "截至生成时尚未办结"),
)
HEADINGS = {key: heading for key, heading, _, _ in METRICS}
SHOWN_AS = {key: shown for key, _, shown, _ in METRICS}

KIND_LABELS = {"daily": "日分析", "weekly": "周综述", "monthly": "月报告"}
RISK_LABELS = {"red": "红色", "yellow": "黄色", "green": "绿色"}

# (sheet name, first-column heading, key of the rows in the report)
BREAKDOWNS = (
    ("按乡镇", "乡镇（街道）", "by_township"),
    ("按纠纷类别", "纠纷类别", "by_category"),
    ("按来源渠道", "来源渠道", "by_channel"),
    ("按风险等级", "风险等级", "by_risk_color"),
)
# (sheet name, key of the list, key of its full count, what an empty list says)
CASE_SHEETS = (
    ("超期案件", "overdue", "overdue_count", "无超期案件"),
    ("红色案件", "red_cases", "red_count", "本期无红色案件"),
)
CASE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6),
    ("案件编号", 38),
    ("登记时间", 17),
    ("乡镇（街道）", 14),
    ("村（社区）", 14),
    ("纠纷类别", 14),
    ("来源渠道", 12),
    ("风险等级", 10),
    ("案件状态", 14),
    ("承办单位", 22),
    ("承办人", 12),
    ("当前时限", 12),
    ("到期时间", 17),
    ("是否超期", 10),
    ("办结时间", 17),
    ("考评得分", 10),
    ("案情摘要", 60),
)

NONE = "—"
HEADER_ROW = 2  # row 1: the title; row 2: period and generation time; row 3: the headings


def display_width(text: str) -> int:
    """Columns a text takes in Excel: Chinese characters count double."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _day(value: str) -> str:
    d = date.fromisoformat(value)
    return f"{d.year}年{d.month}月{d.day}日"


def _moment(value: str | None) -> datetime | None:
    """An ISO time in China time as the naive local time Excel shows."""
    return datetime.fromisoformat(value).replace(tzinfo=None) if value else None


class _Writer:
    def __init__(self, workbook: Any, report: Mapping[str, Any], names: Mapping[str, str]) -> None:
        self.workbook = workbook
        self.report = report
        self.names = names
        add = workbook.add_format
        base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
        cell = {**base, "border": 1}
        self.title = add({**base, "bold": True, "font_size": 16, "align": "center"})
        self.subtitle = add({**base, "font_size": 10, "font_color": "#595959", "align": "center"})
        self.note = add({**base, "font_size": 10, "font_color": "#595959"})
        self.header = add({**cell, "bold": True, "bg_color": "#DDEBF7", "align": "center", "text_wrap": True})
        self.text = add(cell)
        self.wrap = add({**cell, "text_wrap": True})
        self.count = add({**cell, "num_format": "0"})
        self.rate = add({**cell, "num_format": "0.0%"})
        self.score = add({**cell, "num_format": "0.0"})
        self.moment = add({**cell, "num_format": "yyyy-mm-dd hh:mm"})
        self.none = add({**cell, "align": "center", "font_color": "#808080"})
        self.diff_count = add({**cell, "num_format": "+0;-0;0"})
        self.diff_rate = add({**cell, "num_format": "+0.0%;-0.0%;0.0%"})
        self.diff_score = add({**cell, "num_format": "+0.0;-0.0;0.0"})
        bold = {"bold": True, "bg_color": "#F2F2F2"}
        self.total = {
            "text": add({**cell, **bold}),
            "count": add({**cell, **bold, "num_format": "0"}),
            "rate": add({**cell, **bold, "num_format": "0.0%"}),
            "score": add({**cell, **bold, "num_format": "0.0"}),
            "none": add({**cell, **bold, "align": "center"}),
        }

    # ------------------------------------------------------------------ pieces

    def sheet(self, name: str, headings: Sequence[str], widths: Sequence[int], freeze_columns: int = 0) -> Any:
        """A sheet with the title, the period line and a bold, frozen heading row."""
        ws = self.workbook.add_worksheet(name)
        last = max(len(headings) - 1, 1)
        period = self.report["period"]
        span = (
            _day(period["from"]) if period["from"] == period["to"] else f"{_day(period['from'])}至{_day(period['to'])}"
        )
        generated = (_moment(self.report.get("generated_at")) or datetime.min).strftime("%Y-%m-%d %H:%M")
        ws.merge_range(0, 0, 0, last, self.report["title"], self.title)
        ws.merge_range(1, 0, 1, last, f"统计周期：{span}　　生成时间：{generated}（北京时间）", self.subtitle)
        ws.set_row(0, 28)
        ws.set_row(HEADER_ROW, 32)
        for column, (heading, width) in enumerate(zip(headings, widths, strict=True)):
            ws.write_string(HEADER_ROW, column, heading, self.header)
            ws.set_column(column, column, width)
        ws.freeze_panes(HEADER_ROW + 1, freeze_columns)
        return ws

    def value(self, ws: Any, row: int, column: int, value: Any, shown: str, *, total: bool = False) -> None:
        """A figure: counts as integers, rates as percentages, a dash where there is none."""
        if value is None:
            ws.write_string(row, column, NONE, self.total["none"] if total else self.none)
        elif total:
            ws.write_number(row, column, value, self.total[shown])
        else:
            ws.write_number(row, column, value, {"count": self.count, "rate": self.rate, "score": self.score}[shown])

    def name(self, key: str | None) -> str:
        return self.names.get(key, key) if key else ""

    # ------------------------------------------------------------------ sheets

    def overview(self) -> None:
        ws = self.sheet("总览", ("指标", "数值", "口径说明"), (16, 14, 44))
        totals = self.report["totals"]
        for row, (key, heading, shown, definition) in enumerate(METRICS, start=HEADER_ROW + 1):
            ws.write_string(row, 0, heading, self.text)
            self.value(ws, row, 1, totals.get(key), shown)
            ws.write_string(row, 2, definition, self.text)

    def breakdown(self, name: str, first: str, rows: Sequence[Mapping[str, Any]]) -> None:
        headings = (first, *(heading for _, heading, _, _ in METRICS))
        widths = (
            max([16, *(display_width(str(r.get("label") or r.get("key") or "")) + 2 for r in rows)]),
            *(max(10, display_width(heading) + 2) for _, heading, _, _ in METRICS),
        )
        ws = self.sheet(name, headings, widths, freeze_columns=1)
        row = HEADER_ROW + 1
        for row, item in enumerate(rows, start=HEADER_ROW + 1):
            ws.write_string(row, 0, str(item.get("label") or item.get("key") or ""), self.text)
            for column, (key, _, shown, _) in enumerate(METRICS, start=1):
                self.value(ws, row, column, item.get(key), shown)
        total_row = row + 1 if rows else row
        totals = self.report["totals"]
        ws.write_string(total_row, 0, "合计", self.total["text"])
        for column, (key, _, shown, _) in enumerate(METRICS, start=1):
            self.value(ws, total_row, column, totals.get(key), shown, total=True)

    def cases(self, name: str, items: Sequence[Mapping[str, Any]], count: int, empty: str) -> None:
        ws = self.sheet(name, [c for c, _ in CASE_COLUMNS], [w for _, w in CASE_COLUMNS], freeze_columns=2)
        if not items:
            ws.merge_range(HEADER_ROW + 1, 0, HEADER_ROW + 1, len(CASE_COLUMNS) - 1, empty, self.none)
            return
        for row, case in enumerate(items, start=HEADER_ROW + 1):
            handler = case.get("handler") or {}
            unit = case.get("accepted_unit") or case.get("unit") or ""
            texts: list[tuple[int, str]] = [
                (1, case["case_id"]),
                (3, self.name(case.get("township"))),
                (4, self.name(case.get("village"))),
                (5, case.get("category_label") or case.get("category") or ""),
                (6, case.get("channel_label") or case.get("channel") or ""),
                (7, RISK_LABELS.get(case.get("risk_color") or "", case.get("risk_color") or "")),
                (8, case.get("status_label") or case.get("status") or ""),
                (9, self.name(unit)),
                (10, handler.get("name") or ""),
                (11, DEADLINE_LABELS.get(case.get("next_due_kind") or "", case.get("next_due_kind") or "")),
                (13, "是" if case.get("overdue") else "否"),
            ]
            ws.write_number(row, 0, row - HEADER_ROW, self.count)
            for column, text in texts:
                ws.write_string(row, column, text, self.text)
            for column, key in ((2, "registered_at"), (12, "next_due_at"), (14, "concluded_at")):
                moment = _moment(case.get(key))
                if moment is None:
                    ws.write_string(row, column, NONE, self.none)
                else:
                    ws.write_datetime(row, column, moment, self.moment)
            self.value(ws, row, 15, case.get("score"), "score")
            ws.write_string(row, 16, case.get("summary") or "", self.wrap)
        if count > len(items):
            ws.write_string(HEADER_ROW + 2 + len(items), 0, f"共{count}件，列出前{len(items)}件", self.note)

    def comparison(self) -> None:
        """环比: this period against the previous one, for the figures in ``change``."""
        previous = self.report.get("previous_period") or {}
        span = f"上期（{_day(previous['from'])}至{_day(previous['to'])}）" if previous else "上期"
        ws = self.sheet("环比", ("指标", "本期", span, "增减", "环比增长率"), (16, 14, 30, 12, 12))
        current, before, change = self.report["totals"], self.report["previous"], self.report["change"]
        diff_formats = {"count": self.diff_count, "rate": self.diff_rate, "score": self.diff_score}
        for row, key in enumerate(change, start=HEADER_ROW + 1):
            shown = SHOWN_AS[key]
            ws.write_string(row, 0, HEADINGS[key], self.text)
            self.value(ws, row, 1, current.get(key), shown)
            self.value(ws, row, 2, before.get(key), shown)
            if change[key] is None:
                ws.write_string(row, 3, NONE, self.none)
            else:
                ws.write_number(row, 3, change[key], diff_formats[shown])
            was = before.get(key)
            if shown == "count" and was:
                ws.write_number(row, 4, round((current[key] - was) / was, 4), self.diff_rate)
            else:
                ws.write_string(row, 4, NONE, self.none)


def sheet_names(kind: str) -> list[str]:
    """The sheets of a report of this kind, in order."""
    names = ["总览", *(name for name, _, _ in BREAKDOWNS), *(name for name, *_ in CASE_SHEETS)]
    return [*names, "环比"] if kind in ("weekly", "monthly") else names


def report_workbook(report: Mapping[str, Any], names: Mapping[str, str] | None = None) -> bytes:
    """The report (its JSON body as plain data) as ``.xlsx`` bytes.

    ``names`` maps jurisdiction paths and unit ids to the names shown in the case sheets.
    """
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_urls": False})
    workbook.set_properties(
        {
            "title": report["title"],
            "subject": f"矛盾纠纷{KIND_LABELS.get(report['kind'], '')}",
            "author": "矛盾纠纷案件台账",
            "comments": f"views position {report.get('views_position', '')}",
        }
    )
    writer = _Writer(workbook, report, names or {})
    writer.overview()
    for name, first, key in BREAKDOWNS:
        writer.breakdown(name, first, report.get(key) or [])
    for name, key, count, empty in CASE_SHEETS:
        items = report.get(key) or []
        writer.cases(name, items, int(report.get(count) or len(items)), empty)
    if report.get("previous") is not None and report.get("change") is not None:
        writer.comparison()
    workbook.close()
    return buffer.getvalue()
