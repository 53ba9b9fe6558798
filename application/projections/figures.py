"""Per-day roll-ups of the case rows: what each row adds to the figures of SPEC §5.

The figures of a period count cases by the day something happened to them (registered,
concluded, mediation ended), so they are sums over day rows kept per scope (a county or a
township) and per group (township, unit, handler, …).
What a row adds is a pure function of the row; the store keeps the roll-ups equal to the
aggregate over the current rows by taking a row's old contribution away and adding its
new one whenever it writes the row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from operator import add
from typing import Any

from domain.calendar import CHINA_TZ
from domain.case import Status

# What the figures can be broken down by, and the case-row column that says it.
GROUP_COLUMNS = {
    "county": "county",
    "township": "township",
    "unit": "accepted_unit",
    "handler": "handler_id",
    "category": "category",
    "channel": "channel",
    "risk_color": "risk_color",
}
# The breakdowns kept for each scope: a county's and a township's, the scopes of the readers
# of the figures, whose cases are too many to count one by one; a village or a grid is small
# enough to count from its rows. Under a township every case has the same county, so that
# breakdown is the township's totals (any breakdown summed, as ``ViewQueries`` does). Kept at
# county level only, the county breakdown also lists the counties, for readers who see them all.
_ANYWHERE = ("unit", "handler", "category", "channel", "risk_color")
LEVEL_KINDS = {
    "county": ("county", "township", *_ANYWHERE),
    "township": ("township", *_ANYWHERE),
}
# Counted on the day of the event that makes them: registration, conclusion, end of mediation.
DAY_METRICS = (
    "registered",
    "registered_concluded",
    "concluded",
    "on_time",
    "ratings",
    "ratings_satisfied",
    "score_tenths",
    "scored",
    "mediated",
    "mediated_successfully",
)
# The case-row columns a contribution depends on.
FIGURE_COLUMNS = (
    *GROUP_COLUMNS.values(),
    "handler_name",
    "status",
    "registered_at",
    "concluded_at",
    "mediation_ended_at",
    "mediation_success",
    "on_time",
    "ratings_total",
    "ratings_satisfied",
    "score",
    "next_due_at",
)
# Where in a day's metrics each of them is.
_AT = {name: i for i, name in enumerate(DAY_METRICS)}
_ZERO = (0,) * len(DAY_METRICS)
_NOT_OPEN = frozenset({Status.CONCLUDED, Status.CLOSED})


def code(value: str | None) -> str:
    """A scope, group key or name as the roll-ups store it: ``""`` for none, ``"=" + value`` otherwise.

    The roll-up tables' keys cannot hold NULL, and no real value codes to ``""``.
    """
    return "" if value is None else "=" + value


def day_of(stamp: str) -> str:
    """The China-time day of a stored time, as ``YYYY-MM-DD`` (text order is day order)."""
    return datetime.fromisoformat(stamp).astimezone(CHINA_TZ).date().isoformat()


def midnight_day(moment: datetime) -> str | None:
    """The day starting at ``moment`` if it is a China-time midnight, else ``None``."""
    local = moment.astimezone(CHINA_TZ)
    return local.date().isoformat() if local.time() == time(0) else None


def day_start(moment: datetime) -> datetime:
    """China-time midnight at the start of the day of ``moment``."""
    return datetime.combine(moment.astimezone(CHINA_TZ).date(), time(0), CHINA_TZ)


def score_tenths(score: float) -> int:
    """A score (one decimal) in tenths, so that sums of scores are exact."""
    return round(score * 10)


Place = tuple[tuple[tuple[str, tuple[str, ...]], ...], dict[str, str], str]


@dataclass(frozen=True)
class Contribution:
    """What one case row adds to the roll-ups."""

    # Where the row counts: each scope it is in with the breakdowns kept there, its key under
    # each breakdown, and the handler's name.
    scopes: tuple[tuple[str, tuple[str, ...]], ...]
    keys: dict[str, str]
    handler_name: str
    # What it counts, and on which days.
    days: dict[str, tuple[int, ...]]
    due_day: str | None
    open: int

    @property
    def place(self) -> Place:
        return self.scopes, self.keys, self.handler_name


def _on(days: dict[str, tuple[int, ...]], day: str, values: dict[str, int]) -> None:
    metrics = list(days.get(day, _ZERO))
    for name, value in values.items():
        metrics[_AT[name]] += value
    days[day] = tuple(metrics)


def contribution(row: Mapping[str, Any]) -> Contribution:
    """What a case row adds: SPEC §5's figures as ``ViewQueries.counted_figures`` counts them, day by day."""
    concluded_at, mediation_ended_at, score = row["concluded_at"], row["mediation_ended_at"], row["score"]
    days: dict[str, tuple[int, ...]] = {}
    _on(days, day_of(row["registered_at"]), {"registered": 1, "registered_concluded": int(concluded_at is not None)})
    if concluded_at is not None:
        _on(
            days,
            day_of(concluded_at),
            {
                "concluded": 1,
                "on_time": int(row["on_time"] == 1),
                "ratings": row["ratings_total"],
                "ratings_satisfied": row["ratings_satisfied"],
                "score_tenths": 0 if score is None else score_tenths(score),
                "scored": int(score is not None),
            },
        )
    if mediation_ended_at is not None:
        _on(
            days,
            day_of(mediation_ended_at),
            {"mediated": 1, "mediated_successfully": int(row["mediation_success"] == 1)},
        )
    due = row["next_due_at"]
    return Contribution(
        scopes=tuple((code(row[level]), kinds) for level, kinds in LEVEL_KINDS.items() if row[level] is not None),
        keys={kind: code(row[column]) for kind, column in GROUP_COLUMNS.items()},
        handler_name=code(row["handler_name"]),
        days=days,
        due_day=day_of(due) if due is not None and row["status"] != Status.CLOSED else None,
        open=int(row["status"] not in _NOT_OPEN),
    )


