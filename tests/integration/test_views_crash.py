"""Crash safety of the projection worker (SPEC §7, §11): ``caseledger project`` killed with
SIGKILL at random moments and restarted leaves every view equal to a rebuild from zero.

The worker runs as a real subprocess, as in production, and is killed without warning (no
signal handler runs, no transaction commits). The kill moments come from a seeded random
generator, so a rerun repeats them as closely as a machine's timing allows. Afterwards the
live view tables are compared, row for row, with a projection from position zero into fresh
tables of the same database.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import pytest

from application.ledger import Caller, CaseLedger
from application.projections.projector import VIEWS
from domain.values import Actor, Role
from infrastructure.bootstrap import build_ledger, build_views
from infrastructure.demo import load_demo
from infrastructure.integrity.log import LOG_VIEW, notification_leaf
from infrastructure.settings import Settings
from infrastructure.views.store import ROLLUPS, VIEW_TABLES, ViewStore
from infrastructure.worker import ProjectionWorker

EXECUTABLE = Path(sys.executable).parent / "caseledger"
DEMO_CASES = 150
KILLS = 5
WRITTEN_CASES = 4  # per small county recorded while the worker is killed and restarted
SEED = 20260522
FRESH = "__fresh"
FINISH_SECONDS = 30.0
COUNTY_CENTER = Actor("cc-zheng", Role.COUNTY_CENTER.value, "qingxi-center", "qingxi")
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


def snapshot(store: ViewStore, suffix: str = "") -> Snapshot:
    """Every row of every view table (under ``suffix``), keyed by primary key."""
    return {
        table: {tuple(row[k] for k in KEYS[table]): row for row in store.db.query(f"SELECT * FROM {table}{suffix}")}
        for view_tables in VIEW_TABLES.values()
        for table in view_tables
    }


def rebuilt_from_zero(ledger: CaseLedger, store: ViewStore) -> Snapshot:
    """The views as one uninterrupted projection from position zero writes them, in fresh tables."""
    for view in VIEWS:
        store.drop(view, FRESH)
    store.create(VIEWS, FRESH)
    ProjectionWorker(ledger, store, suffix=FRESH).catch_up()
    return snapshot(store, FRESH)


def seed_county(ledger: CaseLedger, cases: int, seed: int) -> None:
    """A scoring policy (so a restarted worker must replay the policy book) and a demo county."""
    ledger.adopt_policy(
        Caller(COUNTY_CENTER),
        policy={"name": "v2-strict", "unrated_points": 40},
        effective_from=ledger.clock() - timedelta(days=45),
    )
    load_demo(ledger, cases=cases, seed=seed)


class WorkerProcess:
    """``caseledger project`` as a subprocess of this test, started and killed by its own pid."""

    def __init__(self, settings: Settings, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")}
        env.update(
            CASELEDGER_BACKEND=settings.backend,
            CASELEDGER_DATA_DIR=str(settings.data_dir),
            CASELEDGER_DATABASE_URL=settings.database_url,
            CASELEDGER_LOG_LEVEL="WARNING",
        )
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def start(self) -> None:
        assert self.process is None
        self._stderr = self.log.open("ab")
        self.process = subprocess.Popen(
            [str(EXECUTABLE), "project"], env=self.env, stdout=subprocess.DEVNULL, stderr=self._stderr
        )

    def kill(self) -> None:
        """SIGKILL: no handler, no clean-up, whatever transaction was open is lost."""
        self._end(lambda p: p.kill())

    def stop(self) -> None:
        """SIGTERM: the worker's own handler stops it between batches."""
        self._end(lambda p: p.terminate())

    def _end(self, signal: Callable[[subprocess.Popen[bytes]], None]) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            signal(self.process)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self.process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def errors(self) -> str:
        return self.log.read_text("utf-8", errors="replace")[-3000:]


