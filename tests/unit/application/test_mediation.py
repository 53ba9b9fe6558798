"""Mediation, agreements, the court and the mediators' qualification (SPEC §3)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from application.ledger import CaseLedger
from domain.errors import InvalidCommand, InvalidTransition, MediatorNotFoundError, NotPermitted
from tests.unit.application.support import (
    COUNTY_FILING,
    COURT_UNIT,
    PARTY_IDS,
    CaseDriver,
    Cast,
    Clock,
    QualifiedMediator,
    cst,
    deadline_of,
    refused,
    spec_names,
    stored,
)

# ---------------------------------------------------------------- helpers


@pytest.fixture
def mediated(drive: CaseDriver, mediator: QualifiedMediator) -> UUID:
    """A case the village assigned to the qualified mediator, who has not yet done anything."""
    return drive.to("handling", mediator=mediator)


@pytest.fixture
def notified(ledger: CaseLedger, mediated: UUID, mediator: QualifiedMediator) -> UUID:
    """The mediated case after the parties were told their rights and duties."""
    ledger.notify_rights(mediated, mediator.caller, party_ids=PARTY_IDS, notes="已告知")
    return mediated


def agree(ledger: CaseLedger, case_id: UUID, mediator: QualifiedMediator, **terms: str) -> None:
    """Record a mediation agreement: by default 李四 (p2) owes 张三 (p1) 3,000 yuan."""
    fields: dict[str, Any] = {
        "terms": "李四赔偿张三修缮费",
        "amount": "3000.00",
        "debtor_party_id": "p2",
        "creditor_party_id": "p1",
    }
    fields.update(terms)
    ledger.reach_agreement(case_id, mediator.caller, **fields)


def unqualified(ledger: CaseLedger, cast: Cast) -> str:
    """A mediator registered but never examined."""
    result = ledger.register_mediator(
        cast.township,
        name="孙新人",
        user_id="med-sun",
        organisation="城关镇人民调解委员会",
        organisation_kind="people_mediation_committee",
        specialties=[],
        jurisdiction="qingxi/chengguan",
    )
    return result.id


def valid_complaint(ledger: CaseLedger, cast: Cast, mediator: QualifiedMediator) -> None:
    """Lodge a complaint against the mediator and find it valid at once."""
    lodged = ledger.lodge_complaint(
        UUID(mediator.mediator_id), cast.township, ground="partiality", description="偏袒一方"
    )
    ledger.find_complaint(
        UUID(mediator.mediator_id),
        cast.county,
        complaint_id=lodged.extra["complaint_id"],
        valid=True,
        finding="经核实属实",
    )


# ---------------------------------------------------------------- choosing a mediator


def test_parties_choose_a_qualified_mediator(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §3: parties may choose their mediator from qualified mediators (MediatorChosen)."""
    case_id = drive.to("handling")

    ledger.choose_mediator(case_id, cast.township, mediator_id=mediator.mediator_id, method="written", chosen_by=["p1"])

    case = ledger.get_case(case_id)
    assert (case.mediator_id, case.mediator_user_id) == (mediator.mediator_id, mediator.user_id)
    assert spec_names(ledger, case_id)[-1] == "MediatorChosen"


def test_choosing_an_unqualified_mediator_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §3: a mediator without qualification cannot be chosen."""
    case_id = drive.to("handling")
    newcomer = unqualified(ledger, cast)

    with refused(ledger, case_id, InvalidCommand, match="not qualified"):
        ledger.choose_mediator(case_id, cast.township, mediator_id=newcomer, method="on_site", chosen_by=["p1"])


def test_assigning_an_unqualified_mediator_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §3: a mediator without qualification cannot be assigned."""
    case_id = drive.to("accepted")
    newcomer = unqualified(ledger, cast)

    with refused(ledger, case_id, InvalidCommand, match="not qualified"):
        ledger.assign(case_id, cast.village, handler_kind="mediator", mediator_id=newcomer)


def test_choosing_a_mediator_who_does_not_exist_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §3: the mediator is chosen from the registered ones."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, MediatorNotFoundError):
        ledger.choose_mediator(case_id, cast.township, mediator_id=str(uuid4()), method="online", chosen_by=["p1"])


