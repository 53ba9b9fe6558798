"""The read side on PostgreSQL: catch-up speed, query latency, and lag under writes.

1. **Catch-up.** A fresh database gets a year of a county's cases (``benchmarks.dataset``:
   the domain's command methods, back-dated by the importer, 200 cases per save) until it
   holds at least ``--catchup-events`` events. Then every view is built from position zero,
   as ``caseledger project`` builds them: ``ProjectionWorker(ledger, store, log=…).catch_up()``
   with the worker's default batch size, the Merkle log appended with the views; and again
   (views only, into suffixed tables, dropped after) with each other size of ``--batch-sizes``. Beside it, the bare library: a ``Projection`` whose
   ``PostgresTrackingRecorder`` view bumps one counter row per event type, run by
   ``ProjectionRunner`` (one event per transaction, with its tracking record) over the
   same events until it reaches the head. Optionally (``--profile-events``) one more
   catch-up under ``cProfile``, to show where the time goes.
2. **Query latency.** The database grows to ``--cases`` cases, the views catch up (timed
   again: catch-up at scale), and one ``caseledger serve`` process (views already built,
   so ``CASELEDGER_EMBEDDED_WORKER=false``) answers sequential requests from a second
   process (``benchmarks.readload``): filtered lists, cursor pages, one case, one case as
   of a past time, the overview and the rankings. Each query's SQL (as
   ``infrastructure.views.queries`` issues it) is also timed in this process and explained
   (``EXPLAIN ANALYZE``), so a slow query shows whether the time is in PostgreSQL or in
   the service.
3. **Lag.** ``caseledger project`` runs beside the server; registrations arrive at a steady
   rate and a sample of them is polled in the list until it appears.

Used by ``python -m benchmarks.run`` (``--only reads``); every database it creates is
dropped by the caller's ``BenchDatabases.drop_all()``.
"""

from __future__ import annotations

import contextlib
import cProfile
import inspect
import json
import os
import pstats
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL, Identifier

from api.routes.stats import period_bounds
from api.security import TokenService
from application.ledger import CaseLedger
from application.projections.projector import VIEWS
from application.projections.rows import stamp
from benchmarks.common import BenchDatabases, at_rest
from benchmarks.cpu import CpuWatch
from benchmarks.dataset import DatasetSummary, DatasetWriter
from benchmarks.inprocess import bare_env
from benchmarks.load import TOKEN_VARIABLE
from benchmarks.overhttp import HOST, REPO, BenchError, free_port, server_command, server_env, stop, wait_ready
from domain.calendar import CHINA_TZ
from domain.values import Actor, Role
from infrastructure.bootstrap import build_integrity, build_ledger, build_views
from infrastructure.settings import Settings
from infrastructure.views.queries import CaseFilter, Scope, ViewQueries
from infrastructure.views.store import ViewStore
from infrastructure.worker import ProjectionWorker

GOAL_CATCHUP_EVENTS = 20_000.0  # events per second
GOAL_CATCHUP_RATIO = 4.0  # times the bare projection
GOAL_LIST_MS = 25.0
GOAL_OVERVIEW_MS = 50.0
GOAL_CASE_MS = 10.0

READER = Actor(user_id="bench-county", role=Role.COUNTY_CENTER, unit="qingxi-center", jurisdiction="qingxi")
DEFAULT_BATCH = int(inspect.signature(ProjectionWorker.__init__).parameters["batch_size"].default)


def say(message: str) -> None:
    """A progress line (stdout, flushed, so ``make bench`` shows it at once)."""
    print(f"  [reads] {message}", flush=True)


@dataclass
class ReadOptions:
    """Sizes of the read benchmarks (see ``benchmarks.run --help``)."""

    catchup_events: int = 200_000
    cases: int = 100_000
    batch_sizes: tuple[int, ...] = (1000, 5000)
    requests: int = 300
    max_seconds: float = 15.0
    lag_rate: float = 100.0
    lag_seconds: float = 20.0
    lag_sample_every: int = 10
    lag_cases: int = 3000
    profile_events: int = 10_000
    bare_max_seconds: float = 45.0
    seed: int = 2026


@dataclass
class CatchUp:
    """One timed catch-up of the views (or of the bare projection)."""

    label: str
    batch_size: int
    events: int
    seconds: float
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class QueryResult:
    """Latency of one query type over HTTP, and its SQL timed and explained in-process."""

    name: str
    label: str
    goal_ms: float | None
    goal_name: str
    http: dict[str, Any] = field(default_factory=dict)
    inprocess_ms: dict[str, float] = field(default_factory=dict)
    plans: list[list[str]] = field(default_factory=list)

    @property
    def p99(self) -> float:
        return float(self.http.get("ms", {}).get("p99", 0.0))

    @property
    def met(self) -> bool | None:
        if self.goal_ms is None or not self.http.get("ms"):
            return None
        return self.p99 <= self.goal_ms


@dataclass
class ReadsResult:
    """Everything the read benchmarks found."""

    phase1: DatasetSummary | None = None
    catchups: list[CatchUp] = field(default_factory=list)
    bare: CatchUp | None = None
    profile: list[str] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)
    at_scale: CatchUp | None = None
    queries: list[QueryResult] = field(default_factory=list)
    lag: dict[str, Any] = field(default_factory=dict)
    access_write_ms: dict[str, float] = field(default_factory=dict)
    at_scale_lag_seconds: float = 0.0
    lag_startup: dict[str, float] = field(default_factory=dict)
    writer: DatasetWriter | None = None
    errors: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- 1. catch-up


