"""A year of a county's cases, written fast: the domain's own command methods, many per save.

The read benchmarks need hundreds of thousands of events. Going through ``CaseLedger``'s
commands (load → decide → save, one case at a time) would take longer than the benchmark
itself, so this module builds ``Case`` aggregates directly with their command methods —
every domain rule still applies — back-dated by the importer role over the past year, and
saves ``per_save`` aggregates in one ``ledger.save(*cases)``.

The mix follows ``infrastructure.demo``: most cases run their whole course (registered,
dispatched, accepted, assigned, handled, concluded, rated, reviewed), some stall at every
stage (the old ones of those are overdue), some steps are late, mediator cases have
sessions, agreements or failures, some agreements go to the court for judicial
confirmation. Mediator-handled cases are assigned to qualified ``Mediator`` aggregates
saved first. Everything is drawn from ``random.Random(seed)``.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.ledger import CaseLedger
from domain.calendar import CHINA_TZ, WorkCalendar
from domain.case import Case, Status
from domain.mediator import Mediator
from domain.provenance import Provenance
from domain.values import Actor, Party, Role

IMPORTER = Actor(user_id="importer-bench", role=Role.IMPORTER, unit="qingxi-center", jurisdiction="qingxi")
COURT_UNIT = "qingxi-court"
COUNTY_CENTER_UNIT = "qingxi-center"
YEAR = timedelta(days=365)
_HOUR = timedelta(hours=1)
OFFICE_OPENS, OFFICE_CLOSES = 8, 19

CATEGORIES = {
    "neighbour": 22,
    "land": 14,
    "marriage_family": 12,
    "labour_wage": 12,
    "contract_debt": 9,
    "property_management": 8,
    "traffic": 8,
    "consumer": 5,
    "environment": 4,
    "other": 4,
    "medical": 2,
}
CHANNELS = {
    "grid_patrol": 34,
    "visit": 15,
    "hotline_12345": 15,
    "police_referral": 8,
    "online": 8,
    "petition_referral": 5,
    "department_transfer": 5,
    "court_referral": 5,
    "letter": 5,
}
DEPARTMENTS = {
    "labour_wage": "qingxi-hrss",
    "environment": "qingxi-ecoenv",
    "consumer": "qingxi-market",
    "property_management": "qingxi-housing",
    "land": "qingxi-natres",
    "medical": "qingxi-health",
}
# Where a case stalls ("" runs its whole course), as in the demo county.
STOPS = {
    "": 84,
    Status.HANDLING: 7,
    Status.CONCLUDED: 3,
    Status.ACCEPTED: 2,
    Status.DISPATCHED: 2,
    Status.REGISTERED: 2,
}
RESOLVE_DAYS = {"simple": 5.0, "ordinary": 7.0, "complex": 40.0}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ("建国", "志强", "伟", "秀英", "桂英", "丽", "芳", "国华", "海燕", "玉兰", "德胜", "红梅", "小龙", "春梅")
SUMMARIES = (
    "{a}家楼上卫生间漏水，致楼下{b}家天花板及墙面受损，双方就维修和赔偿发生争执",
    "{a}与{b}因宅基地界址不清发生争议，双方各执一词",
    "{a}反映{b}拖欠其工资{amount}元，多次讨要无果",
    "{a}称{b}借款{amount}元到期未还，双方就还款期限发生争执",
    "{a}与{b}因车辆剐蹭事故责任划分及维修费用发生争执",
    "{a}与{b}因赡养老人费用分担发生家庭矛盾",
)
# (name, user id, committee unit): all qualified, so any may be assigned.
MEDIATORS = (
    ("王桂芳", "med-bench-cg-1", "chengguan-pmc"),
    ("陈建国", "med-bench-cg-2", "chengguan-pmc"),
    ("刘志强", "med-bench-hk-1", "hekou-pmc"),
    ("赵秀英", "med-bench-hk-2", "hekou-pmc"),
    ("孙德明", "med-bench-sy-1", "shanyang-pmc"),
    ("郑卫东", "med-bench-sy-2", "shanyang-pmc"),
    ("周丽", "med-bench-traffic", "qingxi-traffic-mc"),
    ("吴海涛", "med-bench-env", "qingxi-env-mc"),
)


class _Stop(Exception):
    """The next step would lie after now: the case stays where it is."""


@dataclass
class DatasetSummary:
    """What was written."""

    cases: int = 0
    events: int = 0
    seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    mediator_cases: int = 0
    agreements: int = 0
    confirmations: int = 0
    first_position: int = 0
    last_position: int = 0
    # A sample spread over the dataset, for single-case reads: (id, first step, last step).
    samples: list[tuple[UUID, datetime, datetime]] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


class CountyGenerator:
    """Draws cases for the demo county's places and units, one ``Case`` aggregate at a time."""

    def __init__(self, ledger: CaseLedger, calendar: WorkCalendar, *, seed: int, now: datetime | None = None) -> None:
        self.ledger = ledger
        self.calendar = calendar
        self.rng = random.Random(seed)
        self.now = (now or datetime.now(UTC)).astimezone(CHINA_TZ)
        org = ledger.organisation
        self.grids = sorted(p for p, n in org.nodes.items() if n.level == "grid")
        if not self.grids:
            raise ValueError("the organisation has no grids; the read benchmark needs the demo county")
        self.mediators: dict[str, list[tuple[str, str, str]]] = {}  # committee → (id, user id, name)
        self.handler_names: dict[str, str] = {}
        self._seq = 0

    # -------------------------------------------------------------- helpers

    def _p(self, at: datetime) -> Provenance:
        self._seq += 1
        return Provenance(IMPORTER, at, f"bench-{self._seq}", True)

    def _uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def _office(self, when: datetime) -> datetime:
        local = when.astimezone(CHINA_TZ)
        if OFFICE_OPENS <= local.hour < OFFICE_CLOSES:
            return local
        day = local.date() + (timedelta(days=1) if local.hour >= OFFICE_CLOSES else timedelta(0))
        morning = datetime(day.year, day.month, day.day, OFFICE_OPENS, tzinfo=CHINA_TZ)
        return morning + timedelta(minutes=self.rng.uniform(0, 90))

    def _person(self, party_id: str, kind: str) -> Party:
        rng = self.rng
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
        body = f"431199{born:%Y%m%d}{rng.randrange(1000):03d}"
        return Party(
            party_id,
            rng.choice(SURNAMES) + rng.choice(GIVEN),
            kind,
            phone=f"13{rng.randrange(10**9):09d}",
            id_number=body + "X",
            address=f"清溪县{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号",
        )

    # -------------------------------------------------------------- mediators

    def mediator_aggregates(self) -> list[Aggregate]:
        """Qualified mediators (registered and qualified over a year ago), to save before any case."""
        found: list[Aggregate] = []
        base = self.now - YEAR - timedelta(days=60)
        org = self.ledger.organisation
        for i, (name, user_id, unit) in enumerate(MEDIATORS):
            committee = org.units[unit]
            mediator = Mediator.register(
                self._uuid(),
                self._p(base + timedelta(days=i)),
                name=name,
                user_id=user_id,
                organisation=committee.name,
                organisation_kind="people_mediation_committee",
                specialties=["邻里纠纷"],
                jurisdiction=committee.jurisdiction,
            )
            mediator.qualify(
                self._p(base + timedelta(days=i + 30)),
                examination="人民调解员联合考核",
                certificate_no=f"QXTJ-BENCH-{i + 1:03d}",
            )
            self.mediators.setdefault(unit, []).append((str(mediator.id), user_id, name))
            found.append(mediator)
        return found

    # -------------------------------------------------------------- one case

    def case(self, summary: DatasetSummary) -> Case:
        """One case, as far as its story has got by now."""
        rng = self.rng
        category = _weighted(rng, CATEGORIES)
        mediated = category in ("traffic", "environment", "medical") or rng.random() < 0.4
        mode = "mediator" if mediated else ("department" if category in DEPARTMENTS and rng.random() < 0.3 else "grid")
        stop = _weighted(rng, STOPS)
        difficulty = rng.choices(("simple", "ordinary", "complex"), weights=(30, 55, 15))[0]
        grid = rng.choice(self.grids)
        township, village = grid.split("/")[1], grid.split("/")[2]
        registered = self.now - timedelta(days=rng.uniform(0.02, 365.0))
        clock = [self._office(registered)]
        if clock[0] > self.now:
            clock[0] = self.now - timedelta(minutes=rng.uniform(5, 90))

        def after(hours: float) -> Provenance:
            when = self._office(clock[0] + timedelta(hours=max(hours, 0.05)))
            if when > self.now:
                raise _Stop
            clock[0] = when
            return self._p(when)

        amount = rng.randrange(5, 600) * 100 if category in ("labour_wage", "contract_debt", "traffic") else 0
        a, b = self._person("p1", "applicant"), self._person("p2", "respondent")
        case = Case.register(
            self._uuid(),
            self._p(clock[0]),
            channel=_weighted(rng, CHANNELS),
            category=category,
            summary=rng.choice(SUMMARIES).format(a=a.name, b=b.name, amount=amount),
            jurisdiction=grid,
            parties=[a, b],
            risk_color=rng.choices(("green", "yellow", "red"), weights=(65, 27, 8))[0],
            difficulty=difficulty,
            external_ref=f"BENCH-{summary.cases:07d}",
        )
        if mode == "mediator":
            summary.mediator_cases += 1
        with contextlib.suppress(_Stop):
            self._course(case, mode, stop, difficulty, township, village, amount, after, summary)
        return case

    def _course(
        self,
        case: Case,
        mode: str,
        stop: str,
        difficulty: str,
        township: str,
        village: str,
        amount: int,
        after: Callable[[float], Provenance],
        summary: DatasetSummary,
    ) -> None:
        rng = self.rng
        if rng.random() < 0.1:
            case.grade(after(rng.uniform(0.2, 3)), risk_color="red", difficulty=difficulty, reason="研判提升风险等级")
        if stop == Status.REGISTERED:
            return
        late = rng.random() < 0.25
        if mode == "mediator":
            unit = {"traffic": "qingxi-traffic-mc", "environment": "qingxi-env-mc"}.get(
                case.category, f"{township}-pmc"
            )
        elif mode == "department":
            unit = DEPARTMENTS[case.category]
        else:
            unit = f"{township}-{village}"
        case.dispatch(after(rng.uniform(48, 100) if late else rng.uniform(0.3, 6)), unit=unit, note="请依职责办理")
        if stop == Status.DISPATCHED:
            return
        case.accept(after(rng.uniform(48, 96) if rng.random() < 0.15 else rng.uniform(0.5, 20)))
        accepted_at = clock_of(case)
        if stop == Status.ACCEPTED:
            return
        hours = rng.uniform(40, 84) if rng.random() < 0.12 else rng.uniform(0.2, 6)
        if mode == "mediator":
            mediator_id, user_id, name = rng.choice(self.mediators.get(unit) or self.mediators["chengguan-pmc"])
            case.assign(
                after(hours), handler_id=user_id, handler_kind="mediator", handler_name=name, mediator_id=mediator_id
            )
        else:
            kind = "unit" if mode == "department" else "grid_worker"
            handler_id = f"{unit}-staff-{rng.randrange(1, 6)}"
            name = self.handler_names.setdefault(handler_id, rng.choice(SURNAMES) + rng.choice(GIVEN))
            case.assign(after(hours), handler_id=handler_id, handler_kind=kind, handler_name=name)
        span = RESOLVE_DAYS[difficulty]
        late_resolve = rng.random() < 0.2
        days = span + rng.uniform(1.5, 8) if late_resolve else span * rng.uniform(0.35, 0.9)
        target = max(accepted_at + timedelta(days=days), clock_of(case) + timedelta(hours=6))
        steps = 1 + rng.randrange(2) + (2 if mode == "mediator" else 0)
        each = max((target - clock_of(case)) / _HOUR / (steps + 1), 1.0)
        if stop == Status.HANDLING:
            steps = rng.randrange(0, steps + 1)
        agreed = False
        if mode == "mediator":
            case.notify_rights(after(each * rng.uniform(0.6, 1.3)), party_ids=["p1", "p2"], notes="已书面告知权利义务")
            for _ in range(max(steps - 2, 0)):
                case.hold_session(
                    after(each * rng.uniform(0.6, 1.3)), on_site=True, attendees=["p1", "p2"], notes="背靠背调解"
                )
            if stop == Status.HANDLING:
                return
            if rng.random() < 0.8:
                at = after(each * rng.uniform(0.6, 1.3))
                case.reach_agreement(
                    at,
                    terms="双方互谅互让，就此纠纷再无其他争议",
                    amount=f"{amount}.00" if amount else "0",
                    debtor_party_id="p2" if amount else "",
                    creditor_party_id="p1" if amount else "",
                    performance_due=(at.occurred_at + timedelta(days=30)).date().isoformat() if amount else "",
                    effective_on=at.occurred_at.isoformat(),
                )
                agreed = True
                summary.agreements += 1
            else:
                case.fail_mediation(
                    after(each * rng.uniform(0.6, 1.3)), advice=["litigation"], filed_with=COUNTY_CENTER_UNIT
                )
        else:
            for _ in range(steps):
                case.record_progress(after(each * rng.uniform(0.6, 1.3)), note="网格员上门走访核实，现场拍照留存")
            if stop == Status.HANDLING:
                return
        if agreed and rng.random() < 0.3:
            confirmation_id = case.apply_for_confirmation(
                after(rng.uniform(12, 96)), self.calendar, court=COURT_UNIT, applicant_party_ids=["p1", "p2"]
            )
            summary.confirmations += 1
            if rng.random() < 0.85:
                case.rule_on_confirmation(
                    after(rng.uniform(48, 240)),
                    confirmation_id=confirmation_id,
                    ruling="confirmed" if rng.random() < 0.9 else "rejected",
                    ruling_number=f"(2026)湘1199民特{summary.confirmations}号",
                )
        left = (target - clock_of(case)) / _HOUR
        if agreed or mode != "mediator":
            case.conclude(after(max(left, rng.uniform(0.5, 6))), outcome="resolved", note="矛盾纠纷已化解")
        else:
            case.conclude(after(max(left, 0.5)), outcome="unresolved_referred", referred_to="清溪县人民法院")
        for party in ("p1", "p2")[: 1 + (rng.random() < 0.6)]:
            satisfaction = rng.choices(("satisfied", "neutral", "dissatisfied"), weights=(78, 18, 4))[0]
            case.rate(after(rng.uniform(6, 72)), party_id=party, satisfaction=satisfaction, method="phone")
        if stop == Status.CONCLUDED:
            return
        case.complete_review(after(rng.uniform(24, 120)), result="verified", note="经复核，予以销项")
        if rng.random() < 0.25:
            case.visit(after(rng.uniform(48, 240)), method="phone", note="回访当事人，纠纷未反弹")
        if agreed and amount:
            case.record_performance(after(rng.uniform(24, 400)), performance="performed", note="已按协议足额履行")


