"""一事一考评 and the county's figures on a small hand-made county (SPEC §5, §7).

Eight cases in two townships, recorded through ``CaseLedger`` step by step on a clock the
test moves, then projected by the worker. Every expected number below is computed by hand in
the comments (S, T, E and 0.4·S + 0.3·T + 0.3·E for each case; counts and rates for each
township and the county), so the views are checked against arithmetic, not against the code.

The period is May 2026 in China time: [1 May 00:00, 1 June 00:00) CST. May 1–5 are the
Labour Day holidays and Sat 9 May a make-up working day; from 11 May on, weeks are plain
(Mon–Fri working, Sat–Sun rest). "Now" is Mon 1 June 2026, 10:00 CST.

| case | township | story |
|---|---|---|
| A | 城关 chengguan | perfect: every step on time, mediated, agreement performed, both satisfied |
| B | 城关 | dispatched late and resolved three working days late; satisfied and neutral |
| C | 城关 | rated dissatisfied, reopened, concluded again, then both satisfied |
| D | 城关 | agreement (performance pending); one party satisfied, one dissatisfied |
| H | 城关 | registered in April, concluded 6 May: on time only by the rest-day rule (CPL art. 85) |
| E | 河口 hekou | concluded on time and never rated (pending review) |
| F | 河口 | mediation failed, parties advised to sue, filed with the county, referred to the court |
| G | 河口 | still being handled, its resolution deadline passed on 25 May: overdue now |
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import pytest

from api.deps import Services
from api.routes.stats import rankings
from api.security import TokenService
from application.ledger import Caller, CaseLedger
from application.projections.projector import VIEWS
from domain.values import Actor, Party
from infrastructure.bootstrap import build_integrity, build_ledger, build_views, organisation_data
from infrastructure.settings import Settings
from infrastructure.views.queries import CaseFilter, Scope, ViewQueries
from infrastructure.views.store import ViewStore
from infrastructure.worker import ProjectionWorker
from tests.unit.application.support import Clock, cst, end_of

CHENGGUAN = "qingxi/chengguan"
HEKOU = "qingxi/hekou"
MAY = (cst(2026, 5, 1, 0), cst(2026, 6, 1, 0))
APRIL = (cst(2026, 4, 1, 0), cst(2026, 5, 1, 0))
NOW = cst(2026, 6, 1, 10)
PARTIES = [
    Party("p1", "张三", "applicant", phone="13800000001"),
    Party("p2", "李四", "respondent", phone="13800000002"),
]
COUNTY = Caller(Actor("cc-zheng", "county_center", "qingxi-center", "qingxi"))


def caller(user_id: str, role: str, unit: str, jurisdiction: str) -> Caller:
    return Caller(Actor(user_id, role, unit, jurisdiction))


@dataclass
class Township:
    """The people of one township who record its cases."""

    grid_path: str
    village_unit: str
    center: Caller
    village: Caller
    grid_worker: Caller
    mediator: Caller
    mediator_id: str = ""


def chengguan() -> Township:
    return Township(
        grid_path="qingxi/chengguan/dongguan/grid-01",
        village_unit="chengguan-dongguan",
        center=caller("tc-zhou", "township_center", "chengguan-center", CHENGGUAN),
        village=caller("vil-qian", "unit", "chengguan-dongguan", "qingxi/chengguan/dongguan"),
        grid_worker=caller("gw-zhao", "grid_worker", "chengguan-dongguan", "qingxi/chengguan/dongguan/grid-01"),
        mediator=caller("med-wang", "mediator", "chengguan-pmc", CHENGGUAN),
    )


def hekou() -> Township:
    return Township(
        grid_path="qingxi/hekou/shahe/grid-01",
        village_unit="hekou-shahe",
        center=caller("tc-wu", "township_center", "hekou-center", HEKOU),
        village=caller("vil-he", "unit", "hekou-shahe", "qingxi/hekou/shahe"),
        grid_worker=caller("gw-he", "grid_worker", "hekou-shahe", "qingxi/hekou/shahe/grid-01"),
        mediator=caller("med-liu", "mediator", "hekou-pmc", HEKOU),
    )


class Recorder:
    """Records the steps of the hand-made county, each at the moment it happened."""

    def __init__(self, ledger: CaseLedger, clock: Clock) -> None:
        self.ledger = ledger
        self.clock = clock

    def at(self, when: datetime) -> CaseLedger:
        self.clock.set(when)
        return self.ledger

    def qualify(self, t: Township, name: str, organisation: str) -> None:
        mediator = self.ledger.register_mediator(
            t.center,
            name=name,
            user_id=t.mediator.actor.user_id,
            organisation=organisation,
            organisation_kind="people_mediation_committee",
            specialties=["neighbour", "contract_debt"],
            jurisdiction=t.center.actor.jurisdiction,
        )
        self.ledger.qualify_mediator(UUID(mediator.id), COUNTY, examination="2026年联合考核", certificate_no=name)
        t.mediator_id = mediator.id

    def open(self, t: Township, registered: datetime, dispatched: datetime, accepted: datetime) -> UUID:
        """制单, 派单, 接单 (each done by the township center and the village)."""
        case_id = UUID(
            self.at(registered)
            .register_case(
                t.center,
                channel="grid_patrol",
                category="neighbour",
                summary="邻里排水沟堵塞引发争执",
                jurisdiction=t.grid_path,
                parties=PARTIES,
                risk_color="yellow",
                difficulty="ordinary",
            )
            .id
        )
        self.at(dispatched).dispatch(case_id, t.center, unit=t.village_unit)
        self.at(accepted).accept(case_id, t.village)
        return case_id

    def assign_grid_worker(self, t: Township, case_id: UUID, when: datetime) -> None:
        worker = t.grid_worker.actor.user_id
        self.at(when).assign(case_id, t.village, handler_id=worker, handler_kind="grid_worker", handler_name=worker)

    def assign_mediator(self, t: Township, case_id: UUID, when: datetime) -> None:
        self.at(when).assign(case_id, t.village, handler_kind="mediator", mediator_id=t.mediator_id)

    def mediate(self, t: Township, case_id: UUID, notified: datetime, session: datetime) -> None:
        self.at(notified).notify_rights(case_id, t.mediator, party_ids=["p1", "p2"], notes="告知权利义务")
        self.at(session).hold_session(case_id, t.mediator, on_site=True, attendees=["张三", "李四"], notes="现场调解")

    def rate(self, t: Township, case_id: UUID, when: datetime, **satisfaction: str) -> None:
        for party_id, value in satisfaction.items():
            self.at(when).rate(case_id, t.center, party_id=party_id, satisfaction=value, method="phone")

    def close(self, t: Township, case_id: UUID, when: datetime) -> None:
        self.at(when).complete_review(case_id, t.center, result="verified")


def record_county(ledger: CaseLedger, clock: Clock) -> dict[str, UUID]:
    """The eight cases of the table above; the comments give each step's deadline."""
    r = Recorder(ledger, clock)
    cg, hk = chengguan(), hekou()
    clock.set(cst(2026, 4, 20))
    r.qualify(cg, "王调解", "城关镇人民调解委员会")
    r.qualify(hk, "刘调解", "河口镇人民调解委员会")
    cases: dict[str, UUID] = {}

    # H: registered Mon 27 Apr. Dispatch and acceptance due 24:00 Tue 28 Apr, assignment 24:00
    # Wed 29 Apr. Resolution: 7 days from Tue 28 Apr end on Tue 5 May, a rest day (1–5 May),
    # so the period ends at 24:00 of the next working day, Wed 6 May. Concluded 6 May 16:00.
    h = cases["H"] = r.open(cg, cst(2026, 4, 27, 9), cst(2026, 4, 27, 10), cst(2026, 4, 28, 9))
    r.assign_grid_worker(cg, h, cst(2026, 4, 28, 10))
    r.at(cst(2026, 5, 6, 16)).conclude(h, cg.grid_worker, outcome="resolved")
    r.rate(cg, h, cst(2026, 5, 7), p1="satisfied")  # p2 could not be reached
    r.close(cg, h, cst(2026, 5, 8))

    # A: registered Mon 11 May 09:00; dispatch, acceptance and assignment all due 24:00 Tue 12 May;
    # resolution due 24:00 Mon 18 May (7 days from 11 May). Agreement 12 May, performed 13 May.
    a = cases["A"] = r.open(cg, cst(2026, 5, 11, 9), cst(2026, 5, 11, 10), cst(2026, 5, 11, 11))
    r.assign_mediator(cg, a, cst(2026, 5, 11, 14))
    r.mediate(cg, a, cst(2026, 5, 12, 9), cst(2026, 5, 12, 10))
    r.at(cst(2026, 5, 12, 11)).reach_agreement(
        a, cg.mediator, terms="疏通排水沟，费用各半", amount="600", debtor_party_id="p2", creditor_party_id="p1"
    )
    r.at(cst(2026, 5, 13, 10)).record_performance(a, cg.mediator, performance="performed")
    r.at(cst(2026, 5, 13, 11)).conclude(a, cg.mediator, outcome="resolved")
    r.rate(cg, a, cst(2026, 5, 14), p1="satisfied", p2="satisfied")
    r.close(cg, a, cst(2026, 5, 15))

    # B: registered Mon 11 May; dispatch due 24:00 Tue 12 May, done Wed 13 May 09:00 (late).
    # Accepted 13 May: resolution due 24:00 Wed 20 May; concluded Mon 25 May (late).
    b = cases["B"] = r.open(cg, cst(2026, 5, 11, 9, 30), cst(2026, 5, 13, 9), cst(2026, 5, 13, 10))
    r.assign_grid_worker(cg, b, cst(2026, 5, 13, 11))
    r.at(cst(2026, 5, 25, 10)).conclude(b, cg.grid_worker, outcome="resolved")
    r.rate(cg, b, cst(2026, 5, 26), p1="satisfied", p2="neutral")
    r.close(cg, b, cst(2026, 5, 27))

    # C: accepted Tue 12 May, resolution due 24:00 Tue 19 May; concluded Thu 14 May. Rated
    # dissatisfied by p1 on Fri 15 May and reopened: the new resolution period runs 7 days from
    # 15 May, to 24:00 Fri 22 May; concluded again Wed 20 May, then both satisfied.
    c = cases["C"] = r.open(cg, cst(2026, 5, 12, 9), cst(2026, 5, 12, 10), cst(2026, 5, 12, 11))
    r.assign_grid_worker(cg, c, cst(2026, 5, 12, 14))
    r.at(cst(2026, 5, 14, 10)).conclude(c, cg.grid_worker, outcome="resolved")
    r.rate(cg, c, cst(2026, 5, 15, 10), p1="dissatisfied", p2="satisfied")
    r.at(cst(2026, 5, 15, 11)).reopen(c, cg.center, reason="当事人不满意，重新办理")
    r.at(cst(2026, 5, 20, 10)).conclude(c, cg.grid_worker, outcome="resolved")
    r.rate(cg, c, cst(2026, 5, 21), p1="satisfied", p2="satisfied")
    r.close(cg, c, cst(2026, 5, 22))

    # D: accepted Wed 13 May, resolution due 24:00 Wed 20 May; agreement Fri 15 May, to be
    # performed by 30 June (nothing recorded yet); concluded Mon 18 May.
    d = cases["D"] = r.open(cg, cst(2026, 5, 13, 9), cst(2026, 5, 13, 9, 30), cst(2026, 5, 13, 10))
    r.assign_mediator(cg, d, cst(2026, 5, 13, 10, 30))
    r.mediate(cg, d, cst(2026, 5, 15, 10), cst(2026, 5, 15, 11))
    r.at(cst(2026, 5, 15, 15)).reach_agreement(
        d,
        cg.mediator,
        terms="分期赔偿维修费",
        amount="5000",
        debtor_party_id="p2",
        creditor_party_id="p1",
        performance_due="2026-06-30",
    )
    r.at(cst(2026, 5, 18, 10)).conclude(d, cg.mediator, outcome="resolved")
    r.rate(cg, d, cst(2026, 5, 19), p1="satisfied", p2="dissatisfied")
    r.close(cg, d, cst(2026, 5, 20))

    # E: accepted Mon 11 May, resolution due 24:00 Mon 18 May; concluded Fri 15 May; no rating.
    e = cases["E"] = r.open(hk, cst(2026, 5, 11, 10), cst(2026, 5, 11, 11), cst(2026, 5, 11, 14))
    r.assign_grid_worker(hk, e, cst(2026, 5, 11, 15))
    r.at(cst(2026, 5, 15, 10)).conclude(e, hk.grid_worker, outcome="resolved")

    # F: accepted Tue 12 May, resolution due 24:00 Tue 19 May; mediation failed Fri 15 May (advised
    # to sue, filed with the county center); concluded Mon 18 May, referred to the county court.
    f = cases["F"] = r.open(hk, cst(2026, 5, 12, 9), cst(2026, 5, 12, 10), cst(2026, 5, 12, 11))
    r.assign_mediator(hk, f, cst(2026, 5, 12, 14))
    r.mediate(hk, f, cst(2026, 5, 13, 10), cst(2026, 5, 14, 10))
    r.at(cst(2026, 5, 15, 10)).fail_mediation(
        f, hk.mediator, advice=["litigation"], filed_with="清溪县矛盾纠纷多元化解中心", note="双方分歧过大"
    )
    r.at(cst(2026, 5, 18, 10)).conclude(f, hk.mediator, outcome="unresolved_referred", referred_to="清溪县人民法院")
    r.rate(hk, f, cst(2026, 5, 19), p1="neutral", p2="dissatisfied")
    r.close(hk, f, cst(2026, 5, 20))

    # G: accepted Mon 18 May, resolution due 24:00 Mon 25 May; still being handled on 1 June.
    g = cases["G"] = r.open(hk, cst(2026, 5, 18, 9), cst(2026, 5, 18, 10), cst(2026, 5, 18, 11))
    r.assign_grid_worker(hk, g, cst(2026, 5, 18, 14))
    r.at(cst(2026, 5, 22, 10)).record_progress(g, hk.grid_worker, note="双方仍在协商")

    clock.set(NOW)
    return cases


