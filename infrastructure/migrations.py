"""``caseledger migrate``: the schema, the service's role, its grants and the append-only guardrails.

SPEC §10: events are never updated or deleted, "and the database itself refuses it for the
service's role". The running service therefore does not own its tables: an administrator
runs this step (``CASELEDGER_MIGRATION_DATABASE_URL``, else the normal connection settings),
and the API and the projection workers connect as ``CASELEDGER_SERVICE_ROLE`` with
``CASELEDGER_CREATE_TABLES=false``.

On PostgreSQL, holding the create-tables advisory lock that ``build_ledger`` takes (so two
migrations, or a migration and a service starting with ``create_tables`` on, never interleave):

1. the database is created if missing; the service role is created (``LOGIN``) if missing,
   its password set when one is configured; the administrator's default privileges for it
   are revoked while the tables are made, so no new append-only table is ever writable;
2. every table is created: the ledger's events and ``event_chain`` (the ledger, built with
   create_tables on), the views (``ViewStore.create``) and the Merkle log (``MerkleLog.create``);
3. in one transaction, the grants (``caseledger_service`` stands for the configured role):

   - ``GRANT CONNECT ON DATABASE``, ``GRANT USAGE ON SCHEMA``; ``REVOKE CREATE ON SCHEMA … FROM
     PUBLIC`` (the PostgreSQL 15 default; older servers granted it to everyone);
   - append-only tables (the events table named by the recorder, e.g. ``caseledger_events``,
     ``event_chain``, ``merkle_leaves``, ``merkle_nodes``, ``checkpoints``, and the parties'
     ``party_key_tombstones``): ``REVOKE ALL … FROM caseledger_service``, ``REVOKE UPDATE,
     DELETE, TRUNCATE … FROM PUBLIC``, ``GRANT SELECT, INSERT … TO caseledger_service``; their
     sequences (the events' ``notification_id``): ``REVOKE ALL`` from both, ``GRANT USAGE,
     SELECT`` (``nextval`` but never ``setval``);
   - the parties' wrapped keys (``party_keys``), destroyed by deleting them: ``GRANT SELECT,
     INSERT, DELETE`` only, as ``infrastructure.privacy.KEY_TABLE_GRANTS`` says (no UPDATE, no
     TRUNCATE);
   - projections (the view tables, ``view_positions``, ``view_schema``, and the library's
     ``*_tracking`` table should one exist; this ledger makes none): ``REVOKE ALL``, then
     ``GRANT SELECT, INSERT, UPDATE, DELETE`` (they are rebuilt at will);
   - ``ALTER DEFAULT PRIVILEGES IN SCHEMA … GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO
     caseledger_service``: the tables a rebuild (run by this administrator) creates and swaps
     in carry the service's grants from birth;
   - the writers' lock: the library serialises inserts with ``LOCK TABLE <events> IN EXCLUSIVE
     MODE``, which PostgreSQL grants only to roles holding UPDATE, DELETE or TRUNCATE (or, from
     17, MAINTAIN). So ``lock_<events>()`` takes it instead: ``SECURITY DEFINER`` (runs as the
     table's owner), no arguments, a fixed ``search_path``, ``EXECUTE`` for the service role
     only; ``build_ledger`` calls it instead of ``LOCK TABLE`` whenever it exists
     (``lock_events_through_function``);
   - the refusing trigger ``caseledger_refuse_change()`` on each append-only table: ``BEFORE
     UPDATE OR DELETE … FOR EACH ROW`` (``caseledger_append_only``) and ``BEFORE TRUNCATE … FOR
     EACH STATEMENT`` (``caseledger_append_only_truncate``), both ``ENABLE ALWAYS`` so that
     ``session_replication_role = replica`` skips them neither: every role, a superuser too,
     must first ``ALTER TABLE … DISABLE TRIGGER``, which is DDL, and the migration turns on
     ``log_statement = 'ddl'`` for the database when the server logs none (superuser only);
   - finally the result is checked: the service role may INSERT into each append-only table
     and may not UPDATE, DELETE or TRUNCATE it (a superuser service role, or one that is a
     member of the owner, fails the migration).

Running it again changes nothing and duplicates nothing. SQLite has no roles: the database
file's permissions are its guard; there the migration only creates the tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder

from infrastructure.bootstrap import build_ledger, build_views, ensure_postgres_database, postgres_create_tables_lock
from infrastructure.integrity.log import MerkleLog
from infrastructure.privacy import KEY_TABLE_GRANTS
from infrastructure.settings import Settings
from infrastructure.views.store import VIEW_TABLES

MERKLE_TABLES = ("merkle_leaves", "merkle_nodes", "checkpoints")
PROJECTION_TABLES = (*(table for tables in VIEW_TABLES.values() for table in tables), "view_positions", "view_schema")
TRIGGER_FUNCTION = "caseledger_refuse_change"
ROW_TRIGGER = "caseledger_append_only"
TRUNCATE_TRIGGER = "caseledger_append_only_truncate"
REFUSED = ("UPDATE", "DELETE", "TRUNCATE")
APPENDING = ("SELECT", "INSERT")

# One message for every refusal, Chinese then English; TG_OP and TG_TABLE_NAME fill it in.
_TRIGGER_BODY = """
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = format(
            '只可追加的表 %s 拒绝 %s：已记录的内容不得修改、删除或清空。'
            'Append-only table %s refuses %s: recorded rows are never updated, deleted or truncated.',
            TG_TABLE_NAME, TG_OP, TG_TABLE_NAME, TG_OP),
        DETAIL = format('table %I.%I, role %s', TG_TABLE_SCHEMA, TG_TABLE_NAME, current_user),
        HINT = '更正请追加一条更正事件；维护须由管理员先停用此触发器（记入数据库日志）。'
               'To correct, append a correcting event; maintenance needs an administrator to disable '
               'this trigger first (logged).';
