"""Fixtures for the application-layer tests: an in-memory ledger on a clock the test moves."""

from __future__ import annotations

import pytest

from application.ledger import Caller, CaseLedger
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings
from tests.unit.application.support import (
    CaseDriver,
    Cast,
    Clock,
    QualifiedMediator,
    cst,
    make_cast,
    qualify,
)


@pytest.fixture
def clock() -> Clock:
    """Monday 14 September 2026, 10:00 CST: an ordinary working week before the autumn holidays."""
    return Clock(cst(2026, 9, 14))


@pytest.fixture
def ledger(clock: Clock) -> CaseLedger:
    """A fresh ledger on the in-memory store, reading the test's clock."""
    return build_ledger(Settings(backend="memory"), clock=clock.now)


@pytest.fixture
def cast() -> Cast:
    """One caller per role (see :class:`Cast`)."""
    return make_cast()


@pytest.fixture
def grid_worker(cast: Cast) -> Caller:
    return cast.grid_worker


@pytest.fixture
def village(cast: Cast) -> Caller:
    return cast.village


@pytest.fixture
def township(cast: Cast) -> Caller:
    return cast.township


@pytest.fixture
def county(cast: Cast) -> Caller:
    return cast.county


@pytest.fixture
def court(cast: Cast) -> Caller:
    return cast.court


@pytest.fixture
def oversight(cast: Cast) -> Caller:
    return cast.oversight


@pytest.fixture
def importer(cast: Cast) -> Caller:
    return cast.importer


@pytest.fixture
def admin(cast: Cast) -> Caller:
    return cast.admin


@pytest.fixture
def drive(ledger: CaseLedger, cast: Cast, clock: Clock) -> CaseDriver:
    """Brings new cases to a stage: ``drive.to("concluded")``."""
    return CaseDriver(ledger, cast, clock)


@pytest.fixture
def mediator(ledger: CaseLedger, cast: Cast) -> QualifiedMediator:
    """A qualified mediator, 王调解 (user ``med-wang``), who acts as ``cast.mediator``."""
    return qualify(ledger, cast)
