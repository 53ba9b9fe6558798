"""Fixtures for the end-to-end tests: the real app over HTTP on the in-memory store.

Every test gets its own app (``create_app`` on ``backend="memory"``), entered as a context
manager so the lifespan runs, and a ``TestClient`` that checks every response for leaked
internals. ``headers(role, user, unit, jurisdiction)`` issues tokens with the app's own
``TokenService``; ``api`` speaks as the actors of the demo county (see ``support.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from infrastructure.settings import Settings
from tests.e2e.support import JWT_SECRET, Api, Headers, make_headers, open_client


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """In-memory store, a fixed signing key, nothing written outside the test's directory."""
    # A generous read wait: on a loaded two-core machine the embedded worker may need more
    # than the production default to reach a position; the tests assert that it does.
    return Settings(
        backend="memory",
        jwt_secret=JWT_SECRET,
        data_dir=tmp_path / "data",
        log_level="WARNING",
        read_wait_seconds=30,
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The service as ``create_app`` builds it."""
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client with the app's lifespan running."""
    with open_client(app) as client:
        yield client


@pytest.fixture
def headers(app: FastAPI) -> Headers:
    """``headers(role, user, unit, jurisdiction, if_match=..., idempotency_key=...)``: a bearer token and more."""
    return make_headers(app)


@pytest.fixture
def api(app: FastAPI, client: TestClient) -> Api:
    """The demo county's actors talking to the app."""
    return Api(app, client)