END
"""


class MigrationError(RuntimeError):
    """The migration cannot make the guardrails hold (the message says why)."""


def lock_function_name(events_table: str) -> str:
    """The function through which the service takes the writers' lock on ``events_table``."""
    return f"lock_{events_table}"[:63]


def lock_events_through_function(recorder: ApplicationRecorder) -> None:
    """On a migrated database, take the insert lock through ``lock_<events>()``, not ``LOCK TABLE``.

    The library runs ``recorder.lock_table_statements`` at the start of every insert
    transaction; the function takes the same ``EXCLUSIVE`` lock in that transaction, as the
    table's owner. Where the function does not exist (a database the service made itself,
    as its owner) the library's statements stay as they are.
    """
    from psycopg.sql import SQL, Composable, Identifier

    if not isinstance(recorder, PostgresApplicationRecorder):
        return
    schema = recorder.datastore.schema
    name = lock_function_name(recorder.events_table_name)
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proname = %s AND p.pronargs = 0",
            (schema, name),
        )
        if cursor.fetchone() is None:
            return

    def takes_table_lock(statement: Any) -> bool:
        text = statement.as_string() if isinstance(statement, Composable) else str(statement)
        return text.lstrip().upper().startswith("LOCK TABLE")

    kept = [statement for statement in recorder.lock_table_statements if not takes_table_lock(statement)]
    recorder.lock_table_statements = [*kept, SQL("SELECT {}.{}()").format(Identifier(schema), Identifier(name))]


def migrate(settings: Settings) -> list[str]:
    """Create the tables (and, on PostgreSQL, the role, grants and guardrails); lines to print."""
    if settings.backend == "postgres":
        return _migrate_postgres(settings.for_migration())
    if settings.backend == "memory":
        return ["memory: nothing is stored, so there is nothing to migrate"]
    return _migrate_sqlite(settings.model_copy(update={"create_tables": True}))


def _migrate_sqlite(settings: Settings) -> list[str]:
    build_ledger(settings).close()
    store = build_views(settings)
    try:
        MerkleLog(store.db).create()
    finally:
        store.db.close()
    return [
        f"sqlite: tables created in {settings.data_dir}",
        "SQLite has no roles or grants: the database files' permissions are their guard; "
        "keep the data directory owned by the service's user and closed to others (chmod 700)",
    ]


