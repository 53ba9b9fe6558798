"""Parties' personal data over HTTP (SPEC §6, §9, §10; REFERENCES "Privacy").

Every response shows the parties decrypted and then masked by role: the roles that work the
case with the parties (grid worker, unit, mediator, township center) see them in full; the
county center and oversight see the surname, the first 3 and last 4 digits of a phone and
the first 4 and last 4 characters of an ID number, and no address; a court sees in full the
parties of the confirmation records addressed to it. Lists are found by ID number or phone
through keyed tokens, which is also all the access log keeps of such a search. Erasure takes
two officials; afterwards the party reads ``[已删除]`` everywhere. Nothing personal reaches
the log output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from api.schemas.case_view import mask_digits
from application.privacy import DAMAGED, ERASED
from tests.e2e.support import (
    COUNTY,
    COURT,
    COURT_UNIT,
    GRID_WORKER,
    MEDIATOR,
    OTHER_TOWNSHIP,
    OVERSIGHT,
    PARTY_IDS,
    TOWNSHIP,
    VILLAGE,
    Api,
    Who,
    assert_problem,
    case_body,
)

ROOT = Path(__file__).resolve().parents[2]
OUYANG = {
    "party_id": "p1",
    "name": "欧阳春花",
    "kind": "applicant",
    "phone": "13912345678",
    "id_number": "11010519491231002X",
    "address": "幸福路8号3栋",
}
SIMA = {
    "party_id": "p2",
    "name": "司马秋实",
    "kind": "respondent",
    "phone": "15887654321",
    "id_number": "44030419850512341X",
    "address": "和平里二巷5号",
}
PARTIES = [OUYANG, SIMA]
PERSONAL = ("name", "phone", "id_number", "address")
FULL_READERS = (GRID_WORKER, VILLAGE, MEDIATOR, TOWNSHIP)
MASKED_READERS = (COUNTY, OVERSIGHT)
SECOND_OFFICIAL = Who("tw-ma", "township_center", "chengguan-center", "qingxi/chengguan")


def personal(party: dict[str, Any]) -> dict[str, str]:
    return {field: party[field] for field in PERSONAL}


def masked(party: dict[str, Any]) -> dict[str, str]:
    return {
        "name": party["name"][0] + "*" * (len(party["name"]) - 1),
        "phone": mask_digits(party["phone"], 3, 4),
        "id_number": mask_digits(party["id_number"], 4, 4),
        "address": "",
    }


def shown(parties: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {p["party_id"]: personal(p) for p in parties}


def registered_parties(api: Api, case_id: str, who: Who) -> list[dict[str, Any]]:
    events = api.events(case_id, who)
    assert events[0]["type"] == "CaseRegistered"
    parties: list[dict[str, Any]] = events[0]["data"]["parties"]
    return parties


def no_personal_data(text: str, *parties: dict[str, Any]) -> list[str]:
    return [p[f] for p in parties for f in PERSONAL if p[f] in text]


def in_mediation(api: Api) -> str:
    """A case of ``PARTIES`` in a mediator's hands, the parties notified of their rights."""
    mediator_id = api.register_mediator()
    case_id = api.to("handling", handler="mediator", mediator_id=mediator_id, parties=PARTIES)
    api.ok(MEDIATOR, f"/cases/{case_id}/mediation/notice", {"party_ids": PARTY_IDS})
    return case_id


def to_confirmation(api: Api, terms: str = "双方各让一步，通道按现状保留") -> tuple[str, int]:
    """A case with an agreement submitted to the county court; its id and the ledger position reached."""
    case_id = in_mediation(api)
    api.ok(MEDIATOR, f"/cases/{case_id}/mediation/agreement", {"terms": terms})
    reply = api.ok(
        MEDIATOR, f"/cases/{case_id}/judicial-confirmation", {"court": COURT_UNIT, "applicant_party_ids": PARTY_IDS}
    )
    return case_id, reply["position"]


def stored_text(api: Api) -> str:
    """Every stored event and every view row, as text."""
    services = api.app.state.services
    stored = [n.state.decode() for n in services.ledger.recorder.select_notifications(start=1, limit=10_000)]
    for table in services.views.db.query("SELECT name FROM sqlite_master WHERE type = 'table'"):
        stored += [
            json.dumps(row, ensure_ascii=False) for row in services.views.db.query(f"SELECT * FROM {table['name']}")
        ]
    return "\n".join(stored)


# ---------------------------------------------------------------------- masking


