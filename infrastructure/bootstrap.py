"""Builds the ledger from settings: storage, the seeded calendar, the organisation."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from application.ledger import CaseLedger, utcnow
from domain.calendar import WorkCalendar
from domain.org import Organisation
from infrastructure.calendar_data import seed_schedules
from infrastructure.settings import Settings


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
    """Create the configured PostgreSQL database if it does not exist yet."""
    import psycopg  # local: the embedded default never needs it
    from psycopg.conninfo import make_conninfo

    params = settings.postgres_params()
    with psycopg.connect(make_conninfo(**{**params, "dbname": "postgres"}), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (params["dbname"],)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{params["dbname"]}"')


def build_ledger(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> CaseLedger:
    """A ready ``CaseLedger`` for these settings."""
    if settings.backend == "postgres" and settings.create_tables:
        ensure_postgres_database(settings)
    return CaseLedger(
        env=settings.eventsourcing_env(),
        seed_calendar=WorkCalendar(seed_schedules()),
        organisation=load_organisation(settings.org_file),
        clock=clock,
    )
