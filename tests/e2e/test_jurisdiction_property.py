"""No list, figure or report shows a reader anything outside their jurisdiction (SPEC §9).

Hypothesis draws a small set of cases spread over the demo county (清溪县) at every level of
the jurisdiction tree (the county itself, a township, a village, a grid), each brought to a
random stage by the importer (who may back-date, so cases fall on different days and some
are overdue), and one to three readers: the center of a township, a village unit, a grid
worker of a grid, the county center. For every reader, with ``min_position`` at the ledger's
head so the embedded projection worker has caught up:

* ``GET /api/v1/cases``, every page: exactly the drawn cases inside the reader's jurisdiction;
* ``GET /api/v1/court/confirmations``, every page: exactly the confirmation records of those;
* ``GET /api/v1/stats/overview`` and ``/rankings``: totals and groups recounted over those;
* ``GET /api/v1/reports/{daily,weekly,monthly}``: the totals, the ``by_township`` rows, the
  overdue and the red case lists and their counts, recounted over those.

What is true of each case (its overdue flag, status, registration time) is read once from the
oversight body's unscoped list, which must itself hold every drawn case; the property is that
each scoped answer is that truth restricted to the reader's jurisdiction.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.main import create_app
from domain.calendar import CHINA_TZ
from domain.values import Category, Channel, Difficulty, jurisdiction_contains
from infrastructure.bootstrap import organisation_data
from infrastructure.settings import Settings
from tests.e2e.support import COUNTY, COURT_UNIT, IMPORTER, JWT_SECRET, OVERSIGHT, PARTY_IDS, Api, Who, open_client

# ---------------------------------------------------------------------------- the demo county

_ORG = organisation_data(None)


def _places() -> dict[str, list[str]]:
    levels: dict[str, list[str]] = {"county": [], "township": [], "village": [], "grid": []}
    names = tuple(levels)

    def walk(item: dict[str, Any], parent: str, depth: int) -> None:
        path = f"{parent}/{item['code']}" if parent else item["code"]
        levels[names[depth]].append(path)
        for child in item.get("children", []):
            walk(child, path, depth + 1)

    walk(_ORG["county"], "", 0)
    return levels


PLACES = _places()
COUNTY_PATH = PLACES["county"][0]
UNIT_OF: dict[str, str] = {  # the unit that covers a place and accepts its cases
    u["jurisdiction"]: u["unit_id"] for u in _ORG["units"] if u["kind"] in ("village", "township_center")
}
DEPARTMENT = next(u["unit_id"] for u in _ORG["units"] if u["kind"] == "department")
STAGES = ("registered", "dispatched", "accepted", "handling", "submitted", "concluded", "closed")
REPORTS = {"daily": 1, "weekly": 7, "monthly": 31}


def covering_unit(path: str) -> str:
    """The village unit for a village or grid, the township center for a township, else a department."""
    parts = path.split("/")
    for depth in (3, 2):
        if len(parts) >= depth and "/".join(parts[:depth]) in UNIT_OF:
            return UNIT_OF["/".join(parts[:depth])]
    return DEPARTMENT


def reader_for(level: str, path: str) -> Who:
    code = path.replace("/", "-")
    if level == "township":
        return Who(f"tc-{code}", "township_center", UNIT_OF[path], path)
    if level == "village":
        return Who(f"v-{code}", "unit", UNIT_OF[path], path)
    return Who(f"gw-{code}", "grid_worker", covering_unit(path), path)


# ---------------------------------------------------------------------------- strategies


@dataclass(frozen=True)
class Drawn:
    place: str
    stage: str
    minutes_ago: int
    risk_color: str
    category: str
    channel: str
    difficulty: str


places = st.one_of(
    st.sampled_from(PLACES["grid"]),
    st.sampled_from(PLACES["village"]),
    st.sampled_from(PLACES["township"]),
    st.just(COUNTY_PATH),
)
cases = st.lists(
    st.builds(
        Drawn,
        place=places,
        stage=st.sampled_from(STAGES),
        # three hours to seventy days ago: the steps that follow are twenty minutes apart
        minutes_ago=st.integers(180, 70 * 24 * 60),
        risk_color=st.sampled_from(["red", "yellow", "green"]),
        category=st.sampled_from([str(c) for c in Category]),
        channel=st.sampled_from([str(c) for c in Channel]),
        difficulty=st.sampled_from([str(d) for d in Difficulty]),
    ),
    min_size=1,
    max_size=7,
)
readers = st.lists(
    st.one_of(
        st.sampled_from(PLACES["township"]).map(lambda p: reader_for("township", p)),
        st.sampled_from(PLACES["village"]).map(lambda p: reader_for("village", p)),
        st.sampled_from(PLACES["grid"]).map(lambda p: reader_for("grid", p)),
        st.just(COUNTY),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda w: w.jurisdiction,
)


# ---------------------------------------------------------------------------- driving the ledger


@contextmanager
def fresh_api() -> Iterator[Api]:
    """A new app on the in-memory store, its lifespan (and projection worker) running."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            backend="memory",
            jwt_secret=JWT_SECRET,
            data_dir=Path(tmp) / "data",
            log_level="WARNING",
            read_wait_seconds=30,
        )
        app = create_app(settings)
        with open_client(app) as client:
            yield Api(app, client)


