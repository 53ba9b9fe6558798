"""Retries and stale writes: Idempotency-Key and If-Match at the ledger (SPEC §8)."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import pytest

from application.errors import IdempotencyKeyReused
from application.ledger import Caller, CaseLedger
from domain.errors import InvalidTransition, VersionMismatchError
from infrastructure.calendar_data import parse_schedule
from tests.unit.application.support import (
    COURT_UNIT,
    GRID,
    PARTIES,
    PARTY_IDS,
    VILLAGE_UNIT,
    CaseDriver,
    Cast,
    QualifiedMediator,
    refused,
    stored,
)


def keyed(caller: Caller, key: str = "7f1c9a2e", request_hash: str = "sha256:body-1") -> Caller:
    """The caller sending an ``Idempotency-Key`` with the hash of its request body."""
    return replace(caller, idempotency_key=key, request_hash=request_hash)


def at_version(caller: Caller, version: int) -> Caller:
    """The caller sending ``If-Match`` with a version."""
    return replace(caller, expected_version=version)


def register(ledger: CaseLedger, caller: Caller) -> str:
    result = ledger.register_case(
        caller, channel="visit", category="consumer", summary="预付卡退费纠纷", jurisdiction=GRID, parties=list(PARTIES)
    )
    return result.id


# ---------------------------------------------------------------- Idempotency-Key


def test_a_repeated_idempotency_key_replays_the_first_result(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §8: a retried request gets the first response."""
    case_id = drive.to("registered")
    first = ledger.dispatch(case_id, keyed(cast.township), unit=VILLAGE_UNIT)

    again = ledger.dispatch(case_id, keyed(cast.township), unit=VILLAGE_UNIT)

    assert (again.id, again.version, again.replayed) == (first.id, first.version, True)