# Keys of the roll-up rows: (scope, breakdown, day, group) for the day tables, and (scope,
# breakdown, group, handler name) for the groups (the name only for the handler breakdown).
Key = tuple[str, str, str, str]


@dataclass
class FigureDeltas:
    """How a batch of row changes moves the roll-ups; zero changes are left out."""

    days: dict[Key, tuple[int, ...]] = field(default_factory=dict)
    due: dict[Key, int] = field(default_factory=dict)
    # [cases, open cases] of each group.
    groups: dict[Key, tuple[int, int]] = field(default_factory=dict)

    def move(self, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> None:
        """A row replaced by another (``old`` is ``None`` for a new case)."""
        after = contribution(new)
        before = contribution(old) if old is not None else None
        if before is None or before.place != after.place:
            if before is not None:
                self._spread(before, -1)
            self._spread(after, 1)
            return
        # Still counted in the same groups: only what it counts there may have changed.
        days = {
            day: tuple(n - o for n, o in zip(after.days.get(day, _ZERO), before.days.get(day, _ZERO), strict=True))
            for day in after.days.keys() | before.days.keys()
        }
        due = {} if before.due_day == after.due_day else {before.due_day: -1, after.due_day: 1}
        self._add(after.place, {day: d for day, d in days.items() if any(d)}, due, (0, after.open - before.open))

    def _spread(self, part: Contribution, sign: int) -> None:
        days = {day: tuple(sign * n for n in metrics) for day, metrics in part.days.items()}
        self._add(part.place, days, {part.due_day: sign}, (sign, sign * part.open))

    def _add(
        self,
        place: Place,
        days: dict[str, tuple[int, ...]],
        due: dict[str | None, int],
        group: tuple[int, int],
    ) -> None:
        scopes, keys, name = place
        due_days = [(day, n) for day, n in due.items() if day is not None]
        for scope, kinds in scopes:
            for kind in kinds:
                key = keys[kind]
                for day, metrics in days.items():
                    at = (scope, kind, day, key)
                    current = self.days.get(at)
                    self.days[at] = metrics if current is None else tuple(map(add, current, metrics))
                for day, n in due_days:
                    at = (scope, kind, day, key)
                    self.due[at] = self.due.get(at, 0) + n
                if any(group):
                    at = (scope, kind, key, name if kind == "handler" else "")
                    members, opened = self.groups.get(at, (0, 0))
                    self.groups[at] = (members + group[0], opened + group[1])

    def day_rows(self) -> Iterator[tuple[Key, tuple[int, ...]]]:
        return ((key, metrics) for key, metrics in self.days.items() if any(metrics))

    def due_rows(self) -> Iterator[tuple[Key, int]]:
        return ((key, n) for key, n in self.due.items() if n)

    def group_rows(self) -> Iterator[tuple[Key, tuple[int, int]]]:
        return ((key, counts) for key, counts in self.groups.items() if any(counts))
