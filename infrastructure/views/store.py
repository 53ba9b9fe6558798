"""The view tables and their writer: rows and tracked positions in one transaction.

Each view (``cases``, ``audit``, ``court``) owns its tables and one row of
``view_positions``. A rebuild writes the same tables under a suffix and swaps them in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from application.projections.figures import DAY_METRICS, FIGURE_COLUMNS, FigureDeltas
from application.projections.projector import HISTORY_COLUMNS, VIEWS, Changes
from application.projections.rows import json_text
from infrastructure.views.db import Cursor, ViewDatabase

CASE_COLUMNS = (
    "case_id", "version", "position", "status", "risk_color", "difficulty", "category", "channel",
    "county", "township", "village", "grid", "jurisdiction", "unit", "accepted_unit", "handler_id",
    "handler_kind", "handler_name", "summary", "external_ref", "registered_at", "dispatched_at",
    "concluded_at", "closed_at", "outcome", "mediation_ended_at", "mediated", "mediation_success",
    "next_due_at", "next_due_kind", "provisional", "missed_steps", "on_time", "ratings_total",
    "ratings_satisfied", "score", "grade", "policy", "county_flagged", "imported",
)  # fmt: skip
_INT = {"version", "position", "mediated", "mediation_success", "provisional", "missed_steps", "on_time",
        "ratings_total", "ratings_satisfied", "county_flagged", "imported"}  # fmt: skip
_REAL = {"score"}


def _column_type(name: str) -> str:
    if name in _INT:
        return "BIGINT"
    if name in _REAL:
        return "DOUBLE PRECISION"
    return "TEXT"


def _columns_ddl(columns: Sequence[str]) -> str:
    return ", ".join(f"{name} {_column_type(name)}" for name in columns)


AUDIT_COLUMNS = ("position", "aggregate_id", "version", "type", "actor", "occurred_at", "recorded_at",
                 "request_id", "imported", "topic", "state")  # fmt: skip
COURT_COLUMNS = ("confirmation_id", "case_id", "position", "court", "status", "applied_at", "window_due_at",
                 "ruled_at", "ruling_number", "agreement", "parties", "mediator", "jurisdiction", "township")  # fmt: skip
EVALUATION_COLUMNS = ("case_id", "policy", "score", "grade", "grade_code", "evaluation")
ACCESS_COLUMNS = (
    "position",
    "user_id",
    "role",
    "unit",
    "method",
    "path",
    "query",
    "reason",
    "occurred_at",
    "request_id",
)
# JSON columns the store encodes (an audit row's actor comes encoded: rows.actor_json).
_JSON = {"agreement", "parties", "mediator", "evaluation"}
# Roll-ups of the case rows for the figures (application.projections.figures), as their key
# columns (the primary key, in order) and counts: per scope, breakdown and group, what happened
# each day, the deadlines falling due each day, and the cases and open cases of each group (per
# handler name, for the handler breakdown).
ROLLUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "figure_days": (("scope", "kind", "day", "group_key"), DAY_METRICS),
    "figure_due": (("scope", "kind", "day", "group_key"), ("due",)),
    "figure_groups": (("scope", "kind", "group_key", "handler_name"), ("cases", "open_cases")),
}


def _rollup_ddl(table: str) -> str:
    keys, counts = ROLLUPS[table]
    columns = [*(f"{name} TEXT NOT NULL" for name in keys), *(f"{name} BIGINT NOT NULL" for name in counts)]
    return f"CREATE TABLE IF NOT EXISTS {table}{{s}} ({', '.join(columns)}, PRIMARY KEY ({', '.join(keys)}))"


# Tables of each view, with their DDL (``{s}`` is the rebuild suffix).
TABLES: dict[str, list[str]] = {
    "cases": [
        f"CREATE TABLE IF NOT EXISTS cases{{s}} ({_columns_ddl(CASE_COLUMNS)}, PRIMARY KEY (case_id))",
        f"CREATE TABLE IF NOT EXISTS case_history{{s}} ({_columns_ddl(HISTORY_COLUMNS)}, valid_from TEXT, valid_to TEXT, "
        "PRIMARY KEY (case_id, version))",
        "CREATE TABLE IF NOT EXISTS evaluations{s} (case_id TEXT PRIMARY KEY, policy TEXT, score DOUBLE PRECISION, "
        "grade TEXT, grade_code TEXT, evaluation TEXT)",
        # Keyed lookup tokens (HMAC-SHA256) of parties' ID numbers and phones, never the values.
        "CREATE TABLE IF NOT EXISTS party_index{s} (kind TEXT NOT NULL, token TEXT NOT NULL, case_id TEXT NOT NULL, "
        "party_id TEXT NOT NULL, PRIMARY KEY (kind, token, case_id, party_id))",
        *(_rollup_ddl(table) for table in ROLLUPS),
    ],
    "audit": [
        "CREATE TABLE IF NOT EXISTS audit{s} (position BIGINT PRIMARY KEY, aggregate_id TEXT, version BIGINT, "
        "type TEXT, actor TEXT, occurred_at TEXT, recorded_at TEXT, request_id TEXT, imported BIGINT, topic TEXT, "
        "state TEXT)",
    ],
    "access": [
        "CREATE TABLE IF NOT EXISTS access_log{s} (position BIGINT PRIMARY KEY, user_id TEXT, role TEXT, unit TEXT, "
        "method TEXT, path TEXT, query TEXT, reason TEXT, occurred_at TEXT, request_id TEXT)",
    ],
    "court": [
        "CREATE TABLE IF NOT EXISTS court{s} (confirmation_id TEXT PRIMARY KEY, case_id TEXT, position BIGINT, "
        "court TEXT, status TEXT, applied_at TEXT, window_due_at TEXT, ruled_at TEXT, ruling_number TEXT, "
        "agreement TEXT, parties TEXT, mediator TEXT, jurisdiction TEXT, township TEXT)",
    ],
}
INDEXES: dict[str, list[str]] = {
    "cases": [
        "CREATE INDEX IF NOT EXISTS cases{s}_registered ON cases{s} (registered_at, case_id)",
        "CREATE INDEX IF NOT EXISTS cases{s}_township ON cases{s} (township, registered_at)",
        "CREATE INDEX IF NOT EXISTS cases{s}_village ON cases{s} (village, registered_at)",
        "CREATE INDEX IF NOT EXISTS cases{s}_status ON cases{s} (status, registered_at)",
        "CREATE INDEX IF NOT EXISTS cases{s}_due ON cases{s} (next_due_at, case_id)",
        "CREATE INDEX IF NOT EXISTS cases{s}_concluded ON cases{s} (concluded_at)",
        "CREATE INDEX IF NOT EXISTS cases{s}_mediation ON cases{s} (mediation_ended_at)",
        "CREATE INDEX IF NOT EXISTS cases{s}_handler ON cases{s} (handler_id, registered_at)",
        "CREATE INDEX IF NOT EXISTS case_history{s}_open ON case_history{s} (case_id, valid_to)",
        "CREATE INDEX IF NOT EXISTS case_history{s}_valid ON case_history{s} (valid_from, valid_to)",
        "CREATE INDEX IF NOT EXISTS party_index{s}_party ON party_index{s} (case_id, party_id)",
    ],
    "audit": ["CREATE INDEX IF NOT EXISTS audit{s}_aggregate ON audit{s} (aggregate_id, version)"],
    "access": [
        "CREATE INDEX IF NOT EXISTS access_log{s}_user ON access_log{s} (user_id, position)",
        "CREATE INDEX IF NOT EXISTS access_log{s}_path ON access_log{s} (path, position)",
    ],
    "court": [
        "CREATE INDEX IF NOT EXISTS court{s}_court ON court{s} (court, applied_at)",
        "CREATE INDEX IF NOT EXISTS court{s}_case ON court{s} (case_id)",
    ],
}
VIEW_TABLES = {
    "cases": ("cases", "case_history", "evaluations", "party_index", *ROLLUPS),
    "audit": ("audit",),
    "court": ("court",),
    "access": ("access_log",),
}
# The position the roll-ups agree with, kept beside the cases view's own. A catch-up far behind
# the ledger leaves them behind (adding to the same day rows batch after batch costs more than
# counting them once); queries then count from the case rows, and the first batch written
# near the head counts the roll-ups again from the rows.
FIGURES = "cases.figures"
_POSITION_ROWS = {view: (view, FIGURES) if view == "cases" else (view,) for view in TABLES}
FIGURES_LEVEL = "SELECT position FROM view_positions WHERE view IN (?, ?)"


def figures_level(rows: Sequence[Any]) -> bool:
    """Whether the roll-ups agree with the case rows, from the rows ``FIGURES_LEVEL`` selects."""
    positions = [row["position"] for row in rows]
    return len(positions) == 2 and positions[0] == positions[1]


# A fingerprint of each view's layout: stored views of another layout are rebuilt.
LAYOUTS = {
    view: hashlib.sha256("\n".join([*TABLES[view], *INDEXES[view], *_POSITION_ROWS[view]]).encode()).hexdigest()[:16]
    for view in TABLES
}


# Columns a projector fills with a stored event's own bytes: the same object as the
# notification's, so a batch sent to the writer process carries them once.
_UTF8 = frozenset({"state"})


def _encoder(columns: Sequence[str]) -> Callable[[dict[str, Any]], list[Any]]:
    """A row's values in ``columns`` order, its JSON columns and stored bytes as text."""
    json_at = [i for i, name in enumerate(columns) if name in _JSON]
    utf8_at = [i for i, name in enumerate(columns) if name in _UTF8]

    def encode(row: dict[str, Any]) -> list[Any]:
        values: list[Any] = list(map(row.get, columns))
        for i in json_at:
            if values[i] is not None:
                values[i] = json_text(values[i])
        for i in utf8_at:
            values[i] = values[i].decode("utf-8")
        return values

    return encode


