"""The figures' per-day roll-ups on every backend (SPEC §5, §7): never adrift of the case rows.

The demo county is projected in batches of seven events, so most cases are written several
times (registered in one batch, concluded, rated or reopened in later ones) and every write
takes the stored row's contribution away before adding the new one; then a calendar year is
loaded, which rewrites provisional rows without any case event. Two checks follow:

* the roll-up tables hold exactly what the contributions of the stored case rows add up to
  (summed afresh, from nothing), and no row at zero;
* the figures summed from the roll-ups equal the figures counted from the case rows, for
  periods, scopes, breakdowns and moments Hypothesis draws; where the roll-ups cannot answer
  (a village, part of a day, a past moment) the figures are counted, and still the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.ledger import Caller, CaseLedger
from application.projections.figures import GROUP_COLUMNS, FigureDeltas
from application.projections.projector import VIEWS
from domain.calendar import CHINA_TZ
from domain.values import Actor, Role
from infrastructure.bootstrap import build_ledger, build_views
from infrastructure.calendar_data import parse_schedule
from infrastructure.demo import load_demo
from infrastructure.settings import Settings
from infrastructure.views.queries import Scope, ViewQueries
from infrastructure.views.store import ROLLUPS, ViewStore
from infrastructure.worker import ProjectionWorker
from tests.conftest import own_database

DEMO_CASES = 80
DEMO_SEED = 23
ADMIN = Actor("adm-jiang", Role.ADMIN.value, "qingxi-center", "qingxi")
CALENDAR_2027 = Path(__file__).resolve().parents[2] / "infrastructure" / "data" / "calendar-2027.example.json"
ROLLED_UP = (None, "qingxi", "qingxi/chengguan", "qingxi/hekou", "qingxi/shanyang")
COUNTED = ("qingxi/chengguan/dongguan", "qingxi/hekou/shahe/grid-01")
GROUPS = (*GROUP_COLUMNS, "scope")


@dataclass
class County:
    """The demo county, projected in small batches, and the days its cases span."""

    ledger: CaseLedger
    store: ViewStore
    queries: ViewQueries
    now: datetime
    first_day: date
    last_day: date


def china_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), CHINA_TZ)


def stored_rollups(store: ViewStore) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """Every roll-up row as (table, key values) → counts."""
    found = {}
    for table, (keys, counts) in ROLLUPS.items():
        for row in store.db.query(f"SELECT * FROM {table}"):
            found[(table, *(row[k] for k in keys))] = tuple(int(row[c]) for c in counts)
    return found


def rollups_of_the_rows(store: ViewStore) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The roll-ups the stored case rows add up to, summed from nothing."""
    deltas = FigureDeltas()
    for row in store.db.query("SELECT * FROM cases"):
        deltas.move(None, row)
    return {
        **{("figure_days", *key): counts for key, counts in deltas.day_rows()},
        **{("figure_due", *key): (n,) for key, n in deltas.due_rows()},
        **{("figure_groups", *key): counts for key, counts in deltas.group_rows()},
    }


