"""Reading the views: case lists, figures, rankings, court records, audit trails.

Every query takes a ``Scope`` (the reader's jurisdiction, or a court) so that no list or
figure can ever contain a case outside what the reader may see.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.projections.figures import DAY_METRICS, GROUP_COLUMNS, LEVEL_KINDS, code, day_start, midnight_day
from application.projections.rows import places, stamp
from infrastructure.views.db import ViewDatabase
from infrastructure.views.store import FIGURES, FIGURES_LEVEL, figures_level

LEVEL_COLUMNS = ("county", "township", "village", "grid")


@dataclass(frozen=True)
class Scope:
    """What a reader may see: every case (``None``) or those under a jurisdiction path."""

    jurisdiction: str | None

    @property
    def level(self) -> str | None:
        """The case-row column a jurisdiction is compared with (``None``: every case)."""
        if self.jurisdiction is None:
            return None
        return LEVEL_COLUMNS[min(len(self.jurisdiction.split("/")), len(LEVEL_COLUMNS)) - 1]

    def clause(self) -> tuple[str, list[Any]]:
        if self.level is None:
            return "1 = 1", []
        return f"{self.level} = ?", [self.jurisdiction]


@dataclass(frozen=True)
class CaseFilter:
    """Filters of the case list (SPEC §8); empty values do not filter."""

    status: Sequence[str] = ()
    risk_color: Sequence[str] = ()
    category: Sequence[str] = ()
    channel: Sequence[str] = ()
    township: str | None = None
    village: str | None = None
    grid: str | None = None
    handler: str | None = None
    unit: str | None = None
    overdue: bool | None = None
    registered_from: datetime | None = None
    registered_to: datetime | None = None
    concluded_from: datetime | None = None
    concluded_to: datetime | None = None
    text: str | None = None
    # Keyed lookup tokens, as (field, token): cases with a party whose ID number or phone has it.
    party_tokens: Sequence[tuple[str, str]] = ()


@dataclass
class Page:
    """One page of a list and the cursor of the next."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    position: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


SORTS = {
    "registered_desc": ("registered_at", "DESC"),
    "registered_asc": ("registered_at", "ASC"),
    "due_asc": ("next_due_at", "ASC"),
}


def _encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("the cursor is not one this service issued") from exc
    if not isinstance(values, list) or len(values) != 2:
        raise ValueError("the cursor is not one this service issued")
    return values


