"""The figures' roll-ups move with the rows (SPEC §5, §7): however a row changes, the sum of
the changes equals the roll-up of the rows as they end up.

Hypothesis draws case rows (places, groups, days, outcome, ratings, score, deadline, status)
and a history of replacements of them, as the projector writes them batch after batch; the
changes ``FigureDeltas`` accumulates must be what a roll-up of the final rows from nothing
holds, with no row left at zero.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from application.projections.figures import FigureDeltas, contribution, day_of, score_tenths

PLACES = ("qingxi", "qingxi/hekou", "qingxi/hekou/shahe", "qingxi/hekou/shahe/grid-01", "qingxi/chengguan/nanjie")
DAYS = ("2026-04-30T15:59:59.999999+00:00", "2026-04-30T16:00:00.000000+00:00", "2026-05-02T03:00:00.000000+00:00")
STATUSES = ("registered", "dispatched", "handling", "concluded", "closed")


def _place(path: str) -> dict[str, str | None]:
    parts = path.split("/")
    return {
        level: "/".join(parts[: i + 1]) if i < len(parts) else None
        for i, level in enumerate(("county", "township", "village", "grid"))
    }


FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "place": st.sampled_from(PLACES),
    "accepted_unit": st.sampled_from(("", "hekou-shahe", "qingxi-hrss")),
    "handler_id": st.none() | st.sampled_from(("gw-1", "med-2")),
    "handler_name": st.none() | st.sampled_from(("王", "李", "")),
    "category": st.sampled_from(("land", "neighbour")),
    "risk_color": st.sampled_from(("green", "red")),
    "status": st.sampled_from(STATUSES),
    "registered_at": st.sampled_from(DAYS),
    "concluded_at": st.none() | st.sampled_from(DAYS),
    "mediation_ended_at": st.none() | st.sampled_from(DAYS),
    "mediation_success": st.integers(0, 1),
    "on_time": st.none() | st.integers(0, 1),
    "ratings_total": st.integers(0, 2),
    "ratings_satisfied": st.integers(0, 2),
    "score": st.none() | st.sampled_from((0.0, 57.3, 86.1, 100.0)),
    "next_due_at": st.none() | st.sampled_from(DAYS),
}


def _row(fields: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in fields.items() if k != "place"}, **_place(fields["place"]), "channel": "visit"}


@st.composite
def case_histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A case's rows as successive batches write them: each changes a few fields of the one before."""
    fields = {name: draw(strategy) for name, strategy in FIELDS.items()}
    rows = [_row(fields)]
    for _ in range(draw(st.integers(0, 4))):
        for name in draw(st.lists(st.sampled_from(list(FIELDS)), max_size=3)):
            fields[name] = draw(FIELDS[name])
        rows.append(_row(fields))
    return rows


def from_nothing(final: list[dict[str, Any]]) -> FigureDeltas:
    deltas = FigureDeltas()
    for row in final:
        deltas.move(None, row)
    return deltas


def tables(deltas: FigureDeltas) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
    return dict(deltas.day_rows()), dict(deltas.due_rows()), dict(deltas.group_rows())


@settings(max_examples=300, deadline=None, database=None)
@given(histories=st.lists(case_histories(), min_size=1, max_size=4))
def test_the_changes_of_every_rewrite_add_up_to_the_roll_up_of_the_final_rows(
    histories: list[list[dict[str, Any]]],
) -> None:
    """SPEC §7: rows rewritten in any order leave the roll-ups as a rebuild from the final rows."""
    total: Counter[Any] = Counter()
    # Each case's rows, one per batch that wrote it; batches take turns between the cases.
    for step in range(max(len(h) for h in histories)):
        deltas = FigureDeltas()
        for history in histories:
            if step < len(history):
                deltas.move(history[step - 1] if step else None, history[step])
        for name, table in zip(("days", "due", "groups"), tables(deltas), strict=True):
            for key, value in table.items():
                for i, n in enumerate(value if isinstance(value, tuple) else (value,)):
                    total[(name, key, i)] += n

    expected: Counter[Any] = Counter()
    for name, table in zip(("days", "due", "groups"), tables(from_nothing([h[-1] for h in histories])), strict=True):
        for key, value in table.items():
            for i, n in enumerate(value if isinstance(value, tuple) else (value,)):
                expected[(name, key, i)] += n
    assert +total == +expected
    assert all(n >= 0 for n in total.values())


def test_a_row_counts_on_the_china_day_of_each_of_its_events() -> None:
    """SPEC §5: the figures of a day are those of [00:00, 24:00) China time."""
    row = {
        **_place("qingxi/hekou/shahe/grid-01"),
        "accepted_unit": "hekou-shahe",
        "handler_id": "gw-1",
        "handler_name": "王",
        "category": "land",
        "channel": "visit",
        "risk_color": "green",
        "status": "concluded",
        "registered_at": DAYS[0],
        "concluded_at": DAYS[1],
        "mediation_ended_at": DAYS[1],
        "mediation_success": 1,
        "on_time": 1,
        "ratings_total": 2,
        "ratings_satisfied": 1,
        "score": 86.1,
        "next_due_at": DAYS[2],
    }

    part = contribution(row)

    assert [day_of(d) for d in DAYS] == ["2026-04-30", "2026-05-01", "2026-05-02"]
    assert part.days == {
        "2026-04-30": (1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
        "2026-05-01": (0, 0, 1, 1, 2, 1, score_tenths(86.1), 1, 1, 1),
    }
    assert score_tenths(86.1) == 861
    assert (part.due_day, part.open) == ("2026-05-02", 0)
    assert [scope for scope, _ in part.scopes] == ["=qingxi", "=qingxi/hekou"]
    assert part.keys["handler"] == "=gw-1"
    assert part.keys["unit"] == "=hekou-shahe"


def test_a_closed_case_has_no_deadline_to_miss_and_a_move_takes_it_out_of_its_old_groups() -> None:
    """SPEC §5: overdue counts only cases not closed; a case moved to another unit leaves the old one."""
    base = {
        **_place("qingxi/hekou/shahe"),
        "accepted_unit": "hekou-shahe",
        "handler_id": None,
        "handler_name": None,
        "category": "land",
        "channel": "visit",
        "risk_color": "green",
        "status": "handling",
        "registered_at": DAYS[0],
        "concluded_at": None,
        "mediation_ended_at": None,
        "mediation_success": 0,
        "on_time": None,
        "ratings_total": 0,
        "ratings_satisfied": 0,
        "score": None,
        "next_due_at": DAYS[2],
    }
    closed = {**base, "status": "closed"}
    moved = {**base, "accepted_unit": "qingxi-hrss"}

    assert contribution(closed).due_day is None
    deltas = FigureDeltas()
    deltas.move(base, moved)
    units = {key: n for key, n in deltas.group_rows() if key[1] == "unit"}
    assert units == {
        ("=qingxi", "unit", "=hekou-shahe", ""): (-1, -1),
        ("=qingxi", "unit", "=qingxi-hrss", ""): (1, 1),
        ("=qingxi/hekou", "unit", "=hekou-shahe", ""): (-1, -1),
        ("=qingxi/hekou", "unit", "=qingxi-hrss", ""): (1, 1),
    }
