"""All configuration in one object, read from ``CASELEDGER_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of the service and its command line (see the README's table)."""

    model_config = SettingsConfigDict(env_prefix="CASELEDGER_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the SQLite file and the signing key live")
    backend: Literal["sqlite", "postgres", "memory"] = Field(
        "sqlite", description="Event store: sqlite (embedded default), postgres, or memory (tests)"
    )
    database_url: str = Field(
        "", description="postgresql://user:password@host:port/dbname; if empty, PG* variables are used"
    )
    create_tables: bool = Field(True, description="Create the event tables on start-up")
    migration_database_url: str = Field(
        "",
        description="The administrator's postgresql:// URL for `caseledger migrate`; empty: the normal connection settings",
        repr=False,
    )
    service_role: str = Field(
        "caseledger_service", description="The LOGIN role `caseledger migrate` creates and grants for the service"
    )
    service_password: str = Field(
        "", description="Its password (set on every migrate); empty: left as it is", repr=False
    )
    jwt_secret: str = Field("", description="HS256 signing key; empty: generated once into data_dir")
    jwt_retired_secrets: str = Field(
        "", description="Comma-separated earlier signing keys still accepted (key rotation by key id)"
    )
    jwt_issuer: str = "caseledger"
    jwt_audience: str = "caseledger-api"
    token_hours: int = 12
    org_file: Path | None = Field(None, description="Organisation JSON; the demo county when unset")
    max_body_bytes: int = 1_048_576
    embedded_worker: bool | None = Field(
        None, description="Run the projection worker inside the API process (default: yes except on postgres)"
    )
    read_wait_seconds: float = Field(2.0, description="Longest a read waits for the views to reach a position")
    checkpoint_key_dir: Path | None = Field(
        None, description="Where the Ed25519 checkpoint signing key lives (outside the database); default data_dir/keys"
    )
    checkpoint_interval_seconds: float = Field(60.0, description="How often the worker signs a checkpoint")

    def key_dir(self) -> Path:
        return self.checkpoint_key_dir or Path(self.data_dir) / "keys"

    privacy_key_dir: Path | None = Field(
        None,
        description="Where the parties' key-encryption key and lookup (HMAC) key live, outside the database; "
        "default data_dir/keys",
    )

    def privacy_keys_dir(self) -> Path:
        return self.privacy_key_dir or Path(self.data_dir) / "keys"

    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000

    def runs_embedded_worker(self) -> bool:
        """SQLite and memory run one process; PostgreSQL runs ``caseledger project`` apart."""
        if self.embedded_worker is not None:
            return self.embedded_worker
        return self.backend != "postgres"

    def postgres_params(self) -> dict[str, str]:
        """Connection parameters: ``CASELEDGER_DATABASE_URL`` first, else libpq's ``PG*`` variables."""
        if self.database_url:
            url = urlparse(self.database_url)
            return {
                "host": url.hostname or "127.0.0.1",
                "port": str(url.port or 5432),
                "user": unquote(url.username or "postgres"),
                "password": unquote(url.password or ""),
                "dbname": (url.path or "/caseledger").lstrip("/") or "caseledger",
            }
        return {
            "host": os.environ.get("PGHOST", "127.0.0.1"),
            "port": os.environ.get("PGPORT", "5432"),
            "user": os.environ.get("PGUSER", "postgres"),
            "password": os.environ.get("PGPASSWORD", ""),
            "dbname": os.environ.get("PGDATABASE", "caseledger"),
        }

    def for_migration(self) -> Settings:
        """These settings as the administrator: ``CASELEDGER_MIGRATION_DATABASE_URL`` (if set), creating tables."""
        return self.model_copy(
            update={"database_url": self.migration_database_url or self.database_url, "create_tables": True}
        )

    def eventsourcing_env(self) -> dict[str, str]:
        """The ``eventsourcing`` environment for ``CaseLedger``, with name-prefixed keys."""
        prefix = "CASELEDGER_"
        create = "y" if self.create_tables else "n"
        if self.backend == "memory":
            return {f"{prefix}PERSISTENCE_MODULE": "infrastructure.integrity.popo"}
        if self.backend == "sqlite":
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return {
                f"{prefix}PERSISTENCE_MODULE": "infrastructure.integrity.sqlite",
                f"{prefix}SQLITE_DBNAME": str(self.data_dir / "caseledger.sqlite3"),
                f"{prefix}SQLITE_LOCK_TIMEOUT": "10",
                f"{prefix}CREATE_TABLE": create,
            }
        pg = self.postgres_params()
        return {
            f"{prefix}PERSISTENCE_MODULE": "infrastructure.integrity.postgres",
            f"{prefix}POSTGRES_HOST": pg["host"],
            f"{prefix}POSTGRES_PORT": pg["port"],
            f"{prefix}POSTGRES_USER": pg["user"],
            f"{prefix}POSTGRES_PASSWORD": pg["password"],
            f"{prefix}POSTGRES_DBNAME": pg["dbname"],
            f"{prefix}POSTGRES_POOL_SIZE": "5",
            f"{prefix}POSTGRES_MAX_OVERFLOW": "5",
            f"{prefix}CREATE_TABLE": create,
        }
