"""Where the CPU went during a timed part, read from ``/proc`` (Linux; zeros elsewhere).

On a small machine the benchmark process, the HTTP server, the load generator and
PostgreSQL share the same cores, so a throughput figure means little without this split.
"""

from __future__ import annotations

import os
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