def _migrate_postgres(admin: Settings) -> list[str]:
    from psycopg import sql

    params = admin.postgres_params()
    role = admin.service_role.strip()
    if not role:
        raise MigrationError("CASELEDGER_SERVICE_ROLE is empty: name the role the service connects as")
    if role == params["user"]:
        raise MigrationError(
            f"the service role '{role}' is the migration's own user: it would own the tables, and an owner "
            "is not bound by grants; migrate as an administrator (CASELEDGER_MIGRATION_DATABASE_URL)"
        )
    ensure_postgres_database(admin)
    lines = [f"database {params['dbname']} on {params['host']}:{params['port']}, migrated as {params['user']}"]
    with postgres_create_tables_lock(admin) as conn:
        with conn.transaction():
            lines.append(_ensure_role(conn, role, admin.service_password))
            views_schema = _current_schema(conn)
            # Tables made below get no grants from an earlier run's defaults until they are sorted.
            conn.execute(
                sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} REVOKE ALL ON TABLES FROM {}").format(
                    sql.Identifier(views_schema), sql.Identifier(role)
                )
            )
        ledger = build_ledger(admin, lock_held=True)
        try:
            recorder: Any = ledger.recorder
            events_schema = recorder.datastore.schema
            events = (events_schema, recorder.events_table_name)
            chain = (events_schema, recorder.chain_table_name)
        finally:
            ledger.close()
        store = build_views(admin)
        try:
            MerkleLog(store.db).create()
        finally:
            store.db.close()
        keys = _key_tables(conn, events_schema)
        append_only = [events, chain, *((views_schema, name) for name in MERKLE_TABLES)]
        append_only += [table for table, privileges in keys if privileges == APPENDING]
        limited = [(table, privileges) for table, privileges in keys if privileges != APPENDING]
        projections = [(views_schema, name) for name in PROJECTION_TABLES]
        projections += _tracking_tables(conn, events_schema, ledger.name.lower())
        with conn.transaction():
            lines += _grant(conn, role, params["dbname"], append_only, limited, projections, views_schema)
            lines += _install_lock_function(conn, role, events)
            lines += _install_triggers(conn, append_only, events_schema)
            lines += _log_ddl(conn, params["dbname"])
            _check(conn, role, append_only, limited, projections)
    lines.append(f"serve with CASELEDGER_CREATE_TABLES=false, connecting as {role}")
    lines.append(
        f"run `caseledger rebuild` as {params['user']} (it drops and renames view tables, which needs ownership)"
    )
    return lines


def _current_schema(conn: Any) -> str:
    row = conn.execute("SELECT current_schema()").fetchone()
    if row is None or row[0] is None:
        raise MigrationError("no schema on the search_path to create the views in")
    return str(row[0])


def _ensure_role(conn: Any, role: str, password: str) -> str:
    from psycopg import errors, sql

    found = conn.execute("SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    # Sent hashed (as the server's password_encryption says): DDL logging never shows the password.
    hashed = conn.pgconn.encrypt_password(password.encode(), role.encode()).decode() if password else ""
    with_password = sql.SQL(" PASSWORD {}").format(sql.Literal(hashed)) if password else sql.SQL("")
    if found is None:
        # A migration of another database on this server may create the same role at this moment.
        with suppress(errors.DuplicateObject, errors.UniqueViolation), conn.transaction():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)) + with_password)
            return f"role {role} created (LOGIN{', with password' if password else ''})"
        found = conn.execute("SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if found[0]:
        raise MigrationError(f"the service role '{role}' is a superuser: no grant or revoke can restrict it")
    if password or not found[1]:
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(role)) + with_password)
        return f"role {role} exists (LOGIN{', password set' if password else ''})"
    return f"role {role} exists"


def _tracking_tables(conn: Any, schema: str, prefix: str) -> list[tuple[str, str]]:
    """The library's tracking table, if a process or projection runner ever made one."""
    names = [f"{prefix}_tracking", "notification_tracking"]
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p')",
        (schema, names),
    ).fetchall()
    return [(schema, row[0]) for row in rows]


def _key_tables(conn: Any, schema: str) -> list[tuple[tuple[str, str], tuple[str, ...]]]:
    """The parties' key tables beside the events, with what the service needs on each.

    ``infrastructure.privacy.KEY_TABLE_GRANTS``: keys are deleted when destroyed
    (SELECT, INSERT, DELETE); tombstones only ever appended (SELECT, INSERT), so they are
    guarded like the events.
    """
    found = []
    for name, privileges in KEY_TABLE_GRANTS.items():
        (exists,) = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p'))",
            (schema, name),
        ).fetchone()
        if exists:
            found.append(((schema, name), tuple(p for p in (*APPENDING, *REFUSED) if p in privileges)))
    return found