def test_the_case_shows_parties_in_full_or_masked_by_role(api: Api) -> None:
    """SPEC §9/§10: those who work with the parties see them; the county center and oversight see them masked."""
    case_id = api.register(parties=PARTIES)

    for who in FULL_READERS:
        body = api.case(case_id, who)
        assert shown(body["parties"]) == {"p1": personal(OUYANG), "p2": personal(SIMA)}, who.role
        assert not any(p["masked"] for p in body["parties"])
    for who in MASKED_READERS:
        body = api.case(case_id, who)
        assert shown(body["parties"]) == {"p1": masked(OUYANG), "p2": masked(SIMA)}, who.role
        assert shown(body["parties"])["p1"]["id_number"] == "1101**********002X"
        assert shown(body["parties"])["p1"]["phone"] == "139****5678"
        assert all(p["masked"] for p in body["parties"])
        assert no_personal_data(json.dumps(body, ensure_ascii=False), OUYANG, SIMA) == []


def test_the_audit_trail_shows_parties_decrypted_and_masked_by_role(api: Api) -> None:
    """The audit trail's registration shows the parties as the case does, never their ciphertext."""
    case_id = api.register(parties=PARTIES)

    assert shown(registered_parties(api, case_id, TOWNSHIP)) == {"p1": personal(OUYANG), "p2": personal(SIMA)}
    for who in MASKED_READERS:
        response = api.get(who, f"/cases/{case_id}/events")
        assert shown(registered_parties(api, case_id, who))["p1"] == masked(OUYANG)
        assert "enc:v1:" not in response.text and "_hmac" not in response.text
        assert no_personal_data(response.text, OUYANG, SIMA) == []


def test_the_court_sees_in_full_the_parties_of_the_records_addressed_to_it(api: Api) -> None:
    """SPEC §9: a court sees the confirmation records addressed to it, parties included; the county sees them masked."""
    case_id, position = to_confirmation(api)

    court = api.ok_get(COURT, "/court/confirmations", min_position=position)
    county = api.ok_get(COUNTY, "/court/confirmations", min_position=position)
    township = api.ok_get(TOWNSHIP, "/court/confirmations", min_position=position)

    assert [r["case_id"] for r in court["items"]] == [case_id]
    assert shown(court["items"][0]["parties"]) == {"p1": personal(OUYANG), "p2": personal(SIMA)}
    assert shown(township["items"][0]["parties"]) == {"p1": personal(OUYANG), "p2": personal(SIMA)}
    assert shown(county["items"][0]["parties"]) == {"p1": masked(OUYANG), "p2": masked(SIMA)}
    # The court reading the case itself sees it as any non-working role does: masked.
    assert shown(api.case(case_id, COURT)["parties"])["p1"] == masked(OUYANG)


def test_no_response_ever_carries_a_ciphertext_or_a_lookup_token(api: Api) -> None:
    """The stored (sealed) form is never served: not in the case, the trail, the list or the court records."""
    case_id, position = to_confirmation(api)
    for who in (TOWNSHIP, COUNTY, OVERSIGHT):
        for path, params in (
            (f"/cases/{case_id}", {}),
            (f"/cases/{case_id}/events", {}),
            ("/cases", {"min_position": position}),
            ("/court/confirmations", {"min_position": position}),
            ("/reports/daily", {"min_position": position}),
        ):
            response = api.get(who, path, **params)
            assert response.status_code == 200, response.text
            assert "enc:v1:" not in response.text, path
            assert "_hmac" not in response.text, path


# ---------------------------------------------------------------------- lookup


def test_cases_are_found_by_id_number_or_phone_and_the_access_log_keeps_only_tokens(api: Api) -> None:
    """REFERENCES: lookups by keyed HMAC; the read is logged (SPEC §1) without the value looked for."""
    case_id = api.register(parties=PARTIES)
    other = api.register()
    at = api.head()

    def found(who: Who = TOWNSHIP, **query: str) -> list[str]:
        body = api.ok_get(who, "/cases", min_position=at, **query)
        return [item["case_id"] for item in body["items"]]

    assert found(id_number="11010519491231002x") == [case_id]
    assert found(phone="139-1234-5678") == [case_id]
    assert found(phone="13800138000") == [other]  # the default parties' phone
    assert found(phone="13000000000") == []
    assert found(OTHER_TOWNSHIP, id_number=OUYANG["id_number"]) == []  # still within the reader's jurisdiction
    assert_problem(api.get(TOWNSHIP, "/cases", id_number="1234"), 422, "validation-error")

    recorder = api.app.state.services.ledger.recorder
    log = api.ok_get(OVERSIGHT, "/access-log", min_position=recorder.max_notification_id(), limit=50)
    searches = [entry["query"] for entry in log["items"] if "id_number" in entry["query"] or "phone" in entry["query"]]
    assert searches, log
    assert all("hmac:" in query for query in searches)
    assert no_personal_data(json.dumps(log, ensure_ascii=False), OUYANG) == []
    assert "13000000000" not in json.dumps(log)