def live_positions(store: ViewStore, suffix: str = "") -> int:
    """The lowest tracked position of the views (and whatever else the worker tracks) under ``suffix``."""
    positions = store.positions()
    if suffix:
        return min(positions.get(view + suffix, 0) for view in VIEWS)
    return min((p for view, p in positions.items() if "_bench_" not in view), default=0)


@contextlib.contextmanager
def _progress(position: Callable[[], int], target: int, every: float = 10.0) -> Iterator[None]:
    """Print how far the views are, every ``every`` seconds, while the block runs."""
    done = threading.Event()
    began = time.perf_counter()

    def report() -> None:
        while not done.wait(every):
            with contextlib.suppress(Exception):
                elapsed = time.perf_counter() - began
                say(f"    … position {position():,} of {target:,} after {elapsed:.0f} s")

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _cpu(spent: dict[str, float]) -> dict[str, float]:
    return {
        k: round(v, 1) for k, v in spent.items() if k in ("bench", "children", "postgres", "pg_background", "other")
    }


def time_catch_up(settings: Settings, ledger: CaseLedger, batch_size: int, target: int) -> CatchUp:
    """All views from position zero; the default size builds the live tables, others suffixed ones."""
    dbname = settings.postgres_params()["dbname"]
    if batch_size == DEFAULT_BATCH:
        store = build_views(settings)
        # What ``caseledger project`` runs: the views and the Merkle log.
        worker = ProjectionWorker(ledger, store, log=build_integrity(settings, store).log)
        suffix = ""
    else:
        store = build_views(settings)
        suffix = f"_bench_bs{batch_size}"
        store.create(VIEWS, suffix)
        worker = ProjectionWorker(ledger, store, suffix=suffix, batch_size=batch_size)
    try:
        began = time.perf_counter()
        with (
            CpuWatch(dbname, os.getpid(), bench=os.getpid()) as watch,
            _progress(partial(live_positions, store, suffix), target),
        ):
            events = worker.catch_up()
        seconds = time.perf_counter() - began
        cpu = _cpu(watch.spent)
        if suffix:
            for view in VIEWS:
                store.drop(view, suffix)
    finally:
        store.db.close()
    label = f"batch {batch_size}" + (", views + Merkle log (default)" if batch_size == DEFAULT_BATCH else ", views")
    return CatchUp(label, batch_size, events, seconds, cpu)


class BareCountView(PostgresTrackingRecorder):
    """The bare library's view: one counter row per event type, bumped with its tracking record."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.counts_table_name = "bare_event_counts"
        table = Identifier(self.datastore.schema), Identifier(self.counts_table_name)
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {0}.{1} (event_type text PRIMARY KEY, events bigint NOT NULL)").format(
                *table
            )
        )
        self.bump_statement = SQL(
            "INSERT INTO {0}.{1} (event_type, events) VALUES (%s, 1) "
            "ON CONFLICT (event_type) DO UPDATE SET events = {1}.events + 1"
        ).format(*table)
        self.total_statement = SQL("SELECT COALESCE(SUM(events), 0) AS total FROM {0}.{1}").format(*table)

    def count(self, event_type: str, tracking: Tracking) -> None:
        """One transaction per event: the counter and the tracking record together."""
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            curs.execute(self.bump_statement, (event_type,), prepare=True)

    def total(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.total_statement)
            row: Any = curs.fetchone()
            return int(row["total"])


class BareCounts(Projection[BareCountView]):
    """Counts events by type: the least a projection can do per event."""

    name = "bare_counts"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.count(type(domain_event).__qualname__, tracking)


def time_bare(settings: Settings, head: int, max_seconds: float = 0.0) -> CatchUp:
    """``ProjectionRunner`` with the bare view over the ledger's events, until it reaches ``head``.

    With ``max_seconds``, it stops there if it has not reached the head, and the rate is over
    the events it did (one commit per event: the rate does not change along the way).
    """
    dbname = settings.postgres_params()["dbname"]
    # The library's own PostgreSQL module for both the application that is followed (only its
    # notifications are read) and the view; the connection settings are the ledger's. Prefixed
    # keys, so that no CASELEDGER_* or BARE_COUNTS_* variable of the caller's can win.
    library = "eventsourcing.postgres"
    env = {
        **bare_env(settings),
        **settings.eventsourcing_env(),
        "CREATE_TABLE": "y",
        "PERSISTENCE_MODULE": library,
        "CASELEDGER_PERSISTENCE_MODULE": library,
        f"{BareCounts.name.upper()}_PERSISTENCE_MODULE": library,
    }
    deadline = time.monotonic() + max(300.0, head / 500)
    # Watched along the way: the runner's connections end before the last sample.
    with CpuWatch(dbname, os.getpid(), bench=os.getpid()) as watch:
        began = time.perf_counter()
        runner = ProjectionRunner(
            application_class=CaseLedger, projection_class=BareCounts, view_class=BareCountView, env=env
        )
        last_report = began
        with runner:
            while (reached := runner.view.max_tracking_id(runner.app_name) or 0) < head:
                runner.run_forever(timeout=0.05)  # re-raises the runner's error, if any
                if runner.is_interrupted.is_set():
                    raise BenchError("the bare projection runner stopped before reaching the head")
                if time.monotonic() > deadline:
                    raise BenchError("the bare projection runner did not reach the head in time")
                if max_seconds and time.perf_counter() - began > max_seconds:
                    break
                if time.perf_counter() - last_report > 10:
                    last_report = time.perf_counter()
                    say(f"    … position {reached:,} of {head:,} after {last_report - began:.0f} s")
        # Stopped (its threads joined): what the view holds is all it committed.
        seconds = time.perf_counter() - began
        counted = runner.view.total()
        reached = runner.view.max_tracking_id(runner.app_name) or 0
        runner.view.datastore.close()
    cpu = _cpu(watch.spent)
    if counted != reached:  # the ledger's positions have no gaps here: one writer, no rollbacks
        raise BenchError(f"the bare projection counted {counted} events but tracked position {reached}")
    label = "bare ProjectionRunner" + ("" if reached >= head else f" (stopped at {reached:,} of {head:,})")
    return CatchUp(label, 1, counted, seconds, cpu)


def profile_catch_up(settings: Settings, ledger: CaseLedger, events: int, batch_size: int) -> list[str]:
    """A catch-up of the first ``events`` events under ``cProfile``; the report's lines."""
    store = build_views(settings)
    suffix = "_bench_profile"
    store.create(VIEWS, suffix)
    worker = ProjectionWorker(ledger, store, suffix=suffix, batch_size=batch_size)
    profiler = cProfile.Profile()
    read = 0
    began = time.perf_counter()
    try:
        profiler.enable()
        while read < events and (n := worker.run_once()):
            read += n
        profiler.disable()
        for view in VIEWS:
            store.drop(view, suffix)
    finally:
        store.db.close()
    seconds = time.perf_counter() - began
    return profile_report(pstats.Stats(profiler), read, seconds)


