"""``make bench``: the write benchmarks, then the read benchmarks, on PostgreSQL; print a report.

Writes: register a case and dispatch it, three ways:

(a) through ``CaseLedger``; (b) with a bare ``eventsourcing`` aggregate whose events carry
the same fields; (c) over HTTP, one server process (``caseledger serve``) loaded from a
second process (``benchmarks.load``). Each scenario runs ``--runs`` times, each run on a
fresh database (all dropped at the end); (a) and (b) are timed in alternating blocks of
cases so that load from other processes hits both alike. The report gives the median events
per second, the HTTP registrations per second, the ratios a/b and c/b, and whether the
goals are met (a/b ≥ 0.8; c ≥ 500 registrations per second, a registration being one
case registered and dispatched). A missed goal is reported, not an error: the exit status
is non-zero only when the benchmark itself failed, including any HTTP request that did
not succeed.

Reads (``benchmarks.reads``): catch-up of every view over ≥ 200,000 events against the bare
library's ``ProjectionRunner`` (goal ≥ 20,000 events/s and ≥ 4 × bare); p50/p99 latency of
the case list, one case, the overview and the rankings over HTTP on 100,000 cases (goals
p99 ≤ 25, ≤ 10 and ≤ 50 ms); and the lag from a registration's response to the case in
the list, with ``caseledger project`` running beside the server under steady writes.

    python -m benchmarks.run [--cases N] [--runs R] [--concurrency C] [--only a,b,c,reads] [--register-only]
                             [--read-cases N] [--catchup-events N] [--batch-sizes 1000,5000] ...

``--only writes`` runs a, b and c; ``--only reads`` only the read benchmarks.

The database server comes from ``CASELEDGER_BENCH_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/caseledger_bench``; its database name is the prefix
of the per-run databases).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import time
from pathlib import Path

from benchmarks import integrity as integrity_bench
from benchmarks.common import BenchDatabases, RunResult, median
from benchmarks.inprocess import run_in_process
from benchmarks.overhttp import BenchError, run_http
from benchmarks.reads import ReadOptions, ReadsResult, print_reads, run_reads

GOAL_A_OVER_B = 0.8
GOAL_C_REGISTRATIONS = 500.0

LABELS = {
    "a": "(a) CaseLedger",
    "b": "(b) bare eventsourcing",
    "c": "(c) HTTP, 1 server process",
}
SHORT = {"a": "(a) CaseLedger", "b": "(b) bare eventsourcing", "c": "(c) HTTP"}


def machine() -> str:
    """CPUs this process may use (what ``nproc`` prints), the CPU model, OS and Python."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = ""
    with contextlib.suppress(OSError):  # no /proc: the model is simply not shown
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = ", " + line.split(":", 1)[1].strip()
                break
    return f"nproc {cpus}{model}; {platform.system()} {platform.release()}; Python {platform.python_version()}"


def events_per_second(key: str, result: RunResult) -> float:
    if key == "c":  # only what succeeded counts
        return float(str(result.extra["events_per_second"]))
    return result.events_per_second


def other_load(result: RunResult) -> float:
    """Cores' worth of CPU that processes outside the benchmark used during the timed part."""
    split = result.extra.get("cpu_split")
    if not isinstance(split, dict) or result.elapsed <= 0:
        return 0.0
    return float(split.get("other", 0.0)) / result.elapsed


def _cpu_note(result: RunResult) -> str:
    split = result.extra.get("cpu_split")
    if not isinstance(split, dict) or not result.cases:
        return ""
    names = ("bench", "server", "loader", "postgres", "pg_background", "other")
    parts = [f"{name} {split[name] * 1000 / result.cases:.2f}" for name in names if name in split]
    return f"CPU ms/case: {', '.join(parts)}"


def _latency(figures: object) -> str:
    if not isinstance(figures, dict) or not figures:
        return "-"
    return "/".join(f"{figures.get(q, 0):.0f}" for q in ("p50", "p95", "p99"))


