"""Where the CPU went during a timed part, read from ``/proc`` (Linux; zeros elsewhere).

On a small machine the benchmark process, the HTTP server, the load generator and
PostgreSQL share the same cores, so a throughput figure means little without this split.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(text: str) -> tuple[str, int, float]:
    """(command name, parent pid, user plus system CPU seconds) from a ``/proc/<pid>/stat``."""
    close = text.rindex(")")
    fields = text[close + 2 :].split()
    return text[text.index("(") + 1 : close], int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def _process_seconds(pid: int) -> float:
    """User plus system CPU seconds of one process, 0 if it cannot be read."""
    try:
        return _stat(Path(f"/proc/{pid}/stat").read_text())[2]
    except OSError:
        return 0.0


def _processes() -> Iterator[tuple[int, str, int, float]]:
    """(pid, command name, parent pid, CPU seconds) of every process, each from one read of its
    ``stat``: a watch samples the whole table several times a second."""
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        yield (int(entry.name), *_stat(text))


def _postgres_kind(pid: int, dbname: str) -> str | None:
    """``bench`` (a backend of ``dbname``), ``background`` (checkpointer, WAL writer...) or
    ``other`` (anyone else's backend); None if the process is gone."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").split()
    except OSError:
        return None
    # A backend's title is "postgres: <cluster>: <user> <database> <client> <state>".
    if dbname and dbname in title:
        return "bench"
    if "(" in " ".join(title) or "[local]" in title:
        return "other"
    return "background"


def _postgres_seconds(dbname: str) -> dict[int, tuple[str, float]]:
    """CPU seconds of PostgreSQL's processes, each tagged with its ``_postgres_kind``."""
    return {
        pid: (kind, seconds)
        for pid, name, _, seconds in _processes()
        if name == "postgres" and (kind := _postgres_kind(pid, dbname))
    }


def _kind_of(pid: int, dbname: str, kinds: dict[int, str]) -> str | None:
    """``_postgres_kind``, remembered for backends: their title names their database for good.
    (A backend forked a moment ago still has the server's title, which reads as background.)"""
    kind = kinds.get(pid)
    if kind is None:
        kind = _postgres_kind(pid, dbname)
        if kind in ("bench", "other"):
            kinds[pid] = kind
    return kind


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
        self._kinds: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-watch", daemon=True)
        self.spent: dict[str, float] = {}

    def _sample(self, first: bool) -> None:
        for pid, name, parent, seconds in _processes():
            if name == "postgres" and (kind := _kind_of(pid, self.dbname, self._kinds)):
                start = self._postgres.get(pid, (kind, seconds if first else 0.0, 0.0))[1]
                self._postgres[pid] = (kind, start, seconds)
            if parent == self.parent:
                begun = self._children.get(pid, (seconds if first else 0.0, 0.0))[0]
                self._children[pid] = (begun, seconds)

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