def profile_report(stats: pstats.Stats, events: int, seconds: float, top: int = 18) -> list[str]:
    """Top project functions by cumulative time, then the library's by own time."""
    root = str(REPO)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = seconds or 1.0
    ours = [
        (ct, nc, key)
        for key, (_, nc, _, ct, _) in raw.items()
        if key[0].startswith(root) and "/benchmarks/" not in key[0] and "/.venv/" not in key[0]
    ]
    lines = [
        f"cProfile of a catch-up of {events:,} events: {seconds:.1f} s under the profiler"
        f" ({events / seconds if seconds else 0:,.0f} events/s); % of that wall time",
        "top project functions by cumulative time:",
        f"    {'cum s':>7} {'% ':>5} {'calls':>9}  function",
    ]
    for ct, nc, (path, line, name) in sorted(ours, reverse=True)[:top]:
        where = f"{Path(path).relative_to(root)}:{line}"
        lines.append(f"    {ct:7.2f} {100 * ct / total:4.0f}% {nc:9,}  {name} ({where})")
    theirs = sorted(
        ((tt, nc, key) for key, (_, nc, tt, _, _) in raw.items() if not key[0].startswith(root) or "/.venv/" in key[0]),
        reverse=True,
    )[:10]
    lines.append("top library and built-in functions by own time:")
    for tt, nc, (path, line, name) in theirs:
        short = path.split("site-packages/")[-1] if "site-packages/" in path else path
        lines.append(f"    {tt:7.2f} {100 * tt / total:4.0f}% {nc:9,}  {name} ({short}:{line})")
    return lines


# ---------------------------------------------------------------------- 2. query latency