def _sequences_of(conn: Any, table: tuple[str, str]) -> list[tuple[str, str]]:
    """Sequences owned by the table's columns (serial and identity columns)."""
    rows = conn.execute(
        "SELECT sn.nspname, s.relname FROM pg_depend d "
        "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        "JOIN pg_namespace sn ON sn.oid = s.relnamespace "
        "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace "
        "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
        "AND d.deptype IN ('a', 'i') AND tn.nspname = %s AND t.relname = %s",
        table,
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def _grant(
    conn: Any,
    role: str,
    dbname: str,
    append_only: Sequence[tuple[str, str]],
    limited: Sequence[tuple[tuple[str, str], tuple[str, ...]]],
    projections: Sequence[tuple[str, str]],
    views_schema: str,
) -> list[str]:
    from psycopg.sql import SQL, Identifier

    service = Identifier(role)
    conn.execute(SQL("GRANT CONNECT ON DATABASE {} TO {}").format(Identifier(dbname), service))
    for schema in sorted({schema for schema, _ in [*append_only, *(table for table, _ in limited), *projections]}):
        conn.execute(SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(Identifier(schema)))
        conn.execute(SQL("GRANT USAGE ON SCHEMA {} TO {}").format(Identifier(schema), service))
    for table in append_only:
        name = Identifier(*table)
        conn.execute(SQL("REVOKE ALL ON TABLE {} FROM {}").format(name, service))
        conn.execute(SQL("REVOKE UPDATE, DELETE, TRUNCATE ON TABLE {} FROM PUBLIC").format(name))
        conn.execute(SQL("GRANT SELECT, INSERT ON TABLE {} TO {}").format(name, service))
        for sequence in _sequences_of(conn, table):
            conn.execute(SQL("REVOKE ALL ON SEQUENCE {} FROM {}, PUBLIC").format(Identifier(*sequence), service))
            conn.execute(SQL("GRANT USAGE, SELECT ON SEQUENCE {} TO {}").format(Identifier(*sequence), service))
    for table, privileges in limited:
        name = Identifier(*table)
        withheld = [SQL(p) for p in REFUSED if p not in privileges]
        conn.execute(SQL("REVOKE ALL ON TABLE {} FROM {}").format(name, service))
        if withheld:
            conn.execute(SQL("REVOKE {} ON TABLE {} FROM PUBLIC").format(SQL(", ").join(withheld), name))
        conn.execute(
            SQL("GRANT {} ON TABLE {} TO {}").format(SQL(", ").join(SQL(p) for p in privileges), name, service)
        )
    for table in projections:
        name = Identifier(*table)
        conn.execute(SQL("REVOKE ALL ON TABLE {} FROM {}").format(name, service))
        conn.execute(SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {} TO {}").format(name, service))
    conn.execute(
        SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}").format(
            Identifier(views_schema), service
        )
    )
    return [
        f"append-only, SELECT and INSERT only: {', '.join(name for _, name in append_only)}",
        *(f"{table[1]}: {' '.join(privileges)} only" for table, privileges in limited),
        f"projections, SELECT INSERT UPDATE DELETE: {', '.join(name for _, name in projections)}",
        f"tables this role creates in {views_schema} (a rebuild's) are granted the same to {role}",
    ]