# ---------------------------------------------------------------------- erasure


def test_erasure_takes_two_officials_and_then_the_party_reads_erased_everywhere(api: Api) -> None:
    """Erasure (crypto-shredding): requested, approved by a different official; [已删除] in every response."""
    case_id, _ = to_confirmation(api)
    erasure = f"/cases/{case_id}/parties/p1/erasure"

    assert_problem(api.post(TOWNSHIP, f"{erasure}/approval"), 409, "invalid-transition")  # nothing requested
    assert_problem(api.post(VILLAGE, erasure, {"reason": "申请删除"}), 403, "forbidden")
    assert_problem(api.post(OTHER_TOWNSHIP, erasure, {"reason": "申请删除"}), 403, "forbidden")
    api.ok(TOWNSHIP, erasure, {"reason": "当事人依法申请删除个人信息"})
    assert_problem(api.post(TOWNSHIP, f"{erasure}/approval"), 403, "forbidden")  # the same official
    assert_problem(api.post(TOWNSHIP, erasure, {"reason": "重复"}), 409, "invalid-transition")
    assert_problem(api.post(OVERSIGHT, f"{erasure}/approval"), 403, "forbidden")
    assert api.case(case_id)["erasures"][0]["status"] == "pending"

    reply = api.ok(SECOND_OFFICIAL, f"{erasure}/approval")
    assert_problem(api.post(COUNTY, f"{erasure}/approval"), 409, "invalid-transition")  # already erased

    for who in (*FULL_READERS, *MASKED_READERS, COURT):
        parties = {p["party_id"]: p for p in api.case(case_id, who)["parties"]}
        assert personal(parties["p1"]) == dict.fromkeys(PERSONAL, ERASED), who.role
        assert parties["p1"]["erased"] and not parties["p2"]["erased"]
    assert shown(api.case(case_id)["parties"])["p2"] == personal(SIMA)
    assert shown(registered_parties(api, case_id, TOWNSHIP))["p1"] == dict.fromkeys(PERSONAL, ERASED)
    record = api.ok_get(COURT, "/court/confirmations", min_position=reply["position"])["items"][0]
    assert shown(record["parties"])["p1"] == dict.fromkeys(PERSONAL, ERASED)
    erasures = api.case(case_id)["erasures"]
    assert [(e["status"], e["requested_by"], e["approved_by"]) for e in erasures] == [
        ("erased", TOWNSHIP.user, SECOND_OFFICIAL.user)
    ]
    types = api.event_types(case_id)
    assert types[-2:] == ["PartyErasureRequested", "PartyErased"]

    def found(**query: str) -> list[str]:
        body = api.ok_get(TOWNSHIP, "/cases", min_position=reply["position"], **query)
        return [item["case_id"] for item in body["items"]]

    assert found(id_number=OUYANG["id_number"]) == []
    assert found(phone=SIMA["phone"]) == [case_id]


def test_after_erasure_no_plaintext_of_the_party_is_in_the_store_or_the_views(api: Api) -> None:
    """The ledger, the views and the key store hold nothing of the erased party that anyone could read."""
    case_id, _ = to_confirmation(api)
    api.ok(TOWNSHIP, f"/cases/{case_id}/parties/p1/erasure", {"reason": "当事人依法申请删除个人信息"})
    reply = api.ok(COUNTY, f"/cases/{case_id}/parties/p1/erasure/approval")
    api.ok_get(TOWNSHIP, "/cases", min_position=reply["position"])  # the views have caught up

    assert no_personal_data(stored_text(api), OUYANG, SIMA) == []
    assert set(api.app.state.services.ledger.personal_data.keys.keys(case_id)) == {"p2"}  # p1's key is gone for good


# ---------------------------------------------------------------------- free text

SUMMARY = f"{OUYANG['name']}（电话{OUYANG['phone']}）与{SIMA['name']}因{SIMA['address']}院墙加高发生纠纷"


def summary_as_seen(ouyang: dict[str, str], sima: dict[str, str]) -> str:
    return f"{ouyang['name']}（电话{ouyang['phone']}）与{sima['name']}因{sima['address']}院墙加高发生纠纷"