class _Capture:
    """A view database that records the statements ``ViewQueries`` sends through it."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.statements: list[tuple[str, list[Any], bool]] = []

    def query(self, statement: str, params: Any = (), *, prepare: bool = True) -> list[dict[str, Any]]:
        self.statements.append((statement, list(params), prepare))
        result: list[dict[str, Any]] = self.db.query(statement, params, prepare=prepare)
        return result


def _compact_plan(rows: list[dict[str, Any]]) -> list[str]:
    keep = ("Scan", "Sort", "Limit", "Aggregate", "Execution Time", "Rows Removed", "Heap Fetches", "Index Cond")
    lines = [str(next(iter(row.values()))) for row in rows]
    return [line.rstrip() for line in lines if any(word in line for word in keep)][:14]


def sql_profile(
    store: ViewStore, run: Callable[[ViewQueries], object], reps: int = 30, max_seconds: float = 3.0
) -> tuple[float, list[list[str]]]:
    """Median ms of the statements one call of ``run`` sends (SQL and rows only), and their plans."""
    capture = _Capture(store.db)
    run(ViewQueries(capture))  # type: ignore[arg-type]
    statements = capture.statements
    timings: list[float] = []
    stop_at = time.perf_counter() + max_seconds
    while len(timings) < reps and (len(timings) < 3 or time.perf_counter() < stop_at):
        began = time.perf_counter()
        for statement, params, prepare in statements:
            store.db.query(statement, params, prepare=prepare)
        timings.append((time.perf_counter() - began) * 1000)
    plans = [
        _compact_plan(store.db.query("EXPLAIN (ANALYZE, BUFFERS) " + statement, params))
        for statement, params, _ in statements
    ]
    timings.sort()
    return timings[len(timings) // 2], plans


def _median_ms(call: Callable[[], object], reps: int = 30) -> float:
    timings = []
    for _ in range(reps):
        began = time.perf_counter()
        call()
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    return timings[len(timings) // 2]


def _query(path: str, **params: Any) -> str:
    return path + ("?" + urlencode(params) if params else "")


@dataclass
class QuerySpec:
    name: str
    label: str
    goal_ms: float | None
    goal_name: str
    http: Any  # a list of paths, or {"paging": path}
    sql: Callable[[ViewQueries], object] | None = None
    ledger_call: Callable[[CaseLedger], object] | None = None


def query_specs(
    ledger: CaseLedger, store: ViewStore, samples: list[tuple[UUID, datetime, datetime]], seed: int
) -> list[QuerySpec]:
    """The query types, as HTTP paths and as the in-process calls the routes make."""
    org = ledger.organisation
    townships = sorted(p for p, n in org.nodes.items() if n.level == "township")
    scope = Scope(READER.jurisdiction)
    now = datetime.now(CHINA_TZ)
    today = now.date()
    year_from, year_to = today - timedelta(days=364), today
    rng = random.Random(seed)
    picked = rng.sample(samples, min(300, len(samples)))
    cases = [str(case_id) for case_id, _, _ in picked]
    as_of = [(str(case_id), first + (last - first) / 2) for case_id, first, last in picked]
    reader = READER
    lo, hi = period_bounds(year_from, year_to, today)
    month_lo, month_hi = period_bounds(None, None, today)
    # The in-process twin of the paging run: the statement of a page 100 pages deep.
    paging_filter = CaseFilter(township=townships[1 % len(townships)])
    deep_cursor = None
    page = ViewQueries(store.db).list_cases(scope, paging_filter, now=now, limit=50)
    for _ in range(100):
        if not page.next_cursor:
            break
        deep_cursor = page.next_cursor
        page = ViewQueries(store.db).list_cases(scope, paging_filter, now=now, limit=50, cursor=deep_cursor)

    return [
        QuerySpec(
            "list_status",
            "list: township + status=handling",
            GOAL_LIST_MS,
            "list",
            [_query("/api/v1/cases", township=t, status="handling", limit=50) for t in townships],
            sql=lambda q: q.list_cases(
                scope, CaseFilter(status=("handling",), township=townships[0]), now=now, limit=50
            ),
        ),
        QuerySpec(
            "list_overdue",
            "list: overdue=true",
            GOAL_LIST_MS,
            "list",
            [_query("/api/v1/cases", overdue="true", limit=50)],
            sql=lambda q: q.list_cases(scope, CaseFilter(overdue=True), now=now, limit=50),
        ),
        QuerySpec(
            "list_overdue_township",
            "list: township + overdue=true",
            GOAL_LIST_MS,
            "list",
            [_query("/api/v1/cases", township=t, overdue="true", limit=50) for t in townships],
            sql=lambda q: q.list_cases(scope, CaseFilter(overdue=True, township=townships[0]), now=now, limit=50),
        ),
        QuerySpec(
            "list_pages",
            "list: township, next pages by cursor",
            GOAL_LIST_MS,
            "list",
            {"paging": _query("/api/v1/cases", township=townships[1 % len(townships)], limit=50)},
            sql=lambda q: q.list_cases(scope, paging_filter, now=now, limit=50, cursor=deep_cursor),
        ),
        QuerySpec(
            "case",
            "one case",
            GOAL_CASE_MS,
            "one case",
            [f"/api/v1/cases/{case_id}" for case_id in cases],
            ledger_call=lambda lg: [lg.view_case(UUID(c), reader) for c in cases[:30]],
        ),
        QuerySpec(
            "case_as_of",
            "one case as_of",
            GOAL_CASE_MS,
            "one case",
            [_query(f"/api/v1/cases/{case_id}", as_of=moment.isoformat()) for case_id, moment in as_of],
            ledger_call=lambda lg: [lg.view_case(UUID(c), reader, m) for c, m in as_of[:30]],
        ),
        QuerySpec(
            "overview",
            "overview: 12 months, group=township",
            GOAL_OVERVIEW_MS,
            "overview",
            [
                _query(
                    "/api/v1/stats/overview",
                    **{"from": year_from.isoformat(), "to": year_to.isoformat()},
                    group="township",
                )
            ],
            sql=lambda q: [q.figures(scope, start=lo, end=hi, group=g, now=now) for g in ("township", "scope")],
        ),
        QuerySpec(
            "rankings",
            "rankings: level=handler (this month)",
            GOAL_OVERVIEW_MS,
            "overview",
            [_query("/api/v1/rankings", level="handler")],
            sql=lambda q: [
                q.figures(scope, start=month_lo, end=month_hi, group=g, now=now) for g in ("handler", "scope")
            ],
        ),
    ]


def _run_client(plan: dict[str, Any], token: str, timeout: float) -> dict[str, Any]:
    """``benchmarks.readload`` in its own process; its JSON summary."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
        json.dump(plan, handle)
        path = handle.name
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.readload", path],
            env={**os.environ, TOKEN_VARIABLE: token},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        os.unlink(path)
    if done.returncode != 0:
        raise BenchError(f"the read client failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------- processes


def follow(url: str, batch_size: int) -> None:
    """Keep the views of ``url`` up to date until SIGTERM (run in a process of its own)."""
    import signal

    settings = Settings(backend="postgres", database_url=url)
    ledger = build_ledger(settings)
    store = build_views(settings)
    worker = ProjectionWorker(ledger, store, batch_size=batch_size, log=build_integrity(settings, store).log)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    try:
        worker.run_forever()
    finally:
        store.db.close()
        ledger.close()


def _views_position(store: ViewStore) -> int:
    return min(store.positions().get(view, 0) for view in VIEWS)


def _behind(ledger: CaseLedger, store: ViewStore) -> tuple[int, int]:
    """(lowest position anything the worker tracks has reached, the ledger's head)."""
    return live_positions(store), ledger.recorder.max_notification_id() or 0


def _wait_caught_up(
    behind: Callable[[], tuple[int, int]], process: subprocess.Popen[bytes], timeout: float, name: str
) -> float:
    """Seconds until the worker process has reached the head as it was when called."""
    began = time.perf_counter()
    _, head = behind()
    last = began
    while (position := behind()[0]) < head:
        if process.poll() is not None:
            raise BenchError(f"{name} exited with {process.returncode}")
        if time.perf_counter() - began > timeout:
            raise BenchError(f"{name} did not catch up within {timeout:.0f} s ({position:,} of {head:,})")
        if time.perf_counter() - last > 10:
            last = time.perf_counter()
            say(f"    … {name} at {position:,} of {head:,}")
        time.sleep(0.1)
    return time.perf_counter() - began


@dataclass
class Service:
    """A running ``caseledger serve`` (and maybe ``caseledger project``) and how to reach it."""

    base: str
    token: str
    log: Path
    project: subprocess.Popen[bytes] | None


@contextlib.contextmanager
def service(url: str, *, project: bool) -> Iterator[Service]:
    """``caseledger serve`` on ``url`` (views built elsewhere: no embedded worker), and
    ``caseledger project`` beside it if asked; both stopped at the end, whatever happens.
    """
    secret = secrets.token_urlsafe(32)
    token = TokenService(Settings.model_construct(jwt_secret=secret)).issue(
        user_id=READER.user_id, role=READER.role, unit=READER.unit, jurisdiction=READER.jurisdiction
    )
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="caseledger-reads-") as tmp:
        env = {**server_env(url, secret, tmp), "CASELEDGER_EMBEDDED_WORKER": "false"}
        log = Path(tmp) / "server.log"
        with log.open("wb") as log_file, (Path(tmp) / "project.log").open("wb") as worker_file:
            server = subprocess.Popen(
                server_command(port), env=env, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT
            )
            worker: subprocess.Popen[bytes] | None = None
            try:
                wait_ready(server, port, log)
                if project:
                    script = Path(sys.executable).with_name("caseledger")
                    command = (
                        [str(script), "project"]
                        if script.exists()
                        else [sys.executable, "-c", "from api.cli import main; main()", "project"]
                    )
                    worker = subprocess.Popen(command, env=env, cwd=REPO, stdout=worker_file, stderr=subprocess.STDOUT)
                yield Service(f"http://{HOST}:{port}", token, log, worker)
            finally:
                if worker is not None:
                    stop(worker)
                stop(server)


