"""Read side over HTTP: scoring policies, evaluations, lists, time travel, read-your-writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.support import (
    ADMIN,
    COUNTY,
    COURT,
    OTHER_TOWNSHIP,
    OVERSIGHT,
    TOWNSHIP,
    Api,
    assert_problem,
    case_body,
)


def test_a_concluded_case_is_scored_under_v1_with_every_contribution_traced(api: Api) -> None:
    """SPEC §5: the evaluation lists each contribution and the ledger positions behind it."""
    case_id = api.to("closed")
    events = {e["version"]: e["position"] for e in api.events(case_id)}

    evaluation = api.ok_get(TOWNSHIP, f"/cases/{case_id}/evaluation", min_position=api.head())

    # Both parties satisfied (S=100), all on time (T=100), resolved without agreement (E=100).
    assert (evaluation["score"], evaluation["grade"], evaluation["policy"]) == (100.0, "优秀", "v1")
    assert evaluation["recorded"] is True
    for contribution in evaluation["contributions"]:
        assert contribution["positions"] == [events[v] for v in contribution["versions"]]


def test_a_what_if_policy_rescoring_records_nothing(api: Api) -> None:
    """SPEC §5: any case can be re-scored under another policy without changing anything."""
    case_id = api.to("concluded")  # no ratings: S = 60 (unrated)
    effective = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    api.ok(COUNTY, "/policies", {"policy": {"name": "v2", "unrated_points": 80}, "effective_from": effective})
    head = api.head()

    what_if = api.ok_get(TOWNSHIP, f"/cases/{case_id}/evaluation", policy="v2", min_position=head)
    recorded = api.ok_get(TOWNSHIP, f"/cases/{case_id}/evaluation")

    # v1: 0.4*60 + 0.3*100 + 0.3*100 = 84.0; v2 counts an unrated case as 80: 32 + 30 + 30 = 92.0
    assert (recorded["score"], recorded["policy"], recorded["unrated"]) == (84.0, "v1", True)
    assert (what_if["score"], what_if["policy"], what_if["recorded"]) == (92.0, "v2", False)
    assert api.head() == head


def test_a_policy_takes_effect_only_for_cases_concluded_after_its_date(api: Api) -> None:
    """SPEC §5: the score of a case uses the policy in force at its conclusion."""
    earlier = api.to("concluded")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    api.ok(COUNTY, "/policies", {"policy": {"name": "strict", "unrated_points": 0}, "effective_from": past})
    later = api.to("concluded")

    assert api.ok_get(TOWNSHIP, f"/cases/{earlier}/evaluation", min_position=api.head())["policy"] == "v1"
    assert api.ok_get(TOWNSHIP, f"/cases/{later}/evaluation")["policy"] == "strict"


def test_only_the_county_center_adopts_a_policy(api: Api) -> None:
    """SPEC §5/§9: adopting a policy is the county center's decision."""
    body = {"policy": {"name": "v9"}, "effective_from": "2027-01-01T00:00:00+08:00"}
    assert_problem(api.post(TOWNSHIP, "/policies", body), 403, "forbidden")
    assert_problem(
        api.post(COUNTY, "/policies", {**body, "policy": {"name": "v9", "bogus": 1}}), 422, "invalid-command"
    )


def test_a_case_appears_in_the_list_as_soon_as_its_position_is_reached(api: Api) -> None:
    """Read your writes: a list read with min_position never misses the command just answered."""
    reply = api.ok(TOWNSHIP, "/cases", case_body())
    page = api.ok_get(TOWNSHIP, "/cases", min_position=reply["position"], limit=200)
    assert reply["case_id"] in [item["case_id"] for item in page["items"]]
    assert page["views_position"] >= reply["position"]


def test_lists_never_show_another_townships_cases(api: Api) -> None:
    """SPEC §9: a township sees its own cases only."""
    ours = api.register()
    reply = api.ok(OTHER_TOWNSHIP, "/cases", case_body(jurisdiction="qingxi/hekou/shahe/grid-01"))
    theirs = api.ok_get(OTHER_TOWNSHIP, "/cases", min_position=reply["position"])
    mine = api.ok_get(TOWNSHIP, "/cases")
    assert [i["case_id"] for i in theirs["items"]] == [reply["case_id"]]
    assert ours in [i["case_id"] for i in mine["items"]] and reply["case_id"] not in [
        i["case_id"] for i in mine["items"]
    ]


def test_a_court_reads_no_case_list(api: Api) -> None:
    """SPEC §9: a court sees the confirmation records addressed to it, nothing else."""
    assert_problem(api.get(COURT, "/cases"), 403, "forbidden")
    assert_problem(api.get(COURT, "/stats/overview"), 403, "forbidden")


def test_a_case_as_of_a_past_moment_shows_the_state_and_deadlines_then(api: Api) -> None:
    """Time travel: GET /cases/{id}?as_of= gives the case as it stood then."""
    case_id = api.register()
    registered = api.case(case_id)["registered_at"]
    api.ok(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": "chengguan-dongguan"})

    then = api.ok_get(TOWNSHIP, f"/cases/{case_id}", as_of=registered)
    now = api.case(case_id)

    assert (then["status"], then["version"], now["status"], now["version"]) == ("registered", 1, "dispatched", 2)
    assert [d["kind"] for d in then["deadlines"]] == ["dispatch"] and then["deadlines"][0]["status"] == "open"


def test_waiting_for_views_that_do_not_catch_up_is_503(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read your writes is bounded: views that do not reach the position in time answer 503."""
    monkeypatch.setattr(api.app.state.services.settings, "read_wait_seconds", 0.2)
    api.app.state.services.worker.stop()  # the views stop following the ledger
    reply = api.ok(TOWNSHIP, "/cases", case_body())
    assert_problem(api.get(TOWNSHIP, "/cases", min_position=reply["position"]), 503, "views-behind")


def test_a_position_past_the_ledger_head_is_refused_at_once(api: Api) -> None:
    """A min_position the ledger has not reached cannot be waited for: 422, not a wait."""
    assert_problem(api.get(TOWNSHIP, "/cases", min_position=10**9), 422, "invalid-command")


def test_every_read_of_case_data_is_logged_with_who_and_why(api: Api) -> None:
    """SPEC §9/issue: every read of case data is recorded (who, what, when, why) and oversight reads it."""
    case_id = api.register()
    reason = "%E7%BA%AA%E6%A3%80%E6%A0%B8%E6%9F%A5"  # 纪检核查, percent-encoded
    response = api.client.get(f"/api/v1/cases/{case_id}", headers={**api.auth(COUNTY), "X-Access-Reason": reason})
    assert response.status_code == 200
    api.get(ADMIN, f"/cases/{case_id}")  # refused (403), and recorded all the same

    head = int(api.app.state.services.ledger.recorder.max_notification_id())
    response = api.client.get(
        "/api/v1/access-log",
        params={"path": f"/api/v1/cases/{case_id}", "min_position": head},
        headers=api.auth(OVERSIGHT),
    )
    assert response.status_code == 200, response.text
    log = response.json()["items"]

    by_user = {entry["user_id"]: entry for entry in log}
    assert by_user[COUNTY.user]["reason"] == "纪检核查"
    assert by_user[COUNTY.user]["path"] == f"/api/v1/cases/{case_id}"
    assert ADMIN.user in by_user


def test_only_oversight_reads_the_access_log(api: Api) -> None:
    """SPEC §9: the discipline bodies read the access log; others are refused."""
    assert_problem(api.get(COUNTY, "/access-log"), 403, "forbidden")
