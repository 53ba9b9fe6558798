"""Guardrails in the database (SPEC §10): the service's role cannot change the record.

``caseledger migrate`` (run as an administrator) creates the tables, the service's LOGIN
role and its grants: SELECT and INSERT only on the append-only tables (the events,
``event_chain``, the Merkle log), full rights on the projections; and a trigger that
refuses UPDATE, DELETE and TRUNCATE of the append-only tables for every role. The serving
processes then run with ``create_tables`` off, as that role.

Each PostgreSQL test uses a database and a service role of its own (both dropped after),
so the session's shared test database never carries triggers.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from api.cli import app as cli
from api.main import create_app
from application.ledger import Caller, CaseLedger
from domain.values import Actor, Party, Role
from infrastructure.bootstrap import build_integrity, build_ledger, build_views
from infrastructure.migrations import MERKLE_TABLES, ROW_TRIGGER, TRUNCATE_TRIGGER, MigrationError, migrate
from infrastructure.privacy import KEYS_TABLE, TOMBSTONES_TABLE
from infrastructure.rebuild import rebuild_view
from infrastructure.settings import Settings
from infrastructure.views.store import VIEW_TABLES
from infrastructure.worker import ProjectionWorker
from tests.conftest import _empty_all_tables
from tests.e2e.support import JWT_SECRET, Api, open_client

postgres = pytest.mark.postgres

EVENTS = "caseledger_events"
APPEND_ONLY = (EVENTS, "event_chain", *MERKLE_TABLES)
# Every table with the refusing trigger: the above and the parties' key tombstones.
GUARDED = (*APPEND_ONLY, TOMBSTONES_TABLE)
# A column of each append-only table to "correct".
COLUMN = {EVENTS: "topic", "event_chain": "hash", "merkle_leaves": "leaf_hash", "merkle_nodes": "hash",
          "checkpoints": "checkpoint", TOMBSTONES_TABLE: "key_id"}  # fmt: skip
REGISTRAR = Actor("tc-chengguan", Role.TOWNSHIP_CENTER.value, "chengguan-center", "qingxi/chengguan")
PARTIES = [Party("p1", "张三", "applicant"), Party("p2", "李四", "respondent")]
SETTINGS_ENV = ("CASELEDGER_BACKEND", "CASELEDGER_DATABASE_URL", "CASELEDGER_MIGRATION_DATABASE_URL",
                "CASELEDGER_SERVICE_ROLE", "CASELEDGER_SERVICE_PASSWORD", "CASELEDGER_DATA_DIR",
                "CASELEDGER_CREATE_TABLES")  # fmt: skip


@dataclass
class Guarded:
    """A database of its own: the administrator's settings and the service role's."""

    admin: Settings
    service: Settings
    role: str

    def connect(self, settings: Settings) -> psycopg.Connection[Any]:
        return psycopg.connect(make_conninfo(**settings.postgres_params()), autocommit=True)

    def migrate(self) -> list[str]:
        return migrate(self.admin)

    def record_and_project(self, cases: int = 4) -> None:
        """What the serving processes do, as the service role: record, project, sign a checkpoint."""
        ledger = build_ledger(self.service)
        store = build_views(self.service)
        try:
            integrity = build_integrity(self.service, store)
            register(ledger, cases)
            ProjectionWorker(ledger, store, log=integrity.log).catch_up()
            integrity.checkpoint()
        finally:
            store.db.close()
            ledger.close()


def register(ledger: CaseLedger, cases: int) -> None:
    for n in range(cases):
        ledger.register_case(
            Caller(REGISTRAR, request_id=f"guard-{n}"),
            channel="visit",
            category="neighbour",
            summary="楼上漏水，双方就维修费用发生争执",
            jurisdiction="qingxi/chengguan/dongguan/grid-01",
            parties=PARTIES,
        )


def _url(server: Settings, *, dbname: str, user: str | None = None, password: str = "") -> str:
    parsed = urlparse(server.database_url)
    netloc = parsed.netloc
    if user is not None:
        host = parsed.netloc.rsplit("@", 1)[-1]
        netloc = f"{user}:{password}@{host}" if password else f"{user}@{host}"
    return parsed._replace(netloc=netloc, path=f"/{dbname}").geturl()


@pytest.fixture
def guarded(postgres_server: Settings, tmp_path: Path) -> Iterator[Guarded]:
    """Settings for a new database and a new service role, both dropped after the test."""
    maintenance = make_conninfo(**{**postgres_server.postgres_params(), "dbname": "postgres"})
    with psycopg.connect(maintenance, autocommit=True) as conn:
        row = conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
    if not (row and row[0]):
        message = "the test server's user may not create roles, which `caseledger migrate` needs"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    token = secrets.token_hex(5)
    name, role, password = f"caseledger_guard_{token}", f"caseledger_svc_{token}", secrets.token_urlsafe(16)
    admin = Settings(
        backend="postgres",
        database_url=_url(postgres_server, dbname=name),
        data_dir=tmp_path / "admin",
        service_role=role,
        service_password=password,
    )
    service = Settings(
        backend="postgres",
        database_url=_url(postgres_server, dbname=name, user=role, password=password),
        data_dir=tmp_path / "service",
        create_tables=False,
    )
    try:
        yield Guarded(admin, service, role)
    finally:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _catalog(conn: psycopg.Connection[Any], role: str) -> dict[str, Any]:
    """Everything a migration makes, in a comparable form."""

    def rows(query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return [tuple(sorted(value) if isinstance(value, list) else value for value in row)
                for row in conn.execute(query, params).fetchall()]  # fmt: skip

    return {
        "relations": rows(
            "SELECT relname, relkind, relowner::regrole::text, relacl::text[] FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace ORDER BY relname"
        ),
        "triggers": rows(
            "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2"
        ),
        "functions": rows(
            "SELECT proname, prosecdef, proacl::text[] FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
            "ORDER BY proname"
        ),
        "default_privileges": rows(
            "SELECT defaclrole::regrole::text, defaclobjtype, defaclacl::text[] FROM pg_default_acl"
        ),
        "schema": rows("SELECT nspacl::text[] FROM pg_namespace WHERE nspname = 'public'"),
        "database": rows("SELECT datacl::text[] FROM pg_database WHERE datname = current_database()"),
        "role": rows(
            "SELECT rolname, rolsuper, rolcanlogin, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
            (role,),
        ),
        "view_positions": rows("SELECT view, position FROM view_positions ORDER BY view"),
        "events": rows(f"SELECT count(*) FROM {EVENTS}"),
    }


# ---------------------------------------------------------------------- migrate


@postgres
def test_migrate_by_the_command_twice_changes_nothing_the_second_time(
    guarded: Guarded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`caseledger migrate` as the administrator (its own URL), run twice: no error, no duplicate."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASELEDGER_BACKEND", "postgres")
    monkeypatch.setenv("CASELEDGER_MIGRATION_DATABASE_URL", guarded.admin.database_url)
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", guarded.service.database_url)  # the service's, unused here
    monkeypatch.setenv("CASELEDGER_SERVICE_ROLE", guarded.role)
    monkeypatch.setenv("CASELEDGER_SERVICE_PASSWORD", guarded.admin.service_password)

    first = CliRunner().invoke(cli, ["migrate"])
    assert first.exit_code == 0, first.output
    assert f"role {guarded.role} created" in first.output
    with guarded.connect(guarded.admin) as conn:
        before = _catalog(conn, guarded.role)
    second = CliRunner().invoke(cli, ["migrate"])
    assert second.exit_code == 0, second.output
    assert f"role {guarded.role} exists" in second.output
    with guarded.connect(guarded.admin) as conn:
        after = _catalog(conn, guarded.role)

    assert after == before
    triggers = before["triggers"]
    assert sorted((table, name) for table, name, _ in triggers) == sorted(
        (table, name) for table in GUARDED for name in (ROW_TRIGGER, TRUNCATE_TRIGGER)
    )
    assert {enabled for _, _, enabled in triggers} == {"A"}  # ENABLE ALWAYS
    assert before["role"] == [(guarded.role, False, True, False, False)]


@postgres
def test_migrations_of_one_database_at_once_all_succeed(guarded: Guarded) -> None:
    """Serialised by the create-tables lock: concurrent migrations neither fail nor duplicate."""
    failures: list[BaseException] = []
    start = threading.Barrier(3)

    def run() -> None:
        try:
            start.wait(timeout=30)
            guarded.migrate()
        except Exception as error:  # collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with guarded.connect(guarded.admin) as conn:
        assert conn.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal").fetchone() == (2 * len(GUARDED),)


@postgres
def test_a_service_role_that_is_the_migrations_own_user_is_refused(guarded: Guarded) -> None:
    """An owner is not bound by grants: migrating "as the service" would leave no guardrail."""
    same = guarded.admin.model_copy(update={"service_role": guarded.admin.postgres_params()["user"]})
    with pytest.raises(MigrationError, match="own user"):
        migrate(same)


def test_migrate_on_sqlite_creates_the_tables_and_says_there_are_no_roles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has no roles: the command creates the tables, twice without harm, and says so."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASELEDGER_BACKEND", "sqlite")
    monkeypatch.setenv("CASELEDGER_DATA_DIR", str(tmp_path / "var"))
    for _ in range(2):
        result = CliRunner().invoke(cli, ["migrate"])
        assert result.exit_code == 0, result.output
        assert "SQLite has no roles" in result.output
    assert (tmp_path / "var" / "caseledger.sqlite3").exists()
    assert (tmp_path / "var" / "views.sqlite3").exists()


def test_the_migration_connects_with_its_own_url_else_the_normal_settings() -> None:
    """``CASELEDGER_MIGRATION_DATABASE_URL`` when set; the service's connection settings otherwise."""
    service = Settings(backend="postgres", database_url="postgresql://svc@db/ledger", create_tables=False)
    assert service.for_migration().postgres_params()["user"] == "svc"
    assert service.for_migration().create_tables
    admin = service.model_copy(update={"migration_database_url": "postgresql://admin@db/ledger"})
    assert admin.for_migration().postgres_params()["user"] == "admin"
    assert admin.postgres_params()["user"] == "svc"