def print_run(key: str, run: int, result: RunResult) -> None:
    """One line per run, with where the CPU went (per case, in ms)."""
    line = f"  {LABELS[key]:<27} run {run}: {events_per_second(key, result):6.0f} events/s"
    if key == "c":
        line += (
            f", {result.cases_per_second:4.0f} registrations/s in {result.elapsed:5.2f} s;"
            f" latency p50/p95/p99 ms: register {_latency(result.extra.get('register_ms'))},"
            f" dispatch {_latency(result.extra.get('dispatch_ms'))}"
        )
    else:
        line += f" in {result.elapsed:5.2f} s"
    print(f"{line}\n      {_cpu_note(result)}", flush=True)
    if result.failures:
        print(
            f"      FAILED REQUESTS: {result.extra.get('failures')}; e.g. {result.extra.get('failure_samples')}",
            flush=True,
        )


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(results: dict[str, list[RunResult]], runs: int) -> None:
    """The summary table: per-run figures, medians, ratios and the goals."""
    eps = {key: [events_per_second(key, r) for r in rs] for key, rs in results.items() if rs}
    med = {key: median(values) for key, values in eps.items()}
    header = "".join(f"{'run ' + str(i + 1):>9}" for i in range(runs))
    rule = "-" * (36 + 9 * runs + 10)
    print()
    print(f"{'median of ' + str(runs) + (' runs' if runs > 1 else ' run'):<36}{header}{'median':>10}")
    print(rule)
    for key in LABELS:
        if key in eps:
            cells = "".join(f"{v:9.0f}" for v in eps[key])
            print(f"{SHORT[key] + ' events/s':<36}{cells}{med[key]:10.0f}")
    regs: list[float] = [r.cases_per_second for r in results.get("c", [])]
    if regs:
        print(f"{'(c) HTTP registrations/s':<36}{''.join(f'{v:9.0f}' for v in regs)}{median(regs):10.0f}")
    print(rule)
    b = med.get("b", 0.0)
    if "a" in med and b:
        ratio = med["a"] / b
        paired = ", ".join(f"{x / y:.2f}" for x, y in zip(eps["a"], eps["b"], strict=False) if y)
        print(
            f"a/b = {ratio:.2f}   (goal ≥ {GOAL_A_OVER_B:.1f}: {_verdict(ratio >= GOAL_A_OVER_B)}; run by run: {paired})"
        )
    if "c" in med and b:
        print(f"c/b = {med['c'] / b:.2f}")
    if regs:
        ok = median(regs) >= GOAL_C_REGISTRATIONS
        print(f"c   = {median(regs):.0f} registrations/s   (goal ≥ {GOAL_C_REGISTRATIONS:.0f}: {_verdict(ok)})")
    others = [other_load(r) for rs in results.values() for r in rs]
    if others and median(others) > 0.25:
        print(
            f"note: other processes kept {median(others):.1f} of this machine's cores busy during the timed parts"
            " (median); the figures are noisier and lower than on an idle machine"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=1000, help="cases per run, each registered and dispatched")
    parser.add_argument("--runs", type=int, default=5, help="runs per scenario; medians are reported")
    parser.add_argument("--warmup", type=int, default=None, help="untimed cases before each run (default N/20)")
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP load generator threads (connections)")
    parser.add_argument(
        "--only",
        default="a,b,c,reads,integrity",
        help="which parts: a, b, c (or writes for all three), reads, integrity; e.g. a,b or reads",
    )
    parser.add_argument("--register-only", action="store_true", help="(c) registers without dispatching")
    reads = parser.add_argument_group("reads")
    reads.add_argument("--read-cases", type=int, default=100_000, help="cases for the query latency run")
    reads.add_argument(
        "--catchup-events", type=int, default=200_000, help="events in the catch-up comparison (at least)"
    )
    reads.add_argument("--batch-sizes", default="1000", help="catch-up batch sizes to try (the default always)")
    reads.add_argument("--read-requests", type=int, default=300, help="timed requests per query type")
    reads.add_argument("--read-max-seconds", type=float, default=15.0, help="longest time per query type")
    reads.add_argument("--lag-rate", type=float, default=100.0, help="registrations per second in the lag run")
    reads.add_argument("--lag-cases", type=int, default=3000, help="cases in the lag run's own database")
    reads.add_argument("--lag-seconds", type=float, default=20.0, help="length of the lag run (0: skip it)")
    reads.add_argument(
        "--bare-max-seconds",
        type=float,
        default=45.0,
        help="stop the bare projection after this long if it has not reached the head (0: never)",
    )
    reads.add_argument(
        "--profile-events", type=int, default=10_000, help="profile a catch-up of this many events (0: do not)"
    )
    args = parser.parse_args(argv)
    wanted = {k.strip() for k in args.only.split(",")}
    if "writes" in wanted:
        wanted |= set(LABELS)
    chosen = [key for key in LABELS if key in wanted]
    run_reads_too = "reads" in wanted
    run_integrity = "integrity" in wanted
    if args.cases < 1 or args.runs < 1 or args.concurrency < 1 or not (chosen or run_reads_too or run_integrity):
        parser.error("need --cases, --runs and --concurrency ≥ 1, and at least one of a, b, c, reads in --only")
    try:
        batch_sizes = tuple(int(b) for b in args.batch_sizes.split(",") if b.strip())
    except ValueError:
        parser.error("--batch-sizes is a comma-separated list of numbers")
    read_options = ReadOptions(
        catchup_events=args.catchup_events,
        cases=args.read_cases,
        batch_sizes=batch_sizes,
        requests=args.read_requests,
        max_seconds=args.read_max_seconds,
        lag_rate=args.lag_rate,
        lag_seconds=args.lag_seconds,
        lag_cases=args.lag_cases,
        profile_events=args.profile_events,
        bare_max_seconds=args.bare_max_seconds,
    )
    warmup = args.warmup if args.warmup is not None else max(10, min(200, args.cases // 20))
    if args.register_only:
        LABELS["c"] = "(c) HTTP, register only"

    databases = BenchDatabases()
    try:
        version = databases.server_version()
    except Exception as exc:  # nothing to measure without the server
        print(f"error: PostgreSQL at {databases.where()} is not reachable: {exc}", file=sys.stderr)
        return 2

    print("caseledger benchmark on PostgreSQL")
    print(f"machine:    {machine()}")
    print(f"PostgreSQL: {version} ({databases.where()})")
    if chosen:
        print(
            f"writes:     register a case, then dispatch it (2 events per case); {args.cases} cases per run after"
            f" {warmup} untimed, {args.runs} run(s) per scenario, a fresh database each; HTTP from a second"
            f" process over {args.concurrency} keep-alive connections"
        )
    if run_reads_too:
        print(
            f"reads:      catch-up over ≥ {args.catchup_events:,} events (batch sizes {args.batch_sizes} and the"
            f" bare ProjectionRunner); latency on {args.read_cases:,} cases, {args.read_requests} sequential"
            f" requests per query; lag at {args.lag_rate:.0f} registrations/s for {args.lag_seconds:.0f} s"
        )
    print()

    in_process = [key for key in chosen if key in ("a", "b")]
    results: dict[str, list[RunResult]] = {key: [] for key in chosen}
    broken: dict[str, str] = {}
    failed_requests = False
    read_result: ReadsResult | None = None
    began = time.perf_counter()
    try:
        # Rounds of (a with b alternating block by block, then c) so that changes in the
        # machine's load hit every scenario alike.
        for run in range(1, args.runs + 1):
            if in_process:
                timed = run_in_process({key: databases.create() for key in in_process}, args.cases, warmup)
                for key in in_process:
                    results[key].append(timed[key])
                    print_run(key, run, timed[key])
            if "c" in chosen and "c" not in broken:
                try:
                    result = run_http(
                        databases.create(), args.cases, warmup, args.concurrency, dispatch=not args.register_only
                    )
                except BenchError as exc:
                    broken["c"] = str(exc)
                    print(f"  {LABELS['c']:<27} run {run}: ERROR {exc}", file=sys.stderr, flush=True)
                    continue
                results["c"].append(result)
                failed_requests = failed_requests or result.failures > 0
                print_run("c", run, result)
        if run_reads_too:
            _drop_between_parts(databases)
            print("read benchmarks:", flush=True)
            try:
                read_result = run_reads(databases, read_options)
            except BenchError as exc:
                broken["reads"] = str(exc)
                print(f"  [reads] ERROR {exc}", file=sys.stderr, flush=True)
        if run_integrity:
            _drop_between_parts(databases)
            try:
                integrity_bench.run(databases, concurrency=args.concurrency)
            except Exception as exc:  # a report, not a test: say what broke and go on
                broken["integrity"] = str(exc)
                print(f"  [integrity] ERROR {exc}", file=sys.stderr, flush=True)
    finally:
        left = databases.drop_all()
        if left:
            print(f"warning: could not drop {', '.join(left)}", file=sys.stderr)

    if chosen:
        report(results, args.runs)
    if read_result is not None:
        print_reads(read_result, read_options)
        failed_requests = failed_requests or any(q.http.get("failures") for q in read_result.queries)
        failed_requests = failed_requests or bool(read_result.lag.get("failures"))
    print(f"\n(took {time.perf_counter() - began:.0f} s)")
    if broken:
        names = ", ".join(LABELS.get(k, k) for k in broken)
        print(f"error: {names} could not run (see above)", file=sys.stderr)
        return 1
    if failed_requests:
        print("error: some HTTP requests failed (see above); the HTTP figures count only successes", file=sys.stderr)
        return 1
    return 0


def _drop_between_parts(databases: BenchDatabases) -> None:
    """Drop the last part's databases: autovacuum working through a million rows left behind
    would take a core from the next part."""
    left = databases.drop_all()
    if left:
        print(f"warning: could not drop {', '.join(left)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