def test_a_choice_must_name_the_parties_who_chose(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §3: it is the parties who choose their mediator."""
    case_id = drive.to("handling")

    with refused(ledger, case_id, InvalidCommand, match="chosen_by"):
        ledger.choose_mediator(case_id, cast.township, mediator_id=mediator.mediator_id, method="online", chosen_by=[])


# ---------------------------------------------------------------- before mediating


def test_a_session_before_the_rights_notice_is_refused(
    ledger: CaseLedger, mediated: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: before mediating, the mediator notifies the parties of their rights and duties."""
    with refused(ledger, mediated, InvalidTransition, match="rights"):
        ledger.hold_session(mediated, mediator.caller, on_site=True, attendees=["张三", "李四"], notes="首次调解")


def test_a_proposal_before_the_rights_notice_is_refused(
    ledger: CaseLedger, mediated: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: the rights notice comes before any proposal."""
    with refused(ledger, mediated, InvalidTransition, match="rights"):
        ledger.issue_proposal(mediated, mediator.caller, proposal_id="P1", terms="各让一步")


def test_a_session_after_the_rights_notice_is_recorded(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: MediationSessionHeld (on site or not, who attended, notes)."""
    ledger.hold_session(notified, mediator.caller, on_site=False, attendees=["张三", "李四"], notes="视频调解")

    assert ledger.get_case(notified).sessions == 1
    assert spec_names(ledger, notified)[-2:] == ["RightsNotified", "MediationSessionHeld"]


def test_an_appraisal_is_requested_then_completed(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: AppraisalRequested, AppraisalCompleted."""
    ledger.request_appraisal(
        notified, mediator.caller, appraisal_id="A1", matter="房屋裂缝成因", institution="县质检站"
    )
    ledger.complete_appraisal(notified, mediator.caller, appraisal_id="A1", conclusion="系排水不畅所致")

    assert ledger.get_case(notified).appraisals == {"A1": "系排水不畅所致"}


def test_completing_an_appraisal_that_was_never_requested_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: an appraisal is completed after it was requested."""
    with refused(ledger, notified, InvalidTransition, match="appraisal"):
        ledger.complete_appraisal(notified, mediator.caller, appraisal_id="A9", conclusion="无")


def test_undisputed_facts_need_every_partys_consent(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3 UndisputedFactsRecorded (无争议事实记载): a fact no party disputes."""
    with refused(ledger, notified, InvalidCommand, match="every party"):
        ledger.record_undisputed_facts(notified, mediator.caller, facts="排水沟系共用", consenting_party_ids=["p1"])


def test_a_major_dispute_goes_to_a_collective_discussion(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: the mediator may ask for a collective discussion (CaseEscalated, kind mediation_committee)."""
    ledger.escalate(notified, mediator.caller, kind="mediation_committee", to="城关镇人民调解委员会", reason="疑难")

    assert ledger.get_case(notified).escalations[-1]["kind"] == "mediation_committee"


# ---------------------------------------------------------------- proposals (无异议调解方案)


def test_an_objection_within_seven_days_is_recorded(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §3/§4: a party may object to a proposal within 7 days."""
    ledger.issue_proposal(notified, mediator.caller, proposal_id="P1", terms="李四赔偿2000元")
    clock.set(cst(2026, 9, 21, 23, 50))  # issued Monday 14th; the period ends at 24:00 on Monday 21st

    ledger.respond_to_proposal(
        notified, mediator.caller, proposal_id="P1", party_id="p2", response="objected", reason="数额过高"
    )

    assert ledger.get_case(notified).proposals["P1"]["responses"] == {"p2": "objected"}


def test_an_objection_after_seven_days_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §3/§4: a proposal no party objects to within its period stands; a late objection is refused."""
    ledger.issue_proposal(notified, mediator.caller, proposal_id="P1", terms="李四赔偿2000元")
    clock.set(cst(2026, 9, 22, 0, 5))

    with refused(ledger, notified, InvalidTransition, match="objection period"):
        ledger.respond_to_proposal(
            notified, mediator.caller, proposal_id="P1", party_id="p2", response="objected", reason="数额过高"
        )


def test_an_objection_period_ending_in_the_mid_autumn_holiday_runs_to_the_next_working_day(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §4: a period of days ending on a rest day ends at 24:00 of the next working day."""
    clock.set(cst(2026, 9, 18))  # Friday; day 7 is Friday 25th, in the Mid-Autumn holiday (25th–27th)
    ledger.issue_proposal(notified, mediator.caller, proposal_id="P1", terms="李四赔偿2000元")
    clock.set(cst(2026, 9, 28, 22))

    ledger.respond_to_proposal(
        notified, mediator.caller, proposal_id="P1", party_id="p1", response="objected", reason="x"
    )

    objection = deadline_of(ledger.view_case(notified, mediator.caller.actor).deadlines, "proposal_objection")
    assert (objection.due_at, objection.status) == (cst(2026, 9, 29, 0), "met")


def test_an_objection_needs_a_reason(ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator) -> None:
    """SPEC §3 ProposalObjected: a party objects with its reason."""
    ledger.issue_proposal(notified, mediator.caller, proposal_id="P1", terms="李四赔偿2000元")

    with refused(ledger, notified, InvalidCommand, match="reason"):
        ledger.respond_to_proposal(notified, mediator.caller, proposal_id="P1", party_id="p2", response="objected")


def test_a_party_responds_to_a_proposal_once(ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator) -> None:
    """SPEC §3: ProposalAccepted / ProposalObjected, one answer per party."""
    ledger.issue_proposal(notified, mediator.caller, proposal_id="P1", terms="李四赔偿2000元")
    ledger.respond_to_proposal(notified, mediator.caller, proposal_id="P1", party_id="p1", response="accepted")

    with refused(ledger, notified, InvalidTransition, match="already responded"):
        ledger.respond_to_proposal(
            notified, mediator.caller, proposal_id="P1", party_id="p1", response="objected", reason="反悔"
        )


# ---------------------------------------------------------------- agreement and failure


def test_an_agreement_records_its_terms_money_and_deadline(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: AgreementReached with terms, money owed and performance deadline."""
    agree(ledger, notified, mediator, performance_due="2026-10-31")

    agreement = ledger.get_case(notified).agreement
    assert agreement is not None
    assert (agreement["amount"], agreement["creditor_party_id"], agreement["performance_due"]) == (
        "3000.00",
        "p1",
        "2026-10-31",
    )


def test_a_second_agreement_in_the_same_round_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: mediation ends with one agreement (or a failure) per round."""
    agree(ledger, notified, mediator)

    with refused(ledger, notified, InvalidTransition, match="already ended"):
        agree(ledger, notified, mediator, amount="5000.00")


def test_performance_of_an_agreement_is_recorded(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §2: PerformanceRecorded (履行情况): performed / partly / not."""
    agree(ledger, notified, mediator)

    ledger.record_performance(notified, mediator.caller, performance="partly", note="已付1000元")

    assert ledger.get_case(notified).performance == "partly"


def test_a_failed_mediation_records_the_advice_and_the_filing(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: MediationFailed with the advice given and the filing with the county center."""
    ledger.fail_mediation(notified, mediator.caller, advice=["litigation", "arbitration"], filed_with=COUNTY_FILING)

    failure = ledger.get_case(notified).mediation_failure
    assert failure is not None
    assert (failure["advice"], failure["filed_with"]) == (["litigation", "arbitration"], COUNTY_FILING)


def test_a_failed_mediation_without_advice_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: a failure gives the advice (litigation, arbitration, administrative route)."""
    with refused(ledger, notified, InvalidCommand, match="advice"):
        ledger.fail_mediation(notified, mediator.caller, advice=[], filed_with=COUNTY_FILING)


def test_a_failed_mediation_after_an_agreement_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: success and failure are the two ends of one mediation."""
    agree(ledger, notified, mediator)

    with refused(ledger, notified, InvalidTransition):
        ledger.fail_mediation(notified, mediator.caller, advice=["litigation"], filed_with=COUNTY_FILING)


def test_an_agreement_with_an_unreadable_effective_date_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3/§4: the confirmation period counts from the day the agreement takes effect, so that day must be a date."""
    with refused(ledger, notified, InvalidCommand):
        agree(ledger, notified, mediator, effective_on="下周一")


def test_an_agreement_whose_amount_is_not_a_sum_of_money_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: the agreement states any money owed, as an amount a payment order can name."""
    with refused(ledger, notified, InvalidCommand, match="amount"):
        agree(ledger, notified, mediator, amount="三千元")


def test_an_agreement_effective_on_a_plain_date_counts_the_confirmation_period_from_that_day(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3/§4: 30 days from the day the agreement takes effect; deadlines never fail."""
    agree(ledger, notified, mediator, effective_on="2026-09-20")

    confirmation = deadline_of(ledger.view_case(notified, mediator.caller.actor).deadlines, "judicial_confirmation")

    assert confirmation.due_at == cst(2026, 10, 21, 0)  # day 30 is Tuesday 20 October


# ---------------------------------------------------------------- judicial confirmation (司法确认)


def test_a_joint_application_within_thirty_days_is_recorded(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §3: parties jointly apply to a court within 30 days of the agreement taking effect."""
    agree(ledger, notified, mediator)
    clock.set(cst(2026, 10, 14, 23, 30))  # agreed Monday 14 September; day 30 is Wednesday 14 October

    result = ledger.apply_for_confirmation(notified, mediator.caller, court=COURT_UNIT, applicant_party_ids=PARTY_IDS)

    confirmation = ledger.get_case(notified).confirmations[result.extra["confirmation_id"]]
    assert (confirmation["court"], confirmation["status"]) == (COURT_UNIT, "pending")
    assert spec_names(ledger, notified)[-1] == "JudicialConfirmationApplied"


def test_an_application_after_thirty_days_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §3: the application is made within 30 days of the agreement taking effect."""
    agree(ledger, notified, mediator)
    clock.set(cst(2026, 10, 15, 0, 5))

    with refused(ledger, notified, InvalidTransition, match="30-day"):
        ledger.apply_for_confirmation(notified, mediator.caller, court=COURT_UNIT, applicant_party_ids=PARTY_IDS)


def test_the_thirty_days_count_from_the_day_the_agreement_takes_effect(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §3: the period starts when the agreement takes effect, which may be after it was signed."""
    agree(ledger, notified, mediator, effective_on="2026-09-20T09:00:00+08:00")
    clock.set(cst(2026, 10, 20, 18))  # past 30 days from signing, within 30 days from taking effect

    ledger.apply_for_confirmation(notified, mediator.caller, court=COURT_UNIT, applicant_party_ids=PARTY_IDS)

    assert spec_names(ledger, notified)[-1] == "JudicialConfirmationApplied"


def test_the_thirty_days_run_past_the_national_day_holiday(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §4: 30 days from 1 September end on 1 October, a holiday, so the period runs to 24:00 on 8 October."""
    clock.set(cst(2026, 9, 1))
    case_id = drive.to("handling", mediator=mediator)
    ledger.notify_rights(case_id, mediator.caller, party_ids=PARTY_IDS)
    agree(ledger, case_id, mediator)
    clock.set(cst(2026, 10, 8, 23))

    ledger.apply_for_confirmation(case_id, mediator.caller, court=COURT_UNIT, applicant_party_ids=PARTY_IDS)

    window = deadline_of(ledger.view_case(case_id, cast.township.actor).deadlines, "judicial_confirmation")
    assert (window.due_at, window.status) == (cst(2026, 10, 9, 0), "met")


def test_an_application_by_only_some_parties_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: the parties apply jointly."""
    agree(ledger, notified, mediator)

    with refused(ledger, notified, InvalidCommand, match="jointly"):
        ledger.apply_for_confirmation(notified, mediator.caller, court=COURT_UNIT, applicant_party_ids=["p1"])


def test_an_application_without_an_agreement_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: judicial confirmation is of a mediation agreement."""
    with refused(ledger, notified, InvalidTransition, match="no agreement"):
        ledger.apply_for_confirmation(notified, mediator.caller, court=COURT_UNIT, applicant_party_ids=PARTY_IDS)


def test_an_application_must_name_a_court(ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator) -> None:
    """SPEC §3: JudicialConfirmationApplied names the court."""
    agree(ledger, notified, mediator)

    with refused(ledger, notified, InvalidCommand, match="unknown unit"):
        ledger.apply_for_confirmation(
            notified, mediator.caller, court="chengguan-center", applicant_party_ids=PARTY_IDS
        )


def test_a_second_application_while_one_is_pending_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: one application at a time."""
    agree(ledger, notified, mediator)
    ledger.apply_for_confirmation(notified, mediator.caller, court=COURT_UNIT, applicant_party_ids=PARTY_IDS)

    with refused(ledger, notified, InvalidTransition, match="pending"):
        ledger.apply_for_confirmation(notified, mediator.caller, court=COURT_UNIT, applicant_party_ids=PARTY_IDS)


@pytest.fixture
def applied(ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator) -> tuple[UUID, str]:
    """A case whose agreement awaits the ruling of 清溪县人民法院; with the confirmation id."""
    agree(ledger, notified, mediator)
    result = ledger.apply_for_confirmation(notified, mediator.caller, court=COURT_UNIT, applicant_party_ids=PARTY_IDS)
    return notified, result.extra["confirmation_id"]


def test_the_court_named_posts_its_ruling(ledger: CaseLedger, cast: Cast, applied: tuple[UUID, str]) -> None:
    """SPEC §3: the court posts its ruling (JudicialConfirmationRuled: confirmed or rejected, ruling number)."""
    case_id, confirmation_id = applied

    ledger.rule_on_confirmation(confirmation_id, cast.court, ruling="confirmed", ruling_number="(2026)清0101民特12号")

    record = ledger.get_case(case_id).confirmations[confirmation_id]
    assert (record["status"], record["ruling_number"]) == ("confirmed", "(2026)清0101民特12号")


def test_a_ruling_by_another_court_is_refused(ledger: CaseLedger, cast: Cast, applied: tuple[UUID, str]) -> None:
    """SPEC §3/§9: only the court the application was addressed to rules on it."""
    case_id, confirmation_id = applied

    with refused(ledger, case_id, NotPermitted, match="court"):
        ledger.rule_on_confirmation(confirmation_id, cast.other_court, ruling="confirmed", ruling_number="X-1")


def test_a_ruling_by_a_role_other_than_a_court_is_refused(
    ledger: CaseLedger, cast: Cast, applied: tuple[UUID, str]
) -> None:
    """SPEC §3: the court rules, not the county center."""
    case_id, confirmation_id = applied

    with refused(ledger, case_id, NotPermitted):
        ledger.rule_on_confirmation(confirmation_id, cast.county, ruling="confirmed", ruling_number="X-1")


def test_ruling_twice_is_refused(ledger: CaseLedger, cast: Cast, applied: tuple[UUID, str]) -> None:
    """SPEC §3: an application is ruled on once."""
    case_id, confirmation_id = applied
    ledger.rule_on_confirmation(confirmation_id, cast.court, ruling="rejected", ruling_number="(2026)清民特13号")

    with refused(ledger, case_id, InvalidTransition, match="already been ruled"):
        ledger.rule_on_confirmation(confirmation_id, cast.court, ruling="confirmed", ruling_number="(2026)清民特14号")


def test_after_a_rejection_the_parties_may_apply_again(
    ledger: CaseLedger, cast: Cast, applied: tuple[UUID, str], mediator: QualifiedMediator
) -> None:
    """SPEC §3: a rejected application leaves the parties free to apply again within the period."""
    case_id, confirmation_id = applied
    ledger.rule_on_confirmation(confirmation_id, cast.court, ruling="rejected", ruling_number="(2026)清民特13号")

    second = ledger.apply_for_confirmation(case_id, mediator.caller, court=COURT_UNIT, applicant_party_ids=PARTY_IDS)

    assert second.extra["confirmation_id"] != confirmation_id


# ---------------------------------------------------------------- payment order (支付令)


def test_the_creditor_of_a_monetary_agreement_applies_for_a_payment_order(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: a creditor may apply for a payment order on a monetary agreement."""
    agree(ledger, notified, mediator)

    ledger.apply_for_payment_order(notified, mediator.caller, court=COURT_UNIT, creditor_party_id="p1")

    assert stored(ledger, notified)[-1].amount == "3000.00"
    assert spec_names(ledger, notified)[-1] == "PaymentOrderApplied"


def test_a_payment_order_by_the_debtor_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: only the agreement's creditor applies for a payment order."""
    agree(ledger, notified, mediator)

    with refused(ledger, notified, InvalidCommand, match="creditor"):
        ledger.apply_for_payment_order(notified, mediator.caller, court=COURT_UNIT, creditor_party_id="p2")


@pytest.mark.parametrize("amount", ["0", "0.00", "0.0"])
def test_a_payment_order_on_an_agreement_without_money_is_refused(
    amount: str, ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: a payment order is only on a monetary agreement."""
    agree(ledger, notified, mediator, terms="李四向张三赔礼道歉", amount=amount)

    with refused(ledger, notified, InvalidTransition, match="monetary"):
        ledger.apply_for_payment_order(notified, mediator.caller, court=COURT_UNIT, creditor_party_id="p1")


def test_a_payment_order_without_an_agreement_is_refused(
    ledger: CaseLedger, notified: UUID, mediator: QualifiedMediator
) -> None:
    """SPEC §3: a payment order rests on a mediation agreement."""
    with refused(ledger, notified, InvalidTransition):
        ledger.apply_for_payment_order(notified, mediator.caller, court=COURT_UNIT, creditor_party_id="p1")


# ---------------------------------------------------------------- mediators' qualification


def test_a_registered_mediator_is_not_qualified_until_examined(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §3: qualified after joint examination."""
    mediator_id = UUID(unqualified(ledger, cast))
    assert ledger.get_mediator(mediator_id).qualified is False

    ledger.qualify_mediator(mediator_id, cast.county, examination="2026年联合考核")

    assert ledger.get_mediator(mediator_id).qualified is True


def test_three_valid_complaints_within_twelve_months_end_the_qualification(
    ledger: CaseLedger, cast: Cast, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §3: three valid complaints within twelve months end the qualification automatically."""
    for _ in range(3):
        valid_complaint(ledger, cast, mediator)
        clock.advance(days=100)

    assert ledger.get_mediator(UUID(mediator.mediator_id)).qualified is False
    assert type(stored(ledger, UUID(mediator.mediator_id))[-1]).__name__ == "QualificationEnded"


def test_two_valid_complaints_do_not_end_the_qualification(
    ledger: CaseLedger, cast: Cast, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §3: it takes three valid complaints."""
    for _ in range(2):
        valid_complaint(ledger, cast, mediator)
        clock.advance(days=30)

    assert ledger.get_mediator(UUID(mediator.mediator_id)).qualified is True


def test_three_valid_complaints_spread_over_more_than_twelve_months_do_not_end_the_qualification(
    ledger: CaseLedger, cast: Cast, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §3: the three must fall within twelve months."""
    for _ in range(3):
        valid_complaint(ledger, cast, mediator)
        clock.advance(days=200)

    assert ledger.get_mediator(UUID(mediator.mediator_id)).qualified is True


def test_complaints_found_invalid_do_not_count(
    ledger: CaseLedger, cast: Cast, mediator: QualifiedMediator, clock: Clock
) -> None:
    """SPEC §3: only complaints found valid count towards the three."""
    valid_complaint(ledger, cast, mediator)
    valid_complaint(ledger, cast, mediator)
    lodged = ledger.lodge_complaint(UUID(mediator.mediator_id), cast.township, ground="insult", description="态度粗暴")

    ledger.find_complaint(
        UUID(mediator.mediator_id), cast.county, complaint_id=lodged.extra["complaint_id"], valid=False, finding="不实"
    )

    assert ledger.get_mediator(UUID(mediator.mediator_id)).qualified is True


def test_a_mediator_whose_qualification_ended_cannot_be_chosen(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §3: a mediator without qualification cannot be chosen."""
    for _ in range(3):
        valid_complaint(ledger, cast, mediator)
    case_id = drive.to("handling")

    with refused(ledger, case_id, InvalidCommand, match="not qualified"):
        ledger.choose_mediator(
            case_id, cast.township, mediator_id=mediator.mediator_id, method="online", chosen_by=["p1"]
        )


def test_a_mediator_whose_qualification_ended_cannot_be_assigned(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §3: a mediator without qualification cannot be assigned."""
    for _ in range(3):
        valid_complaint(ledger, cast, mediator)
    case_id = drive.to("accepted")

    with refused(ledger, case_id, InvalidCommand, match="not qualified"):
        ledger.assign(case_id, cast.village, handler_kind="mediator", mediator_id=mediator.mediator_id)


def test_a_complaint_is_found_only_once(ledger: CaseLedger, cast: Cast, mediator: QualifiedMediator) -> None:
    """SPEC §3: complaints are lodged and found valid or invalid, once."""
    mediator_id = UUID(mediator.mediator_id)
    lodged = ledger.lodge_complaint(mediator_id, cast.township, ground="bribery", description="收受礼品")
    complaint_id = lodged.extra["complaint_id"]
    ledger.find_complaint(mediator_id, cast.county, complaint_id=complaint_id, valid=False, finding="无证据")
    before = stored(ledger, mediator_id)

    with pytest.raises(InvalidTransition):
        ledger.find_complaint(mediator_id, cast.county, complaint_id=complaint_id, valid=True, finding="改判")

    assert stored(ledger, mediator_id) == before