@dataclass
class County:
    ledger: CaseLedger
    store: ViewStore
    queries: ViewQueries
    cases: dict[str, UUID]


@pytest.fixture
def county(backend_settings: Settings) -> Iterator[County]:
    """The hand-made county on each backend, projected by the worker."""
    clock = Clock(cst(2026, 4, 20))
    ledger = build_ledger(backend_settings, clock=clock.now)
    store = build_views(backend_settings)
    try:
        cases = record_county(ledger, clock)
        ProjectionWorker(ledger, store).catch_up()
        assert store.positions() == dict.fromkeys(VIEWS, ledger.recorder.max_notification_id())
        yield County(ledger, store, ViewQueries(store.db), cases)
    finally:
        store.db.close()
        ledger.close()


def figures(county: County, period: tuple[datetime, datetime], group: str, **kwargs: Any) -> dict[str, Any]:
    rows = county.queries.figures(Scope(None), start=period[0], end=period[1], group=group, now=NOW, **kwargs)
    return {row["key"]: row for row in rows}


FIGURES = (
    "registered",
    "registered_concluded",
    "concluded",
    "mediated",
    "mediated_successfully",
    "on_time",
    "ratings",
    "ratings_satisfied",
    "scored",
    "overdue_now",
    "open_now",
    "success_rate",
    "completion_rate",
    "on_time_rate",
    "satisfaction_rate",
    "mean_score",
)


def pick(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in FIGURES}


def test_each_case_scores_as_computed_by_hand(county: County) -> None:
    """SPEC §5: S, T, E and 0.4·S + 0.3·T + 0.3·E of every concluded case, with its grade."""
    expected = {
        # A: S = (100 + 100)/2 = 100; T = 100; E = 100 (agreement performed)
        #    0.4·100 + 0.3·100 + 0.3·100 = 40 + 30 + 30 = 100.0
        "A": (100.0, 100.0, 100.0, 100.0, "优秀", False),
        # B: S = (100 + 60)/2 = 80; T = 100 − 10 (dispatch late) − 10 (resolution late) − 2·3 (late on
        #    the working days Thu 21, Fri 22, Mon 25 May) = 74; E = 100 (resolved)
        #    0.4·80 + 0.3·74 + 0.3·100 = 32 + 22.2 + 30 = 84.2
        "B": (80.0, 74.0, 100.0, 84.2, "良好", False),
        # C: S = the latest rating of each party, (100 + 100)/2 = 100; T = 100 (both rounds on time);
        #    E = 100 (resolved) − 20 (reopened after a dissatisfied rating) = 80
        #    0.4·100 + 0.3·100 + 0.3·80 = 40 + 30 + 24 = 94.0
        "C": (100.0, 100.0, 80.0, 94.0, "优秀", False),
        # D: S = (100 + 0)/2 = 50; T = 100; E = 80 (agreement, performance pending)
        #    0.4·50 + 0.3·100 + 0.3·80 = 20 + 30 + 24 = 74.0 (below 75: 合格)
        "D": (50.0, 100.0, 80.0, 74.0, "合格", False),
        # H: S = 100 (the one party rated); T = 100 (resolution due 24:00 6 May, done 16:00 6 May);
        #    E = 100 (resolved): 0.4·100 + 0.3·100 + 0.3·100 = 100.0
        "H": (100.0, 100.0, 100.0, 100.0, "优秀", False),
        # E: S = 60 (no rating, flagged unrated); T = 100; E = 100
        #    0.4·60 + 0.3·100 + 0.3·100 = 24 + 30 + 30 = 84.0
        "E": (60.0, 100.0, 100.0, 84.0, "良好", True),
        # F: S = (60 + 0)/2 = 30; T = 100; E = 50 (mediation failed, advised, filed and referred)
        #    0.4·30 + 0.3·100 + 0.3·50 = 12 + 30 + 15 = 57.0
        "F": (30.0, 100.0, 50.0, 57.0, "不合格", False),
    }

    got = {}
    for name, case_id in county.cases.items():
        evaluation = county.queries.evaluation(str(case_id))
        row = county.queries.case_row(str(case_id))
        assert row is not None
        if evaluation is None:
            got[name] = None
            continue
        data = evaluation["evaluation"]
        assert (
            (row["score"], row["grade"]) == (data["score"], data["grade"]) == (evaluation["score"], evaluation["grade"])
        )
        got[name] = (
            data["satisfaction"],
            data["timeliness"],
            data["effect"],
            data["score"],
            data["grade"],
            data["unrated"],
        )

    assert got == {**expected, "G": None}  # G is not concluded, so not scored


def test_may_figures_per_township_and_for_the_county_are_as_computed_by_hand(county: County) -> None:
    """SPEC §5 roll-ups for May 2026: counts, the four rates and the mean score."""
    chengguan = {
        # A, B, C, D registered in May (H on 27 April); all four concluded.
        "registered": 4,
        "registered_concluded": 4,
        # concluded in May: H (6 May), A (13), D (18), C (20, its latest conclusion), B (25)
        "concluded": 5,
        # mediation ended in May: A (agreement 12 May), D (agreement 15 May)
        "mediated": 2,
        "mediated_successfully": 2,
        # of the five concluded, only B had a step late
        "on_time": 4,
        # ratings of the concluded cases: A 2 + B 2 + H 1 + C 4 (both rounds) + D 2 = 11;
        # satisfied: A 2 + B 1 + H 1 + C 3 + D 1 = 8
        "ratings": 11,
        "ratings_satisfied": 8,
        "scored": 5,
        "overdue_now": 0,
        "open_now": 0,
        "success_rate": 1.0,  # 2 / 2
        "completion_rate": 1.0,  # 4 / 4
        "on_time_rate": 0.8,  # 4 / 5
        "satisfaction_rate": 0.7273,  # 8 / 11 = 0.72727…
        "mean_score": 90.4,  # (100.0 + 84.2 + 94.0 + 74.0 + 100.0) / 5 = 452.2 / 5 = 90.44
    }
    hekou = {
        "registered": 3,  # E, F, G
        "registered_concluded": 2,  # E, F
        "concluded": 2,
        "mediated": 1,  # F (failed 15 May)
        "mediated_successfully": 0,
        "on_time": 2,
        "ratings": 2,  # F: neutral, dissatisfied; E unrated
        "ratings_satisfied": 0,
        "scored": 2,
        "overdue_now": 1,  # G: resolution due 24:00 25 May, still handling on 1 June
        "open_now": 1,  # G (E is concluded, awaiting review)
        "success_rate": 0.0,  # 0 / 1
        "completion_rate": 0.6667,  # 2 / 3 = 0.66666…
        "on_time_rate": 1.0,  # 2 / 2
        "satisfaction_rate": 0.0,  # 0 / 2
        "mean_score": 70.5,  # (84.0 + 57.0) / 2 = 141.0 / 2
    }
    county_totals = {
        "registered": 7,  # 4 + 3
        "registered_concluded": 6,  # 4 + 2
        "concluded": 7,  # 5 + 2
        "mediated": 3,  # 2 + 1
        "mediated_successfully": 2,
        "on_time": 6,  # 4 + 2
        "ratings": 13,  # 11 + 2
        "ratings_satisfied": 8,
        "scored": 7,
        "overdue_now": 1,
        "open_now": 1,
        "success_rate": 0.6667,  # 2 / 3
        "completion_rate": 0.8571,  # 6 / 7 = 0.857142…
        "on_time_rate": 0.8571,  # 6 / 7
        "satisfaction_rate": 0.6154,  # 8 / 13 = 0.615384…
        "mean_score": 84.7,  # (452.2 + 141.0) / 7 = 593.2 / 7 = 84.742…
    }

    by_township = figures(county, MAY, "township")
    by_county = figures(county, MAY, "county")
    totals = figures(county, MAY, "scope")

    assert {key: pick(row) for key, row in by_township.items()} == {CHENGGUAN: chengguan, HEKOU: hekou}
    assert {key: pick(row) for key, row in by_county.items()} == {"qingxi": county_totals}
    assert pick(totals[None]) == county_totals


def test_completion_counts_a_case_concluded_after_its_registration_period(county: County) -> None:
    """SPEC §5 办结率: April's one registration (H) counts as completed though it was concluded in May."""
    april = figures(county, APRIL, "township")

    assert pick(april[CHENGGUAN]) == {
        "registered": 1,  # H, 27 April
        "registered_concluded": 1,  # H, concluded 6 May
        "concluded": 0,  # nothing was concluded in April
        "mediated": 0,
        "mediated_successfully": 0,
        "on_time": 0,
        "ratings": 0,
        "ratings_satisfied": 0,
        "scored": 0,
        "overdue_now": 0,
        "open_now": 0,
        "success_rate": None,  # 0 / 0
        "completion_rate": 1.0,  # 1 / 1
        "on_time_rate": None,
        "satisfaction_rate": None,
        "mean_score": None,
    }
    # 河口 registered nothing before May; "now" figures do not depend on the period: G is open and overdue.
    assert {k: v for k, v in pick(april[HEKOU]).items() if v} == {"overdue_now": 1, "open_now": 1}


def test_figures_as_of_mid_may_are_as_computed_by_hand(county: County) -> None:
    """SPEC §7 time travel: as of 24:00 Fri 15 May only what had happened by then counts."""
    as_of = end_of(2026, 5, 15)

    # 城关 then: A closed (concluded 13 May, 100.0); B handling (dispatched late, resolution due 20 May);
    # C reopened on 15 May, so not concluded; D handling with its agreement of 15 May; H closed (100.0).
    # 河口 then: E concluded 15 May (84.0, unrated); F handling after its failed mediation; G not registered.
    chengguan = {
        "registered": 4,  # A, B, C, D
        "registered_concluded": 1,  # A
        "concluded": 2,  # A, H
        "mediated": 2,  # A, D
        "mediated_successfully": 2,
        "on_time": 2,
        "ratings": 3,  # A 2, H 1 (C's ratings belong to a case no longer concluded)
        "ratings_satisfied": 3,
        "scored": 2,
        "overdue_now": 0,  # B due 20 May, C 22 May, D 20 May
        "open_now": 3,  # B, C, D
        "success_rate": 1.0,
        "completion_rate": 0.25,  # 1 / 4
        "on_time_rate": 1.0,  # 2 / 2
        "satisfaction_rate": 1.0,  # 3 / 3
        "mean_score": 100.0,  # (100.0 + 100.0) / 2
    }
    hekou = {
        "registered": 2,  # E, F
        "registered_concluded": 1,  # E
        "concluded": 1,
        "mediated": 1,  # F
        "mediated_successfully": 0,
        "on_time": 1,
        "ratings": 0,
        "ratings_satisfied": 0,
        "scored": 1,
        "overdue_now": 0,  # F due 19 May
        "open_now": 1,  # F
        "success_rate": 0.0,
        "completion_rate": 0.5,  # 1 / 2
        "on_time_rate": 1.0,
        "satisfaction_rate": None,  # no rating yet
        "mean_score": 84.0,
    }

    got = figures(county, MAY, "township", as_of=as_of)

    assert {key: pick(row) for key, row in got.items()} == {CHENGGUAN: chengguan, HEKOU: hekou}


