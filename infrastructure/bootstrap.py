"""Builds the ledger from settings: storage, the seeded calendar, the organisation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from application.ledger import CaseLedger, utcnow
from domain.calendar import WorkCalendar
from domain.org import Organisation
from infrastructure.calendar_data import seed_schedules
from infrastructure.checkpoints import CheckpointSigner
from infrastructure.integrity.log import MerkleLog
from infrastructure.integrity.service import IntegrityService
from infrastructure.positions import position_lookup
from infrastructure.privacy import personal_data_for
from infrastructure.settings import Settings
from infrastructure.views.db import PostgresViews, SQLiteViews, ViewDatabase
from infrastructure.views.store import ViewStore

if TYPE_CHECKING:
    import psycopg


def organisation_data(path: Path | None) -> dict[str, Any]:
    """The operator's organisation document, or the bundled demo county."""
    if path is None:
        text = resources.files("infrastructure").joinpath("data/demo_org.json").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_organisation(path: Path | None) -> Organisation:
    """The organisation, indexed for the ledger's checks."""
    return Organisation.from_dict(organisation_data(path))


def ensure_postgres_database(settings: Settings) -> None:
    """Create the configured PostgreSQL database if it does not exist yet.

    Safe when several processes (API, projection workers) start at once: the loser of the
    race to ``CREATE DATABASE`` finds the winner's database and carries on.
    """
    import psycopg  # local: the embedded default never needs it
    from psycopg import errors, sql
    from psycopg.conninfo import make_conninfo

    params = settings.postgres_params()
    with psycopg.connect(make_conninfo(**{**params, "dbname": "postgres"}), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (params["dbname"],)).fetchone()
        if not exists:
            # Another process may create it between our check and our CREATE.
            with suppress(errors.DuplicateDatabase, errors.UniqueViolation):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(params["dbname"])))


# Any fixed number: every process of this service takes the same lock to create tables.
_CREATE_TABLES_LOCK = 0x6361_7365_6C65_6467  # "caseledg"


@contextmanager
def postgres_create_tables_lock(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """Serialise table creation: concurrent ``CREATE TABLE IF NOT EXISTS`` collide in ``pg_type``.

    Held on a connection of its own (yielded: ``caseledger migrate`` also grants through it).
    """
    import psycopg
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(make_conninfo(**settings.postgres_params()), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_CREATE_TABLES_LOCK,))
        try:
            yield conn
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_CREATE_TABLES_LOCK,))


def build_ledger(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    lock_held: bool = False,
    persistence_module: str | None = None,
) -> CaseLedger:
    """A ready ``CaseLedger`` for these settings.

    ``lock_held``: the caller (``caseledger migrate``) already holds the create-tables lock.
    ``persistence_module``: another recorder factory than the settings' (the integrity
    benchmark's side without the hash chain).
    """
    env = settings.eventsourcing_env()
    if persistence_module is not None:
        env["CASELEDGER_PERSISTENCE_MODULE"] = persistence_module
    creating = settings.backend == "postgres" and settings.create_tables and not lock_held
    if creating:
        ensure_postgres_database(settings)
    with postgres_create_tables_lock(settings) if creating else nullcontext():
        ledger = CaseLedger(
            env=env,
            seed_calendar=WorkCalendar(seed_schedules()),
            organisation=load_organisation(settings.org_file),
            clock=clock,
        )
        # Under the same lock: the parties' key tables are created beside the events.
        ledger.personal_data = personal_data_for(settings, ledger.recorder)
    if settings.backend == "postgres":
        from infrastructure.migrations import lock_events_through_function

        # A migrated database lets the service's role take the writers' lock only through a function.
        lock_events_through_function(ledger.recorder)
    ledger.position_of = position_lookup(ledger.recorder)
    return ledger


def build_views(settings: Settings) -> ViewStore:
    """The read views' database for these settings, with its tables created."""
    db: ViewDatabase
    if settings.backend == "postgres":
        from psycopg.conninfo import make_conninfo

        db = PostgresViews(make_conninfo(**settings.postgres_params()))
    elif settings.backend == "sqlite":
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        db = SQLiteViews(str(Path(settings.data_dir) / "views.sqlite3"))
    else:
        # Each in-memory ledger gets views of its own, shared by this process's threads.
        db = SQLiteViews(f"file:caseledger-views-{uuid4().hex}?mode=memory&cache=shared")
    store = ViewStore(db)
    if settings.create_tables:
        store.create()
    return store


def build_integrity(settings: Settings, store: ViewStore) -> IntegrityService:
    """The Merkle log (beside the views) and the checkpoint signer (key outside the database)."""
    log = MerkleLog(store.db)
    if settings.create_tables:
        log.create()
    return IntegrityService(log, CheckpointSigner.load_or_create(settings.key_dir()))