def test_a_repeated_idempotency_key_records_nothing_again(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §8: an Idempotency-Key header so that a retried request records nothing twice."""
    case_id = drive.to("registered")
    ledger.dispatch(case_id, keyed(cast.township), unit=VILLAGE_UNIT)
    before, last_position = stored(ledger, case_id), ledger.recorder.max_notification_id()

    ledger.dispatch(case_id, keyed(cast.township), unit=VILLAGE_UNIT)

    assert stored(ledger, case_id) == before
    assert ledger.recorder.max_notification_id() == last_position


def test_a_replay_returns_the_first_results_ledger_position(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §8: the retried request's response is the first one, position included (clients wait on it)."""
    case_id = drive.to("registered")
    first = ledger.dispatch(case_id, keyed(cast.township), unit=VILLAGE_UNIT)

    again = ledger.dispatch(case_id, keyed(cast.township), unit=VILLAGE_UNIT)

    assert again.as_dict() == first.as_dict()


def test_a_repeated_registration_opens_one_case(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §8: a retried registration does not open a second case."""
    first = register(ledger, keyed(cast.grid_worker))
    last_position = ledger.recorder.max_notification_id()

    again = register(ledger, keyed(cast.grid_worker))

    assert again == first
    assert ledger.recorder.max_notification_id() == last_position


def test_a_replay_comes_back_even_after_the_case_moved_on(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §8: a late retry of the dispatch replays it instead of being refused as dispatching twice."""
    case_id = drive.to("registered")
    first = ledger.dispatch(case_id, keyed(cast.township), unit=VILLAGE_UNIT)
    drive.accept(case_id)

    again = ledger.dispatch(case_id, keyed(cast.township), unit=VILLAGE_UNIT)

    assert (again.version, again.replayed) == (first.version, True)
    assert ledger.get_case(case_id).version == 3


def test_a_retry_with_the_if_match_it_was_sent_with_replays(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §8: the key is checked first, so a retry's If-Match (now stale) does not turn into a 412."""
    case_id = drive.to("registered")
    request = at_version(keyed(cast.township), 1)
    first = ledger.dispatch(case_id, request, unit=VILLAGE_UNIT)

    again = ledger.dispatch(case_id, request, unit=VILLAGE_UNIT)

    assert (again.version, again.replayed) == (first.version, True)


def test_the_same_key_with_a_different_request_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §8: an Idempotency-Key names one request; reusing it for another is an error."""
    case_id = drive.to("dispatched")
    ledger.grade(
        case_id, keyed(cast.township, request_hash="sha256:A"), risk_color="red", difficulty="simple", reason="r"
    )

    with refused(ledger, case_id, IdempotencyKeyReused):
        ledger.grade(
            case_id, keyed(cast.township, request_hash="sha256:B"), risk_color="green", difficulty="simple", reason="r"
        )


def test_keys_belong_to_the_user_who_sent_them(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §8: two users who happen to pick the same key send two requests."""
    first = register(ledger, keyed(cast.grid_worker, key="1"))

    second = register(ledger, keyed(cast.township, key="1"))

    assert second != first


def test_a_refused_request_leaves_its_key_unused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §2/§8: a refused command records nothing, not even its key, so a retry after the fix is carried out."""
    case_id = drive.to("registered")
    with pytest.raises(InvalidTransition):
        ledger.accept(case_id, keyed(cast.village))
    drive.dispatch(case_id)

    result = ledger.accept(case_id, keyed(cast.village))

    assert (result.replayed, ledger.get_case(case_id).status) == (False, "accepted")


def test_a_replay_returns_the_id_the_first_request_created(
    ledger: CaseLedger, cast: Cast, mediator: QualifiedMediator
) -> None:
    """SPEC §8: a retried complaint is the same complaint, with the same id."""
    mediator_id = UUID(mediator.mediator_id)
    first = ledger.lodge_complaint(mediator_id, keyed(cast.township), ground="partiality", description="偏袒")

    again = ledger.lodge_complaint(mediator_id, keyed(cast.township), ground="partiality", description="偏袒")

    assert again.extra["complaint_id"] == first.extra["complaint_id"]
    assert list(ledger.get_mediator(mediator_id).complaints) == [first.extra["complaint_id"]]


def test_a_replayed_confirmation_application_names_the_same_confirmation(
    ledger: CaseLedger, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §8: the retried application returns the confirmation id of the first."""
    case_id = drive.to("handling", mediator=mediator)
    ledger.notify_rights(case_id, mediator.caller, party_ids=PARTY_IDS)
    ledger.reach_agreement(case_id, mediator.caller, terms="返还押金")
    first = ledger.apply_for_confirmation(
        case_id, keyed(mediator.caller), court=COURT_UNIT, applicant_party_ids=PARTY_IDS
    )

    again = ledger.apply_for_confirmation(
        case_id, keyed(mediator.caller), court=COURT_UNIT, applicant_party_ids=PARTY_IDS
    )

    assert again.extra == first.extra
    assert len(ledger.get_case(case_id).confirmations) == 1


def test_a_retried_assignment_replays_even_after_the_mediator_lost_qualification(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver, mediator: QualifiedMediator
) -> None:
    """SPEC §8: a retry gets the first response; what happened since (here a third valid complaint) does not matter."""
    case_id = drive.to("accepted")
    request = keyed(cast.village)
    first = ledger.assign(case_id, request, handler_kind="mediator", mediator_id=mediator.mediator_id)
    for _ in range(3):
        lodged = ledger.lodge_complaint(UUID(mediator.mediator_id), cast.township, ground="other", description="d")
        complaint_id = lodged.extra["complaint_id"]
        ledger.find_complaint(
            UUID(mediator.mediator_id), cast.county, complaint_id=complaint_id, valid=True, finding="f"
        )

    again = ledger.assign(case_id, request, handler_kind="mediator", mediator_id=mediator.mediator_id)

    assert (again.version, again.replayed) == (first.version, True)


def test_a_repeated_calendar_load_records_nothing_again(ledger: CaseLedger, cast: Cast) -> None:
    """SPEC §4/§8: a retried load of a year's schedule is recorded once."""
    schedule = parse_schedule('{"year": 2027, "holidays": ["2027-01-01"], "workdays": []}')
    first = ledger.load_calendar_year(keyed(cast.admin), schedule, source="s", digest="d")
    last_position = ledger.recorder.max_notification_id()

    again = ledger.load_calendar_year(keyed(cast.admin), schedule, source="s", digest="d")

    assert (again.version, again.replayed) == (first.version, True)
    assert ledger.recorder.max_notification_id() == last_position


# ---------------------------------------------------------------- If-Match (expected_version)


def test_a_stale_expected_version_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §8: If-Match with a version that is no longer current is refused (412)."""
    case_id = drive.to("dispatched")

    with refused(ledger, case_id, VersionMismatchError) as refusal:
        ledger.accept(case_id, at_version(cast.village, 1))

    assert isinstance(refusal.value, VersionMismatchError)
    assert refusal.value.context["current_version"] == 2


def test_the_current_expected_version_is_accepted(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §8: If-Match with the current version lets the command through, returning the new version."""
    case_id = drive.to("dispatched")

    result = ledger.accept(case_id, at_version(cast.village, 2))

    assert result.version == 3


def test_an_expected_version_ahead_of_the_case_is_refused(ledger: CaseLedger, cast: Cast, drive: CaseDriver) -> None:
    """SPEC §8: If-Match must name the case's current version exactly."""
    case_id = drive.to("dispatched")

    with refused(ledger, case_id, VersionMismatchError):
        ledger.accept(case_id, at_version(cast.village, 5))


def test_a_stale_expected_version_of_a_mediator_is_refused(
    ledger: CaseLedger, cast: Cast, mediator: QualifiedMediator
) -> None:
    """SPEC §8: mediators are versioned like cases."""
    mediator_id = UUID(mediator.mediator_id)
    before = stored(ledger, mediator_id)

    with pytest.raises(VersionMismatchError):
        ledger.lodge_complaint(mediator_id, at_version(cast.township, 1), ground="insult", description="辱骂当事人")

    assert stored(ledger, mediator_id) == before


def test_a_command_returns_the_new_version_and_its_ledger_position(
    ledger: CaseLedger, cast: Cast, drive: CaseDriver
) -> None:
    """SPEC §8: commands return the case id and its new version."""
    case_id = drive.to("registered")
    before = ledger.recorder.max_notification_id()
    assert before is not None

    result = ledger.dispatch(case_id, cast.township, unit=VILLAGE_UNIT)

    assert (UUID(result.id), result.version, result.position) == (case_id, 2, before + 1)