# ---------------------------------------------------------------------- the whole run


def _progress_writer(extra: Callable[[], str] | None = None) -> Callable[[DatasetSummary], None]:
    last = [time.perf_counter()]

    def progress(summary: DatasetSummary) -> None:
        if time.perf_counter() - last[0] > 10:
            last[0] = time.perf_counter()
            more = extra() if extra is not None else ""
            say(f"    … {summary.cases:,} cases, {summary.events:,} events, {summary.events_per_second:,.0f}/s{more}")

    return progress


def run_reads(databases: BenchDatabases, options: ReadOptions) -> ReadsResult:
    """The three read benchmarks: catch-up and latency on one database, lag on a second (both
    dropped by the caller).
    """
    result = ReadsResult()
    began = time.perf_counter()
    url = databases.create()
    settings = Settings(backend="postgres", database_url=url)
    ledger = build_ledger(settings)
    try:
        best = _catch_up_part(settings, ledger, options, result)
        _latency_part(url, settings, ledger, best, options, result)
    finally:
        ledger.close()
    if options.lag_seconds > 0 and options.lag_rate > 0:
        _lag_part(databases, options, result)
    say(f"done in {time.perf_counter() - began:.0f} s")
    return result


def _catch_up_part(settings: Settings, ledger: CaseLedger, options: ReadOptions, result: ReadsResult) -> int:
    """1. The catch-up comparison; returns the best batch size."""
    dbname = settings.postgres_params()["dbname"]
    writer = DatasetWriter(ledger, seed=options.seed)
    result.writer = writer
    say(f"writing cases until there are {options.catchup_events:,} events (fresh database {dbname}) …")
    phase1 = writer.write(events=options.catchup_events, progress=_progress_writer())
    head = phase1.last_position
    result.phase1 = DatasetSummary(cases=phase1.cases, events=phase1.events, seconds=phase1.seconds, last_position=head)
    say(
        f"wrote {phase1.cases:,} cases, {phase1.events:,} events in {phase1.seconds:.0f} s"
        f" ({phase1.events_per_second:,.0f} events/s)"
    )
    sizes = [DEFAULT_BATCH] + [b for b in options.batch_sizes if b != DEFAULT_BATCH]
    for size in sizes:
        say(f"catch-up of all views, batch {size} …")
        catch_up_ledger = build_ledger(settings)  # a fresh one, as a starting worker has
        try:
            done = time_catch_up(settings, catch_up_ledger, size, head)
        finally:
            catch_up_ledger.close()
        result.catchups.append(done)
        say(f"  {done.events:,} events in {done.seconds:.1f} s: {done.rate:,.0f} events/s; CPU s {done.cpu}")
    say("bare eventsourcing ProjectionRunner (one event per transaction) over the same events …")
    result.bare = time_bare(settings, head, options.bare_max_seconds)
    say(f"  {result.bare.events:,} events in {result.bare.seconds:.1f} s: {result.bare.rate:,.0f} events/s")
    best = max(result.catchups, key=lambda c: c.rate).batch_size
    if options.profile_events:
        say(f"profiling a catch-up of {options.profile_events:,} events (cProfile) …")
        result.profile = profile_catch_up(settings, ledger, options.profile_events, best)
    return best