def test_free_text_is_recorded_with_references_and_read_as_each_role_may_see_the_parties(api: Api) -> None:
    """A summary or a note naming the parties: no event or view holds their data; each reader sees what its role may."""
    case_id = api.register(parties=PARTIES, summary=SUMMARY)
    api.ok(TOWNSHIP, f"/cases/{case_id}/dispatch", {"unit": "chengguan-center", "note": f"请联系{SIMA['phone']}"})
    at = api.head()

    assert no_personal_data(stored_text(api), OUYANG, SIMA) == []
    for who in FULL_READERS:
        assert api.case(case_id, who)["summary"] == SUMMARY, who.role
    for who in MASKED_READERS:
        body = api.case(case_id, who)
        assert body["summary"] == summary_as_seen(masked(OUYANG), {**masked(SIMA), "address": "[当事人p2住址]"})
        assert body["summary"].startswith("欧***（电话139****5678）与司***因")
        assert no_personal_data(json.dumps(body, ensure_ascii=False), OUYANG, SIMA) == []
    # The audit trail reads the same way, the dispatch note included.
    trail = api.events(case_id, TOWNSHIP)
    assert trail[0]["data"]["summary"] == SUMMARY
    assert trail[1]["data"]["note"] == f"请联系{SIMA['phone']}"
    county_trail = api.get(COUNTY, f"/cases/{case_id}/events")
    assert "请联系158****4321" in county_trail.text
    assert no_personal_data(county_trail.text, OUYANG, SIMA) == []
    # A list decrypts no one's data: there the references read as labels, for every role.
    for who in (TOWNSHIP, COUNTY):
        [item] = [i for i in api.ok_get(who, "/cases", min_position=at)["items"] if i["case_id"] == case_id]
        assert item["summary"] == "[当事人p1]（电话[当事人p1电话]）与[当事人p2]因[当事人p2住址]院墙加高发生纠纷"
    # A correction is free text too.
    corrected = f"{SIMA['name']}（身份证{SIMA['id_number']}）与{OUYANG['name']}院墙纠纷"
    api.ok(
        TOWNSHIP,
        f"/cases/{case_id}/corrections",
        {"position": trail[0]["position"], "corrected": {"summary": corrected}, "reason": "登记时写错"},
    )
    assert api.case(case_id, TOWNSHIP)["summary"] == corrected
    assert api.case(case_id, COUNTY)["summary"] == "司***（身份证4403**********341X）与欧***院墙纠纷"
    assert api.events(case_id, TOWNSHIP)[-1]["data"]["corrected"] == {"summary": corrected}
    assert no_personal_data(stored_text(api), OUYANG, SIMA) == []


def test_agreement_terms_naming_a_party_read_in_full_at_the_court_and_masked_at_the_county(api: Api) -> None:
    terms = f"{SIMA['name']}于三十日内向{OUYANG['name']}支付补偿款五千元"
    case_id, position = to_confirmation(api, terms)

    court = api.ok_get(COURT, "/court/confirmations", min_position=position)["items"][0]
    county = api.ok_get(COUNTY, "/court/confirmations", min_position=position)["items"][0]
    assert court["agreement"]["terms"] == terms
    assert county["agreement"]["terms"] == "司***于三十日内向欧***支付补偿款五千元"
    assert api.case(case_id, MEDIATOR)["mediation"]["agreement"]["terms"] == terms
    assert no_personal_data(stored_text(api), OUYANG, SIMA) == []


def test_a_sessions_attendees_and_notes_name_the_parties_by_reference(api: Api) -> None:
    case_id = in_mediation(api)
    notes = f"{SIMA['name']}称已联系{OUYANG['phone']}未果"
    api.ok(
        MEDIATOR,
        f"/cases/{case_id}/mediation/sessions",
        {"attendees": [OUYANG["name"], SIMA["name"], "调解员王调解"], "notes": notes},
    )

    assert no_personal_data(stored_text(api), OUYANG, SIMA) == []

    def session(who: Who) -> dict[str, Any]:
        [held] = [e["data"] for e in api.events(case_id, who) if e["type"] == "MediationSessionHeld"]
        return held

    assert session(MEDIATOR)["attendees"] == [OUYANG["name"], SIMA["name"], "调解员王调解"]
    assert session(MEDIATOR)["notes"] == notes
    assert session(COUNTY)["attendees"] == ["欧***", "司***", "调解员王调解"]
    assert session(COUNTY)["notes"] == "司***称已联系139****5678未果"


