"""Settings → connection parameters and the ``eventsourcing`` environment (SPEC §11, STYLE "Configuration").

``Settings.postgres_params`` reads ``CASELEDGER_DATABASE_URL`` first and libpq's ``PG*``
variables otherwise; ``Settings.eventsourcing_env`` turns the settings into the
name-prefixed keys that ``CaseLedger`` reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eventsourcing.sqlite import SQLiteApplicationRecorder
from pydantic import ValidationError

from application.ledger import CaseLedger
from infrastructure.settings import Settings

PG_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
SETTINGS_VARIABLES = tuple(f"CASELEDGER_{name.upper()}" for name in Settings.model_fields)
PREFIX = f"{CaseLedger.name.upper()}_"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets exactly the variables it is about."""
    for name in (*PG_VARIABLES, *SETTINGS_VARIABLES, "PERSISTENCE_MODULE", "SQLITE_DBNAME"):
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------- postgres_params


def test_the_database_url_gives_every_connection_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CASELEDGER_DATABASE_URL`` names host, port, user, password and database."""
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", "postgresql://ledger:secret@db.internal:6543/caseledger_prod")

    assert Settings().postgres_params() == {
        "host": "db.internal",
        "port": "6543",
        "user": "ledger",
        "password": "secret",
        "dbname": "caseledger_prod",
    }


def test_percent_encoded_credentials_in_the_url_are_decoded() -> None:
    """A password with ``@``, ``:`` or ``/`` is written percent-encoded in the URL and used decoded."""
    settings = Settings(database_url="postgresql://svc%40ledger:p%40ss%3Aw%2Frd@10.0.0.5/ledger")

    params = settings.postgres_params()

    assert (params["user"], params["password"], params["host"]) == ("svc@ledger", "p@ss:w/rd", "10.0.0.5")


@pytest.mark.parametrize("url", ["postgresql://db.internal", "postgresql://db.internal/"])
def test_parts_missing_from_the_url_take_the_defaults(url: str) -> None:
    """Without port, user, password or database the URL means 5432, ``postgres``, none, ``caseledger``."""
    assert Settings(database_url=url).postgres_params() == {
        "host": "db.internal",
        "port": "5432",
        "user": "postgres",
        "password": "",
        "dbname": "caseledger",
    }


def test_an_ipv6_host_in_the_url_is_unbracketed() -> None:
    """``[::1]`` in a URL is host ``::1`` for libpq."""
    assert Settings(database_url="postgresql://postgres@[::1]:5433/x").postgres_params()["host"] == "::1"


def test_pg_variables_are_used_when_no_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``CASELEDGER_DATABASE_URL`` the libpq variables ``PGHOST``… configure the connection."""
    for name, value in zip(PG_VARIABLES, ("pg.internal", "6000", "svc", "s3cret", "ledger_db"), strict=True):
        monkeypatch.setenv(name, value)

    assert Settings(backend="postgres").postgres_params() == {
        "host": "pg.internal",
        "port": "6000",
        "user": "svc",
        "password": "s3cret",
        "dbname": "ledger_db",
    }


def test_without_url_or_pg_variables_the_local_server_is_assumed() -> None:
    """The defaults reach a local server as ``postgres``, database ``caseledger``."""
    assert Settings(backend="postgres").postgres_params() == {
        "host": "127.0.0.1",
        "port": "5432",
        "user": "postgres",
        "password": "",
        "dbname": "caseledger",
    }


def test_the_url_wins_over_pg_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """When both are set, ``CASELEDGER_DATABASE_URL`` decides and no ``PG*`` value leaks in."""
    for name, value in zip(PG_VARIABLES, ("pg.internal", "6000", "svc", "s3cret", "ledger_db"), strict=True):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", "postgresql://ledger@db.internal/prod")

    assert Settings().postgres_params() == {
        "host": "db.internal",
        "port": "5432",
        "user": "ledger",
        "password": "",
        "dbname": "prod",
    }


# ---------------------------------------------------------------------- eventsourcing_env


