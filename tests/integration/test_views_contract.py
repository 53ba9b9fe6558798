"""View contract: what the read views must keep on every backend (SPEC §5, §7).

One abstract class states the rules; a subclass per backend (memory, SQLite, PostgreSQL)
says how to make an isolated store. Each class loads the demo county once (after adopting
a scoring policy, so the projector must follow the policy book). Tests that only read share
one projection of it; tests that write views get empty tables in a scratch view database.
What the views hold is checked against what the domain derives from the ledger itself:
``case_row``, ``evaluate`` and ``court_rows`` on aggregates loaded from the event store, and
the notification log for positions.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import pytest
from eventsourcing.persistence import Notification

from application.ledger import Caller, CaseLedger
from application.projections.projector import VIEWS
from application.projections.rows import case_row, court_rows, stamp
from domain.case import Case, spec_event_name
from domain.policy_book import policy_in_force
from domain.scoring import POLICY_V1, ScoringPolicy
from domain.values import Actor, Role
from infrastructure import worker as worker_module
from infrastructure.bootstrap import build_ledger, build_views
from infrastructure.calendar_data import parse_schedule
from infrastructure.demo import load_demo
from infrastructure.rebuild import SUFFIX, rebuild_view
from infrastructure.settings import Settings
from infrastructure.views.queries import CaseFilter, Scope, ViewQueries
from infrastructure.views.store import ROLLUPS, VIEW_TABLES, ViewStore
from infrastructure.worker import ProjectionWorker
from tests.conftest import own_database
from tests.unit.application.support import CaseDriver, Clock, cst, make_cast

DEMO_CASES = 120
DEMO_SEED = 11
TOWNSHIPS = ("qingxi/chengguan", "qingxi/hekou", "qingxi/shanyang")
ADMIN = Actor("adm-jiang", Role.ADMIN.value, "qingxi-center", "qingxi")
CALENDAR_2027 = Path(__file__).resolve().parents[2] / "infrastructure" / "data" / "calendar-2027.example.json"
COUNTY_CENTER = Actor("cc-zheng", Role.COUNTY_CENTER.value, "qingxi-center", "qingxi")
# Adopted before the demo, effective 60 days back: most concluded demo cases score under it.
STRICT_POLICY = {"name": "v2-strict", "unrated_points": 40, "reopen_penalty": 30}
CASE_TOPIC_PREFIX = "domain.case:Case."
AUDITED_OWNERS = ("Case", "Mediator", "CalendarBook", "PolicyBook")
REFERENCE = "__reference"
# A complex case accepted Tue 1 Dec 2026 has 30 working days: 22 left in December (2-4, 7-11,
# 14-18, 21-25, 28-31). On weekends alone (provisional) Fri 1 Jan 2027 is the 23rd and Tue 12 Jan
# the 30th; with 2027's schedule (1-3 Jan rest days) Mon 4 Jan is the 23rd and Wed 13 Jan the 30th,
# so the period ends at 24:00 CST on 13 Jan = 16:00 UTC.
PROVISIONAL_DUE = "2027-01-12T16:00:00.000000+00:00"
FINAL_DUE = "2027-01-13T16:00:00.000000+00:00"
# Primary key of each view table, to compare tables row by row.
KEYS: dict[str, tuple[str, ...]] = {
    "cases": ("case_id",),
    "case_history": ("case_id", "version"),
    "evaluations": ("case_id",),
    "audit": ("position",),
    "court": ("confirmation_id",),
    "party_index": ("kind", "token", "case_id", "party_id"),
    **{table: keys for table, (keys, _) in ROLLUPS.items()},
}

Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


# ---------------------------------------------------------------------- helpers


def owner(notification: Notification) -> str:
    """The aggregate class of a stored event, from its topic ``module:Class.Event``."""
    return notification.topic.split(":", 1)[1].split(".")[0]


def snapshot(store: ViewStore, suffix: str = "") -> Snapshot:
    """Every row of every view table (under ``suffix``), keyed by primary key."""
    tables: Snapshot = {}
    for view_tables in VIEW_TABLES.values():
        for table in view_tables:
            rows = store.db.query(f"SELECT * FROM {table}{suffix}")
            tables[table] = {tuple(row[k] for k in KEYS[table]): row for row in rows}
    return tables


def reference_snapshot(ledger: CaseLedger, store: ViewStore) -> Snapshot:
    """The views as a projection from position zero into fresh tables gives them."""
    for view in VIEWS:
        store.drop(view, REFERENCE)
    store.create(VIEWS, REFERENCE)
    try:
        ProjectionWorker(ledger, store, suffix=REFERENCE).catch_up()
        return snapshot(store, REFERENCE)
    finally:
        for view in VIEWS:
            store.drop(view, REFERENCE)


def reset_views(store: ViewStore) -> None:
    """Drop whatever view tables a previous test left and create them empty."""
    with store.db.transaction() as cursor:
        for view_tables in VIEW_TABLES.values():
            for table in view_tables:
                for suffix in ("", SUFFIX, REFERENCE):
                    cursor.execute(f"DROP TABLE IF EXISTS {table}{suffix}")
        cursor.execute("DROP TABLE IF EXISTS view_positions")
    store.create()


def all_pages(
    queries: ViewQueries, scope: Scope, filters: CaseFilter, *, now: datetime, sort: str, limit: int = 9
) -> list[str]:
    """Case ids of every page of a list, following the cursors, in the order served."""
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(1000):
        page = queries.list_cases(scope, filters, now=now, sort=sort, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        ids += [row["case_id"] for row in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("the cursors never reached a last page")


COUNTED = (
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


def figures_by_hand(rows: list[dict[str, Any]], start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """SPEC §5 counts over case rows, written out in Python (the definitions of FiguresOut)."""
    s, e, n = stamp(start), stamp(end), stamp(now)
    assert s is not None and e is not None and n is not None

    def inside(value: str | None) -> bool:
        return value is not None and s <= value < e

    rows = [r for r in rows if r["registered_at"] <= n]
    concluded = [r for r in rows if inside(r["concluded_at"])]
    scores = [r["score"] for r in concluded if r["score"] is not None]
    return {
        "registered": sum(inside(r["registered_at"]) for r in rows),
        "registered_concluded": sum(inside(r["registered_at"]) and r["concluded_at"] is not None for r in rows),
        "concluded": len(concluded),
        "mediated": sum(inside(r["mediation_ended_at"]) for r in rows),
        "mediated_successfully": sum(inside(r["mediation_ended_at"]) and r["mediation_success"] == 1 for r in rows),
        "on_time": sum(r["on_time"] == 1 for r in concluded),
        "ratings": sum(r["ratings_total"] for r in concluded),
        "ratings_satisfied": sum(r["ratings_satisfied"] for r in concluded),
        "scored": len(scores),
        "overdue_now": sum(
            r["next_due_at"] is not None and r["next_due_at"] < n and r["status"] != "closed" for r in rows
        ),
        "open_now": sum(r["status"] not in ("concluded", "closed") for r in rows),
        "mean_score": sum(scores) / len(scores) if scores else None,
    }


@dataclass
class County:
    """The demo county in one backend's event store, and what the tests derive from it."""

    settings: Settings
    ledger: CaseLedger
    now: datetime
    notifications: list[Notification]
    case_ids: list[UUID]
    positions: dict[tuple[UUID, int], int] = field(default_factory=dict)
    adoptions: list[tuple[datetime, ScoringPolicy]] = field(default_factory=list)

    @property
    def head(self) -> int:
        return self.notifications[-1].id

    def policy_at(self, moment: datetime) -> ScoringPolicy:
        return policy_in_force(self.adoptions, moment)

    def case(self, case_id: UUID, version: int | None = None) -> Case:
        case: Any = self.ledger.repository.get(case_id, version=version)
        return case  # type: ignore[no-any-return]

    def derived_row(self, case: Case) -> dict[str, Any]:
        row, _ = case_row(case, self.ledger.calendar(), self.policy_at)
        return row


