"""The demo county loader: every stage, met and missed deadlines, imported events, idempotent, repeatable."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application.ledger import CaseLedger
from domain.case import Case, Status
from domain.case_deadlines import case_deadlines
from domain.values import Role
from infrastructure.bootstrap import build_ledger
from infrastructure.demo import COURT_UNIT, IMPORTER, demo_case_ids, id_check_digit, id_number_valid, load_demo
from infrastructure.settings import Settings

CASES = 60
SEED = 2026
REGISTERED_TOPIC = "domain.case:Case.Registered"


@dataclass
class Loaded:
    ledger: CaseLedger
    summary: dict[str, int | str]


def notifications(ledger: CaseLedger) -> list[Any]:
    return list(ledger.recorder.select_notifications(start=1, limit=1_000_000))


def registered_ids(ledger: CaseLedger) -> list[UUID]:
    """Ids of the cases in the ledger, in the order they were registered."""
    return [n.originator_id for n in notifications(ledger) if n.topic == REGISTERED_TOPIC]


def cases_of(ledger: CaseLedger) -> list[Case]:
    return [ledger.get_case(case_id) for case_id in registered_ids(ledger)]


def events_of(ledger: CaseLedger) -> list[Any]:
    return [event for case_id in registered_ids(ledger) for event in ledger.case_events(case_id, IMPORTER)]


@pytest.fixture(scope="module")
def loaded() -> Iterator[Loaded]:
    """One demo county of 60 cases on the in-memory store, shared by this module's tests."""
    ledger = build_ledger(Settings(backend="memory"))
    try:
        yield Loaded(ledger, load_demo(ledger, cases=CASES, seed=SEED))
    finally:
        ledger.close()


def test_summary_counts_what_was_loaded(loaded: Loaded) -> None:
    summary = loaded.summary
    assert summary["status"] == "loaded"
    assert summary["cases"] == CASES == len(registered_ids(loaded.ledger))
    assert summary["events"] == len(notifications(loaded.ledger))
    assert sum(int(summary[f"{code} {label}"]) for code, label in Status.LABELS.items()) == CASES
    assert summary["mediators"] == 9


def test_every_status_occurs(loaded: Loaded) -> None:
    statuses = Counter(case.status for case in cases_of(loaded.ledger))
    assert set(statuses) == set(Status.LABELS), statuses
    for code, label in Status.LABELS.items():
        assert loaded.summary[f"{code} {label}"] == statuses[code]


def test_some_deadlines_are_met_and_some_missed(loaded: Loaded) -> None:
    ledger = loaded.ledger
    calendar, now = ledger.calendar(), ledger.clock()
    outcomes = Counter(
        (deadline.kind, deadline.status)
        for case in cases_of(ledger)
        for deadline in case_deadlines(case, calendar, now)
    )
    for kind in ("dispatch", "accept", "resolve"):
        assert outcomes[(kind, "met")] > 0, kind
        assert outcomes[(kind, "missed")] > 0, kind
    # Most dispatches happen within the working day.
    assert outcomes[("dispatch", "met")] > 2 * outcomes[("dispatch", "missed")]
    missed = sum(count for (_, status), count in outcomes.items() if status == "missed")
    assert loaded.summary["deadlines missed"] == missed


def test_case_events_are_imported_except_the_courts_own_rulings(loaded: Loaded) -> None:
    events = events_of(loaded.ledger)
    rulings = [e for e in events if type(e).__name__ == "JudicialConfirmationRuled"]
    others = [e for e in events if type(e).__name__ != "JudicialConfirmationRuled"]
    assert others
    assert all(e.imported and e.actor == IMPORTER for e in others)
    # The court cannot back-date, so it posts its rulings itself, as the court addressed.
    assert {e.ruling for e in rulings} == {"confirmed", "rejected"}
    assert all(not e.imported and e.actor.role == Role.COURT and e.actor.unit == COURT_UNIT for e in rulings)


def test_steps_are_in_order_and_not_in_the_future(loaded: Loaded) -> None:
    ledger = loaded.ledger
    now = ledger.clock()
    for case_id in registered_ids(ledger):
        times = [event.occurred_at for event in ledger.case_events(case_id, IMPORTER)]
        assert times == sorted(times)
        assert times[-1] <= now
        assert now - times[0] < timedelta(days=125)


def test_every_kind_of_step_occurs(loaded: Loaded) -> None:
    names = Counter(type(event).__name__ for event in events_of(loaded.ledger))
    for name in (
        "Graded",
        "Returned",
        "Transferred",
        "Escalated",
        "DeadlineExtended",
        "EntryCorrected",
        "ProgressRecorded",
        "MediatorChosen",
        "RightsNotified",
        "AppraisalCompleted",
        "MediationSessionHeld",
        "UndisputedFactsRecorded",
        "ProposalAccepted",
        "ProposalObjected",
        "AgreementReached",
        "MediationFailed",
        "SatisfactionRated",
        "Reopened",
        "PerformanceRecorded",
        "FollowUpVisited",
        "JudicialConfirmationApplied",
        "JudicialConfirmationRuled",
        "PaymentOrderApplied",
    ):
        assert names[name] > 0, name
    cases = cases_of(loaded.ledger)
    satisfaction = Counter(r["satisfaction"] for case in cases for r in case.ratings)
    assert set(satisfaction) == {"satisfied", "neutral", "dissatisfied"}
    reopen_reasons = {r["reason"] for case in cases for r in case.reopenings}
    assert reopen_reasons == {"dissatisfied", "rectification"}
    failures = [case.mediation_failure for case in cases if case.mediation_failure]
    assert all(f["advice"] and f["filed_with"] == "qingxi-center" for f in failures)


def test_parties_have_plausible_phones_and_valid_id_numbers(loaded: Loaded) -> None:
    assert id_check_digit("11010519491231002") == "X"  # the standard's own example
    assert id_number_valid("11010519491231002X")
    assert not id_number_valid("110105194912310021")
    parties = [
        party
        for case in cases_of(loaded.ledger)
        for party in loaded.ledger.reveal_parties(case.id, case.parties.values())
    ]
    people = [p for p in parties if p.id_number]
    assert len(people) > CASES
    for party in parties:
        assert len(party.phone) == 11 and party.phone.isdigit() and party.phone.startswith("1")
    for person in people:
        assert len(person.id_number) == 18 and id_number_valid(person.id_number)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in case.summary) for case in cases_of(loaded.ledger))


def test_one_mediator_lost_the_qualification_after_three_valid_complaints(loaded: Loaded) -> None:
    ledger = loaded.ledger
    mediator_ids = {n.originator_id for n in notifications(ledger) if n.topic == "domain.mediator:Mediator.Registered"}
    mediators = [ledger.get_mediator(m) for m in mediator_ids]
    ended = [m for m in mediators if sum(bool(c["valid"]) for c in m.complaints.values()) >= 3]
    assert len(ended) == 1 and not ended[0].qualified
    assert sum(m.qualified for m in mediators) == loaded.summary["qualified mediators"] == len(mediators) - 2
    ended_events = [n for n in notifications(ledger) if n.topic == "domain.mediator:Mediator.QualificationEnded"]
    assert len(ended_events) == 1
    assert json.loads(ended_events[0].state)["complaint_ids"]


def test_loading_twice_records_nothing_new(loaded: Loaded) -> None:
    ledger = loaded.ledger
    before = ledger.recorder.max_notification_id()
    again = load_demo(ledger, cases=CASES, seed=SEED)
    assert again["status"] == "already loaded"
    assert ledger.recorder.max_notification_id() == before


def test_the_same_seed_gives_the_same_case_ids(loaded: Loaded) -> None:
    ids = registered_ids(loaded.ledger)
    assert ids == demo_case_ids(SEED, CASES)
    other = build_ledger(Settings(backend="memory"))
    try:
        load_demo(other, cases=CASES, seed=SEED)
        assert registered_ids(other) == ids
        assert [c.summary for c in cases_of(other)] == [c.summary for c in cases_of(loaded.ledger)]
    finally:
        other.close()
    assert set(demo_case_ids(SEED + 1, CASES)).isdisjoint(ids)


def test_refuses_an_organisation_other_than_the_demo_county(tmp_path: Path) -> None:
    org_file = tmp_path / "org.json"
    org_file.write_text(json.dumps({"county": {"code": "elsewhere", "name": "别县"}, "units": []}), "utf-8")
    ledger = build_ledger(Settings(backend="memory", org_file=org_file))
    try:
        with pytest.raises(ValueError, match="demo county"):
            load_demo(ledger, cases=5)
        assert not ledger.recorder.max_notification_id()
    finally:
        ledger.close()