def _latency_part(
    url: str, settings: Settings, ledger: CaseLedger, best: int, options: ReadOptions, result: ReadsResult
) -> None:
    """2. Grow the database to ``options.cases`` with the views following, then the queries."""
    dbname = settings.postgres_params()["dbname"]
    writer = result.writer
    assert writer is not None
    store = build_views(settings)
    try:
        if options.cases > writer.summary.cases:
            _grow_with_follower(url, dbname, writer, store, best, options, result)
        summary = writer.summary
        result.dataset = {
            "cases": summary.cases,
            "events": summary.events,
            "statuses": dict(summary.statuses),
            "mediator_cases": summary.mediator_cases,
            "agreements": summary.agreements,
            "confirmations": summary.confirmations,
            "writing_seconds": summary.seconds,
        }
        counts = store.db.query(
            "SELECT (SELECT COUNT(*) FROM cases) AS cases, (SELECT COUNT(*) FROM case_history) AS history, "
            "(SELECT COUNT(*) FROM evaluations) AS evaluations, (SELECT COUNT(*) FROM court) AS court, "
            "(SELECT COUNT(*) FROM audit) AS audit, "
            "(SELECT COUNT(*) FROM cases WHERE next_due_at < ?) AS overdue",
            [stamp(datetime.now(UTC))],
        )[0]
        result.dataset["views"] = {k: int(v) for k, v in counts.items()}
        # Without this, autovacuum works through the million rows just loaded while the queries
        # are timed, and the next checkpoints' final fsyncs stall the reads' own commits.
        skipped = at_rest(url)
        if skipped:
            say(f"  ({skipped})")
        specs = query_specs(ledger, store, summary.samples, options.seed)
        say(f"query latency over HTTP ({summary.cases:,} cases) …")
        with service(url, project=False) as running:
            plan = {
                "mode": "latency",
                "url": running.base,
                "warmup": 10,
                "requests": options.requests,
                "max_seconds": options.max_seconds,
                "queries": {spec.name: spec.http for spec in specs},
            }
            measured = _run_client(plan, running.token, timeout=60 + len(specs) * (options.max_seconds + 30))
            if any(q.get("failures") for q in measured["queries"].values()):
                say(f"  requests failed; the server's log ends:\n{_error_tail(running.log)}")
        for spec in specs:
            got = measured["queries"].get(spec.name, {})
            result.queries.append(QueryResult(spec.name, spec.label, spec.goal_ms, spec.goal_name, http=got))
            ms = got.get("ms", {})
            say(
                f"  {spec.label:<40} p50 {ms.get('p50', 0):7.1f}  p99 {ms.get('p99', 0):7.1f} ms"
                f"  (n {ms.get('n', 0)}{', failures ' + str(got['failures']) if got.get('failures') else ''})"
            )
        say("timing and explaining the same queries in-process …")
        for spec, query in zip(specs, result.queries, strict=True):
            if spec.sql is not None:
                ms_sql, plans = sql_profile(store, spec.sql)
                query.inprocess_ms["sql"] = round(ms_sql, 2)
                query.plans = plans
            if spec.ledger_call is not None:
                call = spec.ledger_call  # 30 cases per call
                query.inprocess_ms["ledger"] = round(_median_ms(partial(call, ledger), reps=5) / 30, 2)
        result.access_write_ms = time_access_record(ledger)
    finally:
        store.db.close()


def _grow_with_follower(
    url: str,
    dbname: str,
    writer: DatasetWriter,
    store: ViewStore,
    best: int,
    options: ReadOptions,
    result: ReadsResult,
) -> None:
    """Write cases up to ``options.cases`` while a projection worker process follows the writes."""
    say(f"writing cases until there are {options.cases:,}, with a projection worker process (batch {best}) following …")
    command = [
        sys.executable,
        "-c",
        "import sys; from benchmarks.reads import follow; follow(sys.argv[1], int(sys.argv[2]))",
        url,
        str(best),
    ]
    with tempfile.TemporaryFile() as log:
        follower = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        # The follower's own writer process comes and goes: watched along the way.
        watch = CpuWatch(dbname, follower.pid, bench=os.getpid(), follower=follower.pid).__enter__()
        try:
            start = _views_position(store)
            t0 = time.perf_counter()
            summary = writer.write(
                cases=options.cases, progress=_progress_writer(lambda: f"; views at {_views_position(store):,}")
            )
            written = time.perf_counter() - t0
            head = summary.last_position
            say(f"  wrote up to {summary.cases:,} cases in {written:.0f} s; waiting for the views to reach {head:,} …")
            last = time.perf_counter()
            while (position := _views_position(store)) < head:
                if follower.poll() is not None:
                    log.seek(0)
                    tail = log.read().decode("utf-8", "replace")[-2000:]
                    raise BenchError(f"the projection worker process exited with {follower.returncode}:\n{tail}")
                if time.perf_counter() - last > 10:
                    last = time.perf_counter()
                    say(f"    … views at {position:,} of {head:,}")
                time.sleep(0.2)
            elapsed = time.perf_counter() - t0
            watch.__exit__()
            spent = watch.spent
        finally:
            watch.__exit__()
            stop(follower)
    result.at_scale = CatchUp(
        f"views {start:,} → {head:,}",
        best,
        head - start,
        elapsed,
        {
            "bench": round(spent.get("follower", 0.0), 1),
            "children": round(spent.get("children", 0.0), 1),
            "writer": round(spent.get("bench", 0.0), 1),
            "postgres": round(spent.get("postgres", 0.0), 1),
            "other": round(spent.get("other", 0.0), 1),
        },
    )
    result.at_scale_lag_seconds = elapsed - written
    say(
        f"  the views reached {position:,} {elapsed - written:.1f} s after the last write"
        f" ({head - start:,} events in {elapsed:.0f} s from the first write)"
    )


