"""Idempotency keys, optimistic concurrency and imports over HTTP (SPEC §6, §8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.support import (
    IMPORTER,
    TOWNSHIP,
    VILLAGE,
    VILLAGE_UNIT,
    Api,
    assert_problem,
    case_body,
)


def test_a_repeated_registration_replays_the_first_response_and_records_nothing(api: Api) -> None:
    """SPEC §8: a retried request with the same Idempotency-Key records nothing twice."""
    first = api.post(TOWNSHIP, "/cases", case_body(), idempotency_key="reg-7f3a")
    assert first.status_code == 201, first.text
    assert "idempotency-replayed" not in first.headers

    with api.records_nothing(first.json()["case_id"]):
        again = api.post(TOWNSHIP, "/cases", case_body(), idempotency_key="reg-7f3a")

    assert again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert again.json()["case_id"] == first.json()["case_id"]
    assert again.json()["version"] == first.json()["version"] == 1


def test_a_replay_returns_the_same_body(api: Api) -> None:
    """SPEC §8 / the issue: a repeated Idempotency-Key replays the first response — the same body."""
    first = api.post(TOWNSHIP, "/cases", case_body(), idempotency_key="reg-same-body")
    again = api.post(TOWNSHIP, "/cases", case_body(), idempotency_key="reg-same-body")
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()


def test_a_repeated_command_replays_and_records_nothing(api: Api) -> None:
    """SPEC §8: the same key on a case command replays its reply, even after the case moved on."""
    case_id = api.register()
    first = api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}, idempotency_key="disp-1")
    assert first.status_code == 200, first.text
    api.ok(VILLAGE, f"/cases/{case_id}/accept")

    with api.records_nothing(case_id):
        again = api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}, idempotency_key="disp-1")

    assert again.status_code == 200, again.text
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json()["version"] == 2
    assert again.headers["etag"] == '"2"'
    assert api.event_types(case_id) == ["CaseRegistered", "CaseDispatched", "CaseAccepted"]


def test_idempotency_keys_belong_to_the_user_who_sent_them(api: Api) -> None:
    """Two users choosing the same key do not replay each other's responses."""
    first = api.post(TOWNSHIP, "/cases", case_body(), idempotency_key="shared-key")
    other = api.post(
        VILLAGE, "/cases", case_body(jurisdiction="qingxi/chengguan/dongguan"), idempotency_key="shared-key"
    )
    assert other.status_code == 201, other.text
    assert "idempotency-replayed" not in other.headers
    assert other.json()["case_id"] != first.json()["case_id"]


def test_two_commands_on_the_same_version_first_wins_second_is_412(api: Api) -> None:
    """SPEC §8: If-Match with the version for optimistic concurrency."""
    case_id = api.register()
    assert api.case(case_id)["version"] == 1
    first = api.post(
        TOWNSHIP,
        f"/cases/{case_id}/grading",
        {"risk_color": "red", "difficulty": "complex", "reason": "涉众"},
        if_match=1,
    )
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == '"2"'

    with api.records_nothing(case_id):
        second = api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}, if_match=1)
        problem = assert_problem(second, 412, "version-mismatch")
    assert problem["current_version"] == 2
    assert second.headers["etag"] == '"2"'

    retried = api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}, if_match=second.headers["etag"])
    assert retried.status_code == 200, retried.text
    assert api.case(case_id)["county_flagged"] is True


def test_a_weak_etag_is_accepted_as_if_match(api: Api) -> None:
    """If-Match may carry the ETag as sent (quoted, or weak)."""
    case_id = api.register()
    assert api.post(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": VILLAGE_UNIT}, if_match='W/"1"').status_code == 200


def test_an_importers_back_dated_events_are_marked_imported(api: Api) -> None:
    """SPEC §6/§9: the importer brings in paper records; its events are marked imported."""
    registered_at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    response = api.post(IMPORTER, "/cases", case_body(occurred_at=registered_at.isoformat()))
    assert response.status_code == 201, response.text
    case_id = response.json()["case_id"]
    api.ok(
        IMPORTER,
        f"/cases/{case_id}/dispatch",
        {"unit": VILLAGE_UNIT, "occurred_at": (registered_at + timedelta(hours=3)).isoformat()},
    )
    api.ok(VILLAGE, f"/cases/{case_id}/accept")

    events = api.events(case_id)
    assert [(e["type"], e["imported"]) for e in events] == [
        ("CaseRegistered", True),
        ("CaseDispatched", True),
        ("CaseAccepted", False),
    ]
    assert events[0]["occurred_at"] == "2026-03-02T17:30:00+08:00"
    assert events[0]["actor"]["role"] == "importer"
    assert datetime.fromisoformat(events[0]["recorded_at"]) > datetime.fromisoformat(
        events[0]["occurred_at"]
    ) + timedelta(days=200)
    case = api.case(case_id)
    assert case["imported"] is True
    assert case["registered_at"] == "2026-03-02T17:30:00+08:00"
