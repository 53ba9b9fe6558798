"""Helpers shared by the application-layer tests: a clock to move, the cast, a case driver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.ledger import Caller, CaseLedger
from domain.calendar import CHINA_TZ
from domain.case import spec_event_name
from domain.case_deadlines import CaseDeadline
from domain.values import Actor, Party

GRID = "qingxi/chengguan/dongguan/grid-01"
OTHER_TOWNSHIP_GRID = "qingxi/hekou/shahe/grid-01"
VILLAGE_UNIT = "chengguan-dongguan"
OTHER_VILLAGE_UNIT = "chengguan-xiguan"
COURT_UNIT = "qingxi-court"
COUNTY_FILING = "qingxi-center"

PARTIES = [
    Party("p1", "张三", "applicant", phone="13800000001"),
    Party("p2", "李四", "respondent", phone="13800000002"),
]
PARTY_IDS = [p.party_id for p in PARTIES]

STAGES = ("registered", "dispatched", "accepted", "handling", "concluded", "closed")


def cst(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An instant in China Standard Time (10:00 unless told)."""
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


def end_of(year: int, month: int, day: int) -> datetime:
    """24:00 CST of the given day, i.e. 00:00 of the next one."""
    return datetime(year, month, day, tzinfo=CHINA_TZ) + timedelta(days=1)


class Clock:
    """A clock the tests move by hand; the ledger reads ``now``."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@dataclass(frozen=True)
class Cast:
    """One caller per role, inside and outside the demo case's township (城关镇)."""

    grid_worker: Caller
    village: Caller
    other_village: Caller
    department: Caller
    township: Caller
    other_township: Caller
    county: Caller
    court: Caller
    other_court: Caller
    mediator: Caller
    oversight: Caller
    importer: Caller
    admin: Caller


def make_cast() -> Cast:
    def who(user_id: str, role: str, unit: str, jurisdiction: str) -> Caller:
        return Caller(Actor(user_id, role, unit, jurisdiction))

    return Cast(
        grid_worker=who("gw-zhao", "grid_worker", VILLAGE_UNIT, GRID),
        village=who("vil-qian", "unit", VILLAGE_UNIT, "qingxi/chengguan/dongguan"),
        other_village=who("vil-sun", "unit", OTHER_VILLAGE_UNIT, "qingxi/chengguan/xiguan"),
        department=who("dep-li", "unit", "qingxi-hrss", "qingxi"),
        township=who("tc-zhou", "township_center", "chengguan-center", "qingxi/chengguan"),
        other_township=who("tc-wu", "township_center", "hekou-center", "qingxi/hekou"),
        county=who("cc-zheng", "county_center", "qingxi-center", "qingxi"),
        court=who("court-feng", "court", COURT_UNIT, "qingxi"),
        other_court=who("court-chen", "court", "other-county-court", "qingxi"),
        mediator=who("med-wang", "mediator", "chengguan-pmc", "qingxi/chengguan"),
        oversight=who("ov-chu", "oversight", "qingxi-discipline", "qingxi"),
        importer=who("imp-wei", "importer", "qingxi-center", "qingxi"),
        admin=who("adm-jiang", "admin", "qingxi-center", "qingxi"),
    )


@dataclass(frozen=True)
class QualifiedMediator:
    """A mediator registered and qualified in the ledger, and the caller acting as them."""

    mediator_id: str
    user_id: str
    caller: Caller


def stored(ledger: CaseLedger, aggregate_id: UUID) -> list[Any]:
    """The stored events of one aggregate (each call reads the store afresh)."""
    return list(ledger.events.get(aggregate_id))


@contextmanager
def refused(
    ledger: CaseLedger,
    case_id: UUID,
    error: type[Exception] | tuple[type[Exception], ...],
    match: str | None = None,
) -> Iterator[pytest.ExceptionInfo[Exception]]:
    """Expect ``error`` and check that nothing at all was recorded, on the case or anywhere."""
    before = stored(ledger, case_id)
    last_position = ledger.recorder.max_notification_id()
    with pytest.raises(error, match=match) as info:
        yield info
    assert stored(ledger, case_id) == before
    assert ledger.get_case(case_id).version == len(before)
    assert ledger.recorder.max_notification_id() == last_position