@contextmanager
def worker_process(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(settings, tmp_path / "worker-stderr.log")
    try:
        yield worker
    finally:
        worker.kill()


def merkle_leaves(store: ViewStore) -> list[tuple[int, int, str]]:
    rows = store.db.query("SELECT leaf_index, position, leaf_hash FROM merkle_leaves ORDER BY leaf_index")
    return [(int(r["leaf_index"]), int(r["position"]), r["leaf_hash"]) for r in rows]


def expected_leaves(ledger: CaseLedger) -> list[tuple[int, int, str]]:
    """Issue 4: one leaf per event, gapless, in ledger order, however often the worker was killed."""
    notifications = ledger.recorder.select_notifications(start=1, limit=10**9)
    return [(i, n.id, notification_leaf(n).hex()) for i, n in enumerate(notifications)]


def wait_for_head(store: ViewStore, head: int, worker: WorkerProcess) -> None:
    """Poll the tracked positions until every view has reached ``head``."""
    deadline = time.monotonic() + FINISH_SECONDS
    while time.monotonic() < deadline:
        positions = store.positions()
        if all(positions.get(view) == head for view in (*VIEWS, LOG_VIEW)):
            return
        time.sleep(0.02)
    raise AssertionError(f"views stuck at {store.positions()} below the head {head}; worker stderr:\n{worker.errors()}")


def low_mark(store: ViewStore) -> int:
    """How far every view has been projected."""
    return min(store.positions().values(), default=0)


def wait_for_progress(store: ViewStore, since: int, ledger: CaseLedger, timeout: float = 15.0) -> float:
    """Seconds until the views pass ``since`` (a batch committed), or the views are at the head."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        mark = low_mark(store)
        if mark > since or mark == (ledger.recorder.max_notification_id() or 0):
            break
        time.sleep(0.005)
    return time.monotonic() - started


class CrashContract:
    """Kill-and-restart rules for the projection worker; subclasses supply ``crash_settings``."""

    @pytest.fixture
    def county(self, crash_settings: Settings) -> Iterator[tuple[CaseLedger, ViewStore]]:
        """A ledger and the views of an empty store, as the worker process will find them."""
        ledger = build_ledger(crash_settings)
        store = build_views(crash_settings)
        try:
            yield ledger, store
        finally:
            store.db.close()
            ledger.close()

    def test_a_worker_killed_at_random_moments_leaves_views_equal_to_a_rebuild(
        self, crash_settings: Settings, county: tuple[CaseLedger, ViewStore], tmp_path: Path
    ) -> None:
        """SPEC §7: killed and restarted at random points, the worker ends with the views of a rebuild."""
        ledger, store = county
        seed_county(ledger, DEMO_CASES, seed=7)
        head = ledger.recorder.max_notification_id() or 0
        rng = random.Random(SEED)
        marks: list[int] = []

        with worker_process(crash_settings, tmp_path) as worker:
            # The first run shows how long this machine takes to start and commit a first batch;
            # the later kills fall at random around that moment: while starting, in a batch's
            # open transaction, just after a commit.
            worker.start()
            first_commit = wait_for_progress(store, 0, ledger)
            worker.kill()
            marks.append(low_mark(store))
            for _ in range(KILLS - 1):
                worker.start()
                time.sleep(first_commit * rng.uniform(0.5, 1.3))
                worker.kill()
                marks.append(low_mark(store))
            worker.start()
            wait_for_head(store, head, worker)
            worker.stop()

        assert marks == sorted(marks), f"a tracked position went backwards: {marks}"
        assert snapshot(store) == rebuilt_from_zero(ledger, store)
        assert merkle_leaves(store) == expected_leaves(ledger)

    def test_a_worker_killed_while_events_keep_arriving_leaves_views_equal_to_a_rebuild(
        self, crash_settings: Settings, county: tuple[CaseLedger, ViewStore], tmp_path: Path
    ) -> None:
        """SPEC §7: with commands being recorded meanwhile, kills and restarts still end in a rebuild's views."""
        ledger, store = county
        seed_county(ledger, 30, seed=8)
        writer = build_ledger(crash_settings)  # another process's ledger, recording as the API would
        failures: list[BaseException] = []
        enough = threading.Event()

        def write() -> None:
            # Small demo counties one after another: a steady stream of new cases and steps.
            try:
                for seed in range(100, 200):
                    load_demo(writer, cases=WRITTEN_CASES, seed=seed)
                    if enough.wait(0.05):
                        return
            except BaseException as error:  # reported below
                failures.append(error)

        rng = random.Random(SEED + 1)
        marks: list[int] = []
        thread = threading.Thread(target=write, name="ledger-writer")
        try:
            with worker_process(crash_settings, tmp_path) as worker:
                thread.start()
                for _ in range(KILLS):
                    worker.start()
                    # Once the worker is following the stream of new events, kill it at random.
                    wait_for_progress(store, low_mark(store), ledger)
                    time.sleep(rng.uniform(0.05, 0.5))
                    worker.kill()
                    marks.append(low_mark(store))
                enough.set()
                thread.join(timeout=60)
                head = ledger.recorder.max_notification_id() or 0
                worker.start()
                wait_for_head(store, head, worker)
                worker.stop()
        finally:
            enough.set()
            thread.join(timeout=60)
            writer.close()

        assert failures == []
        assert not thread.is_alive()
        assert marks == sorted(marks), f"a tracked position went backwards: {marks}"
        assert snapshot(store) == rebuilt_from_zero(ledger, store)
        assert merkle_leaves(store) == expected_leaves(ledger)


class TestSQLiteCrash(CrashContract):
    """SQLite files in the test's data directory, shared with the worker process."""

    @pytest.fixture
    def crash_settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestPostgresCrash(CrashContract):
    """The session's PostgreSQL database, emptied for the test, shared with the worker process."""

    @pytest.fixture
    def crash_settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings
