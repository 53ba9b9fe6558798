"""Who may do what, and where (SPEC §2 "who", §6 provenance, §9 roles and jurisdiction)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.ledger import Caller, CaseLedger
from domain.errors import InvalidCommand, NotPermitted
from domain.values import Actor, Role
from infrastructure.calendar_data import parse_schedule
from tests.unit.application.support import (
    COUNTY_FILING,
    COURT_UNIT,
    GRID,
    PARTY_IDS,
    VILLAGE_UNIT,
    CaseDriver,
    Cast,
    Clock,
    QualifiedMediator,
    cst,
    qualify,
    refused,
    stored,
)

Command = Callable[[CaseLedger, UUID, Caller, QualifiedMediator], Any]

_MEDIATION = {"mediator", "unit", "township_center"}
_HANDLING = {"grid_worker", "mediator", "unit", "township_center"}

# SPEC §2 "who" and §9, written out here so that a change to application/access.py shows up.
# Each command gets well-formed arguments, so a refusal can only come from who is asking.
COMMANDS: dict[str, tuple[set[str], Command]] = {
    "register": (
        {"grid_worker", "unit", "township_center", "county_center"},
        lambda lg, c, who, m: lg.register_case(
            who, channel="visit", category="other", summary="来访", jurisdiction=GRID, parties=[]
        ),
    ),
    "grade": (
        {"township_center", "county_center"},
        lambda lg, c, who, m: lg.grade(c, who, risk_color="red", difficulty="complex", reason="r"),
    ),
    "dispatch": ({"township_center", "unit"}, lambda lg, c, who, m: lg.dispatch(c, who, unit=VILLAGE_UNIT)),
    "accept": ({"unit", "township_center"}, lambda lg, c, who, m: lg.accept(c, who)),
    "return": ({"unit", "township_center"}, lambda lg, c, who, m: lg.return_case(c, who, reason="r")),
    "assign": (
        {"unit", "township_center"},
        lambda lg, c, who, m: lg.assign(c, who, handler_id="gw-zhao", handler_kind="grid_worker"),
    ),
    "progress": (_HANDLING, lambda lg, c, who, m: lg.record_progress(c, who, note="n")),
    "escalate": (_HANDLING, lambda lg, c, who, m: lg.escalate(c, who, kind="whistle", to="t", reason="r")),
    "transfer": (
        {"unit", "township_center"},
        lambda lg, c, who, m: lg.transfer(c, who, to_unit="qingxi-hrss", reason="r"),
    ),
    "extend": ({"township_center"}, lambda lg, c, who, m: lg.extend_deadline(c, who, extra_days=3, reason="r")),
    "choose_mediator": (
        _MEDIATION,
        lambda lg, c, who, m: lg.choose_mediator(c, who, mediator_id=m.mediator_id, method="written", chosen_by=["p1"]),
    ),
    "notify_rights": (_MEDIATION, lambda lg, c, who, m: lg.notify_rights(c, who, party_ids=PARTY_IDS)),
    "request_appraisal": (
        _MEDIATION,
        lambda lg, c, who, m: lg.request_appraisal(c, who, appraisal_id="a1", matter="m", institution="i"),
    ),
    "complete_appraisal": (
        _MEDIATION,
        lambda lg, c, who, m: lg.complete_appraisal(c, who, appraisal_id="a1", conclusion="c"),
    ),
    "session": (_MEDIATION, lambda lg, c, who, m: lg.hold_session(c, who, on_site=True, attendees=["张三"], notes="n")),
    "undisputed_facts": (
        _MEDIATION,
        lambda lg, c, who, m: lg.record_undisputed_facts(c, who, facts="f", consenting_party_ids=PARTY_IDS),
    ),
    "proposal": (_MEDIATION, lambda lg, c, who, m: lg.issue_proposal(c, who, proposal_id="x1", terms="t")),
    "proposal_response": (
        _MEDIATION,
        lambda lg, c, who, m: lg.respond_to_proposal(c, who, proposal_id="x1", party_id="p1", response="accepted"),
    ),
    "agreement": (_MEDIATION, lambda lg, c, who, m: lg.reach_agreement(c, who, terms="t")),
    "failure": (
        _MEDIATION,
        lambda lg, c, who, m: lg.fail_mediation(c, who, advice=["litigation"], filed_with=COUNTY_FILING),
    ),
    "conclude": (_HANDLING, lambda lg, c, who, m: lg.conclude(c, who, outcome="resolved")),
    "rate": (
        {"township_center", "unit"},
        lambda lg, c, who, m: lg.rate(c, who, party_id="p1", satisfaction="satisfied", method="phone"),
    ),
    "review": ({"township_center"}, lambda lg, c, who, m: lg.complete_review(c, who, result="verified")),
    "reopen": ({"township_center"}, lambda lg, c, who, m: lg.reopen(c, who, reason="r")),
    "performance": (_MEDIATION, lambda lg, c, who, m: lg.record_performance(c, who, performance="performed")),
    "follow_up": ({"township_center", "unit"}, lambda lg, c, who, m: lg.follow_up(c, who, method="phone", note="n")),
    "correct": (
        {"township_center", "county_center"},
        lambda lg, c, who, m: lg.correct(c, who, position=1, corrected={"summary": "s"}, reason="r"),
    ),
    "judicial_confirmation": (
        _MEDIATION,
        lambda lg, c, who, m: lg.apply_for_confirmation(c, who, court=COURT_UNIT, applicant_party_ids=PARTY_IDS),
    ),
    "payment_order": (
        _MEDIATION,
        lambda lg, c, who, m: lg.apply_for_payment_order(c, who, court=COURT_UNIT, creditor_party_id="p1"),
    ),
    "ruling": (
        {"court"},
        lambda lg, c, who, m: lg.rule_on_confirmation(
            f"{c}-jc1", who, ruling="confirmed", ruling_number="(2026)清民特1号"
        ),
    ),
    "register_mediator": (
        {"township_center", "county_center"},
        lambda lg, c, who, m: lg.register_mediator(
            who,
            name="刘调解",
            user_id="med-liu",
            organisation="城关镇人民调解委员会",
            organisation_kind="people_mediation_committee",
            specialties=[],
            jurisdiction="qingxi/chengguan",
        ),
    ),
    "qualify_mediator": (
        {"county_center"},
        lambda lg, c, who, m: lg.qualify_mediator(UUID(m.mediator_id), who, examination="e"),
    ),
    "lodge_complaint": (
        {"unit", "township_center", "county_center"},
        lambda lg, c, who, m: lg.lodge_complaint(UUID(m.mediator_id), who, ground="partiality", description="d"),
    ),
    "find_complaint": (
        {"county_center"},
        lambda lg, c, who, m: lg.find_complaint(UUID(m.mediator_id), who, complaint_id="c1", valid=True, finding="f"),
    ),
    "request_erasure": (
        {"township_center", "county_center"},
        lambda lg, c, who, m: lg.request_party_erasure(c, who, party_id="p1", reason="当事人申请删除"),
    ),
    "approve_erasure": (
        {"township_center", "county_center"},
        lambda lg, c, who, m: lg.approve_party_erasure(c, who, party_id="p1"),
    ),
    "adopt_policy": (
        {"county_center"},
        lambda lg, c, who, m: lg.adopt_policy(who, policy={"name": "v2"}, effective_from=cst(2027, 1, 1)),
    ),
    "load_calendar": (
        {"admin"},
        lambda lg, c, who, m: lg.load_calendar_year(
            who, parse_schedule('{"year": 2027, "holidays": [], "workdays": []}'), source="s", digest="d"
        ),
    ),
}

# Roles that may do a command; every role in the county, inside the case's township.
ROLE_CALLERS = {
    "grid_worker": Caller(Actor("gw-zhao", "grid_worker", VILLAGE_UNIT, GRID)),
    "unit": Caller(Actor("vil-qian", "unit", VILLAGE_UNIT, "qingxi/chengguan/dongguan")),
    "mediator": Caller(Actor("med-wang", "mediator", "chengguan-pmc", "qingxi/chengguan")),
    "township_center": Caller(Actor("tc-zhou", "township_center", "chengguan-center", "qingxi/chengguan")),
    "county_center": Caller(Actor("cc-zheng", "county_center", "qingxi-center", "qingxi")),
    "court": Caller(Actor("court-feng", "court", COURT_UNIT, "qingxi")),
    "oversight": Caller(Actor("ov-chu", "oversight", "qingxi-discipline", "qingxi")),
    "admin": Caller(Actor("adm-jiang", "admin", "qingxi-center", "qingxi")),
}
assert set(ROLE_CALLERS) | {"importer"} == {r.value for r in Role}

REFUSED_PAIRS = [
    pytest.param(command, role, id=f"{command}-by-{role}")
    for command, (allowed, _) in COMMANDS.items()
    for role in ROLE_CALLERS
    if role not in allowed
]


@pytest.mark.parametrize(("command", "role"), REFUSED_PAIRS)
def test_a_command_is_refused_to_a_role_the_spec_does_not_name(
    command: str, role: str, ledger: CaseLedger, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §2 "who", §9: each command is allowed only to its roles; the others get NotPermitted."""
    case_id = drive.to("handling")
    _, issue = COMMANDS[command]

    with refused(ledger, case_id, NotPermitted):
        issue(ledger, case_id, ROLE_CALLERS[role], mediator)