def test_after_erasure_the_free_text_that_named_the_party_reads_erased(api: Api) -> None:
    case_id = api.register(parties=PARTIES, summary=SUMMARY)
    api.ok(TOWNSHIP, f"/cases/{case_id}/parties/p1/erasure", {"reason": "当事人依法申请删除个人信息"})
    api.ok(SECOND_OFFICIAL, f"/cases/{case_id}/parties/p1/erasure/approval")

    erased = dict.fromkeys(PERSONAL, ERASED)
    assert api.case(case_id, TOWNSHIP)["summary"] == summary_as_seen(erased, personal(SIMA))
    assert api.events(case_id, TOWNSHIP)[0]["data"]["summary"] == summary_as_seen(erased, personal(SIMA))
    assert no_personal_data(stored_text(api), OUYANG) == []


def test_text_with_the_reference_brackets_is_refused_and_records_nothing(api: Api) -> None:
    """⟦ and ⟧ mark references: text bringing its own could pass for one, so it is refused."""
    before = api.head()
    response = api.post(TOWNSHIP, "/cases", case_body(summary="见⟦p1.phone⟧"))
    assert_problem(response, 422, "invalid-command")
    assert api.head() == before


# ---------------------------------------------------------------------- tampering


def test_parties_swapped_in_the_court_view_read_damaged(api: Api) -> None:
    """The views keep ciphertext; one swapped there fails authentication: [已损坏], not the other party's phone."""
    case_id, position = to_confirmation(api)
    db = api.app.state.services.views.db
    api.ok_get(COURT, "/court/confirmations", min_position=position)
    row = db.query("SELECT confirmation_id, parties FROM court WHERE case_id = ?", [case_id])[0]
    parties = json.loads(row["parties"])
    parties[0]["phone"], parties[1]["phone"] = parties[1]["phone"], parties[0]["phone"]
    with db.transaction() as cursor:
        cursor.execute(
            "UPDATE court SET parties = ? WHERE confirmation_id = ?",
            (json.dumps(parties, ensure_ascii=False), row["confirmation_id"]),
        )

    record = api.ok_get(COURT, f"/court/confirmations/{row['confirmation_id']}")

    by_id = {p["party_id"]: p for p in record["parties"]}
    assert (by_id["p1"]["phone"], by_id["p2"]["phone"]) == (DAMAGED, DAMAGED)
    assert (by_id["p1"]["damaged"], by_id["p2"]["damaged"]) == (["phone"], ["phone"])
    assert (by_id["p1"]["name"], by_id["p2"]["name"]) == (OUYANG["name"], SIMA["name"])


# ---------------------------------------------------------------------- logs

_SCRIPT = textwrap.dedent(
    """
    import sys
    from api.main import create_app
    from infrastructure.settings import Settings
    from tests.e2e.support import COUNTY, JWT_SECRET, OVERSIGHT, TOWNSHIP, VILLAGE, Api, open_client
    from tests.e2e.test_privacy_http import PARTIES, OUYANG, SIMA

    settings = Settings(
        backend="memory", jwt_secret=JWT_SECRET, data_dir=sys.argv[1], log_level="DEBUG", read_wait_seconds=30
    )
    app = create_app(settings)
    with open_client(app) as client:
        api = Api(app, client)
        case_id = api.register(parties=PARTIES)
        api.case(case_id)
        api.case(case_id, COUNTY)
        api.events(case_id, OVERSIGHT)
        api.get(TOWNSHIP, "/cases", id_number=OUYANG["id_number"], min_position=1)
        api.get(TOWNSHIP, "/cases", phone=SIMA["phone"], min_position=1)
        api.get(TOWNSHIP, "/cases", phone="abc" + OUYANG["phone"])  # refused: 422
        bad = dict(OUYANG, id_number=OUYANG["id_number"] + "9")  # refused: 422
        api.post(TOWNSHIP, "/cases", {"channel": "visit", "category": "neighbour", "summary": "x",
                                      "jurisdiction": "qingxi/chengguan/dongguan/grid-01", "parties": [bad]})
        api.post(VILLAGE, f"/cases/{case_id}/parties/p1/erasure", {"reason": "r"})  # refused: 403
        api.ok(TOWNSHIP, f"/cases/{case_id}/parties/p1/erasure", {"reason": "当事人依法申请删除个人信息"})
        api.ok(COUNTY, f"/cases/{case_id}/parties/p1/erasure/approval")
        api.case(case_id)
    print("scenario complete", file=sys.stderr)
    """
)


def test_registering_reading_and_erasing_writes_no_personal_data_to_the_logs(tmp_path: Path) -> None:
    """STYLE: personal data never logged in clear: the service's log output of a whole scenario holds none."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "data")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "scenario complete" in output
    assert '"event": "http_request"' in output  # the log was written, and is JSON off a terminal
    assert '"event": "command_refused"' in output
    assert no_personal_data(output, OUYANG, SIMA) == []
    assert json.dumps(OUYANG["name"])[1:-1] not in output