class RollupsContract:
    """What the roll-ups keep on every backend; subclasses supply ``settings``."""

    @pytest.fixture(scope="class")
    @classmethod
    def county(cls, settings: Settings) -> Iterator[County]:
        ledger = build_ledger(settings)
        store = build_views(settings)
        try:
            load_demo(ledger, cases=DEMO_CASES, seed=DEMO_SEED)
            worker = ProjectionWorker(ledger, store, batch_size=7)
            worker.catch_up()
            text = CALENDAR_2027.read_text("utf-8")
            ledger.load_calendar_year(
                Caller(ADMIN),
                parse_schedule(text),
                source=CALENDAR_2027.name,
                digest=hashlib.sha256(text.encode()).hexdigest(),
            )
            worker.catch_up()
            assert store.positions() == dict.fromkeys(VIEWS, ledger.recorder.max_notification_id())
            rows = store.db.query("SELECT MIN(registered_at) AS first, MAX(registered_at) AS last FROM cases")[0]
            yield County(
                ledger,
                store,
                ViewQueries(store.db),
                ledger.clock(),
                datetime.fromisoformat(rows["first"]).astimezone(CHINA_TZ).date(),
                datetime.fromisoformat(rows["last"]).astimezone(CHINA_TZ).date(),
            )
        finally:
            store.db.close()
            ledger.close()

    def test_the_rollups_are_what_the_stored_case_rows_add_up_to(self, county: County) -> None:
        """SPEC §7: after rows rewritten batch after batch and by a calendar, the roll-ups equal a recount."""
        stored = stored_rollups(county.store)

        assert stored == rollups_of_the_rows(county.store)
        assert all(any(counts) for counts in stored.values()), "a roll-up row at zero was left behind"
        moved = county.store.db.query("SELECT COUNT(*) AS n FROM case_history WHERE version > 1")[0]["n"]
        assert moved > DEMO_CASES, "the demo should rewrite most case rows"

    # One method run by a subclass per backend (the executors Hypothesis sees): nothing is
    # replayed from a database, and each backend's county is its own fixture.
    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.differing_executors],
    )
    @given(
        data=st.data(),
        scope=st.sampled_from(ROLLED_UP),
        group=st.sampled_from(GROUPS),
        days=st.integers(0, 400),
        hours_later=st.sampled_from((0, 0.5, 7, 24, 24 * 9, 24 * 45)),
    )
    def test_figures_summed_from_the_rollups_equal_those_counted_from_the_rows(
        self, county: County, data: st.DataObject, scope: str | None, group: str, days: int, hours_later: float
    ) -> None:
        """SPEC §5: any whole-day period, any county or township reader, any breakdown, as of any later moment."""
        span = (county.last_day - county.first_day).days
        first = county.first_day + timedelta(days=data.draw(st.integers(-3, span + 3), label="first"))
        start, end = china_midnight(first), china_midnight(first + timedelta(days=days))
        now = county.now + timedelta(hours=hours_later)

        rolled = county.queries.rolled_up_figures(Scope(scope), start=start, end=end, group=group, now=now)
        counted = county.queries.counted_figures(Scope(scope), start=start, end=end, group=group, now=now)

        assert rolled is not None
        assert rolled == counted
        assert county.queries.figures(Scope(scope), start=start, end=end, group=group, now=now) == counted

    @pytest.mark.parametrize("group", GROUPS)
    def test_a_whole_year_at_midnight_now_counts_todays_deadlines_from_the_rows(
        self, county: County, group: str
    ) -> None:
        """SPEC §5: "overdue now" at the very start of a day, and a year's figures per breakdown."""
        today = county.now.astimezone(CHINA_TZ).date()
        start, end = china_midnight(today - timedelta(days=364)), china_midnight(today + timedelta(days=1))
        for now in (china_midnight(today + timedelta(days=1)), county.now):
            for scope in ROLLED_UP:
                rolled = county.queries.rolled_up_figures(Scope(scope), start=start, end=end, group=group, now=now)
                assert rolled is not None
                assert rolled == county.queries.counted_figures(
                    Scope(scope), start=start, end=end, group=group, now=now
                )
                assert any(row["registered"] for row in rolled)

    def test_what_the_rollups_do_not_hold_is_counted_from_the_rows(self, county: County) -> None:
        """SPEC §5, §7: a village or a grid, part of a day, a past moment: the same figures, counted."""
        start, end = china_midnight(county.first_day), china_midnight(county.last_day + timedelta(days=1))
        middle = china_midnight(county.first_day + (county.last_day - county.first_day) / 2) + timedelta(hours=15)
        asks: list[tuple[str | None, datetime, datetime, datetime]] = [
            *((scope, start, end, county.now) for scope in COUNTED),
            (None, start + timedelta(hours=8), end, county.now),
            ("qingxi/hekou", start, end - timedelta(minutes=1), county.now),
            # Cases registered after "now" are not counted, nor are their deadlines.
            ("qingxi", start, end, middle),
            (None, start, end, middle),
        ]
        for scope, lo, hi, now in asks:
            for group in GROUPS:
                assert county.queries.rolled_up_figures(Scope(scope), start=lo, end=hi, group=group, now=now) is None
                counted = county.queries.counted_figures(Scope(scope), start=lo, end=hi, group=group, now=now)
                assert county.queries.figures(Scope(scope), start=lo, end=hi, group=group, now=now) == counted
        past = county.queries.figures(Scope(None), start=start, end=end, group="township", now=county.now, as_of=middle)
        counted = county.queries.counted_figures(
            Scope(None), start=start, end=end, group="township", now=county.now, as_of=middle
        )
        assert past == counted
        assert sum(row["registered"] for row in past) < DEMO_CASES

    def test_a_catch_up_far_behind_leaves_the_rollups_and_counts_them_again_near_the_head(self, county: County) -> None:
        """SPEC §7: while far behind, figures are counted from the rows; near the head the roll-ups are whole again."""
        start, end = china_midnight(county.first_day), china_midnight(county.last_day + timedelta(days=1))
        before = county.queries.figures(Scope("qingxi"), start=start, end=end, group="township", now=county.now)
        county.store.drop("cases", "")
        county.store.create(["cases"])
        levels: list[bool] = []

        def midway(_: int) -> None:
            levels.append(county.queries.figures_level())
            if not levels[-1]:
                rolled = county.queries.rolled_up_figures(Scope("qingxi"), start=start, end=end, now=county.now)
                assert rolled is None, "roll-ups left behind must not answer"

        ProjectionWorker(county.ledger, county.store, views=["cases"], batch_size=7).catch_up(midway)

        assert levels[0] is False and levels[-1] is True
        assert stored_rollups(county.store) == rollups_of_the_rows(county.store)
        rolled = county.queries.rolled_up_figures(
            Scope("qingxi"), start=start, end=end, group="township", now=county.now
        )
        assert rolled == before

    def test_a_scope_without_cases_has_no_groups_and_zero_totals(self, county: County) -> None:
        """SPEC §9: a jurisdiction nobody registered a case in reads as empty, not as missing."""
        start, end = china_midnight(county.first_day), china_midnight(county.last_day)
        for scope in ("qingxi/nowhere", "elsewhere"):
            assert (
                county.queries.rolled_up_figures(Scope(scope), start=start, end=end, group="unit", now=county.now) == []
            )
            totals = county.queries.rolled_up_figures(Scope(scope), start=start, end=end, group="scope", now=county.now)
            assert totals == county.queries.counted_figures(
                Scope(scope), start=start, end=end, group="scope", now=county.now
            )
            assert totals is not None and len(totals) == 1
            assert (totals[0]["registered"], totals[0]["open_now"], totals[0]["mean_score"]) == (0, 0, None)


class TestMemoryRollups(RollupsContract):
    @pytest.fixture(scope="class")
    @classmethod
    def settings(cls, tmp_path_factory: pytest.TempPathFactory) -> Settings:
        return Settings(backend="memory", data_dir=tmp_path_factory.mktemp("memory-rollups"), database_url="")


class TestSQLiteRollups(RollupsContract):
    @pytest.fixture(scope="class")
    @classmethod
    def settings(cls, tmp_path_factory: pytest.TempPathFactory) -> Settings:
        return Settings(backend="sqlite", data_dir=tmp_path_factory.mktemp("sqlite-rollups"), database_url="")


@pytest.mark.postgres
class TestPostgresRollups(RollupsContract):
    """A database of its own, dropped afterwards."""

    @pytest.fixture(scope="class")
    @classmethod
    def settings(cls, postgres_server: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
        with own_database(postgres_server, "caseledger_rollups", tmp_path_factory.mktemp("postgres-rollups")) as made:
            yield made
