"""The read benchmarks' client: ``python -m benchmarks.readload PLAN.json``, in its own process.

Two modes, chosen by the plan's ``mode``:

``latency``
    For each query type in turn, a few untimed requests and then up to ``requests`` timed
    ones, one after another on one keep-alive connection (latency, not throughput), each
    expecting 200. A query type is a list of paths used in turn, or ``{"paging": path}``:
    page through that list by ``next_cursor``, starting again at the first page at the end.
    A query type stops early after ``max_seconds`` so a slow one cannot stall the run.

``lag``
    Registrations (``POST /api/v1/cases``) at a steady ``rate`` for ``seconds``, spread over
    a few threads that keep to a shared schedule. Every ``sample_every``-th case is handed
    to a poller, which lists its grid (``GET /api/v1/cases?grid=...``) until the case is in
    the list: the lag is from the registration's response to the first list that has it.

The bearer token comes from ``CASELEDGER_BENCH_TOKEN``. Prints one JSON line. Only the
standard library's ``http.client`` is used, light on CPU on a small shared machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import sys
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode, urlparse

from benchmarks.common import PARTIES, SUMMARY
from benchmarks.load import TOKEN_VARIABLE


class Client:
    """One keep-alive connection; reconnects after a transport error."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        target = urlparse(url)
        self.host, self.port = target.hostname or "127.0.0.1", target.port or 80
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}", "Connection": "keep-alive"}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            return 0, repr(exc).encode()

    def close(self) -> None:
        self.conn.close()


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of ``values`` (nearest rank), rounded to 0.01."""
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"n": len(ordered), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": round(ordered[-1], 2)}


# ---------------------------------------------------------------------- latency


def _paging(client: Client, first: str, state: dict[str, str]) -> tuple[int, bytes]:
    """The next page of ``first``'s list, by the cursor of the page before."""
    cursor = state.get("cursor")
    path = first if not cursor else first + ("&" if "?" in first else "?") + urlencode({"cursor": cursor})
    status, body = client.request("GET", path)
    if status == 200:
        state["cursor"] = json.loads(body).get("next_cursor") or ""
        state["pages"] = str(int(state.get("pages", "0")) + 1)
    return status, body


def run_latency(plan: dict[str, Any], token: str) -> dict[str, Any]:
    client = Client(plan["url"], token)
    results: dict[str, Any] = {}
    try:
        for name, spec in plan["queries"].items():
            paging = isinstance(spec, dict)
            paths: list[str] = [] if paging else list(spec)
            state: dict[str, str] = {}
            timings: list[float] = []
            failures: Counter[str] = Counter()
            sample = ""
            began = time.perf_counter()
            total = plan["warmup"] + plan["requests"]
            for i in range(total):
                start = time.perf_counter()
                if paging:
                    status, body = _paging(client, spec["paging"], state)
                else:
                    status, body = client.request("GET", paths[i % len(paths)])
                elapsed = (time.perf_counter() - start) * 1000
                if status != 200:
                    failures[str(status)] += 1
                    sample = sample or body[:300].decode("utf-8", "replace")
                elif i >= plan["warmup"]:
                    timings.append(elapsed)
                if i >= plan["warmup"] and time.perf_counter() - began > plan["max_seconds"]:
                    break
            results[name] = {
                "ms": percentiles(timings),
                "failures": dict(failures),
                "failure_sample": sample,
                "bytes": len(body),
                **({"pages": int(state.get("pages", "0"))} if paging else {}),
            }
    finally:
        client.close()
    return {"mode": "latency", "queries": results}


# ---------------------------------------------------------------------- lag


def _register_body(n: int, grid: str) -> bytes:
    body = {
        "channel": "hotline_12345",
        "category": "neighbour",
        "summary": SUMMARY,
        "jurisdiction": grid,
        "parties": [p.as_dict() for p in PARTIES],
        "risk_color": "green",
        "difficulty": "ordinary",
        "external_ref": f"LAG-{n:07d}",
    }
    return json.dumps(body, ensure_ascii=False).encode()