_EVALUATION_VALUES = _encoder(EVALUATION_COLUMNS)
_AUDIT_VALUES = _encoder(AUDIT_COLUMNS)
_ACCESS_VALUES = _encoder(ACCESS_COLUMNS)
_COURT_VALUES = _encoder(COURT_COLUMNS)
_CASE_VALUES = itemgetter(*CASE_COLUMNS)
_HISTORY_COLUMNS = (*HISTORY_COLUMNS, "valid_from", "valid_to")


def _emptied(table: str, keys: Sequence[str], counts: Sequence[str]) -> str:
    """Removes a roll-up row whose counts came down to zero (a rebuild would not have it)."""
    where = " AND ".join([*(f"{name} = ?" for name in keys), *(f"{name} = 0" for name in counts)])
    return f"DELETE FROM {table} WHERE {where}"


class ViewStore:
    """Creates the view tables and applies a projector's ``Changes`` with their positions."""

    def __init__(self, db: ViewDatabase) -> None:
        self.db = db

    def create(self, views: Sequence[str] = VIEWS, suffix: str = "") -> None:
        """Create the tables; views built by another version of this code are dropped first.

        Views are projections, so a changed layout is never migrated: it is rebuilt from the
        ledger, which the worker does by itself from position zero.
        """
        with self.db.transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS view_positions (view TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            cursor.execute("CREATE TABLE IF NOT EXISTS view_schema (view TEXT PRIMARY KEY, layout TEXT NOT NULL)")
            for view in views:
                cursor.execute("SELECT layout FROM view_schema WHERE view = ?", (view + suffix,))
                found = cursor.fetchone()
                stored = None if found is None else (found["layout"] if isinstance(found, dict) else found[0])
                if stored is not None and stored != LAYOUTS[view]:
                    for table in VIEW_TABLES[view]:
                        cursor.execute(f"DROP TABLE IF EXISTS {table}{suffix}")
                    self._forget_positions(cursor, view, suffix)
                cursor.execute(
                    "INSERT INTO view_schema (view, layout) VALUES (?, ?) ON CONFLICT (view) DO UPDATE SET layout = ?",
                    (view + suffix, LAYOUTS[view], LAYOUTS[view]),
                )
                for ddl in TABLES[view] + INDEXES[view]:
                    cursor.execute(ddl.format(s=suffix))
                cursor.executemany(
                    "INSERT INTO view_positions (view, position) VALUES (?, 0) ON CONFLICT (view) DO NOTHING",
                    [(name + suffix,) for name in _POSITION_ROWS[view]],
                )

    def drop(self, view: str, suffix: str) -> None:
        with self.db.transaction() as cursor:
            for table in VIEW_TABLES[view]:
                cursor.execute(f"DROP TABLE IF EXISTS {table}{suffix}")
            self._forget_positions(cursor, view, suffix)
            cursor.execute("DELETE FROM view_schema WHERE view = ?", (view + suffix,))

    @staticmethod
    def _forget_positions(cursor: Cursor, view: str, suffix: str) -> None:
        cursor.executemany(
            "DELETE FROM view_positions WHERE view = ?", [(name + suffix,) for name in _POSITION_ROWS[view]]
        )

    def swap_positions(self, cursor: Cursor, view: str, suffix: str) -> None:
        """A rebuilt view's positions become the live ones (in the rebuild's swap)."""
        for name in _POSITION_ROWS[view]:
            cursor.execute(
                "UPDATE view_positions SET position = (SELECT position FROM view_positions WHERE view = ?) "
                "WHERE view = ?",
                (name + suffix, name),
            )
        self._forget_positions(cursor, view, suffix)

    def positions(self) -> dict[str, int]:
        """Each view's position (the roll-ups' own is kept apart: it is not a view)."""
        rows = self.db.query("SELECT view, position FROM view_positions WHERE view NOT LIKE ?", [FIGURES + "%"])
        return {row["view"]: int(row["position"]) for row in rows}

    def read_positions(self, cursor: Cursor, views: Sequence[str], suffix: str = "") -> dict[str, int]:
        """Positions as seen inside a write transaction (after taking the lock)."""
        self.db.lock_positions(cursor)
        cursor.execute("SELECT view, position FROM view_positions")
        found = {row[0] if not isinstance(row, dict) else row["view"]: row for row in cursor.fetchall()}
        result = {}
        for view in views:
            row = found.get(view + suffix)
            result[view] = int(row[1] if not isinstance(row, dict) else row["position"]) if row else 0
        return result

    def case_count(self, suffix: str = "") -> int:
        return int(self.db.query(f"SELECT COUNT(*) AS n FROM cases{suffix}")[0]["n"])

    def provisional_cases(self, cursor: Cursor, suffix: str = "") -> list[tuple[str, int, int]]:
        """(case id, version, position) of stored rows with a provisional deadline."""
        cursor.execute(f"SELECT case_id, version, position FROM cases{suffix} WHERE provisional = 1")
        return [
            (row["case_id"], int(row["version"]), int(row["position"]))
            if isinstance(row, dict)
            else (row[0], int(row[1]), int(row[2]))
            for row in cursor.fetchall()
        ]

    def write(self, cursor: Cursor, changes: Changes, suffix: str = "", *, bulk: bool = False) -> None:
        """Rows of every view in ``changes`` and their new positions, in the caller's transaction.

        ``bulk`` (a catch-up far behind the ledger) leaves the roll-ups behind; any other write
        brings them to the cases view's new position, by adding this batch's changes when they
        were level with it before, else by counting them again from every case row.
        """
        s = suffix
        reached = changes.positions.get("cases")
        figures_level = reached is not None and not bulk and self._figures_level(cursor, s)
        if changes.cases:
            if figures_level:
                self._write_figures(cursor, changes.cases, s)
            # Case rows (the bulk of every batch) have every column and no JSON.
            rows = [_CASE_VALUES(row) for row in changes.cases.values()]
            self.db.put_rows(cursor, f"cases{s}", CASE_COLUMNS, ("case_id",), rows, replace=True)
        if reached is not None and not bulk:
            if not figures_level:
                self._recount_figures(cursor, s)
            changes.positions[FIGURES] = reached
        if changes.history:
            self._write_history(cursor, changes.history, s)
        if changes.evaluations:
            gone = [(case_id,) for case_id, row in changes.evaluations.items() if row is None]
            self.db.delete_rows(cursor, f"evaluations{s}", ("case_id",), gone)
            present = [_EVALUATION_VALUES(row) for row in changes.evaluations.values() if row is not None]
            if present:
                self.db.put_rows(cursor, f"evaluations{s}", EVALUATION_COLUMNS, ("case_id",), present, replace=True)
        # Audit and access entries, like history rows, are past their view's position: new
        # rows, inserted as they are (COPY on PostgreSQL); one already there fails the batch.
        if changes.audit:
            self.db.insert_rows(cursor, f"audit{s}", AUDIT_COLUMNS, [_AUDIT_VALUES(row) for row in changes.audit])
        if changes.access:
            rows = [_ACCESS_VALUES(row) for row in changes.access]
            self.db.insert_rows(cursor, f"access_log{s}", ACCESS_COLUMNS, rows)
        if changes.party_index:
            self._write_party_index(cursor, changes.party_index, s)
        if changes.court:
            rows = [_COURT_VALUES(row) for row in changes.court.values()]
            self.db.put_rows(cursor, f"court{s}", COURT_COLUMNS, ("confirmation_id",), rows, replace=True)
        cursor.executemany(
            "UPDATE view_positions SET position = ? WHERE view = ? AND position < ?",
            [(position, view + s, position) for view, position in changes.positions.items()],
        )

    def _figures_level(self, cursor: Cursor, s: str) -> bool:
        cursor.execute(FIGURES_LEVEL, ("cases" + s, FIGURES + s))
        return figures_level(cursor.fetchall())

    def _recount_figures(self, cursor: Cursor, s: str) -> None:
        """The roll-ups counted again from every stored case row."""
        cursor.execute(f"SELECT {', '.join(FIGURE_COLUMNS)} FROM cases{s}")
        deltas = FigureDeltas()
        for row in cursor.fetchall():
            deltas.move(None, row)
        for table in ROLLUPS:
            # DELETE, not TRUNCATE: readers keep the old rows until this commits, without waiting.
            cursor.execute(f"DELETE FROM {table}{s}")
        self._add_figures(cursor, deltas, s)

    def _write_figures(self, cursor: Cursor, cases: dict[str, dict[str, Any]], s: str) -> None:
        # Before the rows are replaced: the roll-ups lose what the stored rows counted and gain
        # what the new ones count, so they always add up to the rows as stored.
        deltas = FigureDeltas()
        stored = {}
        ids = list(cases)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cursor.execute(
                f"SELECT case_id, {', '.join(FIGURE_COLUMNS)} FROM cases{s} "
                f"WHERE case_id IN ({', '.join('?' for _ in chunk)})",
                chunk,
            )
            stored.update({row["case_id"]: dict(row) for row in cursor.fetchall()})
        for case_id, row in cases.items():
            deltas.move(stored.get(case_id), row)
        self._add_figures(cursor, deltas, s)

    def _add_figures(self, cursor: Cursor, deltas: FigureDeltas, s: str) -> None:
        for table, changed in (
            ("figure_days", list(deltas.day_rows())),
            ("figure_due", [(key, (n,)) for key, n in deltas.due_rows()]),
            ("figure_groups", list(deltas.group_rows())),
        ):
            if not changed:
                continue
            keys, counts = ROLLUPS[table]
            self.db.add_counts(cursor, table + s, keys, counts, [(*key, *values) for key, values in changed])
            # Only a row that lost something can have come down to zero.
            emptied = [key for key, values in changed if min(values) < 0]
            if emptied:
                cursor.executemany(_emptied(table + s, keys, counts), emptied)

    def _write_party_index(
        self, cursor: Cursor, index: dict[tuple[str, str], list[tuple[str, str]] | None], s: str
    ) -> None:
        # Each party's tokens are replaced whole: a registration writes them, an erasure removes them.
        self.db.delete_rows(cursor, f"party_index{s}", ("case_id", "party_id"), list(index))
        rows = [
            (kind, token, case_id, party_id)
            for (case_id, party_id), tokens in index.items()
            for kind, token in tokens or ()
        ]
        if rows:
            columns = ("kind", "token", "case_id", "party_id")
            self.db.put_rows(cursor, f"party_index{s}", columns, columns, rows, replace=False)

    def _write_history(self, cursor: Cursor, history: list[tuple[str | None, tuple[Any, ...]]], s: str) -> None:
        # A history row is valid until the next event of the same case; within a batch that
        # next event is known here, across batches the stored open row is closed first.
        first: dict[str, str | None] = {}
        valid_to: list[str | None] = [None] * len(history)
        last: dict[str, int] = {}
        for i, (valid_from, values) in enumerate(history):
            case_id = values[0]
            previous = last.get(case_id)
            if previous is None:
                first[case_id] = valid_from
            else:
                valid_to[previous] = valid_from
            last[case_id] = i
        table = f"case_history{s}"
        closing = [(valid_from, case_id) for case_id, valid_from in first.items()]
        self.db.update_rows(cursor, table, ("valid_to",), "case_id", closing, f"{table}.valid_to IS NULL")
        rows = [(*values, valid_from, valid_to[i]) for i, (valid_from, values) in enumerate(history)]
        self.db.insert_rows(cursor, table, _HISTORY_COLUMNS, rows)
