"""Fixtures shared by every test: the storage backends and ledgers opened on them.

``backend_settings`` runs a test on the in-memory store, on SQLite in the test's own
directory and on PostgreSQL in a database created for this test session. The PostgreSQL
server comes from ``CASELEDGER_TEST_DATABASE_URL`` (default: the local server as user
``postgres``). When it cannot be reached the PostgreSQL tests are skipped, unless ``CI`` is
set: then they fail, so a broken CI database never passes as a green build.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from application.ledger import CaseLedger
from domain.calendar import WorkCalendar
from infrastructure.bootstrap import build_ledger, ensure_postgres_database, load_organisation
from infrastructure.calendar_data import seed_schedules
from infrastructure.positions import position_lookup
from infrastructure.privacy import personal_data_for
from infrastructure.settings import Settings

TEST_DATABASE_URL_VARIABLE = "CASELEDGER_TEST_DATABASE_URL"
DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CONNECT_TIMEOUT_SECONDS = 3

BACKENDS = ("memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres))

OpenLedger = Callable[..., CaseLedger]


# ---------------------------------------------------------------------- PostgreSQL


def _server_url() -> str:
    return os.environ.get(TEST_DATABASE_URL_VARIABLE, "").strip() or DEFAULT_TEST_DATABASE_URL


def _conninfo(settings: Settings, dbname: str | None = None) -> str:
    from psycopg.conninfo import make_conninfo

    params = settings.postgres_params()
    if dbname is not None:
        params["dbname"] = dbname
    return make_conninfo(**params, connect_timeout=CONNECT_TIMEOUT_SECONDS)


def _unreachable_reason(server: Settings) -> str | None:
    """Why the server cannot be used, or ``None`` when a connection succeeds."""
    try:
        import psycopg

        with psycopg.connect(_conninfo(server), autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # any failure to connect means "no PostgreSQL here"
        return f"{type(error).__name__}: {str(error).strip() or 'no detail'}"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> Settings:
    """Settings pointing at the PostgreSQL server's maintenance database; skips (or fails on CI) without one."""
    url = _server_url()
    server = Settings(backend="postgres", database_url=url)
    reason = _unreachable_reason(server)
    if reason is not None:
        params = server.postgres_params()  # the message names the server, never the password
        where = f"{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"
        message = (
            f"PostgreSQL is not reachable at {where} ({reason}); "
            f"set {TEST_DATABASE_URL_VARIABLE} to a server where the user may create databases"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so PostgreSQL tests must run: {message}", pytrace=False)
        pytest.skip(message)
    return server


@contextmanager
def own_database(server: Settings, prefix: str, data_dir: Path) -> Iterator[Settings]:
    """A new database on the test server for the block, dropped after it."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{secrets.token_hex(6)}"
    url = urlparse(server.database_url)._replace(path=f"/{name}").geturl()
    settings = Settings(backend="postgres", database_url=url, data_dir=data_dir)
    ensure_postgres_database(settings)
    try:
        yield settings
    finally:
        with psycopg.connect(_conninfo(server, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_database(postgres_server: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A database of its own for this test session (one per xdist worker), dropped at the end."""
    with own_database(postgres_server, "caseledger_test", tmp_path_factory.mktemp("postgres")) as settings:
        yield settings


_ENABLE_AGAIN = {"O": "ENABLE TRIGGER", "A": "ENABLE ALWAYS TRIGGER", "R": "ENABLE REPLICA TRIGGER"}


def _empty_all_tables(settings: Settings) -> None:
    """Truncate every table the ledger made, restarting the notification ids at 1.

    After ``caseledger migrate`` the append-only tables carry triggers that refuse TRUNCATE
    for every role, ``ENABLE ALWAYS`` (so ``session_replication_role = replica`` does not
    skip them): they are disabled, the tables truncated and the triggers put back as they
    were, in one transaction, so no other session ever sees them off.
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(_conninfo(settings), autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        if not tables:
            return
        triggers = conn.execute(
            "SELECT n.nspname, c.relname, t.tgname, t.tgenabled FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        names = sql.SQL(", ").join(sql.Identifier(schema, table) for schema, table in tables)
        with conn.transaction():
            for schema, table, trigger, _ in triggers:
                conn.execute(
                    sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(
                        sql.Identifier(schema, table), sql.Identifier(trigger)
                    )
                )
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(names))
            for schema, table, trigger, enabled in triggers:
                conn.execute(
                    sql.SQL("ALTER TABLE {} {} {}").format(
                        sql.Identifier(schema, table), sql.SQL(_ENABLE_AGAIN[enabled]), sql.Identifier(trigger)
                    )
                )


@pytest.fixture
def postgres_settings(postgres_database: Settings, tmp_path: Path) -> Settings:
    """The session's PostgreSQL database, emptied so the test sees only its own events."""
    _empty_all_tables(postgres_database)
    return postgres_database.model_copy(update={"data_dir": tmp_path / "data"})


# ---------------------------------------------------------------------- SQLite and memory


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """A fresh SQLite file in the test's own directory."""
    return Settings(backend="sqlite", data_dir=tmp_path / "data", database_url="")


@pytest.fixture
def memory_settings(tmp_path: Path) -> Settings:
    """The in-memory store (no durability; ledgers opened by ``open_ledger`` share it)."""
    return Settings(backend="memory", data_dir=tmp_path / "data", database_url="")


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest) -> Settings:
    """Settings for each backend in turn: memory, SQLite, PostgreSQL (marked ``postgres``)."""
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    return settings