# ---------------------------------------------------------------------- the service role


@postgres
def test_the_service_role_records_and_projects_but_cannot_change_the_record(guarded: Guarded) -> None:
    """SELECT/INSERT on the events, views written; UPDATE, DELETE, TRUNCATE refused (permission denied)."""
    guarded.migrate()
    guarded.record_and_project()

    with guarded.connect(guarded.service) as conn:
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in APPEND_ONLY}
        assert all(count > 0 for count in counts.values()), counts
        assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 4
        assert conn.execute(f"SELECT count(*) FROM {KEYS_TABLE}").fetchone()[0] > 0
        for table in GUARDED:
            for statement in (
                f"UPDATE {table} SET {COLUMN[table]} = {COLUMN[table]}",
                f"DELETE FROM {table}",
                f"TRUNCATE {table}",
                f"ALTER TABLE {table} DISABLE TRIGGER {ROW_TRIGGER}",
            ):
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute(statement)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f"SELECT setval('{EVENTS}_notification_id_seq', 1)")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SET session_replication_role = replica")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE mine (a int)")
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            conn.execute(f"LOCK TABLE {EVENTS} IN EXCLUSIVE MODE")
        # The parties' keys are destroyed one by one (DELETE), never rewritten or emptied at once.
        for statement in (f"UPDATE {KEYS_TABLE} SET key_id = key_id", f"TRUNCATE {KEYS_TABLE}"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
        conn.execute(f"DELETE FROM {KEYS_TABLE} WHERE false")
        # Projections are the service's to rewrite.
        conn.execute("UPDATE cases SET summary = summary")
        conn.execute("DELETE FROM evaluations WHERE case_id IS NULL")

    with guarded.connect(guarded.admin) as conn:
        assert {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in APPEND_ONLY} == counts


@postgres
def test_the_service_takes_the_writers_lock_through_the_function(guarded: Guarded) -> None:
    """The insert lock the library needs (EXCLUSIVE) is held, and concurrent writers stay gapless."""
    guarded.migrate()
    ledgers = [build_ledger(guarded.service) for _ in range(4)]
    try:
        with guarded.connect(guarded.service) as conn, conn.transaction():
            conn.execute(f"SELECT lock_{EVENTS}()")
            with guarded.connect(guarded.admin) as other:
                held = other.execute(
                    "SELECT mode FROM pg_locks WHERE relation = %s::regclass AND pid <> pg_backend_pid() AND granted",
                    (EVENTS,),
                ).fetchall()
            assert ("ExclusiveLock",) in held

        failures: list[BaseException] = []
        start = threading.Barrier(len(ledgers))

        def write(ledger: CaseLedger) -> None:
            try:
                start.wait(timeout=30)
                register(ledger, 5)
            except Exception as error:  # collected and asserted below
                failures.append(error)

        threads = [threading.Thread(target=write, args=(ledger,)) for ledger in ledgers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == []
    finally:
        for ledger in ledgers:
            ledger.close()
    with guarded.connect(guarded.admin) as conn:
        ids = [row[0] for row in conn.execute(f"SELECT notification_id FROM {EVENTS} ORDER BY 1")]
        chained = conn.execute("SELECT count(*) FROM event_chain").fetchone()[0]
    assert ids == list(range(1, len(ids) + 1))
    assert chained == len(ids)


# ---------------------------------------------------------------------- the trigger


@postgres
@pytest.mark.parametrize("operation", ["UPDATE", "DELETE", "TRUNCATE"])
def test_the_trigger_refuses_every_role_even_a_superuser_with_a_clear_message(guarded: Guarded, operation: str) -> None:
    """The administrator (the test server's superuser) is refused too, in Chinese and English."""
    guarded.migrate()
    guarded.record_and_project()
    with guarded.connect(guarded.admin) as conn:
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        conn.execute(f"INSERT INTO {TOMBSTONES_TABLE} VALUES (gen_random_uuid(), 'p1', 'k1', now(), 'county-01', 'p1')")
        for table in GUARDED:
            statement = {
                "UPDATE": f"UPDATE {table} SET {COLUMN[table]} = {COLUMN[table]}",
                "DELETE": f"DELETE FROM {table}",
                "TRUNCATE": f"TRUNCATE {table}",
            }[operation]
            with pytest.raises(errors.RaiseException) as refused:
                conn.execute(statement)
            message = refused.value.diag.message_primary or ""
            assert f"只可追加的表 {table} 拒绝 {operation}" in message
            assert f"Append-only table {table} refuses {operation}" in message
            assert "更正" in (refused.value.diag.message_hint or "")
            if superuser:
                # ENABLE ALWAYS: replication mode does not skip it either.
                with conn.transaction():
                    conn.execute("SET LOCAL session_replication_role = replica")
                    with pytest.raises(errors.RaiseException), conn.transaction():
                        conn.execute(statement)


@postgres
def test_the_test_cleanup_still_empties_a_migrated_database(guarded: Guarded) -> None:
    """``_empty_all_tables`` disables the triggers inside its transaction and puts them back."""
    guarded.migrate()
    guarded.record_and_project()
    _empty_all_tables(guarded.admin)
    with guarded.connect(guarded.admin) as conn:
        assert [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in GUARDED] == [0] * len(GUARDED)
        enabled = conn.execute("SELECT DISTINCT tgenabled FROM pg_trigger WHERE NOT tgisinternal").fetchall()
        assert enabled == [("A",)]
        conn.execute("INSERT INTO checkpoints VALUES (1, 'now', '{}')")
        with pytest.raises(errors.RaiseException):
            conn.execute("DELETE FROM checkpoints")


# ---------------------------------------------------------------------- serving and rebuilding


@postgres
def test_a_service_started_with_create_tables_off_serves_a_migrated_database(guarded: Guarded) -> None:
    """The API (with its worker) as the service role: commands recorded, reads answered from the views."""
    guarded.migrate()
    settings = guarded.service.model_copy(
        update={"jwt_secret": JWT_SECRET, "embedded_worker": True, "read_wait_seconds": 30, "log_level": "WARNING"}
    )
    assert not settings.create_tables
    app = create_app(settings)
    with open_client(app) as client:
        api = Api(app, client)
        case_id = api.register()
        assert api.event_types(case_id)[0] == "CaseRegistered"
        assert api.case(case_id)["status"] == "registered"
    with guarded.connect(guarded.admin) as conn:
        assert conn.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM merkle_leaves").fetchone()[0] > 0


@postgres
def test_a_rebuild_by_the_administrator_keeps_the_service_able_to_write_the_view(guarded: Guarded) -> None:
    """The swapped-in tables carry the service's grants (default privileges); the service cannot rebuild."""
    guarded.migrate()
    guarded.record_and_project(cases=3)

    service_ledger = build_ledger(guarded.service)
    service_store = build_views(guarded.service)
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            rebuild_view(service_ledger, service_store, "cases")
    finally:
        service_store.db.close()
        service_ledger.close()

    admin_ledger = build_ledger(guarded.admin)
    admin_store = build_views(guarded.admin)
    try:
        rebuild_view(admin_ledger, admin_store, "cases")
    finally:
        admin_store.db.close()
        admin_ledger.close()

    with guarded.connect(guarded.admin) as conn:
        for table in VIEW_TABLES["cases"]:
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                held = conn.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", (guarded.role, table, privilege)
                ).fetchone()[0]
                assert held, f"{privilege} on the rebuilt {table}"
            assert not conn.execute("SELECT has_table_privilege(%s, %s, 'TRUNCATE')", (guarded.role, table)).fetchone()[
                0
            ]
        assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 3
    guarded.record_and_project(cases=2)  # the service's worker writes the rebuilt tables
    with guarded.connect(guarded.service) as conn:
        assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 5
        conn.execute("UPDATE cases SET summary = summary")


@postgres
def test_the_service_password_is_stored_and_sent_hashed(guarded: Guarded) -> None:
    """The role's password goes to the server as a SCRAM verifier, so a DDL log never shows it."""
    guarded.migrate()
    guarded.migrate()  # the second run sets it again (ALTER ROLE)
    with guarded.connect(guarded.admin) as conn:
        (stored,) = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (guarded.role,)).fetchone()
    assert stored.startswith("SCRAM-SHA-256$")
    assert guarded.admin.service_password not in stored
