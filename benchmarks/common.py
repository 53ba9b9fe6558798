"""What every scenario shares: the bench databases, the caller and one realistic case."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse, urlunparse

from domain.values import Actor, Party, Role
from infrastructure.bootstrap import ensure_postgres_database
from infrastructure.settings import Settings

if TYPE_CHECKING:
    import psycopg

DATABASE_URL_VARIABLE = "CASELEDGER_BENCH_DATABASE_URL"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/caseledger_bench"

# A township center clerk in 城关镇 registers a neighbour dispute and dispatches it to 东关社区.
ACTOR = Actor(
    user_id="bench-clerk", role=Role.TOWNSHIP_CENTER, unit="chengguan-center", jurisdiction="qingxi/chengguan"
)
JURISDICTION = "qingxi/chengguan/dongguan"
CHANNEL = "hotline_12345"
CATEGORY = "neighbour"
SUMMARY = "楼上住户卫生间长期漏水致楼下天花板霉变脱落，双方就维修责任和赔偿金额多次协商未果"
DISPATCH_UNIT = "chengguan-dongguan"
DISPATCH_NOTE = "请东关社区三日内上门查看并组织调解"
PARTIES = (
    Party(
        party_id="p1",
        name="张建国",
        kind="applicant",
        phone="13800138000",
        id_number="110101199003074514",
        address="清溪县城关镇东关社区幸福路12号3单元402",
    ),
    Party(
        party_id="p2",
        name="李秀英",
        kind="respondent",
        phone="13912345678",
        id_number="11010119851112002X",
        address="清溪县城关镇东关社区幸福路12号3单元502",
    ),
)
EVENTS_PER_CASE = 2  # CaseRegistered, then CaseDispatched


def external_ref(n: int) -> str:
    """A 12345-hotline ticket number, one per case (same length in every scenario)."""
    return f"12345-2026{n:07d}"


def register_body(n: int) -> dict[str, object]:
    """The JSON body of ``POST /api/v1/cases`` for case ``n``."""
    return {
        "channel": CHANNEL,
        "category": CATEGORY,
        "summary": SUMMARY,
        "jurisdiction": JURISDICTION,
        "parties": [p.as_dict() for p in PARTIES],
        "risk_color": "yellow",
        "difficulty": "ordinary",
        "external_ref": external_ref(n),
    }


def dispatch_body() -> dict[str, object]:
    """The JSON body of ``POST /api/v1/cases/{id}/dispatch``."""
    return {"unit": DISPATCH_UNIT, "note": DISPATCH_NOTE}


@dataclass
class RunResult:
    """One timed run of one scenario."""

    cases: int
    elapsed: float  # wall seconds of the timed part
    cpu: float = 0.0  # CPU seconds of the measuring process (or the server, for HTTP)
    failures: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.cases * EVENTS_PER_CASE / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.elapsed if self.elapsed > 0 else 0.0


def at_rest(url: str) -> str | None:
    """Leave a database just loaded as a service that has run a while leaves it.

    Autovacuum would have vacuumed and analysed it (and set the hint bits that the first
    reader of fresh rows otherwise writes), and checkpoints would have written the load's
    dirty pages; left undone, either lands inside whatever is timed next. Returns why the
    checkpoint was skipped, if it was.
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return checkpoint_server(url)


def checkpoint_server(url: str) -> str | None:
    """Write out every dirty page now (the server's, not one database's), so that what earlier
    runs wrote is not flushed while the next one is timed. Returns why it was skipped, if it was."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            return "no CHECKPOINT: the benchmark's database user may not run it"
    return None


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


class BenchDatabases:
    """Creates one fresh database per scenario and run, and drops them all at the end."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or os.environ.get(DATABASE_URL_VARIABLE, "").strip() or DEFAULT_DATABASE_URL
        parsed = urlparse(self.url)
        self.base_name = (parsed.path or "/").lstrip("/") or "caseledger_bench"
        self.created: list[str] = []
        self._counter = 0

    def url_for(self, dbname: str) -> str:
        return urlunparse(urlparse(self.url)._replace(path=f"/{dbname}"))

    def settings_for(self, dbname: str) -> Settings:
        return Settings(backend="postgres", database_url=self.url_for(dbname))

    def create(self) -> str:
        """A new, empty database; returns its URL."""
        self._counter += 1
        dbname = f"{self.base_name}_{os.getpid()}_{self._counter}"
        self.created.append(dbname)
        ensure_postgres_database(self.settings_for(dbname))
        return self.url_for(dbname)

    def _admin(self) -> psycopg.Connection[Any]:
        import psycopg
        from psycopg.conninfo import make_conninfo

        params = Settings(backend="postgres", database_url=self.url).postgres_params()
        return psycopg.connect(make_conninfo(**{**params, "dbname": "postgres"}, connect_timeout=5), autocommit=True)

    def server_version(self) -> str:
        with self._admin() as conn:
            row = conn.execute("SELECT version()").fetchone()
        return str(row[0]) if row else "?"

    def where(self) -> str:
        params = Settings(backend="postgres", database_url=self.url).postgres_params()
        return f"{params['user']}@{params['host']}:{params['port']}"

    def drop_all(self) -> list[str]:
        """Drop every database this run created; returns the names that could not be dropped."""
        left: list[str] = []
        if not self.created:
            return left
        with self._admin() as conn:
            for dbname in self.created:
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
                except Exception:  # keep dropping the others; report what is left
                    left.append(dbname)
        self.created = [d for d in self.created if d in left]
        return left