def test_the_backend_is_chosen_by_CASELEDGER_BACKEND(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CASELEDGER_BACKEND`` picks the store; the embedded default is SQLite."""
    assert Settings().backend == "sqlite"
    monkeypatch.setenv("CASELEDGER_BACKEND", "postgres")
    assert Settings().backend == "postgres"


def test_an_unknown_backend_is_refused() -> None:
    """Only sqlite, postgres and memory exist; anything else fails at start-up, not at first write."""
    with pytest.raises(ValidationError):
        Settings(backend="mysql")  # type: ignore[arg-type]


def test_the_memory_backend_uses_the_popo_store() -> None:
    """``memory`` is eventsourcing's plain-Python store (extended with the hash chain) and needs nothing else."""
    assert Settings(backend="memory").eventsourcing_env() == {
        "CASELEDGER_PERSISTENCE_MODULE": "infrastructure.integrity.popo"
    }


def test_the_sqlite_backend_keeps_its_file_in_the_data_dir(tmp_path: Path) -> None:
    """SQLite writes ``caseledger.sqlite3`` under ``data_dir``, creating the directory, with a lock timeout."""
    data_dir = tmp_path / "nested" / "var"

    env = Settings(backend="sqlite", data_dir=data_dir).eventsourcing_env()

    assert env == {
        "CASELEDGER_PERSISTENCE_MODULE": "infrastructure.integrity.sqlite",
        "CASELEDGER_SQLITE_DBNAME": str(data_dir / "caseledger.sqlite3"),
        "CASELEDGER_SQLITE_LOCK_TIMEOUT": "10",
        "CASELEDGER_CREATE_TABLE": "y",
    }
    assert data_dir.is_dir()


def test_the_postgres_backend_carries_the_connection_parameters() -> None:
    """PostgreSQL gets host, port, user, password, database and a bounded pool."""
    settings = Settings(backend="postgres", database_url="postgresql://ledger:pw@db.internal:6543/prod")

    assert settings.eventsourcing_env() == {
        "CASELEDGER_PERSISTENCE_MODULE": "infrastructure.integrity.postgres",
        "CASELEDGER_POSTGRES_HOST": "db.internal",
        "CASELEDGER_POSTGRES_PORT": "6543",
        "CASELEDGER_POSTGRES_USER": "ledger",
        "CASELEDGER_POSTGRES_PASSWORD": "pw",
        "CASELEDGER_POSTGRES_DBNAME": "prod",
        "CASELEDGER_POSTGRES_POOL_SIZE": "5",
        "CASELEDGER_POSTGRES_MAX_OVERFLOW": "5",
        "CASELEDGER_CREATE_TABLE": "y",
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_serving_processes_can_turn_table_creation_off(backend: str, tmp_path: Path) -> None:
    """REFERENCES: ``create_tables=False`` (``CASELEDGER_CREATE_TABLES=false``) sets ``CREATE_TABLE=n``."""
    settings = Settings(backend=backend, data_dir=tmp_path, create_tables=False)  # type: ignore[arg-type]

    assert settings.eventsourcing_env()["CASELEDGER_CREATE_TABLE"] == "n"


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])
def test_every_key_is_prefixed_with_the_ledger_name(backend: str, tmp_path: Path) -> None:
    """STYLE: the environment has name-prefixed keys, so other applications' settings cannot bleed in."""
    env = Settings(backend=backend, data_dir=tmp_path).eventsourcing_env()  # type: ignore[arg-type]

    assert env
    assert all(key.startswith(PREFIX) for key in env)


def test_prefixed_keys_beat_unprefixed_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """REFERENCES: name-prefixed keys beat unprefixed ones, so a stray ``PERSISTENCE_MODULE`` changes nothing."""
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.popo")
    monkeypatch.setenv("SQLITE_DBNAME", str(tmp_path / "elsewhere.sqlite3"))
    settings = Settings(backend="sqlite", data_dir=tmp_path / "data")

    ledger = CaseLedger(env=settings.eventsourcing_env())
    try:
        assert isinstance(ledger.recorder, SQLiteApplicationRecorder)
        assert (tmp_path / "data" / "caseledger.sqlite3").exists()
        assert not (tmp_path / "elsewhere.sqlite3").exists()
    finally:
        ledger.close()