def _lag_part(databases: BenchDatabases, options: ReadOptions, result: ReadsResult) -> None:
    """3. On a second, smaller database: ``caseledger project`` catches up from zero beside the
    server, then registrations at a steady rate, and a sample polled in the list.
    """
    url = databases.create()
    settings = Settings(backend="postgres", database_url=url)
    ledger = build_ledger(settings)
    store = build_views(settings)
    try:
        say(f"lag: a second database with {options.lag_cases:,} cases …")
        summary = DatasetWriter(ledger, seed=options.seed + 1).write(cases=options.lag_cases)
        grids = sorted(p for p, n in ledger.organisation.nodes.items() if n.level == "grid")
        with service(url, project=True) as running:
            assert running.project is not None
            waited = _wait_caught_up(partial(_behind, ledger, store), running.project, 300.0, "caseledger project")
            result.lag_startup = {"events": summary.last_position, "seconds": waited}
            say(f"  caseledger project caught up from zero ({summary.last_position:,} events) in {waited:.1f} s")
            plan = {
                "mode": "lag",
                "url": running.base,
                "rate": options.lag_rate,
                "seconds": options.lag_seconds,
                "sample_every": options.lag_sample_every,
                "grids": grids,
                "senders": 4,
                "pollers": 4,
                "timeout": 10.0,
                "poll_pause": 0.002,
            }
            say(f"  {options.lag_rate:.0f} registrations/s for {options.lag_seconds:.0f} s (after 2 s of warm-up) …")
            _run_client({**plan, "seconds": 2.0, "rate": 20.0, "sample_every": 2}, running.token, timeout=120)
            result.lag = _run_client(plan, running.token, timeout=120 + options.lag_seconds * 3)
            if result.lag.get("failures"):
                say(f"  requests failed; the server's log ends:\n{_error_tail(running.log)}")
        ms = result.lag.get("lag_ms", {})
        say(
            f"  lag p50 {ms.get('p50', 0):.1f} ms, p99 {ms.get('p99', 0):.1f} ms over {ms.get('n', 0)} samples;"
            f" {result.lag.get('achieved_rate', 0):.0f} registrations/s"
        )
    finally:
        store.db.close()
        ledger.close()