def test_oversight_writes_nothing(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §9: oversight reads everything and writes nothing."""
    case_id = drive.to("concluded")
    last_position = ledger.recorder.max_notification_id()

    for command, (_, issue) in COMMANDS.items():
        with pytest.raises(NotPermitted):
            issue(ledger, case_id, cast.oversight, mediator)
        assert ledger.recorder.max_notification_id() == last_position, command


NAMING_A_MEDIATOR: dict[str, Command] = {
    "assign": lambda lg, c, who, m: lg.assign(c, who, handler_kind="mediator", mediator_id=m.mediator_id),
    "choose_mediator": COMMANDS["choose_mediator"][1],
}


@pytest.mark.parametrize("command", sorted(NAMING_A_MEDIATOR))
def test_a_role_that_may_not_act_is_refused_before_the_mediator_is_looked_up(
    command: str, ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §9: refusals are explicit (403); a caller without the right learns nothing about the mediator named."""
    case_id = drive.to("accepted")
    nobody = QualifiedMediator(str(uuid4()), "med-nobody", cast.mediator)

    with refused(ledger, case_id, NotPermitted):
        NAMING_A_MEDIATOR[command](ledger, case_id, cast.oversight, nobody)


def test_oversight_reads_cases_of_every_township(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §9: oversight reads everything."""
    chengguan = drive.to("registered")
    hekou = drive.register(cast.county, jurisdiction="qingxi/hekou/shahe/grid-01")

    assert ledger.view_case(chengguan, cast.oversight.actor).case.id == chengguan
    assert ledger.view_case(hekou, cast.oversight.actor).case.id == hekou


def test_a_role_that_reads_no_case_data_is_refused_a_case(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §9: each role sees only what it needs; the administrator reads no case data."""
    case_id = drive.to("registered")

    with pytest.raises(NotPermitted):
        ledger.view_case(case_id, cast.admin.actor)


def test_a_court_may_not_read_a_case_that_was_not_addressed_to_it(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §9: a court sees the confirmation records addressed to it, not every case of the county."""
    case_id = drive.to("handling")

    with pytest.raises(NotPermitted):
        ledger.view_case(case_id, cast.court.actor)


def test_the_importer_brings_in_the_steps_of_other_roles(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §9: the importer brings in historical paper records of any case step, whoever took it."""
    case_id = drive.to("registered")

    ledger.dispatch(case_id, cast.importer, unit=VILLAGE_UNIT)
    ledger.accept(case_id, cast.importer)
    ledger.assign(case_id, cast.importer, handler_id="gw-zhao", handler_kind="grid_worker")
    ledger.conclude(case_id, cast.importer, outcome="resolved")

    assert ledger.get_case(case_id).status == "concluded"


@pytest.mark.parametrize("command", ["load_calendar", "adopt_policy"])
def test_the_importer_adopts_no_calendar_or_policy(
    command: str, ledger: CaseLedger, cast: Cast, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §4/§5/§9: the importer brings in case records; adopting a calendar or a scoring policy is not one."""
    case_id = drive.to("registered")

    with refused(ledger, case_id, NotPermitted):
        COMMANDS[command][1](ledger, case_id, cast.importer, mediator)


# ---------------------------------------------------------------- jurisdiction


def test_a_township_center_of_another_township_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §9: a township acts only on its own cases."""
    case_id = drive.to("registered")

    with refused(ledger, case_id, NotPermitted, match="jurisdiction"):
        ledger.dispatch(case_id, cast.other_township, unit=VILLAGE_UNIT)


def test_a_township_center_of_another_township_may_not_read_the_case(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §9: a township sees its own cases."""
    case_id = drive.to("registered")

    with pytest.raises(NotPermitted):
        ledger.view_case(case_id, cast.other_township.actor)


def test_registering_outside_ones_jurisdiction_is_refused(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §9: a grid worker registers cases of their own grid."""
    before = ledger.recorder.max_notification_id()

    with pytest.raises(NotPermitted):
        ledger.register_case(
            cast.grid_worker,
            channel="grid_patrol",
            category="neighbour",
            summary="x",
            jurisdiction="qingxi/chengguan/dongguan/grid-02",
            parties=[],
        )

    assert ledger.recorder.max_notification_id() == before


def test_the_county_center_acts_in_every_township(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 研判, §9: the county center grades cases anywhere in the county."""
    hekou = drive.register(cast.county, jurisdiction="qingxi/hekou/shahe/grid-01")

    ledger.grade(hekou, cast.county, risk_color="red", difficulty="complex", reason="涉众")

    assert ledger.get_case(hekou).risk_color == "red"


def test_a_village_of_another_village_may_not_act_on_the_case(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §9: a village acts on the cases of its own place."""
    case_id = drive.to("registered", risk_color="green")

    with refused(ledger, case_id, NotPermitted):
        ledger.dispatch(case_id, cast.other_village, unit=VILLAGE_UNIT)


# ---------------------------------------------------------------- the rules of who, case by case


def test_a_village_dispatches_a_green_case(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 派单: a village dispatches green cases."""
    case_id = drive.to("registered", risk_color="green")

    ledger.dispatch(case_id, cast.village, unit=VILLAGE_UNIT)

    assert ledger.get_case(case_id).status == "dispatched"


@pytest.mark.parametrize("color", ["yellow", "red"])
def test_a_village_may_not_dispatch_a_yellow_or_red_case(
    color: str, ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2 派单: yellow and red cases are dispatched by the township center."""
    case_id = drive.to("registered", risk_color=color)

    with refused(ledger, case_id, NotPermitted, match="green"):
        ledger.dispatch(case_id, cast.village, unit=VILLAGE_UNIT)


def test_only_the_unit_the_case_was_dispatched_to_accepts_it(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 接单: the unit it was dispatched to accepts; a county department may not take it instead."""
    case_id = drive.to("dispatched")

    with refused(ledger, case_id, NotPermitted, match=VILLAGE_UNIT):
        ledger.accept(case_id, cast.department)


def test_the_township_center_may_not_accept_for_the_village(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 接单: the township dispatched it; the village accepts it."""
    case_id = drive.to("dispatched")

    with refused(ledger, case_id, NotPermitted):
        ledger.accept(case_id, cast.township)


def test_only_the_unit_the_case_was_dispatched_to_returns_it(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 退单: the unit it was dispatched to returns it."""
    case_id = drive.to("dispatched")

    with refused(ledger, case_id, NotPermitted):
        ledger.return_case(case_id, cast.department, reason="不归我们管")


def test_only_the_accepting_unit_assigns_the_handler(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 assign: by the accepting unit."""
    case_id = drive.to("accepted")

    with refused(ledger, case_id, NotPermitted):
        ledger.assign(case_id, cast.township, handler_id="gw-zhao", handler_kind="grid_worker")


def test_only_the_handler_concludes(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 办结: by the handler; another grid worker of the same grid may not."""
    case_id = drive.to("handling")
    colleague = Caller(Actor("gw-qin", "grid_worker", VILLAGE_UNIT, GRID))

    with refused(ledger, case_id, NotPermitted, match="handler"):
        ledger.conclude(case_id, colleague, outcome="resolved")


def test_the_accepting_unit_may_not_conclude_for_its_handler(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 办结: by the handler, not the unit that named them."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, NotPermitted):
        ledger.conclude(case_id, cast.village, outcome="resolved")


def test_rating_by_the_handler_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 评单: never the case's own handler (here the village official handled it personally)."""
    case_id = drive.to("accepted")
    ledger.assign(case_id, cast.village, handler_id=cast.village.actor.user_id, handler_kind="unit")
    ledger.conclude(case_id, cast.village, outcome="resolved")

    with refused(ledger, case_id, NotPermitted, match="handler"):
        ledger.rate(case_id, cast.village, party_id="p1", satisfaction="satisfied", method="phone")


def test_rating_by_the_cases_mediator_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2 评单: the village official who mediated the case as its chosen mediator may not collect its rating."""
    official = qualify(ledger, cast, user_id=cast.village.actor.user_id, name="钱主任")
    case_id = drive.to("handling")
    ledger.choose_mediator(case_id, cast.township, mediator_id=official.mediator_id, method="on_site", chosen_by=["p1"])
    drive.conclude(case_id)

    with refused(ledger, case_id, NotPermitted):
        ledger.rate(case_id, cast.village, party_id="p1", satisfaction="satisfied", method="visit")


def test_a_mediator_rating_their_own_case_is_refused(
    ledger: CaseLedger, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §2 评单: never the case's own handler, here its mediator."""
    case_id = drive.to("concluded", mediator=mediator)

    with refused(ledger, case_id, NotPermitted):
        ledger.rate(case_id, mediator.caller, party_id="p1", satisfaction="satisfied", method="phone")


def test_a_village_that_did_not_handle_the_case_collects_ratings(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §2 评单: a township center or village collects the ratings by phone, visit or online."""
    case_id = drive.to("concluded")

    ledger.rate(case_id, cast.village, party_id="p1", satisfaction="satisfied", method="online")

    assert ledger.get_case(case_id).ratings[0]["rater"] == cast.village.actor.user_id


def test_a_mediator_who_is_not_the_cases_mediator_may_not_record_its_mediation(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §3: the case's mediator records its mediation steps."""
    other = qualify(ledger, cast, user_id="med-he", name="何调解")
    case_id = drive.to("handling", mediator=mediator)

    with refused(ledger, case_id, NotPermitted):
        ledger.notify_rights(case_id, other.caller, party_ids=PARTY_IDS)


# ---------------------------------------------------------------- provenance: imports and reporting delay


def test_an_importers_events_are_marked_imported(ledger: CaseLedger, cast: Cast, clock: Clock) -> None:
    """SPEC §6/§9: events brought in by an import of paper records are marked as imported."""
    case_id = CaseDriver(ledger, cast, clock).register(cast.importer, occurred_at=clock.now() - timedelta(days=400))

    [registered] = stored(ledger, case_id)
    assert registered.imported is True
    assert ledger.get_case(case_id).imported is True


def test_events_of_other_roles_are_not_marked_imported(ledger: CaseLedger, drive: CaseDriver) -> None:
    """SPEC §6: only the importer's events are marked imported."""
    case_id = drive.to("handling")

    assert [event.imported for event in stored(ledger, case_id)] == [False] * 4


def test_an_importer_may_back_date_a_step(ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock) -> None:
    """SPEC §6: an import of historical paper records may carry an occurred_at long past."""
    long_ago = clock.now() - timedelta(days=3 * 365)
    case_id = drive.register(cast.importer, occurred_at=long_ago)

    ledger.dispatch(case_id, cast.importer, unit=VILLAGE_UNIT, occurred_at=long_ago + timedelta(hours=3))

    assert [event.occurred_at for event in stored(ledger, case_id)] == [long_ago, long_ago + timedelta(hours=3)]


def test_an_importer_may_not_date_a_step_in_the_future(ledger: CaseLedger, cast: Cast, clock: Clock) -> None:
    """SPEC §6: nothing is recorded before it happened, imported or not."""
    case_id = CaseDriver(ledger, cast, clock).register(cast.importer, occurred_at=clock.now() - timedelta(days=9))

    with refused(ledger, case_id, InvalidCommand, match="future"):
        ledger.dispatch(case_id, cast.importer, unit=VILLAGE_UNIT, occurred_at=clock.now() + timedelta(minutes=1))


def test_a_step_reported_more_than_ten_minutes_late_is_refused(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §6: occurred_at may precede recorded_at by at most a few minutes (ten), unless imported."""
    case_id = drive.to("registered")
    clock.advance(hours=1)

    with refused(ledger, case_id, InvalidCommand, match="10 minutes"):
        ledger.dispatch(case_id, cast.township, unit=VILLAGE_UNIT, occurred_at=clock.now() - timedelta(minutes=11))


def test_a_step_reported_within_ten_minutes_is_recorded_at_the_time_it_happened(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §6: a step may be reported up to ten minutes after it happened."""
    case_id = drive.to("registered")
    clock.advance(hours=1)
    happened = clock.now() - timedelta(minutes=10)

    ledger.dispatch(case_id, cast.township, unit=VILLAGE_UNIT, occurred_at=happened)

    assert stored(ledger, case_id)[-1].occurred_at == happened


def test_a_step_dated_in_the_future_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock) -> None:
    """SPEC §6: occurred_at is never after it was recorded."""
    case_id = drive.to("registered")

    with refused(ledger, case_id, InvalidCommand, match="future"):
        ledger.dispatch(case_id, cast.township, unit=VILLAGE_UNIT, occurred_at=clock.now() + timedelta(seconds=1))


def test_a_step_without_a_time_zone_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock) -> None:
    """SPEC §4: days are China Standard Time days, so an instant needs its zone."""
    case_id = drive.to("registered")

    with refused(ledger, case_id, InvalidCommand, match="time zone"):
        ledger.dispatch(case_id, cast.township, unit=VILLAGE_UNIT, occurred_at=clock.now().replace(tzinfo=None))


def test_a_step_dated_before_the_previous_step_is_refused(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, clock: Clock
) -> None:
    """SPEC §2: steps are in order; an import may not slot a step before the case's last one."""
    case_id = drive.to("registered")

    with refused(ledger, case_id, InvalidCommand, match="earlier"):
        ledger.dispatch(case_id, cast.importer, unit=VILLAGE_UNIT, occurred_at=clock.now() - timedelta(days=1))


def test_the_request_id_travels_with_the_event(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §6: every event carries the request it came from and who did it."""
    case_id = drive.to("registered")

    ledger.dispatch(case_id, replace(cast.township, request_id="req-42"), unit=VILLAGE_UNIT)

    dispatched = stored(ledger, case_id)[-1]
    assert (dispatched.request_id, dispatched.actor) == ("req-42", cast.township.actor)