def _at(moment: datetime) -> str:
    return moment.astimezone(CHINA_TZ).isoformat()


def bring_in(api: Api, drawn: Drawn, now: datetime, mediator_id: str) -> str:
    """Import one case from paper records, back-dated, up to its drawn stage."""
    when = now - timedelta(minutes=drawn.minutes_ago)
    step = timedelta(minutes=20)
    wanted = STAGES.index(drawn.stage)

    def ok(path: str, body: dict[str, Any]) -> dict[str, Any]:
        nonlocal when
        when += step
        return api.ok(IMPORTER, path, {**body, "occurred_at": _at(when)})

    reply = api.ok(
        IMPORTER,
        "/cases",
        {
            "channel": drawn.channel,
            "category": drawn.category,
            "summary": "纸质台账补录的纠纷",
            "jurisdiction": drawn.place,
            "risk_color": drawn.risk_color,
            "difficulty": drawn.difficulty,
            "parties": [
                {"party_id": "p1", "name": "张三", "kind": "applicant"},
                {"party_id": "p2", "name": "李四", "kind": "respondent"},
            ],
            "occurred_at": _at(when),
        },
    )
    case_id: str = reply["case_id"]
    c = f"/cases/{case_id}"
    if wanted >= STAGES.index("dispatched"):
        ok(f"{c}/dispatch", {"unit": covering_unit(drawn.place)})
    if wanted >= STAGES.index("accepted"):
        ok(f"{c}/accept", {})
    if drawn.stage == "submitted":
        ok(f"{c}/assign", {"handler_kind": "mediator", "mediator_id": mediator_id})
        ok(f"{c}/mediation/notice", {"party_ids": PARTY_IDS})
        ok(
            f"{c}/mediation/agreement",
            {"terms": "李四赔偿张三1000元", "amount": "1000", "debtor_party_id": "p2", "creditor_party_id": "p1"},
        )
        ok(f"{c}/judicial-confirmation", {"court": COURT_UNIT, "applicant_party_ids": PARTY_IDS})
        return case_id
    if wanted >= STAGES.index("handling"):
        ok(f"{c}/assign", {"handler_kind": "grid_worker", "handler_id": "gw-paper", "handler_name": "补录网格员"})
    if wanted >= STAGES.index("concluded"):
        ok(f"{c}/conclusion", {"outcome": "resolved", "note": "已化解"})
    if wanted >= STAGES.index("closed"):
        for party_id in PARTY_IDS:
            ok(f"{c}/ratings", {"party_id": party_id, "satisfaction": "satisfied", "method": "visit"})
        ok(f"{c}/review", {"result": "verified", "note": "准予销项"})
    return case_id


