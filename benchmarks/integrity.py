"""Integrity benchmarks (issue 4), PostgreSQL, in one run.

1. Registration throughput with hashing (per-case chain) and field encryption on, beside
   the same ``CaseLedger`` with both off (the same recorder without the chain, parties stored as
   given), alternating blocks on fresh databases; the ratio of the medians.
2. Whole-database verification: the offline verifier's rate over every stored event
   (recompute each leaf from the stored bytes, then the root, against a signed checkpoint).
3. Inclusion proofs: p50/p99 of ``MerkleLog.inclusion`` plus the leaf lookup.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresFactory

from application.ledger import Caller, CaseLedger
from benchmarks.common import BenchDatabases, register_body
from domain.calendar import WorkCalendar
from domain.values import Actor, Party
from infrastructure.bootstrap import build_integrity, build_ledger, build_views, load_organisation
from infrastructure.calendar_data import seed_schedules
from infrastructure.integrity.postgres import PlainPostgresApplicationRecorder
from infrastructure.integrity.verify import stored_entries, verify_log
from infrastructure.worker import ProjectionWorker

TOWNSHIP = Caller(Actor("bench-tw", "township_center", "chengguan-center", "qingxi/chengguan"))


class PlainFactory(PostgresFactory):
    """The "off" side's store: the ledger's own PostgreSQL recorder, without the hash chain."""

    application_recorder_class = PlainPostgresApplicationRecorder


class _Plain:
    """Personal data stored as given: the 'off' side of the comparison."""

    def seal(self, case_id: UUID, parties: Sequence[Party]) -> list[Party]:
        return list(parties)

    def release(self, case_id: UUID) -> None:
        """Nothing was staged."""


def _register(ledger: CaseLedger, first: int, count: int) -> float:
    started = time.perf_counter()
    for n in range(first, first + count):
        body: Any = register_body(n)
        parties = [Party(**p) for p in body.pop("parties")]
        ledger.register_case(TOWNSHIP, parties=parties, **body)
    return count / (time.perf_counter() - started)


def _plain_ledger(url: str, dbs: BenchDatabases) -> CaseLedger:
    settings = dbs.settings_for(url.rsplit("/", 1)[1])
    env = {**settings.eventsourcing_env(), "CASELEDGER_PERSISTENCE_MODULE": "benchmarks.integrity:PlainFactory"}
    ledger = CaseLedger(env=env, seed_calendar=WorkCalendar(seed_schedules()), organisation=load_organisation(None))
    ledger.personal_data = _Plain()  # type: ignore[assignment]
    return ledger


def registration_ratio(dbs: BenchDatabases, *, cases: int, runs: int) -> dict[str, float]:
    """Median registrations/s with hashing and encryption on and off, and their ratio."""
    on: list[float] = []
    off: list[float] = []
    for run in range(runs):
        url_on, url_off = dbs.create(), dbs.create()
        guarded = build_ledger(dbs.settings_for(url_on.rsplit("/", 1)[1]))
        plain = _plain_ledger(url_off, dbs)
        try:
            _register(guarded, 0, 20)  # warm both up untimed
            _register(plain, 0, 20)
            # Alternate blocks so load from other processes falls on both sides alike.
            for block in range(4):
                first = 100 + run * 10_000 + block * cases
                on.append(_register(guarded, first, cases // 4))
                off.append(_register(plain, first, cases // 4))
        finally:
            guarded.close()
            plain.close()
    median_on, median_off = statistics.median(on), statistics.median(off)
    return {"on": median_on, "off": median_off, "ratio": median_on / median_off}


def verification_and_proofs(dbs: BenchDatabases, *, cases: int, samples: int) -> dict[str, float]:
    """The verifier's events/s over the whole database, and inclusion-proof latency."""
    url = dbs.create()
    settings = dbs.settings_for(url.rsplit("/", 1)[1])
    ledger = build_ledger(settings)
    store = build_views(settings)
    try:
        integrity = build_integrity(settings, store)
        _register(ledger, 0, cases)
        ProjectionWorker(ledger, store, log=integrity.log, batch_size=2000).catch_up()
        checkpoint = integrity.checkpoint()
        key = integrity.signer.public_key_pem()

        # As `caseledger verify --database` does it: the production reader and verifier.
        started = time.perf_counter()
        report = verify_log(
            lambda: stored_entries(ledger.recorder),
            lambda: integrity.log.stored_leaf_hashes(checkpoint.tree_size),
            checkpoint,
            key,
        )
        elapsed = time.perf_counter() - started
        if not report.ok:
            raise RuntimeError(f"verification failed on untouched data: {report.first_failure}")

        positions = [entry.position for entry in stored_entries(ledger.recorder)]
        step = max(1, len(positions) // samples)
        latencies = []
        for position in positions[::step][:samples]:
            t = time.perf_counter()
            integrity.inclusion(position, checkpoint.tree_size)
            latencies.append((time.perf_counter() - t) * 1000)
        latencies.sort()
        return {
            "events": float(report.checked),
            "verify_rate": report.checked / elapsed,
            "proof_p50": latencies[len(latencies) // 2],
            "proof_p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        }
    finally:
        store.db.close()
        ledger.close()


def run(dbs: BenchDatabases, *, cases: int = 800, runs: int = 3, verify_cases: int = 20_000) -> None:
    """Print the integrity figures beside their goals."""
    print("\nintegrity (issue 4), PostgreSQL")
    ratio = registration_ratio(dbs, cases=cases, runs=runs)
    print(
        f"  registration with hashing+encryption on {ratio['on']:7.0f}/s, off {ratio['off']:7.0f}/s "
        f"(median of {runs} runs × 4 blocks): ratio {ratio['ratio']:.2f} (goal ≥ 0.85: "
        f"{'met' if ratio['ratio'] >= 0.85 else 'MISSED'})"
    )
    figures = verification_and_proofs(dbs, cases=verify_cases, samples=1000)
    print(
        f"  whole-database verification: {figures['verify_rate']:,.0f} events/s over {figures['events']:,.0f} events "
        f"(goal ≥ 50,000: {'met' if figures['verify_rate'] >= 50_000 else 'MISSED'})"
    )
    print(
        f"  inclusion proof p50 {figures['proof_p50']:.2f} ms, p99 {figures['proof_p99']:.2f} ms "
        f"(goal p99 ≤ 5 ms: {'met' if figures['proof_p99'] <= 5 else 'MISSED'})"
    )
