"""Where the CPU went during a timed part, read from ``/proc`` (Linux; zeros elsewhere).

On a small machine the benchmark process, the HTTP server, the load generator and
PostgreSQL share the same cores, so a throughput figure means little without this split.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_seconds(pid: int) -> float:
    """User plus system CPU seconds of one process, 0 if it cannot be read."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _postgres_seconds(dbname: str) -> dict[int, tuple[str, float]]:
    """CPU seconds of PostgreSQL's processes, each tagged ``bench`` (a backend of ``dbname``),
    ``background`` (checkpointer, WAL writer...) or ``other`` (anyone else's backend).
    """
    found: dict[int, tuple[str, float]] = {}
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").split()
        except OSError:
            continue
        # A backend's title is "postgres: <cluster>: <user> <database> <client> <state>".
        if dbname and dbname in title:
            kind = "bench"
        elif "(" in " ".join(title) or "[local]" in title:
            kind = "other"
        else:
            kind = "background"
        found[int(entry.name)] = (kind, _process_seconds(int(entry.name)))
    return found


def _machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return 0.0, 0.0
    values = [int(v) for v in first[:8]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values)
    return (total - idle) / _TICKS, total / _TICKS


@dataclass
class CpuSample:
    """A snapshot to subtract from a later one."""

    pids: dict[str, float] = field(default_factory=dict)
    postgres: dict[int, tuple[str, float]] = field(default_factory=dict)
    busy: float = 0.0
    total: float = 0.0

    @classmethod
    def take(cls, dbname: str = "", **pids: int) -> CpuSample:
        busy, total = _machine_seconds()
        return cls({name: _process_seconds(pid) for name, pid in pids.items()}, _postgres_seconds(dbname), busy, total)

    def since(self, earlier: CpuSample) -> dict[str, float]:
        """CPU seconds per named process, PostgreSQL serving the bench database (``postgres``),
        PostgreSQL's background processes, and everything else on the machine (``other``:
        other people's work, which makes figures noisy); plus the machine's busy share.
        """
        spent = {name: max(0.0, value - earlier.pids.get(name, 0.0)) for name, value in self.pids.items()}
        for kind, label in (("bench", "postgres"), ("background", "pg_background")):
            spent[label] = sum(
                max(0.0, seconds - earlier.postgres.get(pid, (kind, 0.0))[1])
                for pid, (k, seconds) in self.postgres.items()
                if k == kind
            )
        busy = self.busy - earlier.busy
        spent["other"] = max(0.0, busy - sum(spent.values()))
        total = self.total - earlier.total
        spent["machine_busy_share"] = busy / total if total > 0 else 0.0
        return spent


def _children_seconds(parent: int) -> dict[int, float]:
    """CPU seconds of the processes whose parent is ``parent``."""
    found: dict[int, float] = {}
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == parent:  # ppid
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICKS
    return found


class CpuWatch:
    """``CpuSample`` over a timed part, also sampled along the way: a process that ends inside
    the part (the catch-up's writer process and its PostgreSQL connection) still counts.

    ``children`` is what the processes started by ``parent`` spent; the rest is as in
    ``CpuSample.since``.
    """

    def __init__(self, dbname: str, parent: int, every: float = 0.2, **pids: int) -> None:
        self.dbname, self.parent, self.every, self.pids = dbname, parent, every, pids
        self._postgres: dict[int, tuple[str, float, float]] = {}  # pid → kind, first seen, last seen
        self._children: dict[int, tuple[float, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-watch", daemon=True)
        self.spent: dict[str, float] = {}

    def _sample(self, first: bool) -> None:
        for pid, (kind, seconds) in _postgres_seconds(self.dbname).items():
            start = self._postgres.get(pid, (kind, seconds if first else 0.0, 0.0))[1]
            self._postgres[pid] = (kind, start, seconds)
        for pid, seconds in _children_seconds(self.parent).items():
            start = self._children.get(pid, (seconds if first else 0.0, 0.0))[0]
            self._children[pid] = (start, seconds)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample(first=False)

    def __enter__(self) -> CpuWatch:
        self._before = CpuSample.take("", **self.pids)
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._stop.is_set():  # ended already
            return
        self._stop.set()
        self._thread.join()
        self._sample(first=False)
        # PostgreSQL's processes as first and last seen, so one that ended still counts.
        self._before.postgres = {pid: (kind, first) for pid, (kind, first, _) in self._postgres.items()}
        after = CpuSample.take("", **self.pids)
        after.postgres = {pid: (kind, last) for pid, (kind, _, last) in self._postgres.items()}
        spent = after.since(self._before)
        spent["children"] = sum(last - start for start, last in self._children.values())
        spent["other"] = max(0.0, spent["other"] - spent["children"])
        self.spent = spent