def all_pages(api: Api, who: Who, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        page = api.ok_get(who, path, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise AssertionError(f"{path} never ran out of pages")


# ---------------------------------------------------------------------------- recounting


def cst_day(stamp: str) -> date:
    day: date = datetime.fromisoformat(stamp).astimezone(CHINA_TZ).date()
    return day


def period(kind: str, day: date) -> tuple[date, date]:
    """The day; its Monday–Sunday week; its calendar month (both ends inclusive)."""
    if kind == "daily":
        return day, day
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def overdue_now(item: dict[str, Any]) -> bool:
    return bool(item["overdue"]) and item["status"] != "closed"


def township_of(path: str) -> str | None:
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) >= 2 else None


def check_reader(
    api: Api, who: Who, truth: dict[str, dict[str, Any]], submitted: set[str], today: date, data: Any
) -> None:
    """Every scoped answer to ``who`` is ``truth`` restricted to ``who``'s jurisdiction."""
    at = api.head()
    inside = {cid: item for cid, item in truth.items() if jurisdiction_contains(who.jurisdiction, item["jurisdiction"])}
    label = f"{who.role} {who.jurisdiction}"

    # ---- the case list, every page
    listed = all_pages(api, who, "/cases", limit=3, min_position=at)
    assert [i["case_id"] for i in listed if i["case_id"] not in inside] == [], f"{label}: list shows outsiders"
    assert {i["case_id"] for i in listed} == set(inside), f"{label}: list misses insiders"
    assert len(listed) == len(inside), f"{label}: a case listed twice"

    # ---- the court's confirmation records, every page
    records = all_pages(api, who, "/court/confirmations", limit=2, min_position=at)
    for record in records:
        assert jurisdiction_contains(who.jurisdiction, record["jurisdiction"]), (label, record["jurisdiction"])
    assert {r["case_id"] for r in records} == submitted & set(inside), f"{label}: confirmation records"

    # ---- the overview and the rankings over a period that holds every case
    start = (today - timedelta(days=80)).isoformat()
    span = {"from": start, "to": today.isoformat(), "min_position": at}
    overview = api.ok_get(who, "/stats/overview", group="township", **span)
    totals = overview["totals"]
    assert totals["registered"] == len(inside), (label, totals)
    assert totals["open_now"] == sum(i["status"] not in ("concluded", "closed") for i in inside.values()), label
    assert totals["overdue_now"] == sum(overdue_now(i) for i in inside.values()), label
    assert sum(g["registered"] for g in overview["groups"]) == len(inside), (label, overview["groups"])
    townships_inside = {township_of(i["jurisdiction"]) for i in inside.values()}
    for group in overview["groups"]:
        assert (group["key"] or None) in townships_inside, (label, group)

    by_unit = api.ok_get(who, "/stats/overview", group="unit", **span)["groups"]
    units_inside = {i["accepted_unit"] or None for i in inside.values()}
    for group in by_unit:
        assert (group["key"] or None) in units_inside, (label, group)

    ranked_townships = api.ok_get(who, "/rankings", level="township", **span)
    assert {g["key"] for g in ranked_townships} <= townships_inside, (label, ranked_townships)
    assert sum(g["registered"] for g in ranked_townships) == sum(
        township_of(i["jurisdiction"]) is not None for i in inside.values()
    ), label
    ranked_units = api.ok_get(who, "/rankings", level="unit", **span)
    assert {g["key"] for g in ranked_units} <= units_inside, (label, ranked_units)
    assert sum(g["registered"] for g in ranked_units) == sum(bool(i["accepted_unit"]) for i in inside.values()), label

    # ---- the reports: on a day of one of the cases, or today
    days = sorted({cst_day(i["registered_at"]) for i in truth.values()} | {today})
    day = data.draw(st.sampled_from(days), label="report day")
    overdue_ids = {cid for cid, i in inside.items() if overdue_now(i)}
    for kind in REPORTS:
        first, last = period(kind, day)
        in_period = {cid for cid, i in inside.items() if first <= cst_day(i["registered_at"]) <= last}
        report = api.ok_get(who, f"/reports/{kind}", date=day.isoformat(), min_position=at)
        where = f"{label}: {kind} report of {day}"
        assert report["jurisdiction"] == who.jurisdiction, where
        assert report["totals"]["registered"] == len(in_period), (where, report["totals"])
        assert sum(row["registered"] for row in report["by_township"]) == len(in_period), (where, report["by_township"])
        for row in report["by_township"]:
            if row["registered"] or row["open_now"]:
                assert (row["key"] or None) in townships_inside, (where, row)
        assert {c["case_id"] for c in report["overdue"]} == overdue_ids, where
        assert report["overdue_count"] == len(overdue_ids), where
        red = {cid for cid in in_period if inside[cid]["risk_color"] == "red"}
        assert {c["case_id"] for c in report["red_cases"]} == red, where
        assert report["red_count"] == len(red), where
        for listed_case in (*report["overdue"], *report["red_cases"]):
            assert jurisdiction_contains(who.jurisdiction, listed_case["jurisdiction"]), (where, listed_case)


# ---------------------------------------------------------------------------- the property


def register_mediator(api: Api) -> str:
    """A county-wide mediator, qualified, for the cases mediated to a confirmation application."""
    reply = api.ok(
        COUNTY,
        "/mediators",
        {
            "name": "补录调解员",
            "user_id": "med-paper",
            "organisation": "县人民调解委员会",
            "organisation_kind": "people_mediation_committee",
            "jurisdiction": COUNTY_PATH,
        },
    )
    mediator_id: str = reply["mediator_id"]
    api.ok(COUNTY, f"/mediators/{mediator_id}/qualification", {"examination": "2026年度人民调解员联合考核"})
    return mediator_id


def the_truth(api: Api, at: int) -> dict[str, dict[str, Any]]:
    """Every case as the oversight body (unscoped) sees it."""
    return {i["case_id"]: i for i in all_pages(api, OVERSIGHT, "/cases", limit=200, min_position=at)}


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(drawn=cases, who=readers, data=st.data())
def test_no_reader_sees_a_case_outside_their_jurisdiction(drawn: list[Drawn], who: list[Who], data: Any) -> None:
    with fresh_api() as api:
        now = api.app.state.services.ledger.clock()
        mediator_id = ""
        if any(d.stage == "submitted" for d in drawn):
            mediator_id = register_mediator(api)
        ids = [bring_in(api, d, now, mediator_id) for d in drawn]
        submitted = {cid for cid, d in zip(ids, drawn, strict=True) if d.stage == "submitted"}
        head = api.head()
        truth = the_truth(api, head)
        assert set(truth) == set(ids), "the oversight body's list is not every case"
        for cid, d in zip(ids, drawn, strict=True):
            assert truth[cid]["jurisdiction"] == d.place
        today = now.astimezone(CHINA_TZ).date()
        try:
            for reader in who:
                check_reader(api, reader, truth, submitted, today, data)
        except AssertionError:
            # A deadline passing while the readers read changes the truth: such a draw says nothing.
            later = the_truth(api, head)
            assume({c: overdue_now(i) for c, i in later.items()} == {c: overdue_now(i) for c, i in truth.items()})
            raise