class ViewQueries:
    """Read-side queries over one view database."""

    def __init__(self, db: ViewDatabase) -> None:
        self.db = db

    # ------------------------------------------------------------------ case list

    def list_cases(
        self,
        scope: Scope,
        filters: CaseFilter,
        *,
        now: datetime,
        sort: str = "registered_desc",
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """A stable, cursor-paginated page of the case list."""
        where, params = self._case_where(scope, filters, now)
        column, direction = SORTS[sort]
        if sort == "due_asc":
            where.append("next_due_at IS NOT NULL")
        if cursor:
            value, case_id = _decode_cursor(cursor)
            op = "<" if direction == "DESC" else ">"
            # A row-value comparison, which both databases can answer from the index.
            where.append(f"({column}, case_id) {op} (?, ?)")
            params += [value, case_id]
        rows = self.db.query(
            f"SELECT * FROM cases WHERE {' AND '.join(where)} "
            f"ORDER BY {column} {direction}, case_id {direction} LIMIT ?",
            [*params, limit + 1],
        )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode_cursor([rows[-1][column], rows[-1]["case_id"]]) if more and rows else None
        for row in rows:
            row["overdue"] = bool(row["next_due_at"] and row["next_due_at"] < stamp(now))
        return Page(items=rows, next_cursor=next_cursor)

    def _case_where(self, scope: Scope, f: CaseFilter, now: datetime) -> tuple[list[str], list[Any]]:
        clause, params = scope.clause()
        where = [clause]
        for name, values in (
            ("status", f.status),
            ("risk_color", f.risk_color),
            ("category", f.category),
            ("channel", f.channel),
        ):
            if values:
                where.append(f"{name} IN ({', '.join('?' for _ in values)})")
                params += list(values)
        for name, value in (
            ("township", f.township),
            ("village", f.village),
            ("grid", f.grid),
            ("handler_id", f.handler),
            ("accepted_unit", f.unit),
        ):
            if value:
                where.append(f"{name} = ?")
                params.append(value)
        if f.overdue is not None:
            where.append("next_due_at < ?" if f.overdue else "(next_due_at IS NULL OR next_due_at >= ?)")
            params.append(stamp(now))
        for column, low, high in (
            ("registered_at", f.registered_from, f.registered_to),
            ("concluded_at", f.concluded_from, f.concluded_to),
        ):
            if low is not None:
                where.append(f"{column} >= ?")
                params.append(stamp(low))
            if high is not None:
                where.append(f"{column} < ?")
                params.append(stamp(high))
        for kind, token in f.party_tokens:
            where.append("case_id IN (SELECT case_id FROM party_index WHERE kind = ? AND token = ?)")
            params += [kind, token]
        if f.text:
            where.append("summary LIKE ?")
            params.append("%" + f.text.replace("%", "").replace("_", "") + "%")
        return where, params

    def case_row(self, case_id: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT * FROM cases WHERE case_id = ?", [case_id])
        return rows[0] if rows else None

    # ------------------------------------------------------------------ audit trail, evaluation

    def audit_trail(self, aggregate_id: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM audit WHERE aggregate_id = ? ORDER BY version", [aggregate_id])
        for row in rows:
            row["actor"] = json.loads(row["actor"])
            row["imported"] = bool(row["imported"])
        return rows

    def positions_of(self, aggregate_id: str) -> dict[int, int]:
        """Case version → ledger position, to point an explanation at its events."""
        rows = self.db.query("SELECT version, position FROM audit WHERE aggregate_id = ?", [aggregate_id])
        return {int(r["version"]): int(r["position"]) for r in rows}

    def evaluation(self, case_id: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT * FROM evaluations WHERE case_id = ?", [case_id])
        if not rows:
            return None
        row = rows[0]
        row["evaluation"] = json.loads(row["evaluation"])
        return row

    # ------------------------------------------------------------------ figures

    def figures(
        self,
        scope: Scope,
        *,
        start: datetime,
        end: datetime,
        group: str = "county",
        now: datetime,
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """SPEC §5 roll-ups per group for the period [start, end), optionally as of a past time.

        Summed from the per-day roll-ups where they can answer (whole China-time days, a
        county's or a township's cases or all of them, figures as of now); otherwise counted
        from the case rows. Both give the same figures.
        """
        if as_of is None:
            rolled = self.rolled_up_figures(scope, start=start, end=end, group=group, now=now)
            if rolled is not None:
                return rolled
        return self.counted_figures(scope, start=start, end=end, group=group, now=now, as_of=as_of)

    def counted_figures(
        self,
        scope: Scope,
        *,
        start: datetime,
        end: datetime,
        group: str = "county",
        now: datetime,
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The figures counted from every case row in scope (or from the rows as they stood at ``as_of``)."""
        # "scope" is the reader's whole jurisdiction in one row (the totals).
        key = GROUP_COLUMNS.get(group, "NULL")
        grouping = f"GROUP BY {key} ORDER BY {key}" if group in GROUP_COLUMNS else ""
        # The name only labels handlers: any other group's rows hold several.
        handler_name = "MAX(handler_name)" if group == "handler" else "NULL"
        clause, scope_params = scope.clause()
        if as_of is None:
            source, source_params = "cases", []
        else:
            source = "(SELECT * FROM case_history WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?))"
            source_params = [stamp(as_of), stamp(as_of)]
        s, e, n = stamp(start), stamp(end), stamp(as_of or now)
        sql = f"""
            SELECT {key} AS key, {handler_name} AS handler_name,
              SUM(CASE WHEN registered_at >= ? AND registered_at < ? THEN 1 ELSE 0 END) AS registered,
              SUM(CASE WHEN registered_at >= ? AND registered_at < ? AND concluded_at IS NOT NULL THEN 1 ELSE 0 END)
                AS registered_concluded,
              SUM(CASE WHEN concluded_at >= ? AND concluded_at < ? THEN 1 ELSE 0 END) AS concluded,
              SUM(CASE WHEN mediation_ended_at >= ? AND mediation_ended_at < ? THEN 1 ELSE 0 END) AS mediated,
              SUM(CASE WHEN mediation_ended_at >= ? AND mediation_ended_at < ? AND mediation_success = 1
                  THEN 1 ELSE 0 END) AS mediated_successfully,
              SUM(CASE WHEN concluded_at >= ? AND concluded_at < ? AND on_time = 1 THEN 1 ELSE 0 END) AS on_time,
              SUM(CASE WHEN concluded_at >= ? AND concluded_at < ? THEN ratings_total ELSE 0 END) AS ratings,
              SUM(CASE WHEN concluded_at >= ? AND concluded_at < ? THEN ratings_satisfied ELSE 0 END)
                AS ratings_satisfied,
              SUM(CASE WHEN concluded_at >= ? AND concluded_at < ? AND score IS NOT NULL
                  THEN CAST(ROUND(score * 10) AS BIGINT) ELSE 0 END) AS score_tenths,
              SUM(CASE WHEN concluded_at >= ? AND concluded_at < ? AND score IS NOT NULL THEN 1 ELSE 0 END)
                AS scored,
              SUM(CASE WHEN next_due_at < ? AND status <> 'closed' THEN 1 ELSE 0 END) AS overdue_now,
              SUM(CASE WHEN status NOT IN ('concluded', 'closed') THEN 1 ELSE 0 END) AS open_now
            FROM {source} AS c
            WHERE {clause} AND registered_at <= ?
            {grouping}
        """
        # Parameters in the order they appear: the ten period pairs and "now" in the
        # select list, the as-of bounds in FROM, then the scope and "now" in WHERE.
        rows = self.db.query(sql, [*[s, e] * 10, n, *source_params, *scope_params, n])
        return [_rates(row) for row in rows]

    def figures_level(self) -> bool:
        """Whether the roll-ups agree with the case rows (a catch-up far behind leaves them behind)."""
        return figures_level(self.db.query(FIGURES_LEVEL, ["cases", FIGURES]))

    def rolled_up_figures(
        self, scope: Scope, *, start: datetime, end: datetime, group: str = "county", now: datetime
    ) -> list[dict[str, Any]] | None:
        """The figures summed from the per-day roll-ups, or ``None`` where they cannot give them.

        They hold whole China-time days and the scopes of counties and townships; and they
        count every case, while the figures leave out one registered after ``now``.
        """
        first, stop = midnight_day(start), midnight_day(end)
        # A reader who sees everything reads the sum of the counties.
        kinds = LEVEL_KINDS.get(scope.level or "county")
        if first is None or stop is None or kinds is None or not self.figures_level():
            return None
        clause, scope_params = scope.clause()
        if scope.jurisdiction is None:
            # The county breakdown is kept at county level only: its scopes are the counties.
            where, params = "scope IN (SELECT scope FROM figure_groups WHERE kind = 'county')", []
        else:
            where, params = "scope = ?", [code(scope.jurisdiction)]
        # A breakdown not kept at this level (a township's county) has one group, the scope's
        # totals: every group of any breakdown summed, as when no breakdown is asked for.
        kind = group if group in kinds else kinds[0]
        column = GROUP_COLUMNS[kind]
        n, today = stamp(now), day_start(now)
        sums = ", ".join(f"SUM({name}) AS {name}" for name in DAY_METRICS)
        metrics = ", ".join(f"d.{name}" for name in DAY_METRICS)
        # One statement: the groups with their open cases, what happened on the period's days,
        # the deadlines of the days before today, today's deadlines already past (from the
        # rows), and whether a case in scope was registered after "now".
        rows = self.db.query(
            f"""
            SELECT {_decoded("g.group_key")} AS key, g.handler_name, g.open_now, o.due_before, t.due_today, {metrics},
              CASE WHEN EXISTS (SELECT 1 FROM cases WHERE registered_at > ? AND {clause}) THEN 1 ELSE 0 END AS later
            FROM (SELECT group_key, SUM(open_cases) AS open_now, MAX({_decoded("handler_name")}) AS handler_name
                  FROM figure_groups WHERE {where} AND kind = ? GROUP BY group_key) AS g
            LEFT JOIN (SELECT group_key, {sums} FROM figure_days
                       WHERE {where} AND kind = ? AND day >= ? AND day < ? GROUP BY group_key) AS d
              ON d.group_key = g.group_key
            LEFT JOIN (SELECT group_key, SUM(due) AS due_before FROM figure_due
                       WHERE {where} AND kind = ? AND day < ? GROUP BY group_key) AS o
              ON o.group_key = g.group_key
            LEFT JOIN (SELECT {_coded(column)} AS group_key, COUNT(*) AS due_today
                       FROM cases WHERE next_due_at >= ? AND next_due_at < ? AND status <> 'closed' AND {clause}
                       GROUP BY 1) AS t
              ON t.group_key = g.group_key
            ORDER BY key
            """,
            [
                *[n, *scope_params],
                *[*params, kind],
                *[*params, kind, first, stop],
                *[*params, kind, today.date().isoformat()],
                *[stamp(today), n, *scope_params],
            ],
            # The rows read differ by orders of magnitude between scopes, breakdowns and periods.
            prepare=False,
        )
        if any(row["later"] for row in rows):
            return None
        figures = [
            _rates(
                {
                    **row,
                    "handler_name": row["handler_name"] if kind == "handler" else None,
                    "overdue_now": int(row["due_before"] or 0) + int(row["due_today"] or 0),
                }
            )
            for row in rows
        ]
        if kind == group:
            return figures
        if group in GROUP_COLUMNS:
            return [{**combine(figures), "key": places(scope.jurisdiction or "")[group]}] if figures else []
        return [combine(figures)]

    # ------------------------------------------------------------------ access log

    def access_log(
        self,
        *,
        user_id: str | None = None,
        path_prefix: str | None = None,
        limit: int = 100,
        before: int | None = None,
    ) -> list[dict[str, Any]]:
        """Recorded reads, newest first; ``before`` is the position to continue below."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if user_id:
            where.append("user_id = ?")
            params.append(user_id)
        if path_prefix:
            where.append("substr(path, 1, ?) = ?")
            params += [len(path_prefix), path_prefix]
        if before is not None:
            where.append("position < ?")
            params.append(before)
        return self.db.query(
            f"SELECT * FROM access_log WHERE {' AND '.join(where)} ORDER BY position DESC LIMIT ?", [*params, limit]
        )

    # ------------------------------------------------------------------ court records

    def court_records(
        self, *, court: str | None, scope: Scope, status: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> Page:
        """Confirmation records addressed to ``court`` (for a court) or within a jurisdiction."""
        where: list[str] = []
        params: list[Any] = []
        if court is not None:
            where.append("court = ?")
            params.append(court)
        if scope.jurisdiction is not None:
            where.append("(jurisdiction = ? OR jurisdiction LIKE ?)")
            params += [scope.jurisdiction, scope.jurisdiction + "/%"]
        if status:
            where.append("status = ?")
            params.append(status)
        if cursor:
            applied_at, confirmation_id = _decode_cursor(cursor)
            where.append("(applied_at < ? OR (applied_at = ? AND confirmation_id < ?))")
            params += [applied_at, applied_at, confirmation_id]
        sql = "SELECT * FROM court" + (f" WHERE {' AND '.join(where)}" if where else "")
        rows = self.db.query(sql + " ORDER BY applied_at DESC, confirmation_id DESC LIMIT ?", [*params, limit + 1])
        more = len(rows) > limit
        rows = [_court(row) for row in rows[:limit]]
        next_cursor = _encode_cursor([rows[-1]["applied_at"], rows[-1]["confirmation_id"]]) if more and rows else None
        return Page(items=rows, next_cursor=next_cursor)

    def court_record(self, confirmation_id: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT * FROM court WHERE confirmation_id = ?", [confirmation_id])
        return _court(rows[0]) if rows else None


def _coded(column: str) -> str:
    """``figures.code`` of a column's value, in SQL."""
    return f"CASE WHEN {column} IS NULL THEN '' ELSE '=' || {column} END"


def _decoded(column: str) -> str:
    """The value ``figures.code`` coded, in SQL."""
    return f"CASE WHEN {column} = '' THEN NULL ELSE substr({column}, 2) END"


def _court(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("agreement", "parties", "mediator"):
        row[name] = json.loads(row[name]) if row[name] else None
    return row


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def combine(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of several groups taken together (the totals), without another scan."""
    counts = {
        key: sum(int(row[key] or 0) for row in rows)
        for key in (
            "registered",
            "registered_concluded",
            "concluded",
            "mediated",
            "mediated_successfully",
            "on_time",
            "ratings",
            "ratings_satisfied",
            "score_tenths",
            "scored",
            "overdue_now",
            "open_now",
        )
    }
    return _rates({"key": None, "handler_name": None, **counts})


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    """SPEC §5's rates from the counts (None where the denominator is zero)."""
    # SUM over no rows is NULL: an empty jurisdiction has zero of everything. Scores are
    # summed in tenths (they have one decimal), so that every way of adding them agrees.
    counts = {name: int(row[name] or 0) for name in (*DAY_METRICS, "overdue_now", "open_now")}
    return {
        "key": row["key"],
        "handler_name": row["handler_name"],
        **counts,
        "score_sum": counts["score_tenths"] / 10,
        "success_rate": _ratio(counts["mediated_successfully"], counts["mediated"]),
        "completion_rate": _ratio(counts["registered_concluded"], counts["registered"]),
        "on_time_rate": _ratio(counts["on_time"], counts["concluded"]),
        "satisfaction_rate": _ratio(counts["ratings_satisfied"], counts["ratings"]),
        "mean_score": round(counts["score_tenths"] / 10 / counts["scored"], 1) if counts["scored"] else None,
    }
