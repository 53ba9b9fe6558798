"""Integrity benchmarks (issue 4), PostgreSQL, in one run.

1. Registration throughput with hashing (per-case chain) and field encryption on, beside
   the same ``CaseLedger`` with both off (the same recorder without the chain, parties stored as
   given), alternating blocks on fresh databases; the ratio of the medians.
2. Whole-database verification: the offline verifier's rate over every stored event
   (recompute each leaf from the stored bytes, then the root, against a signed checkpoint).
3. Inclusion proofs: p50/p99 of ``MerkleLog.inclusion`` plus the leaf lookup.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresFactory

from application.ledger import Caller, CaseLedger
from benchmarks.common import BenchDatabases, at_rest, checkpoint_server, register_body
from benchmarks.overhttp import BenchError, run_http
from domain.values import Actor, Party
from infrastructure.bootstrap import build_integrity, build_ledger, build_views
from infrastructure.integrity.postgres import PlainPostgresApplicationRecorder
from infrastructure.integrity.verify import stored_entries, verify_log
from infrastructure.settings import Settings
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


def _register(ledger: CaseLedger, first: int, count: int, threads: int = 1) -> float:
    """Registrations/s of ``count`` cases, from ``threads`` callers at once (group commit batches them)."""

    def register(numbers: range) -> None:
        for n in numbers:
            body: Any = register_body(n)
            parties = [Party(**p) for p in body.pop("parties")]
            ledger.register_case(TOWNSHIP, parties=parties, **body)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for done in [pool.submit(register, range(first + t, first + count, threads)) for t in range(threads)]:
            done.result()
    return count / (time.perf_counter() - started)


def plain_ledger(settings: Settings) -> CaseLedger:
    """The ledger with both off: the same recorder without the chain, parties stored as given."""
    ledger = build_ledger(settings, persistence_module="benchmarks.integrity:PlainFactory")
    ledger.personal_data = _Plain()  # type: ignore[assignment]
    return ledger


def registration_ratio(dbs: BenchDatabases, *, cases: int, runs: int, threads: int = 1) -> dict[str, float]:
    """Median registrations/s in-process with hashing and encryption on and off, and their ratio."""
    on: list[float] = []
    off: list[float] = []
    for run in range(runs):
        url_on, url_off = dbs.create(), dbs.create()
        checkpoint_server(url_on)  # the earlier runs' writes flushed now, not while these commit
        guarded = build_ledger(dbs.settings_for(url_on.rsplit("/", 1)[1]))
        plain = plain_ledger(dbs.settings_for(url_off.rsplit("/", 1)[1]))
        try:
            _register(guarded, 0, 20)  # warm both up untimed
            _register(plain, 0, 20)
            # Alternate blocks so load from other processes falls on both sides alike.
            for block in range(4):
                first = 100 + run * 10_000 + block * cases
                on.append(_register(guarded, first, cases // 4, threads))
                off.append(_register(plain, first, cases // 4, threads))
        finally:
            guarded.close()
            plain.close()
    median_on, median_off = statistics.median(on), statistics.median(off)
    return {"on": median_on, "off": median_off, "ratio": median_on / median_off}


def http_registration_ratio(dbs: BenchDatabases, *, cases: int, runs: int, concurrency: int) -> dict[str, float]:
    """Registrations/s over HTTP, as scenario (c) measures them, from a server with both on and off.

    Each run starts one server per side on a fresh database (``benchmarks.integrity_server``),
    the sides in alternating order; the ratio of the medians.
    """
    rates: dict[str, list[float]] = {"on": [], "off": []}
    for run in range(runs):
        for side in ("on", "off") if run % 2 == 0 else ("off", "on"):
            url = dbs.create()
            checkpoint_server(url)  # the earlier runs' writes flushed now, not while this one commits
            result = run_http(
                url,
                cases,
                warmup=max(10, cases // 10),
                concurrency=concurrency,
                dispatch=False,
                server_for=lambda port, side=side: [
                    sys.executable,
                    "-m",
                    "benchmarks.integrity_server",
                    side,
                    str(port),
                ],
            )
            if result.failures:
                raise BenchError(f"{result.failures} registrations failed on the '{side}' server")
            rates[side].append(result.cases_per_second)
    median_on, median_off = statistics.median(rates["on"]), statistics.median(rates["off"])
    return {"on": median_on, "off": median_off, "ratio": median_on / median_off}


def verification_and_proofs(dbs: BenchDatabases, *, cases: int, samples: int) -> dict[str, float]:
    """The verifier's events/s over the whole database, and inclusion-proof latency."""
    url = dbs.create()
    settings = dbs.settings_for(url.rsplit("/", 1)[1])
    ledger = build_ledger(settings)
    store = build_views(settings)
    try:
        integrity = build_integrity(settings, store)
        _register(ledger, 0, cases, threads=8)
        ProjectionWorker(ledger, store, log=integrity.log, batch_size=2000).catch_up()
        checkpoint = integrity.checkpoint()
        key = integrity.signer.public_key_pem()
        # Timed on a database at rest, as an auditor finds it, and in a process without the
        # projection's garbage: the first collection after the catch-up, a second or so on
        # this machine, would otherwise land inside the first pass.
        at_rest(url)
        gc.collect()

        # As `caseledger verify --database` does it: the production reader and verifier. Three
        # passes, the median reported: on a small database the first pass of a process also
        # pays once for the memory its pages land in (slow on a virtual machine), which a
        # database of millions of events spreads thin.
        rates = []
        for _ in range(3):
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
            rates.append(report.checked / elapsed)

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
            "verify_rate": statistics.median(rates),
            "verify_first": rates[0],
            "proof_p50": latencies[len(latencies) // 2],
            "proof_p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        }
    finally:
        store.db.close()
        ledger.close()


def run(
    dbs: BenchDatabases,
    *,
    cases: int = 800,
    http_cases: int = 2000,
    http_runs: int = 5,
    runs: int = 3,
    concurrency: int = 8,
    verify_cases: int = 50_000,
) -> None:
    """Print the integrity figures beside their goals."""
    print("\nintegrity (issue 4), PostgreSQL")
    # Five runs a side: a run lasts a few seconds, and on a shared machine one side's run now
    # and then lands on a slow spell; the median of five is steadier than that of three.
    http = http_registration_ratio(dbs, cases=http_cases, runs=http_runs, concurrency=concurrency)
    print(
        f"  registration throughput over HTTP (as scenario c: one server, {concurrency} connections), "
        f"hashing+encryption on {http['on']:5.0f}/s, off {http['off']:5.0f}/s (median of {http_runs} runs): "
        f"ratio {http['ratio']:.2f} (goal ≥ 0.85: {'met' if http['ratio'] >= 0.85 else 'MISSED'})"
    )
    for threads, how in ((concurrency, f"{concurrency} threads at once"), (1, "one registration after another")):
        core = registration_ratio(dbs, cases=cases, runs=runs, threads=threads)
        print(
            f"  the ledger alone in-process, {how}: on {core['on']:5.0f}/s, off {core['off']:5.0f}/s "
            f"(median of {runs} runs × 4 blocks): ratio {core['ratio']:.2f}"
        )
    figures = verification_and_proofs(dbs, cases=verify_cases, samples=1000)
    print(
        f"  whole-database verification: {figures['verify_rate']:,.0f} events/s over {figures['events']:,.0f} events, "
        f"median of 3 passes; the first {figures['verify_first']:,.0f}/s "
        f"(goal ≥ 50,000: {'met' if figures['verify_rate'] >= 50_000 else 'MISSED'})"
    )
    print(
        f"  inclusion proof p50 {figures['proof_p50']:.2f} ms, p99 {figures['proof_p99']:.2f} ms "
        f"(goal p99 ≤ 5 ms: {'met' if figures['proof_p99'] <= 5 else 'MISSED'})"
    )