class Stores:
    """Isolated stores of one backend: each ``fresh()`` is an empty event store and view database."""

    def __init__(self, make: Callable[[int], Settings]) -> None:
        self._make = make
        self._made = 0

    def fresh(self) -> Settings:
        self._made += 1
        return self._make(self._made)


def load_2027(ledger: CaseLedger) -> None:
    """An operator loads 2027's holiday schedule (the example bundled with the service)."""
    text = CALENDAR_2027.read_text("utf-8")
    ledger.load_calendar_year(
        Caller(ADMIN), parse_schedule(text), source=CALENDAR_2027.name, digest=hashlib.sha256(text.encode()).hexdigest()
    )


# ---------------------------------------------------------------------- the contract


class ViewsContract:
    """Rules every backend's read views keep; subclasses supply ``stores``."""

    @pytest.fixture(scope="class")
    @classmethod
    def county(cls, stores: Stores) -> Iterator[County]:
        """The demo county, loaded once for the class (a scoring policy adopted first)."""
        settings = stores.fresh()
        ledger = build_ledger(settings)
        try:
            start = ledger.clock()
            ledger.adopt_policy(Caller(COUNTY_CENTER), policy=STRICT_POLICY, effective_from=start - timedelta(days=60))
            load_demo(ledger, cases=DEMO_CASES, seed=DEMO_SEED)
            notifications = list(ledger.recorder.select_notifications(start=1, limit=1_000_000))
            county = County(
                settings=settings,
                ledger=ledger,
                now=ledger.clock(),
                notifications=notifications,
                case_ids=[n.originator_id for n in notifications if n.topic == CASE_TOPIC_PREFIX + "Registered"],
                positions={(n.originator_id, n.originator_version): n.id for n in notifications},
                adoptions=ledger.policy_adoptions(),
            )
            assert len(county.case_ids) == DEMO_CASES
            yield county
        finally:
            ledger.close()

    @pytest.fixture(scope="class")
    @classmethod
    def shared(cls, county: County) -> Iterator[ViewStore]:
        """The county's own views, projected once for the tests that only read them."""
        store = build_views(county.settings)
        try:
            reset_views(store)
            ProjectionWorker(county.ledger, store).catch_up()
            yield store
        finally:
            store.db.close()

    @pytest.fixture
    def queries(self, shared: ViewStore) -> ViewQueries:
        return ViewQueries(shared.db)

    @pytest.fixture(scope="class")
    @classmethod
    def scratch(cls, stores: Stores) -> Settings:
        """A second view database, for the tests that write views of their own."""
        return stores.fresh()

    @pytest.fixture
    def store(self, scratch: Settings) -> Iterator[ViewStore]:
        """Empty view tables in the scratch view database."""
        store = build_views(scratch)
        try:
            reset_views(store)
            yield store
        finally:
            store.db.close()

    @pytest.fixture
    def projected(self, county: County, store: ViewStore) -> ViewStore:
        """Scratch views after one worker caught up with the whole ledger."""
        ProjectionWorker(county.ledger, store).catch_up()
        return store

    # ------------------------------------------------------------------ positions, rows

    def test_catch_up_brings_every_view_to_the_ledger_head(self, county: County, store: ViewStore) -> None:
        """SPEC §7: after catching up, each view's tracked position is the ledger's last notification."""
        assert store.positions() == dict.fromkeys(VIEWS, 0)

        read = ProjectionWorker(county.ledger, store, batch_size=400).catch_up()

        assert read == county.head == county.ledger.recorder.max_notification_id()
        assert store.positions() == dict.fromkeys(VIEWS, county.head)

    @pytest.mark.parametrize("writer", ["working", "killed"])
    def test_a_catch_up_far_behind_in_small_batches_gives_the_rows_of_one_from_zero(
        self, county: County, store: ViewStore, monkeypatch: pytest.MonkeyPatch, writer: str
    ) -> None:
        """SPEC §7: batches far behind the head give the same rows, each event applied once.

        On PostgreSQL a child process writes them; a killed one costs only speed, as the
        worker's own thread takes over.
        """
        started: list[Any] = []
        real = worker_module.WriterProcess

        def spy(*args: Any, **kwargs: Any) -> object:
            started.append(real(*args, **kwargs))
            if writer == "killed":
                started[-1]._process.kill()
            return started[-1]

        monkeypatch.setattr(worker_module, "WriterProcess", spy)

        read = ProjectionWorker(county.ledger, store, batch_size=25).catch_up()

        assert read == county.head
        assert store.positions() == dict.fromkeys(VIEWS, county.head)
        assert snapshot(store) == reference_snapshot(county.ledger, store)
        assert len(started) == (1 if store.db.dialect == "postgres" else 0)

    def test_each_case_row_is_what_the_domain_derives_from_the_ledger(
        self, county: County, queries: ViewQueries
    ) -> None:
        """SPEC §7: a case-list row equals ``case_row`` of the aggregate loaded from the event store."""
        wrong = {}
        for case_id in county.case_ids:
            expected = county.derived_row(county.case(case_id))
            stored = queries.case_row(str(case_id))
            assert stored is not None, f"case {case_id} is missing from the view"
            got = {k: stored[k] for k in expected}
            if got != expected:
                wrong[str(case_id)] = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
        assert wrong == {}
        assert len(queries.db.query("SELECT case_id FROM cases")) == DEMO_CASES

    def test_each_case_row_carries_the_position_of_the_cases_latest_event(
        self, county: County, queries: ViewQueries
    ) -> None:
        """SPEC §7: a row says up to which ledger position it reflects the case (its latest event)."""
        expected = {str(c): county.positions[(c, county.case(c).version)] for c in county.case_ids}
        stored = {row["case_id"]: row["position"] for row in queries.db.query("SELECT case_id, position FROM cases")}
        assert stored == expected

    def test_each_evaluation_is_the_score_of_the_case_loaded_from_the_ledger(
        self, county: County, queries: ViewQueries
    ) -> None:
        """SPEC §5: every concluded case has its evaluation under the policy in force at its conclusion."""
        expected = {}
        for case_id in county.case_ids:
            _, evaluation = case_row(county.case(case_id), county.ledger.calendar(), county.policy_at)
            if evaluation is not None:
                expected[str(case_id)] = evaluation.as_dict()
        stored = {
            row["case_id"]: json.loads(row["evaluation"]) for row in queries.db.query("SELECT * FROM evaluations")
        }
        assert stored == expected
        policies = {data["policy"] for data in expected.values()}
        assert policies == {"v1", STRICT_POLICY["name"]}, "the demo should have cases scored under both policies"

    # ------------------------------------------------------------------ audit, court

    def test_the_audit_trail_lists_every_event_of_a_case_in_version_order_with_its_position(
        self, county: County, queries: ViewQueries
    ) -> None:
        """SPEC §7, §10: each event once, in version order, at its ledger position (the notification id)."""
        for case_id in county.case_ids:
            events = list(county.ledger.events.get(case_id))
            trail = queries.audit_trail(str(case_id))
            assert [row["version"] for row in trail] == list(range(1, len(events) + 1))
            assert [row["position"] for row in trail] == [
                county.positions[(case_id, e.originator_version)] for e in events
            ]
            assert [row["type"] for row in trail] == [spec_event_name(type(e).__name__) for e in events]
            assert [(row["actor"], row["occurred_at"]) for row in trail] == [
                (e.actor.as_dict(), stamp(e.occurred_at)) for e in events
            ]
        audited = sorted(n.id for n in county.notifications if owner(n) in AUDITED_OWNERS)
        assert [row["position"] for row in queries.db.query("SELECT position FROM audit ORDER BY position")] == audited

    def test_the_court_view_has_one_record_per_judicial_confirmation_application(
        self, county: County, queries: ViewQueries
    ) -> None:
        """SPEC §3: each application is one court record, as ``court_rows`` derives it from the case."""
        applied = [n for n in county.notifications if n.topic == CASE_TOPIC_PREFIX + "JudicialConfirmationApplied"]
        assert applied, "the demo county should hold judicial-confirmation applications"
        expected = {}
        for case_id in {n.originator_id for n in applied}:
            case = county.case(case_id)
            for record in court_rows(case, county.ledger.calendar()):
                expected[record["confirmation_id"]] = {
                    **record,
                    "position": county.positions[(case_id, case.version)],
                }
        stored = {}
        for row in queries.db.query("SELECT * FROM court"):
            for name in ("agreement", "parties", "mediator"):
                row[name] = json.loads(row[name])
            stored[row["confirmation_id"]] = row
        assert len(stored) == len(applied)
        assert stored == expected

    # ------------------------------------------------------------------ exactly once

    def test_catching_up_again_changes_nothing(self, county: County, projected: ViewStore) -> None:
        """SPEC §7 exactly once: a second catch-up, a restarted worker and a late duplicate delivery add nothing."""
        before = snapshot(projected)

        assert ProjectionWorker(county.ledger, projected).catch_up() == 0
        assert ProjectionWorker(county.ledger, projected, batch_size=50).catch_up() == 0
        # A second worker that read these batches before the first one committed them.
        late = ProjectionWorker(county.ledger, projected)
        with projected.db.transaction() as cursor:
            late.apply_in(cursor, county.notifications[:300])
            late.apply_in(cursor, county.notifications[300:])

        assert snapshot(projected) == before
        case_events = sum(n.topic.startswith(CASE_TOPIC_PREFIX) for n in county.notifications)
        assert len(before["case_history"]) == case_events
        assert projected.positions() == dict.fromkeys(VIEWS, county.head)

    def test_a_batch_whose_write_failed_is_projected_on_the_next_attempt(
        self, county: County, store: ViewStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SPEC §7: after a failed write (the worker retries, ``run_forever``) the same worker projects the batch."""
        worker = ProjectionWorker(county.ledger, store, batch_size=200)
        write = store.write
        failures = [RuntimeError("connection lost mid-commit")]

        def write_once_failing(*args: Any, **kwargs: Any) -> None:
            if failures:
                raise failures.pop()
            write(*args, **kwargs)

        monkeypatch.setattr(store, "write", write_once_failing)
        with pytest.raises(RuntimeError, match="connection lost"):
            worker.run_once()  # the first batch holds the policy book's first events
        assert store.positions() == dict.fromkeys(VIEWS, 0)

        worker.catch_up()

        assert store.positions() == dict.fromkeys(VIEWS, county.head)
        assert snapshot(store) == reference_snapshot(county.ledger, store)

    def test_reads_answer_while_the_worker_writes(self, county: County, store: ViewStore) -> None:
        """SPEC §7, §11: the API's reads and the worker's writes go on at the same time."""
        stop = threading.Event()
        answers: list[int] = []
        errors: list[BaseException] = []
        queries = ViewQueries(store.db)

        def read() -> None:
            while not stop.is_set():
                try:
                    answers.append(len(queries.list_cases(Scope(None), CaseFilter(), now=county.now, limit=5).items))
                except BaseException as error:  # reported below
                    errors.append(error)
                    return

        reader = threading.Thread(target=read)
        reader.start()
        try:
            worker_error: BaseException | None = None
            try:
                ProjectionWorker(county.ledger, store, batch_size=40).catch_up()
            except BaseException as error:  # reported below, after the reader stopped
                worker_error = error
        finally:
            stop.set()
            reader.join(timeout=30)

        assert worker_error is None
        assert errors == []
        assert answers
        assert store.positions() == dict.fromkeys(VIEWS, county.head)

    def test_two_workers_racing_apply_every_event_once(self, county: County, store: ViewStore) -> None:
        """SPEC §7 exactly once: two workers on the same views give what one worker gives."""
        errors: list[BaseException] = []

        def work() -> None:
            try:
                ProjectionWorker(county.ledger, store, batch_size=150).catch_up()
            except BaseException as error:  # reported by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        assert store.positions() == dict.fromkeys(VIEWS, county.head)
        assert snapshot(store) == reference_snapshot(county.ledger, store)

    # ------------------------------------------------------------------ lists

    @pytest.mark.parametrize("sort", ["registered_desc", "registered_asc", "due_asc"])
    def test_cursor_pages_return_every_case_once_in_sort_order(
        self, county: County, queries: ViewQueries, sort: str
    ) -> None:
        """SPEC §8: following the cursors lists each case exactly once, in the sort's order."""
        rows = queries.db.query("SELECT case_id, registered_at, next_due_at FROM cases")
        if sort == "due_asc":  # only cases with a deadline running
            rows = [r for r in rows if r["next_due_at"] is not None]
            expected = sorted(rows, key=lambda r: (r["next_due_at"], r["case_id"]))
        else:
            expected = sorted(rows, key=lambda r: (r["registered_at"], r["case_id"]), reverse=sort.endswith("desc"))
        assert len(expected) > 9, "too few cases to need several pages"

        served = all_pages(queries, Scope(None), CaseFilter(), now=county.now, sort=sort)

        assert len(served) == len(set(served))
        assert served == [r["case_id"] for r in expected]

    FILTERS: ClassVar[dict[str, tuple[CaseFilter, Callable[[dict[str, Any], str], bool]]]] = {
        "status": (CaseFilter(status=("handling",)), lambda r, now: r["status"] == "handling"),
        "statuses": (
            CaseFilter(status=("concluded", "closed")),
            lambda r, now: r["status"] in ("concluded", "closed"),
        ),
        "risk_color": (CaseFilter(risk_color=("red",)), lambda r, now: r["risk_color"] == "red"),
        "township": (CaseFilter(township="qingxi/hekou"), lambda r, now: r["township"] == "qingxi/hekou"),
        "overdue": (
            CaseFilter(overdue=True),
            lambda r, now: r["next_due_at"] is not None and r["next_due_at"] < now,
        ),
        "not_overdue": (
            CaseFilter(overdue=False),
            lambda r, now: r["next_due_at"] is None or r["next_due_at"] >= now,
        ),
        "text": (CaseFilter(text="物业"), lambda r, now: "物业" in r["summary"]),
        "combined": (
            CaseFilter(township="qingxi/shanyang", risk_color=("green", "yellow"), overdue=False),
            lambda r, now: (
                r["township"] == "qingxi/shanyang"
                and r["risk_color"] in ("green", "yellow")
                and (r["next_due_at"] is None or r["next_due_at"] >= now)
            ),
        ),
    }

    @pytest.mark.parametrize("name", list(FILTERS))
    @pytest.mark.parametrize("sort", ["registered_desc", "due_asc"])
    def test_a_filtered_list_holds_exactly_the_matching_cases(
        self, county: County, queries: ViewQueries, name: str, sort: str
    ) -> None:
        """SPEC §7: the list's filters keep exactly the cases a plain filter over all rows keeps."""
        filters, matches = self.FILTERS[name]
        now = stamp(county.now)
        assert now is not None
        rows = queries.db.query("SELECT * FROM cases")
        if sort == "due_asc":
            rows = [r for r in rows if r["next_due_at"] is not None]
        expected = {r["case_id"] for r in rows if matches(r, now)}
        if sort == "registered_desc":
            assert expected, f"the demo county has no case for the filter {name}"

        served = all_pages(queries, Scope(None), filters, now=county.now, sort=sort)

        assert len(served) == len(set(served))
        assert set(served) == expected

    @pytest.mark.parametrize("jurisdiction", [*TOWNSHIPS, "qingxi/chengguan/dongguan"])
    def test_a_scope_never_returns_a_case_outside_it(
        self, county: County, queries: ViewQueries, jurisdiction: str
    ) -> None:
        """SPEC §9: a township sees its own cases, all of them, and none of another township's."""
        rows = queries.db.query("SELECT case_id, jurisdiction FROM cases")
        expected = {r["case_id"] for r in rows if (r["jurisdiction"] + "/").startswith(jurisdiction + "/")}
        assert expected
        scope = Scope(jurisdiction)

        for sort in ("registered_desc", "due_asc"):
            served = set(all_pages(queries, scope, CaseFilter(), now=county.now, sort=sort))
            assert served <= expected
            if sort == "registered_desc":
                assert served == expected
        others = [t for t in TOWNSHIPS if not jurisdiction.startswith(t)]
        for other in others:
            assert all_pages(queries, scope, CaseFilter(township=other), now=county.now, sort="registered_desc") == []
        groups = queries.figures(
            scope, start=county.now - timedelta(days=3650), end=county.now, group="township", now=county.now
        )
        assert [g["key"] for g in groups] == ["/".join(jurisdiction.split("/")[:2])]
        assert groups[0]["registered"] == len(expected)

    # ------------------------------------------------------------------ rebuild

    @pytest.mark.parametrize("view", VIEWS)
    def test_a_rebuild_gives_the_live_tables_while_reads_go_on(
        self, county: County, projected: ViewStore, view: str
    ) -> None:
        """SPEC §7: a view rebuilt from zero equals the live one, and reads keep answering meanwhile."""
        live = snapshot(projected)
        counts = {table: len(rows) for table, rows in live.items()}
        queries = ViewQueries(projected.db)
        stop = threading.Event()
        seen: list[dict[str, int]] = []
        errors: list[BaseException] = []

        def read() -> None:
            # Another thread, as an API request would be: the live tables and, as every list
            # response does, the views' position.
            try:
                while not stop.is_set():
                    seen.append(
                        {t: queries.db.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in VIEW_TABLES[view]}
                    )
                    projected.positions()
            except BaseException as error:  # reported below
                errors.append(error)

        during: list[int] = []

        def progress(read_count: int) -> None:
            page = queries.list_cases(Scope(None), CaseFilter(), now=county.now, limit=200)
            during.append(len(page.items))

        reader = threading.Thread(target=read)
        reader.start()
        try:
            reached = rebuild_view(county.ledger, projected, view, batch_size=250, progress=progress)
        finally:
            stop.set()
            reader.join(timeout=30)

        assert errors == []
        assert seen, "the reader never got an answer"
        assert all(s == {t: counts[t] for t in VIEW_TABLES[view]} for s in seen)
        assert during and set(during) == {DEMO_CASES}
        assert reached == county.head
        assert projected.positions() == dict.fromkeys(VIEWS, county.head)
        assert snapshot(projected) == live

    # ------------------------------------------------------------------ a year's calendar arrives

    @pytest.fixture
    def provisional(self, stores: Stores) -> Iterator[tuple[CaseLedger, ViewStore, UUID]]:
        """A fresh store holding one complex case in handling whose deadline runs into 2027 (provisional)."""
        settings = stores.fresh()
        clock = Clock(cst(2026, 12, 1))
        ledger = build_ledger(settings, clock=clock.now)
        store = build_views(settings)
        try:
            case_id = CaseDriver(ledger, make_cast(), clock).to("handling", difficulty="complex")
            clock.advance(hours=1)
            assert not ledger.calendar().covers(2027)
            yield ledger, store, case_id
        finally:
            store.db.close()
            ledger.close()

    def test_rows_refreshed_by_a_calendar_year_keep_their_ledger_position(
        self, provisional: tuple[CaseLedger, ViewStore, UUID]
    ) -> None:
        """SPEC §4, §7: a loaded year makes a provisional row final, and the row still names its position."""
        ledger, store, case_id = provisional
        worker = ProjectionWorker(ledger, store)
        worker.catch_up()
        before = ViewQueries(store.db).case_row(str(case_id))
        assert before is not None
        assert (before["provisional"], before["next_due_at"]) == (1, PROVISIONAL_DUE)

        load_2027(ledger)
        worker.catch_up()

        row = ViewQueries(store.db).case_row(str(case_id))
        assert row is not None
        expected, _ = case_row(ledger.get_case(case_id), ledger.calendar(), lambda _at: POLICY_V1)
        assert (expected["provisional"], expected["next_due_at"]) == (0, FINAL_DUE)
        assert {k: row[k] for k in expected} == expected
        latest = ledger.position_of(case_id, ledger.get_case(case_id).version)
        assert (row["version"], row["position"]) == (4, latest)

    def test_a_calendar_year_refreshes_a_case_projected_in_the_same_batch(
        self, provisional: tuple[CaseLedger, ViewStore, UUID]
    ) -> None:
        """SPEC §4, §7: a row is final once its year is loaded, however the events fall into batches."""
        ledger, store, case_id = provisional
        load_2027(ledger)

        ProjectionWorker(ledger, store).catch_up()  # the case's events and the year in one batch

        row = ViewQueries(store.db).case_row(str(case_id))
        assert row is not None
        assert (row["provisional"], row["next_due_at"]) == (0, FINAL_DUE)
        expected, _ = case_row(ledger.get_case(case_id), ledger.calendar(), lambda _at: POLICY_V1)
        assert {k: row[k] for k in expected} == expected

    # ------------------------------------------------------------------ time travel

    @pytest.mark.parametrize("days_back", [50, 20, 5])
    def test_figures_as_of_a_past_time_count_only_what_had_happened_by_then(
        self, county: County, queries: ViewQueries, days_back: int
    ) -> None:
        """SPEC §7: figures as of a moment equal those of every case as its events stood at that moment."""
        as_of = county.now - timedelta(days=days_back)
        start, end = as_of - timedelta(days=120), as_of + timedelta(days=60)
        calendar = county.ledger.calendar()
        rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for case_id in county.case_ids:
            events = list(county.ledger.events.get(case_id))
            happened = [e for e in events if e.occurred_at <= as_of]
            if happened:
                case = county.case(case_id, happened[-1].originator_version)
                row, _ = case_row(case, calendar, county.policy_at)
                rows[row["township"]].append(row)
        expected = {t: figures_by_hand(r, start, end, as_of) for t, r in rows.items()}

        groups = queries.figures(Scope(None), start=start, end=end, group="township", now=county.now, as_of=as_of)

        got = {g["key"]: {k: g[k] for k in COUNTED} for g in groups}
        assert got == {t: {k: v for k, v in f.items() if k in COUNTED} for t, f in expected.items()}
        for group in groups:
            mean = expected[group["key"]]["mean_score"]
            assert group["mean_score"] == (None if mean is None else pytest.approx(mean, abs=0.05 + 1e-9))
        live = queries.figures(Scope(None), start=start, end=end, group="scope", now=county.now)[0]
        past = queries.figures(Scope(None), start=start, end=end, group="scope", now=county.now, as_of=as_of)[0]
        assert past["registered"] == sum(f["registered"] for f in expected.values()) <= live["registered"]

    def test_figures_as_of_before_the_first_event_count_nothing(self, county: County, queries: ViewQueries) -> None:
        """SPEC §7: before anything was registered, every figure is zero."""
        first = min(county.case(c, 1).times[1] for c in county.case_ids)
        as_of = first - timedelta(seconds=1)

        totals = queries.figures(
            Scope(None),
            start=as_of - timedelta(days=365),
            end=county.now,
            group="scope",
            now=county.now,
            as_of=as_of,
        )[0]

        assert {k: totals[k] for k in COUNTED} == dict.fromkeys(COUNTED, 0)
        assert totals["mean_score"] is None


# ---------------------------------------------------------------------- backends


class TestMemoryViews(ViewsContract):
    """The in-memory store with its views in a shared in-memory SQLite database."""

    @pytest.fixture(scope="class")
    @classmethod
    def stores(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
        root = tmp_path_factory.mktemp("memory-views")
        yield Stores(lambda n: Settings(backend="memory", data_dir=root / str(n), database_url=""))


class TestSQLiteViews(ViewsContract):
    """SQLite: events and views in files of the data directory."""

    @pytest.fixture(scope="class")
    @classmethod
    def stores(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
        root = tmp_path_factory.mktemp("sqlite-views")
        yield Stores(lambda n: Settings(backend="sqlite", data_dir=root / str(n), database_url=""))


@pytest.mark.postgres
class TestPostgresViews(ViewsContract):
    """PostgreSQL: each store is a database of its own on the test server, dropped afterwards."""

    @pytest.fixture(scope="class")
    @classmethod
    def stores(cls, postgres_server: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
        root = tmp_path_factory.mktemp("postgres-views")
        with ExitStack() as databases:

            def make(n: int) -> Settings:
                return databases.enter_context(own_database(postgres_server, "caseledger_views", root / str(n)))

            yield Stores(make)