def _install_lock_function(conn: Any, role: str, events: tuple[str, str]) -> list[str]:
    from psycopg.sql import SQL, Identifier

    function = Identifier(events[0], lock_function_name(events[1]))
    conn.execute(
        SQL(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS void LANGUAGE plpgsql SECURITY DEFINER "
            "SET search_path = pg_catalog, pg_temp AS $lock$ BEGIN LOCK TABLE {table} IN EXCLUSIVE MODE; END $lock$"
        ).format(function=function, table=Identifier(*events))
    )
    conn.execute(SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC").format(function))
    conn.execute(SQL("GRANT EXECUTE ON FUNCTION {}() TO {}").format(function, Identifier(role)))
    return [f"writers' lock: {lock_function_name(events[1])}() (SECURITY DEFINER), EXECUTE to {role} only"]


def _install_triggers(conn: Any, append_only: Sequence[tuple[str, str]], schema: str) -> list[str]:
    from psycopg.sql import SQL, Identifier

    function = Identifier(schema, TRIGGER_FUNCTION)
    conn.execute(
        SQL(
            "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql "
            "SET search_path = pg_catalog, pg_temp AS $refuse$" + _TRIGGER_BODY + "$refuse$"
        ).format(function)
    )
    conn.execute(SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC").format(function))
    for table in append_only:
        name = Identifier(*table)
        conn.execute(
            SQL("CREATE OR REPLACE TRIGGER {} BEFORE UPDATE OR DELETE ON {} FOR EACH ROW EXECUTE FUNCTION {}()").format(
                Identifier(ROW_TRIGGER), name, function
            )
        )
        conn.execute(
            SQL("CREATE OR REPLACE TRIGGER {} BEFORE TRUNCATE ON {} FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(
                Identifier(TRUNCATE_TRIGGER), name, function
            )
        )
        for trigger in (ROW_TRIGGER, TRUNCATE_TRIGGER):
            conn.execute(SQL("ALTER TABLE {} ENABLE ALWAYS TRIGGER {}").format(name, Identifier(trigger)))
    return [
        f"trigger {TRIGGER_FUNCTION}() refuses UPDATE, DELETE (each row) and TRUNCATE for every role "
        f"on {', '.join(name for _, name in append_only)} (ENABLE ALWAYS)"
    ]


def _log_ddl(conn: Any, dbname: str) -> list[str]:
    """Make disabling a trigger show in the server log, where nothing is logged yet."""
    from psycopg import errors
    from psycopg.sql import SQL, Identifier

    row = conn.execute("SELECT current_setting('log_statement')").fetchone()
    if row is None or row[0] != "none":
        return [f"log_statement is '{row[0] if row else '?'}': DDL (a disabled trigger) is logged"]
    try:
        with conn.transaction():
            conn.execute(SQL("ALTER DATABASE {} SET log_statement = 'ddl'").format(Identifier(dbname)))
    except errors.InsufficientPrivilege:
        return ["note: log_statement is 'none' and only a superuser can set it; set log_statement = 'ddl' "
                "so that disabling a trigger is logged"]  # fmt: skip
    return [f"log_statement = 'ddl' for database {dbname}: disabling a trigger is logged"]


def _check(
    conn: Any,
    role: str,
    append_only: Sequence[tuple[str, str]],
    limited: Sequence[tuple[tuple[str, str], tuple[str, ...]]],
    projections: Sequence[tuple[str, str]],
) -> None:
    """The grants as the server sees them (ownership, membership and superuser included)."""
    from psycopg.sql import Identifier

    wrong: list[str] = []
    for table, privileges in [*((table, APPENDING) for table in append_only), *limited]:
        name = Identifier(*table).as_string(conn)
        for privilege in (*APPENDING, *REFUSED):
            (held,) = conn.execute("SELECT has_table_privilege(%s, %s, %s)", (role, name, privilege)).fetchone()
            if held != (privilege in privileges):
                wrong.append(f"{privilege} on {table[1]} {'held' if held else 'missing'}")
    for table in [*append_only, *(table for table, _ in limited)]:
        for sequence in _sequences_of(conn, table):
            seq = Identifier(*sequence).as_string(conn)
            (held,) = conn.execute("SELECT has_sequence_privilege(%s, %s, 'UPDATE')", (role, seq)).fetchone()
            if held:
                wrong.append(f"UPDATE (setval) on sequence {sequence[1]} held")
    for table in projections:
        name = Identifier(*table).as_string(conn)
        (held,) = conn.execute("SELECT has_table_privilege(%s, %s, 'UPDATE')", (role, name)).fetchone()
        if not held:
            wrong.append(f"UPDATE on {table[1]} missing")
    if wrong:
        raise MigrationError(
            f"the service role '{role}' does not end up with the intended privileges ({'; '.join(wrong)}); "
            "is it the tables' owner, or a member of a role that owns them?"
        )
