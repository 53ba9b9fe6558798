"""一事一考评 (SPEC §5) of cases recorded through the ``CaseLedger``, traced to ledger positions."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from application.ledger import CaseLedger
from domain.scoring import Evaluation, ScoringPolicy, evaluate
from tests.unit.application.support import PARTY_IDS, VILLAGE_UNIT, CaseDriver, Cast, Clock, cst

D = Decimal


def scored(ledger: CaseLedger, case_id: UUID) -> Evaluation:
    evaluation = evaluate(ledger.get_case(case_id), ledger.calendar())
    assert evaluation is not None
    return evaluation


def positions_of(ledger: CaseLedger, case_id: UUID) -> dict[int, int]:
    """Case version → ledger position, read straight from the notification log."""
    notifications = ledger.recorder.select_notifications(start=1, limit=1000)
    return {n.originator_version: n.id for n in notifications if n.originator_id == case_id}


def test_an_imported_paper_record_is_scored_on_its_own_dates(
    ledger: CaseLedger, cast: Cast, clock: Clock, drive: CaseDriver
) -> None:
    """SPEC §5 and §6: a back-dated import is judged by when things happened, and traced to its positions."""
    drive.to("registered")  # another case first, so versions and ledger positions differ
    clock.set(cst(2026, 12, 1))
    importer = cast.importer
    case_id = drive.register(importer, occurred_at=cst(2026, 11, 2, 9))  # v1 Monday; dispatch due 24:00 Tue 3rd
    ledger.dispatch(case_id, importer, unit=VILLAGE_UNIT, occurred_at=cst(2026, 11, 5, 9))  # v2 two days late
    ledger.accept(case_id, importer, occurred_at=cst(2026, 11, 5, 10))  # v3; resolution due 24:00 Thu 12th
    ledger.assign(case_id, importer, handler_id="gw-zhao", handler_kind="grid_worker", occurred_at=cst(2026, 11, 5, 11))
    ledger.conclude(case_id, importer, outcome="resolved", occurred_at=cst(2026, 11, 17, 10))  # v5 Tuesday 17th
    for party_id in PARTY_IDS:  # v6, v7
        ledger.rate(
            case_id,
            importer,
            party_id=party_id,
            satisfaction="satisfied",
            method="visit",
            occurred_at=cst(2026, 11, 18),
        )

    evaluation = scored(ledger, case_id)

    # T = 100 - 10 (dispatch) - 10 (resolve) - 2*3 (Fri 13, Mon 16, Tue 17) = 74; S = 100; E = 100
    # 0.4*100 + 0.3*74 + 0.3*100 = 40 + 22.2 + 30 = 92.2
    assert (evaluation.satisfaction, evaluation.timeliness, evaluation.effect) == (D(100), D(74), D(100))
    assert (evaluation.score, evaluation.grade) == (D("92.2"), "优秀")
    positions = positions_of(ledger, case_id)
    assert positions == {v: ledger.position_of(case_id, v) for v in range(1, 8)}
    explained = {c["code"]: c["positions"] for c in evaluation.as_dict(positions)["contributions"]}
    assert explained["late_step_dispatch"] == [positions[2]]
    assert explained["resolution_late_days"] == [positions[5]]
    assert positions[2] != 2  # the other case took position 1


def test_a_case_handled_live_to_closed_scores_full_marks(ledger: CaseLedger, drive: CaseDriver) -> None:
    """SPEC §5: every step on time, resolved and both parties satisfied gives 100.0 优秀."""
    case_id = drive.to("closed")

    evaluation = scored(ledger, case_id)

    # S = 100, T = 100, E = 100 (resolved without agreement): 0.4*100 + 0.3*100 + 0.3*100 = 100.0
    assert (evaluation.score, evaluation.grade, evaluation.unrated) == (D("100.0"), "优秀", False)
    rendered = evaluation.as_dict(positions_of(ledger, case_id))
    assert [c["positions"] for c in rendered["contributions"] if c["component"] == "satisfaction"] == [[6], [7]]


def test_re_scoring_under_another_policy_records_nothing(ledger: CaseLedger, drive: CaseDriver) -> None:
    """SPEC §5: any case can be re-scored "what if" under another policy without changing anything."""
    case_id = drive.to("concluded")
    before = ledger.recorder.max_notification_id()
    strict = ScoringPolicy(name="what-if", unrated_points=0)

    what_if = evaluate(ledger.get_case(case_id), ledger.calendar(), strict)

    # unrated: S = 0 under this policy; 0.4*0 + 0.3*100 + 0.3*100 = 60.0
    assert what_if is not None
    assert (what_if.policy, what_if.score, what_if.grade) == ("what-if", D("60.0"), "合格")
    assert ledger.recorder.max_notification_id() == before
