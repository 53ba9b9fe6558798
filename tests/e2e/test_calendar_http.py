"""Deadlines on China's working-day calendar, as the HTTP API shows them (SPEC §4).

The clock is the real one, so these cases are brought in by the importer (back-dated) or
reach into 2027, a year whose schedule the bundled data (2004–2026) does not cover.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.e2e.support import IMPORTER, TOWNSHIP, VILLAGE, VILLAGE_UNIT, Api, case_body


def _deadline(case: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [d for d in case["deadlines"] if d["kind"] == kind]
    assert len(found) == 1, case["deadlines"]
    return found[0]


def test_the_national_day_holiday_is_not_counted_as_working_days(api: Api) -> None:
    """SPEC §4: registered 30 Sept 2026, the next working day is 8 Oct (1–7 Oct are the holiday)."""
    response = api.post(IMPORTER, "/cases", case_body(occurred_at="2026-09-30T10:00:00+08:00"))
    assert response.status_code == 201, response.text
    case_id = response.json()["case_id"]
    api.ok(IMPORTER, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT, "occurred_at": "2026-10-08T16:00:00+08:00"})

    dispatch = _deadline(api.case(case_id), "dispatch")
    assert dispatch["started_at"] == "2026-09-30T10:00:00+08:00"
    assert dispatch["due_at"] == "2026-10-09T00:00:00+08:00"
    assert dispatch["done_at"] == "2026-10-08T16:00:00+08:00"
    assert dispatch["status"] == "met"
    assert dispatch["provisional"] is False
    assert dispatch["period"] == {"days": 1, "clock": "working_days", "label": "1个工作日"}
    accept = _deadline(api.case(case_id), "accept")
    assert accept["due_at"] == "2026-10-10T00:00:00+08:00"  # 9 Oct, a Friday
    assert accept["status"] == "missed"


def test_a_dispatch_on_the_first_day_after_the_holiday_would_be_late_on_the_day_after(api: Api) -> None:
    """SPEC §4: 24:00 of the N-th working day; 9 Oct is one working day too many."""
    response = api.post(IMPORTER, "/cases", case_body(occurred_at="2026-09-30T10:00:00+08:00"))
    case_id = response.json()["case_id"]
    api.ok(IMPORTER, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT, "occurred_at": "2026-10-09T08:30:00+08:00"})
    case = api.case(case_id)
    assert _deadline(case, "dispatch")["status"] == "missed"
    assert case["overdue"] is True


def test_a_deadline_in_a_year_without_a_schedule_is_provisional(api: Api) -> None:
    """SPEC §4: beyond the loaded data a deadline counts weekends only and is marked provisional."""
    case_id = api.register(difficulty="complex")
    api.ok(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT})
    api.ok(VILLAGE, f"/cases/{case_id}/accept")

    case = api.case(case_id)
    assert 2027 not in case["calendar_years"]
    assert 2026 in case["calendar_years"]
    resolve = _deadline(case, "resolve")
    assert resolve["period"] == {"days": 30, "clock": "working_days", "label": "30个工作日"}
    assert datetime.fromisoformat(resolve["due_at"]).year >= 2027
    assert resolve["provisional"] is True
    assert resolve["status"] == "open"
    assert case["overdue"] is False


def test_an_extension_into_the_next_year_is_provisional_too(api: Api) -> None:
    """SPEC §4: an approved extension is counted on the same calendar, provisional beyond 2026."""
    case_id = api.to("handling")
    api.ok(TOWNSHIP, f"/cases/{case_id}/extension", {"extra_days": 60, "reason": "需等待司法鉴定"})
    resolve = _deadline(api.case(case_id), "resolve")
    assert datetime.fromisoformat(resolve["due_at"]).year >= 2027
    assert resolve["provisional"] is True
    assert resolve["original_due_at"] is not None
