"""Scenarios (a) and (b): the same two steps in this process, through ``CaseLedger`` and bare.

Both do, per case: create and save the aggregate, load it back, trigger one more event and
save again, so they make the same round trips to PostgreSQL; the difference is what the
project adds around the library (authorisation, provenance, validation, value objects).

When both run, they are timed in alternating blocks of cases (each on its own database),
so that a burst of load from other processes on a shared machine hits both alike and the
ratio a/b stays meaningful.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from application.ledger import Caller
from benchmarks.common import (
    ACTOR,
    CATEGORY,
    CHANNEL,
    DISPATCH_NOTE,
    DISPATCH_UNIT,
    JURISDICTION,
    PARTIES,
    SUMMARY,
    RunResult,
    external_ref,
)
from benchmarks.cpu import CpuSample
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings

BLOCK = 50  # cases per timed block when (a) and (b) alternate


@dataclass
class Workload:
    """An opened scenario: one case at a time, on its own database."""

    dbname: str
    one_case: Callable[[int], None]
    close: Callable[[], None]


def _settings(database_url: str) -> Settings:
    return Settings(backend="postgres", database_url=database_url)


# ---------------------------------------------------------------------- (a) CaseLedger


def open_ledger(database_url: str) -> Workload:
    """(a) ``register_case`` then ``dispatch``, as the HTTP routes call them."""
    settings = _settings(database_url)
    ledger = build_ledger(settings)
    parties = list(PARTIES)

    def one_case(n: int) -> None:
        registered = ledger.register_case(
            Caller(ACTOR, request_id=uuid4().hex),
            channel=CHANNEL,
            category=CATEGORY,
            summary=SUMMARY,
            jurisdiction=JURISDICTION,
            parties=parties,
            risk_color="yellow",
            difficulty="ordinary",
            external_ref=external_ref(n),
        )
        ledger.dispatch(
            UUID(registered.id), Caller(ACTOR, request_id=uuid4().hex), unit=DISPATCH_UNIT, note=DISPATCH_NOTE
        )

    return Workload(settings.postgres_params()["dbname"], one_case, ledger.close)


# ---------------------------------------------------------------------- (b) bare library


class BareCase(Aggregate):
    """A plain aggregate whose two events carry the same fields as ``Case``'s first two."""

    @event("Registered")
    def __init__(
        self,
        *,
        channel: str,
        category: str,
        summary: str,
        jurisdiction: str,
        parties: list[dict[str, str]],
        risk_color: str,
        difficulty: str,
        external_ref: str,
        actor: dict[str, str],
        occurred_at: datetime,
        request_id: str,
        imported: bool,
    ) -> None:
        self.status = "registered"
        self.channel = channel
        self.category = category
        self.summary = summary
        self.jurisdiction = jurisdiction
        self.parties = {p["party_id"]: p for p in parties}
        self.risk_color = risk_color
        self.difficulty = difficulty
        self.external_ref = external_ref
        self.registered_by = actor
        self.last_occurred_at = occurred_at
        self.unit = ""

    @event("Dispatched")
    def dispatch(
        self,
        *,
        unit: str,
        note: str,
        county_flagged: bool,
        actor: dict[str, str],
        occurred_at: datetime,
        request_id: str,
        imported: bool,
    ) -> None:
        self.status = "dispatched"
        self.unit = unit
        self.last_occurred_at = occurred_at


class BareLedger(Application[UUID]):
    """The library's ``Application`` with nothing added."""

    name = "BareLedger"


def bare_env(settings: Settings) -> dict[str, str]:
    """The same PostgreSQL store and pool sizes as ``CaseLedger``, without the name prefix."""
    return {key.removeprefix("CASELEDGER_"): value for key, value in settings.eventsourcing_env().items()}


def open_bare(database_url: str) -> Workload:
    """(b) create, save, load, one more event, save: with the bare library."""
    settings = _settings(database_url)
    app = BareLedger(env=bare_env(settings))
    parties = [p.as_dict() for p in PARTIES]
    actor = ACTOR.as_dict()

    def one_case(n: int) -> None:
        case = BareCase(
            channel=CHANNEL,
            category=CATEGORY,
            summary=SUMMARY,
            jurisdiction=JURISDICTION,
            parties=parties,
            risk_color="yellow",
            difficulty="ordinary",
            external_ref=external_ref(n),
            actor=actor,
            occurred_at=datetime.now(UTC),
            request_id=uuid4().hex,
            imported=False,
        )
        app.save(case)
        loaded: Any = app.repository.get(case.id)
        loaded.dispatch(
            unit=DISPATCH_UNIT,
            note=DISPATCH_NOTE,
            county_flagged=False,
            actor=actor,
            occurred_at=datetime.now(UTC),
            request_id=uuid4().hex,
            imported=False,
        )
        app.save(loaded)

    return Workload(settings.postgres_params()["dbname"], one_case, app.close)


# ---------------------------------------------------------------------- timing

OPENERS: dict[str, Callable[[str], Workload]] = {"a": open_ledger, "b": open_bare}


def run_in_process(urls: dict[str, str], cases: int, warmup: int) -> dict[str, RunResult]:
    """Time each scenario (key → its fresh database's URL); several alternate block by block."""
    workloads: dict[str, Workload] = {}
    try:
        for key, url in urls.items():
            workloads[key] = OPENERS[key](url)
        for workload in workloads.values():
            for n in range(warmup):
                workload.one_case(-1 - n)
        elapsed = dict.fromkeys(workloads, 0.0)
        spent: dict[str, dict[str, float]] = {key: {} for key in workloads}
        block = BLOCK if len(workloads) > 1 else cases
        keys = list(workloads)
        for i, first in enumerate(range(0, cases, block)):
            for key in keys if i % 2 == 0 else reversed(keys):  # neither always goes first
                workload = workloads[key]
                before = CpuSample.take(workload.dbname, bench=os.getpid())
                wall = time.perf_counter()
                for n in range(first, min(first + block, cases)):
                    workload.one_case(n)
                elapsed[key] += time.perf_counter() - wall
                for name, seconds in CpuSample.take(workload.dbname, bench=os.getpid()).since(before).items():
                    if name != "machine_busy_share":
                        spent[key][name] = spent[key].get(name, 0.0) + seconds
        return {
            key: RunResult(
                cases=cases, elapsed=elapsed[key], cpu=spent[key].get("bench", 0.0), extra={"cpu_split": spent[key]}
            )
            for key in workloads
        }
    finally:
        for workload in workloads.values():
            workload.close()