def qualify(ledger: CaseLedger, cast: Cast, user_id: str = "med-wang", name: str = "王调解") -> QualifiedMediator:
    """Register a mediator of 城关镇人民调解委员会 and pass the joint examination."""
    registered = ledger.register_mediator(
        cast.township,
        name=name,
        user_id=user_id,
        organisation="城关镇人民调解委员会",
        organisation_kind="people_mediation_committee",
        specialties=["neighbour", "land"],
        jurisdiction="qingxi/chengguan",
    )
    ledger.qualify_mediator(UUID(registered.id), cast.county, examination="2026年联合考核", certificate_no="QX-001")
    caller = Caller(Actor(user_id, "mediator", "chengguan-pmc", "qingxi/chengguan"))
    return QualifiedMediator(registered.id, user_id, caller)


class CaseDriver:
    """Drives a case through SPEC §2's steps with the demo cast, each at the clock's now."""

    def __init__(self, ledger: CaseLedger, cast: Cast, clock: Clock) -> None:
        self.ledger = ledger
        self.cast = cast
        self.clock = clock

    def register(self, caller: Caller | None = None, **overrides: Any) -> UUID:
        fields: dict[str, Any] = {
            "channel": "grid_patrol",
            "category": "neighbour",
            "summary": "邻里排水沟堵塞引发争执",
            "jurisdiction": GRID,
            "parties": list(PARTIES),
            "risk_color": "yellow",
            "difficulty": "ordinary",
        }
        fields.update(overrides)
        result = self.ledger.register_case(caller or self.cast.township, **fields)
        return UUID(result.id)

    def dispatch(self, case_id: UUID, unit: str = VILLAGE_UNIT) -> None:
        self.ledger.dispatch(case_id, self.cast.township, unit=unit)

    def accept(self, case_id: UUID) -> None:
        self.ledger.accept(case_id, self.cast.village)

    def assign_grid_worker(self, case_id: UUID) -> None:
        worker = self.cast.grid_worker.actor
        self.ledger.assign(case_id, self.cast.village, handler_id=worker.user_id, handler_kind="grid_worker")

    def assign_mediator(self, case_id: UUID, mediator: QualifiedMediator) -> None:
        self.ledger.assign(case_id, self.cast.village, handler_kind="mediator", mediator_id=mediator.mediator_id)

    def conclude(self, case_id: UUID, handler: Caller | None = None) -> None:
        self.ledger.conclude(case_id, handler or self.cast.grid_worker, outcome="resolved", note="双方和解")

    def rate_all(self, case_id: UUID, satisfaction: str = "satisfied") -> None:
        for party_id in PARTY_IDS:
            self.ledger.rate(case_id, self.cast.township, party_id=party_id, satisfaction=satisfaction, method="phone")

    def close(self, case_id: UUID) -> None:
        self.ledger.complete_review(case_id, self.cast.township, result="verified")

    def to(self, stage: str, mediator: QualifiedMediator | None = None, **register: Any) -> UUID:
        """A new case brought to ``stage`` (one of :data:`STAGES`)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        target = STAGES.index(stage)
        case_id = self.register(**register)

        def assign(case_id: UUID) -> None:
            if mediator:
                self.assign_mediator(case_id, mediator)
            else:
                self.assign_grid_worker(case_id)

        def conclude(case_id: UUID) -> None:
            self.conclude(case_id, mediator.caller if mediator else None)

        def rate_and_close(case_id: UUID) -> None:
            self.rate_all(case_id)
            self.close(case_id)

        steps: list[Callable[[UUID], None]] = [self.dispatch, self.accept, assign, conclude, rate_and_close]
        for step in steps[:target]:
            step(case_id)
        assert self.ledger.get_case(case_id).status == stage
        return case_id


def spec_names(ledger: CaseLedger, case_id: UUID) -> list[str]:
    """The case's stored events by the names SPEC §2–§3 gives them (``CaseRegistered``...)."""
    return [spec_event_name(type(event).__name__) for event in stored(ledger, case_id)]


def deadline_of(deadlines: list[CaseDeadline], kind: str, nth: int = -1) -> CaseDeadline:
    """The ``nth`` deadline of ``kind`` (the latest unless told)."""
    return [d for d in deadlines if d.kind == kind][nth]