# ---------------------------------------------------------------------- ledgers


class _SharedMemoryLedger(CaseLedger):
    """A ``CaseLedger`` on an in-memory recorder that other instances share: "the same database"."""

    name = "CaseLedger"

    def __init__(self, recorder: Any, **kwargs: Any) -> None:
        self._shared_recorder = recorder
        super().__init__(**kwargs)

    def construct_recorder(self) -> Any:
        if self._shared_recorder is None:
            self._shared_recorder = super().construct_recorder()
        return self._shared_recorder


class LedgerOpener:
    """Opens ledgers on one backend's store, as separate processes would, and closes them all."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.opened: list[CaseLedger] = []
        self._memory_recorder: Any = None

    def __call__(self, env: dict[str, str] | None = None) -> CaseLedger:
        """A new ``CaseLedger`` instance on the same store; ``env`` adds eventsourcing keys."""
        if self.settings.backend == "memory":
            ledger: CaseLedger = _SharedMemoryLedger(self._memory_recorder, **self._ledger_kwargs(env))
            self._memory_recorder = ledger.recorder
        elif env:
            ledger = CaseLedger(**self._ledger_kwargs(env))
        else:
            ledger = build_ledger(self.settings)
        ledger.position_of = position_lookup(ledger.recorder)
        # As build_ledger does: the parties' keys of this store (shared by every ledger on it).
        ledger.personal_data = personal_data_for(self.settings, ledger.recorder)
        self.opened.append(ledger)
        return ledger

    def _ledger_kwargs(self, env: dict[str, str] | None) -> dict[str, Any]:
        # What build_ledger passes, with extra environment keys on top.
        return {
            "env": {**self.settings.eventsourcing_env(), **(env or {})},
            "seed_calendar": WorkCalendar(seed_schedules()),
            "organisation": load_organisation(self.settings.org_file),
        }

    def close_all(self) -> None:
        while self.opened:
            self.opened.pop().close()


@pytest.fixture
def open_ledger(backend_settings: Settings) -> Iterator[OpenLedger]:
    """Call it to open another ledger on the test's store; every ledger is closed after the test."""
    opener = LedgerOpener(backend_settings)
    try:
        yield opener
    finally:
        opener.close_all()