def test_rankings_by_mean_score_put_the_best_first(county: County, backend_settings: Settings) -> None:
    """SPEC §5, §8 rankings: townships and handlers by mean score for May, highest first."""
    settings = backend_settings.model_copy(update={"jwt_secret": "figures-test-signing-key-" + "x" * 40})
    services = Services(
        settings=settings,
        ledger=county.ledger,
        tokens=TokenService(settings),
        organisation=organisation_data(None),
        views=county.store,
        queries=county.queries,
        worker=ProjectionWorker(county.ledger, county.store),
        integrity=build_integrity(settings, county.store),
    )
    reader = Actor("cc-zheng", "county_center", "qingxi-center", "qingxi")

    def ranked(level: str) -> list[tuple[int | None, str | None, str | None, float | None]]:
        rows = rankings(services, reader, None, level=level, start=date(2026, 5, 1), end=date(2026, 5, 31))  # type: ignore[arg-type]
        return [(row.rank, row.key, row.label, row.mean_score) for row in rows]

    # 城关 90.4 (see the May figures) before 河口 70.5; 山阳 recorded nothing.
    assert ranked("township") == [(1, CHENGGUAN, "城关镇", 90.4), (2, HEKOU, "河口镇", 70.5)]
    # gw-zhao: B 84.2, C 94.0, H 100.0 → 278.2 / 3 = 92.73…; med-wang: A 100.0, D 74.0 → 87.0;
    # gw-he: E 84.0 (G is not scored); med-liu: F 57.0
    assert [(rank, key, mean) for rank, key, _, mean in ranked("handler")] == [
        (1, "gw-zhao", 92.7),
        (2, "med-wang", 87.0),
        (3, "gw-he", 84.0),
        (4, "med-liu", 57.0),
    ]


def test_only_the_case_past_its_deadline_is_listed_as_overdue(county: County) -> None:
    """SPEC §7 overdue flag: on 1 June only G (resolution due 24:00 25 May) is overdue."""
    page = county.queries.list_cases(Scope(None), CaseFilter(overdue=True), now=NOW)

    assert [row["case_id"] for row in page.items] == [str(county.cases["G"])]
    assert (page.items[0]["next_due_kind"], page.items[0]["next_due_at"]) == (
        "resolve",
        "2026-05-25T16:00:00.000000+00:00",
    )
    assert page.items[0]["overdue"] is True