def _poll_until_listed(
    client: Client, case_id: str, grid: str, registered: float, timeout: float, pause: float
) -> tuple[float | None, int]:
    """Milliseconds from ``registered`` to the first list of ``grid`` that holds the case."""
    path = "/api/v1/cases?" + urlencode({"grid": grid, "limit": 50})
    polls = 0
    while time.perf_counter() - registered < timeout:
        status, body = client.request("GET", path)
        polls += 1
        now = time.perf_counter()
        if status == 200 and any(item["case_id"] == case_id for item in json.loads(body)["items"]):
            return (now - registered) * 1000, polls
        time.sleep(pause)
    return None, polls


def run_lag(plan: dict[str, Any], token: str) -> dict[str, Any]:
    rate, seconds, grids = float(plan["rate"]), float(plan["seconds"]), list(plan["grids"])
    total = int(rate * seconds)
    sample_every = max(1, int(plan["sample_every"]))
    samples: queue.Queue[tuple[str, str, float] | None] = queue.Queue()
    lock = threading.Lock()
    next_n = [0]
    register_ms: list[float] = []
    behind_ms: list[float] = []  # how late each registration started against its schedule
    lags: list[float] = []
    polls: list[int] = []
    failures: Counter[str] = Counter()
    missing = [0]
    start_at = time.perf_counter() + 0.2

    def sender() -> None:
        client = Client(plan["url"], token)
        try:
            while True:
                with lock:
                    n = next_n[0]
                    next_n[0] += 1
                if n >= total:
                    return
                due = start_at + n / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                began = time.perf_counter()
                grid = grids[n % len(grids)]
                status, body = client.request("POST", "/api/v1/cases", _register_body(n, grid))
                done = time.perf_counter()
                with lock:
                    register_ms.append((done - began) * 1000)
                    behind_ms.append(max(0.0, began - due) * 1000)
                if status != 201:
                    with lock:
                        failures[f"register {status}"] += 1
                    continue
                if n % sample_every == 0:
                    samples.put((json.loads(body)["case_id"], grid, done))
        finally:
            client.close()

    def poller() -> None:
        client = Client(plan["url"], token)
        try:
            while (item := samples.get()) is not None:
                case_id, grid, registered = item
                lag, count = _poll_until_listed(
                    client, case_id, grid, registered, float(plan["timeout"]), float(plan["poll_pause"])
                )
                with lock:
                    polls.append(count)
                    if lag is None:
                        missing[0] += 1
                    else:
                        lags.append(lag)
        finally:
            client.close()

    senders = [threading.Thread(target=sender, daemon=True) for _ in range(int(plan["senders"]))]
    pollers = [threading.Thread(target=poller, daemon=True) for _ in range(int(plan["pollers"]))]
    for thread in senders + pollers:
        thread.start()
    for thread in senders:
        thread.join()
    elapsed = time.perf_counter() - start_at
    for _ in pollers:
        samples.put(None)
    for thread in pollers:
        thread.join()
    return {
        "mode": "lag",
        "registered": len(register_ms) - sum(failures.values()),
        "elapsed": elapsed,
        "achieved_rate": (len(register_ms) - sum(failures.values())) / elapsed if elapsed > 0 else 0.0,
        "register_ms": percentiles(register_ms),
        "behind_schedule_ms": percentiles(behind_ms),
        "lag_ms": percentiles(lags),
        "polls_per_sample": percentiles([float(p) for p in polls]),
        "never_listed": missing[0],
        "failures": dict(failures),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("plan", help="JSON file: the plan (see the module's docstring)")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        print(f"{TOKEN_VARIABLE} is not set", file=sys.stderr)
        return 2
    with open(args.plan, encoding="utf-8") as handle:
        plan = json.load(handle)
    summary = run_latency(plan, token) if plan["mode"] == "latency" else run_lag(plan, token)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