def time_access_record(ledger: CaseLedger, reps: int = 100) -> dict[str, float]:
    """What recording one read costs in-process (``CaseLedger.record_read``), if this tree records reads."""
    record = getattr(ledger, "record_read", None)
    if record is None:
        return {}
    timings = []
    try:
        for n in range(reps):
            t0 = time.perf_counter()
            record(READER, request_id=f"bench-{n}", method="GET", path="/api/v1/cases", query="", reason="")
            timings.append((time.perf_counter() - t0) * 1000)
    except TypeError as exc:  # another signature in this tree
        say(f"  (could not time record_read: {exc})")
        return {}
    timings.sort()
    return {
        "n": float(len(timings)),
        "p50": round(timings[len(timings) // 2], 2),
        "p99": round(timings[min(len(timings) - 1, int(0.99 * len(timings)))], 2),
    }


def _error_tail(log: Path, lines: int = 12) -> str:
    """The last lines of a log that name an error (else its last lines), shortened."""
    try:
        text = log.read_text("utf-8", "replace").splitlines()
    except OSError:
        return "(no log)"
    errors = [line for line in text if "Error" in line or "error" in line] or text
    return "\n".join(f"      {line[-300:]}" for line in errors[-lines:])


# ---------------------------------------------------------------------- report


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def print_reads(result: ReadsResult, options: ReadOptions) -> None:
    """The read benchmarks' table and goals."""
    print()
    print("read side (PostgreSQL)")
    print("-" * 100)
    if result.phase1 is not None:
        p = result.phase1
        print(
            f"catch-up set: {p.cases:,} cases, {p.events:,} events, written in {p.seconds:.0f} s"
            f" ({p.events_per_second:,.0f} events/s, 200 cases per save)"
        )
    rows = [(f"ProjectionWorker, {c.label}", c) for c in result.catchups]
    if result.bare is not None:
        rows.append(("bare eventsourcing ProjectionRunner, 1 event/txn", result.bare))
    if rows:
        print(
            f"  {'catch-up of every view, same events':<60}{'events/s':>10}{'seconds':>9}"
            "   CPU s: this process, its writer process, PostgreSQL, others (cores)"
        )
        for label, c in rows:
            others = c.cpu.get("other", 0) / c.seconds if c.seconds else 0.0
            cpu = ", ".join(f"{c.cpu.get(k, 0):.1f}" for k in ("bench", "children", "postgres", "other"))
            cpu += f" ({others:.1f})"
            print(f"  {label:<60}{c.rate:10,.0f}{c.seconds:9.1f}   {cpu}")
    default = next((c for c in result.catchups if c.batch_size == DEFAULT_BATCH), None)
    best = max(result.catchups, key=lambda c: c.rate) if result.catchups else None
    if best is not None and result.bare is not None and result.bare.rate:
        for which, chosen in (("default", default), ("best", best)):
            if chosen is None:
                continue
            c = chosen
            ratio = c.rate / result.bare.rate
            ok = c.rate >= GOAL_CATCHUP_EVENTS and ratio >= GOAL_CATCHUP_RATIO
            print(
                f"  {which + ' (' + c.label + ')':<34} {c.rate:8,.0f} events/s = {ratio:.2f} × bare:"
                f" ≥ {GOAL_CATCHUP_EVENTS:,.0f}/s {_verdict(c.rate >= GOAL_CATCHUP_EVENTS)},"
                f" ≥ {GOAL_CATCHUP_RATIO:.0f} × bare {_verdict(ratio >= GOAL_CATCHUP_RATIO)} → goal {_verdict(ok)}"
            )
    if result.at_scale is not None:
        a = result.at_scale
        print(
            f"  growing to the query set, a worker process (batch {a.batch_size}) followed the writes: {a.label},"
            f" {a.rate:,.0f} events/s over {a.seconds:.0f} s, caught up {result.at_scale_lag_seconds:.1f} s after"
            f" the last write (CPU s: worker {a.cpu.get('bench', 0):.0f} and its writer process"
            f" {a.cpu.get('children', 0):.0f}, case writer {a.cpu.get('writer', 0):.0f},"
            f" PostgreSQL {a.cpu.get('postgres', 0):.0f}, others {a.cpu.get('other', 0):.0f})"
        )
    timed = [c for c in [*result.catchups, result.bare] if c is not None and c.seconds > 0]
    busy = sorted(c.cpu.get("other", 0.0) / c.seconds for c in timed)
    if busy and busy[len(busy) // 2] > 0.25:
        print(
            f"  note: other processes kept {busy[len(busy) // 2]:.1f} of this machine's cores busy during the"
            " catch-ups (median); every figure here is lower and noisier than on an idle machine"
        )
    if result.profile:
        print()
        for line in result.profile:
            print(f"  {line}")
    if result.dataset:
        d = result.dataset
        print()
        print(
            f"query set: {d['cases']:,} cases, {d['events']:,} events; statuses {d['statuses']};"
            f" views {d.get('views', {})}"
        )
        if d["cases"] < 1_000_000 and result.at_scale is not None and result.phase1 is not None:
            first = next((c.seconds for c in result.catchups if c.batch_size == DEFAULT_BATCH), 0.0)
            took = result.phase1.seconds + first + result.at_scale.seconds
            print(
                f"  this set took {took / 60:.1f} min to write and project; 1,000,000 cases"
                f" (~{d['events'] * 1_000_000 / d['cases'] / 1e6:.1f} M events) would take ≈"
                f" {took * 1_000_000 / d['cases'] / 60:.0f} min: it does not fit in a ~10 minute `make bench`"
                f" on this machine, so the query set is {d['cases']:,} cases"
            )
    if result.queries:
        print()
        header = f"  {'query (sequential, 1 server process)':<42}{'goal p99':>10}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'n':>6}  in-process p50       verdict"
        print(header)
        for q in result.queries:
            ms = q.http.get("ms", {})
            goal = f"≤{q.goal_ms:.0f} ms" if q.goal_ms is not None else "-"
            inproc = ", ".join(f"{k} {v:.1f}" for k, v in q.inprocess_ms.items())
            fails = (
                f"  FAILURES {q.http['failures']}, e.g. {q.http.get('failure_sample', '')[:160]}"
                if q.http.get("failures")
                else ""
            )
            print(
                f"  {q.label:<42}{goal:>10}{ms.get('p50', 0):8.1f}{ms.get('p90', 0):8.1f}{ms.get('p99', 0):8.1f}"
                f"{ms.get('max', 0):8.1f}{ms.get('n', 0):6d}  {inproc:<20} {_verdict(q.met)}{fails}"
            )
        print(
            "  (in-process: the SQL that infrastructure.views.queries sends, rows fetched, no HTTP;"
            " for one case, CaseLedger.view_case, per case)"
        )
        if result.access_write_ms:
            access = result.access_write_ms
            print(
                "  every read is also logged (CaseLedger.record_read saves one access event before the reply):"
                f" in-process p50 {access['p50']:.1f} ms, p99 {access['p99']:.1f} ms"
            )
        missed = [q for q in result.queries if q.met is False]
        for q in missed:
            print()
            if not q.plans:
                print(
                    f"  {q.label} (missed its goal) reads the event store, not the views: no view SQL to explain;"
                    f" in-process {', '.join(f'{k} {v:.1f} ms' for k, v in q.inprocess_ms.items())} against"
                    f" {q.http.get('ms', {}).get('p50', 0):.1f} ms p50 over HTTP"
                )
                continue
            print(f"  EXPLAIN ANALYZE, {q.label} (missed its goal; statement | plan line):")
            for n, plan in enumerate(q.plans, start=1):
                for line in plan:
                    print(f"    {n}| {line}")
    if result.lag_startup:
        print()
        print(
            f"  lag database: {options.lag_cases:,} cases; caseledger project (views and whatever else it keeps) caught"
            f" up from zero over {result.lag_startup['events']:,.0f} events in {result.lag_startup['seconds']:.1f} s"
        )
    if result.lag:
        lag = result.lag
        ms, reg = lag.get("lag_ms", {}), lag.get("register_ms", {})
        print(
            f"  lag, register → in the list (caseledger project beside caseledger serve): p50 {ms.get('p50', 0):.1f} ms,"
            f" p90 {ms.get('p90', 0):.1f}, p99 {ms.get('p99', 0):.1f}, max {ms.get('max', 0):.1f}"
            f" over {ms.get('n', 0)} samples ({lag.get('never_listed', 0)} never listed within 10 s)"
        )
        print(
            f"  under {lag.get('achieved_rate', 0):.0f} registrations/s for {lag.get('elapsed', 0):.0f} s"
            f" (asked {options.lag_rate:.0f}/s); register latency p50 {reg.get('p50', 0):.1f} ms,"
            f" p99 {reg.get('p99', 0):.1f} ms; failures {lag.get('failures') or 'none'}"
        )
    for error in result.errors:
        print(f"  error: {error}")