def clock_of(case: Case) -> datetime:
    """When the case's last step happened."""
    return case.last_occurred_at


class DatasetWriter:
    """Writes cases in steps into one ledger (the mediators first), keeping a running summary."""

    def __init__(
        self,
        ledger: CaseLedger,
        *,
        seed: int = 2026,
        per_save: int = 200,
        sample_every: int = 50,
        now: datetime | None = None,
    ) -> None:
        self.ledger = ledger
        self.per_save = per_save
        self.sample_every = max(1, sample_every)
        self.generator = CountyGenerator(ledger, ledger.calendar(), seed=seed, now=now)
        self.summary = DatasetSummary(first_position=(ledger.recorder.max_notification_id() or 0) + 1)
        mediators = self.generator.mediator_aggregates()
        self.summary.events += sum(len(m.pending_events) for m in mediators)
        ledger.save(*mediators)

    def write(
        self,
        *,
        cases: int = 0,
        events: int = 0,
        progress: Callable[[DatasetSummary], None] | None = None,
    ) -> DatasetSummary:
        """Add cases until at least ``cases`` cases and ``events`` events are written in all."""
        summary = self.summary
        began = time.perf_counter()
        written_before = summary.seconds
        pending: list[Any] = []
        while summary.cases < cases or summary.events < events:
            case = self.generator.case(summary)
            if summary.cases % self.sample_every == 0:
                summary.samples.append((case.id, case.times[1], case.last_occurred_at))
            summary.cases += 1
            summary.statuses[case.status] += 1
            summary.events += len(case.pending_events)
            pending.append(case)
            if len(pending) >= self.per_save:
                self.ledger.save(*pending)
                pending = []
                summary.seconds = written_before + time.perf_counter() - began
                if progress is not None:
                    progress(summary)
        if pending:
            self.ledger.save(*pending)
        summary.last_position = self.ledger.recorder.max_notification_id() or 0
        summary.seconds = written_before + time.perf_counter() - began
        return summary
