"""Starting the service on PostgreSQL: the database and its tables are made once, whoever starts first.

SPEC §11 runs the API and the projection workers as separate processes, which start at
the same moment (``docker compose up``) against a database that may not exist yet.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from application.ledger import CaseLedger
from infrastructure.bootstrap import build_ledger, ensure_postgres_database
from infrastructure.settings import Settings

pytestmark = pytest.mark.postgres

PROCESSES = 6


@pytest.fixture
def new_database(postgres_server: Settings) -> Iterator[Settings]:
    """Settings naming a database that does not exist yet; dropped after the test."""
    name = f"caseledger_boot_{secrets.token_hex(6)}"
    url = urlparse(postgres_server.database_url)._replace(path=f"/{name}").geturl()
    try:
        yield Settings(backend="postgres", database_url=url)
    finally:
        maintenance = make_conninfo(**{**postgres_server.postgres_params(), "dbname": "postgres"})
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_exists(settings: Settings) -> bool:
    params = settings.postgres_params()
    with psycopg.connect(make_conninfo(**{**params, "dbname": "postgres"}), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (params["dbname"],)).fetchone()
    return row is not None


def test_a_missing_database_is_created_and_a_second_call_changes_nothing(new_database: Settings) -> None:
    """``ensure_postgres_database`` creates the configured database once and is then a no-op."""
    assert not database_exists(new_database)

    ensure_postgres_database(new_database)
    ensure_postgres_database(new_database)

    assert database_exists(new_database)


def test_processes_starting_at_once_on_a_new_database_all_start(new_database: Settings) -> None:
    """SPEC §11: API and workers starting together must not crash racing to create the database and tables."""
    start = threading.Barrier(PROCESSES)
    ledgers: list[CaseLedger] = []
    failures: list[BaseException] = []

    def start_process() -> None:
        try:
            start.wait(timeout=30)
            ledgers.append(build_ledger(new_database))
        except Exception as error:  # collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=start_process) for _ in range(PROCESSES)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert len(ledgers) == PROCESSES
        assert ledgers[0].recorder.max_notification_id() in (None, 0)
    finally:
        for ledger in ledgers:
            ledger.close()
