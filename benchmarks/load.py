"""Load generator for scenario (c): ``python -m benchmarks.load --url http://127.0.0.1:PORT``.

Runs in its own process. Several threads, each with one keep-alive connection, take the
next case number, register it (``POST /api/v1/cases``, expecting 201) and dispatch it
(``POST /api/v1/cases/{id}/dispatch``, expecting 200). The bearer token comes from the
``CASELEDGER_BENCH_TOKEN`` variable, so it never shows in a process list. Prints one JSON
line: counts, wall time, latencies, CPU time (this process, the server's if given, and
PostgreSQL's) and any failures.

The standard library's ``http.client`` is used on purpose: it is light on CPU, which
matters when the load generator shares a small machine with the server and PostgreSQL.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlparse

from benchmarks.common import dispatch_body, register_body
from benchmarks.cpu import CpuSample

TOKEN_VARIABLE = "CASELEDGER_BENCH_TOKEN"


@dataclass
class WorkerStats:
    """What one thread saw."""

    registered: int = 0
    dispatched: int = 0
    register_ms: list[float] = field(default_factory=list)
    dispatch_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def fail(self, what: str, detail: str) -> None:
        self.failures[what] += 1
        if len(self.samples) < 3:
            self.samples.append(f"{what}: {detail[:200]}")


def _post(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()  # the next request opens a new connection
        return 0, repr(exc).encode()


def _worker(
    host: str,
    port: int,
    headers: dict[str, str],
    bodies: list[bytes],
    next_index: itertools.count[int],
    start: threading.Barrier,
    stats: WorkerStats,
    timeout: float,
    dispatch_too: bool,
) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    dispatch = json.dumps(dispatch_body(), ensure_ascii=False).encode()
    start.wait()
    try:
        while (i := next(next_index)) < len(bodies):
            began = time.perf_counter()
            status, data = _post(conn, "/api/v1/cases", bodies[i], headers)
            registered = time.perf_counter()
            stats.register_ms.append((registered - began) * 1000)
            if status != 201:
                stats.fail(f"register {status}", data.decode("utf-8", "replace"))
                continue
            stats.registered += 1
            if not dispatch_too:
                continue
            case_id = json.loads(data)["case_id"]
            status, data = _post(conn, f"/api/v1/cases/{case_id}/dispatch", dispatch, headers)
            stats.dispatch_ms.append((time.perf_counter() - registered) * 1000)
            if status != 200:
                stats.fail(f"dispatch {status}", data.decode("utf-8", "replace"))
                continue
            stats.dispatched += 1
    finally:
        conn.close()


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 2)}


def run(
    url: str,
    token: str,
    cases: int,
    first: int,
    concurrency: int,
    timeout: float,
    server_pid: int = 0,
    dbname: str = "",
    dispatch_too: bool = True,
) -> dict[str, object]:
    """Send the load and return the summary."""
    target = urlparse(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "keep-alive"}
    bodies = [json.dumps(register_body(first + n), ensure_ascii=False).encode() for n in range(cases)]
    next_index = itertools.count()  # next() on it is atomic under the GIL
    start = threading.Barrier(concurrency + 1)
    stats = [WorkerStats() for _ in range(concurrency)]
    threads = [
        threading.Thread(
            target=_worker, args=(host, port, headers, bodies, next_index, start, s, timeout, dispatch_too), daemon=True
        )
        for s in stats
    ]
    for thread in threads:
        thread.start()
    pids = {"loader": os.getpid(), **({"server": server_pid} if server_pid else {})}
    before = CpuSample.take(dbname, **pids)
    start.wait()
    wall = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - wall
    spent = CpuSample.take(dbname, **pids).since(before)
    failures: Counter[str] = Counter()
    for s in stats:
        failures.update(s.failures)
    return {
        "cases": cases,
        "concurrency": concurrency,
        "elapsed": elapsed,
        "cpu": spent,
        "registered": sum(s.registered for s in stats),
        "dispatched": sum(s.dispatched for s in stats),
        "register_ms": _percentiles([v for s in stats for v in s.register_ms]),
        "dispatch_ms": _percentiles([v for s in stats for v in s.dispatch_ms]),
        "failures": dict(failures),
        "failure_samples": [line for s in stats for line in s.samples][:2],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT of the server")
    parser.add_argument("--cases", type=int, required=True, help="how many cases to register and dispatch")
    parser.add_argument("--first", type=int, default=0, help="number of the first case (for its ticket number)")
    parser.add_argument("--concurrency", type=int, default=8, help="threads, one keep-alive connection each")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--server-pid", type=int, default=0, help="also report this process's CPU time")
    parser.add_argument("--register-only", action="store_true", help="do not dispatch (registrations alone)")
    parser.add_argument("--dbname", default="", help="also report the CPU time of PostgreSQL serving this database")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        print(f"{TOKEN_VARIABLE} is not set", file=sys.stderr)
        return 2
    summary = run(
        args.url,
        token,
        args.cases,
        args.first,
        max(1, args.concurrency),
        args.timeout,
        server_pid=args.server_pid,
        dbname=args.dbname,
        dispatch_too=not args.register_only,
    )
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
