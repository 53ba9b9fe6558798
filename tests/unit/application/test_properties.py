"""Rules that hold for every input: one command, one event or none; replay gives the same case; deadlines never fail.

SPEC §2 (a refused command records nothing), §1/§7 (state is a projection of the events),
§4 (a deadline is always computed, provisional beyond the loaded years).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from application.ledger import Caller, CaseLedger, CommandResult
from domain.calendar import CHINA_TZ
from domain.case import Case
from domain.errors import DomainError
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings
from tests.unit.application.support import (
    COUNTY_FILING,
    COURT_UNIT,
    GRID,
    OTHER_TOWNSHIP_GRID,
    PARTIES,
    PARTY_IDS,
    VILLAGE_UNIT,
    Clock,
    cst,
    make_cast,
    qualify,
    stored,
)

CAST = make_cast()
CALLERS = [
    CAST.grid_worker,
    CAST.village,
    CAST.other_village,
    CAST.department,
    CAST.township,
    CAST.other_township,
    CAST.county,
    CAST.court,
    CAST.other_court,
    CAST.mediator,
    CAST.oversight,
    CAST.importer,
    CAST.admin,
]
# Weighted towards the roles that drive a case forward, so that runs reach the later steps.
LIKELY_CALLERS = st.one_of(
    st.sampled_from([CAST.township, CAST.village, CAST.grid_worker, CAST.mediator, CAST.department]),
    st.sampled_from(CALLERS),
)

Draw = Callable[[st.SearchStrategy[Any]], Any]


class Context:
    """What the commands may name besides the case: the mediators, and the clock for times."""

    def __init__(self, ledger: CaseLedger, clock: Clock, qualified: str, disqualified: str) -> None:
        self.ledger = ledger
        self.clock = clock
        self.qualified = qualified
        self.disqualified = disqualified


Op = Callable[[Context, UUID, Caller, Draw, datetime | None], CommandResult]


def one(*values: Any) -> st.SearchStrategy[Any]:
    """Any of ``values``, the first (a valid one) at least half the time so that commands often go through."""
    return st.one_of(st.just(values[0]), st.sampled_from(values))


def _iso_near(ctx: Context, draw: Draw) -> str:
    return (ctx.clock.now() - timedelta(minutes=draw(one(0, 3, 60 * 24)))).isoformat()


OPS: dict[str, Op] = {
    "grade": lambda x, c, who, d, at: x.ledger.grade(
        c,
        who,
        risk_color=d(one("red", "yellow", "green", "purple")),
        difficulty=d(one("simple", "complex", "?")),
        reason=d(one("复核", "")),
        occurred_at=at,
    ),
    "dispatch": lambda x, c, who, d, at: x.ledger.dispatch(
        c, who, unit=d(one(VILLAGE_UNIT, "qingxi-hrss", "nowhere")), occurred_at=at
    ),
    "accept": lambda x, c, who, d, at: x.ledger.accept(c, who, occurred_at=at),
    "return": lambda x, c, who, d, at: x.ledger.return_case(c, who, reason=d(one("不属本单位", "")), occurred_at=at),
    "assign": lambda x, c, who, d, at: x.ledger.assign(
        c,
        who,
        handler_id=d(one("gw-zhao", "vil-qian", "")),
        handler_kind=d(one("grid_worker", "mediator", "unit", "court")),
        mediator_id=d(one("", x.qualified, x.disqualified)),
        occurred_at=at,
    ),
    "progress": lambda x, c, who, d, at: x.ledger.record_progress(c, who, note=d(one("走访", "")), occurred_at=at),
    "escalate": lambda x, c, who, d, at: x.ledger.escalate(
        c, who, kind=d(one("whistle", "mediation_committee", "riot")), to="县自然资源局", reason="r", occurred_at=at
    ),
    "transfer": lambda x, c, who, d, at: x.ledger.transfer(
        c, who, to_unit=d(one("qingxi-hrss", VILLAGE_UNIT, "nowhere")), reason="转办", occurred_at=at
    ),
    "extend": lambda x, c, who, d, at: x.ledger.extend_deadline(
        c, who, extra_days=d(one(3, -1, 0, 61)), reason=d(one("鉴定", "")), occurred_at=at
    ),
    "choose_mediator": lambda x, c, who, d, at: x.ledger.choose_mediator(
        c,
        who,
        mediator_id=d(one(x.qualified, x.disqualified)),
        method=d(one("written", "carrier_pigeon")),
        chosen_by=d(one(["p1"], [], ["p9"])),
        occurred_at=at,
    ),
    "notify_rights": lambda x, c, who, d, at: x.ledger.notify_rights(
        c, who, party_ids=d(one(PARTY_IDS, [], ["p9"])), occurred_at=at
    ),
    "request_appraisal": lambda x, c, who, d, at: x.ledger.request_appraisal(
        c, who, appraisal_id=d(one("A1", "A2")), matter="裂缝", institution="质检站", occurred_at=at
    ),
    "complete_appraisal": lambda x, c, who, d, at: x.ledger.complete_appraisal(
        c, who, appraisal_id=d(one("A1", "A2")), conclusion="结论", occurred_at=at
    ),
    "session": lambda x, c, who, d, at: x.ledger.hold_session(
        c, who, on_site=d(st.booleans()), attendees=["张三"], notes=d(one("调解", "")), occurred_at=at
    ),
    "undisputed_facts": lambda x, c, who, d, at: x.ledger.record_undisputed_facts(
        c, who, facts="共用排水沟", consenting_party_ids=d(one(PARTY_IDS, ["p1"])), occurred_at=at
    ),
    "proposal": lambda x, c, who, d, at: x.ledger.issue_proposal(
        c, who, proposal_id=d(one("P1", "P2")), terms="各让一步", occurred_at=at
    ),
    "proposal_response": lambda x, c, who, d, at: x.ledger.respond_to_proposal(
        c,
        who,
        proposal_id=d(one("P1", "P2")),
        party_id=d(one("p1", "p2", "p9")),
        response=d(one("accepted", "objected", "maybe")),
        reason=d(one("太少", "")),
        occurred_at=at,
    ),
    "agreement": lambda x, c, who, d, at: x.ledger.reach_agreement(
        c,
        who,
        terms=d(one("赔偿", "")),
        amount=d(one("0", "3000.00")),
        debtor_party_id=d(one("", "p2", "p9")),
        creditor_party_id=d(one("", "p1")),
        effective_on=d(one("", "2026-09-20T09:00:00+08:00")),
        occurred_at=at,
    ),
    "failure": lambda x, c, who, d, at: x.ledger.fail_mediation(
        c, who, advice=d(one(["litigation"], [], ["duel"])), filed_with=COUNTY_FILING, occurred_at=at
    ),
    "conclude": lambda x, c, who, d, at: x.ledger.conclude(
        c,
        who,
        outcome=d(one("resolved", "unresolved_referred", "vanished")),
        referred_to=d(one("仲裁委", "")),
        occurred_at=at,
    ),
    "rate": lambda x, c, who, d, at: x.ledger.rate(
        c,
        who,
        party_id=d(one("p1", "p2", "p9")),
        satisfaction=d(one("satisfied", "dissatisfied", "meh")),
        method=d(one("phone", "telepathy")),
        occurred_at=at,
    ),
    "review": lambda x, c, who, d, at: x.ledger.complete_review(
        c, who, result=d(one("verified", "rectification", "shrug")), note=d(one("整改", "")), occurred_at=at
    ),
    "reopen": lambda x, c, who, d, at: x.ledger.reopen(c, who, reason=d(one("不满意", "")), occurred_at=at),
    "performance": lambda x, c, who, d, at: x.ledger.record_performance(
        c, who, performance=d(one("performed", "partly", "never")), occurred_at=at
    ),
    "follow_up": lambda x, c, who, d, at: x.ledger.follow_up(
        c, who, method=d(one("visit", "fax")), note=d(one("回访", "")), occurred_at=at
    ),
    "correct": lambda x, c, who, d, at: x.ledger.correct(
        c,
        who,
        position=d(st.one_of(st.integers(1, 3), st.integers(0, 12))),
        corrected=d(
            one({"summary": "更正"}, {}, {"note": "更正"}, {"outcome": "resolved"}, {"occurred_at": _iso_near(x, d)})
        ),
        reason=d(one("笔误", "")),
        occurred_at=at,
    ),
    "judicial_confirmation": lambda x, c, who, d, at: x.ledger.apply_for_confirmation(
        c, who, court=COURT_UNIT, applicant_party_ids=d(one(PARTY_IDS, ["p1"])), occurred_at=at
    ),
    "ruling": lambda x, c, who, d, at: x.ledger.rule_on_confirmation(
        f"{c}-jc{d(one(1, 2))}",
        who,
        ruling=d(one("confirmed", "rejected")),
        ruling_number="(2026)清民特1号",
        occurred_at=at,
    ),
    "payment_order": lambda x, c, who, d, at: x.ledger.apply_for_payment_order(
        c, who, court=COURT_UNIT, creditor_party_id=d(one("p1", "p2")), occurred_at=at
    ),
}


MEDIATION_OPS = frozenset(
    {
        "choose_mediator",
        "notify_rights",
        "request_appraisal",
        "complete_appraisal",
        "session",
        "undisputed_facts",
        "proposal",
        "proposal_response",
        "agreement",
        "failure",
        "performance",
        "judicial_confirmation",
        "payment_order",
        "escalate",
    }
)


_AFTER_AGREEMENT = ("performance", "judicial_confirmation", "payment_order", "ruling", "correct")
# Commands that can fit a case in each state, so that random commands often go through.
STATE_OPS: dict[str, tuple[str, ...]] = {
    "registered": ("grade", "dispatch", "correct"),
    "dispatched": ("grade", "accept", "return", "correct"),
    "accepted": ("grade", "assign", "escalate", "transfer", "extend", "choose_mediator", "correct"),
    "handling": (*sorted(MEDIATION_OPS), "progress", "transfer", "extend", "conclude", "ruling", "correct"),
    "concluded": ("rate", "review", "reopen", "follow_up", *_AFTER_AGREEMENT),
    "closed": ("follow_up", *_AFTER_AGREEMENT),
}


def replayed(ledger: CaseLedger, case_id: UUID) -> Case:
    """Fold the stored events into a new aggregate, as a fresh load would."""
    aggregate: Any = None
    for event in stored(ledger, case_id):
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Case)
    return aggregate


def state(case: Case) -> dict[str, Any]:
    """Everything the aggregate holds, but the events it has not yet handed over."""
    return {name: value for name, value in vars(case).items() if name != "_pending_events"}


class LedgerMachine(RuleBasedStateMachine):
    """Random commands by random callers against a few cases."""

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock(cst(2026, 9, 14, 9))
        self.ledger = build_ledger(Settings(backend="memory"), clock=self.clock.now)
        qualified = qualify(self.ledger, CAST).mediator_id
        disqualified = qualify(self.ledger, CAST, user_id="med-sun", name="孙调解")
        for _ in range(3):  # three valid complaints end 孙调解's qualification
            lodged = self.ledger.lodge_complaint(
                UUID(disqualified.mediator_id), CAST.township, ground="other", description="d"
            )
            self.ledger.find_complaint(
                UUID(disqualified.mediator_id),
                CAST.county,
                complaint_id=lodged.extra["complaint_id"],
                valid=True,
                finding="f",
            )
        self.ctx = Context(self.ledger, self.clock, qualified, disqualified.mediator_id)
        self.built: dict[UUID, Case] = {}
        save = self.ledger.save

        def spy(*objects: Any, **kwargs: Any) -> Any:
            recordings = save(*objects, **kwargs)
            self.built.update((o.id, o) for o in objects if isinstance(o, Case))
            return recordings

        self.ledger.save = spy  # type: ignore[method-assign]

    def _register(self, caller: Caller, **fields: Any) -> UUID | None:
        last = self.ledger.recorder.max_notification_id()
        try:
            result = self.ledger.register_case(caller, parties=list(PARTIES), **fields)
        except DomainError:
            assert self.ledger.recorder.max_notification_id() == last
            return None
        case_id = UUID(result.id)
        assert result.version == 1
        assert len(stored(self.ledger, case_id)) == 1
        return case_id

    @initialize(target=cases)
    def a_case_to_begin_with(self) -> UUID:
        case_id = self._register(
            CAST.township, channel="grid_patrol", category="neighbour", summary="排水沟", jurisdiction=GRID
        )
        assert case_id is not None
        return case_id

    @rule(
        target=cases,
        caller=LIKELY_CALLERS,
        channel=one("hotline_12345", "visit", "fax"),
        jurisdiction=one(GRID, OTHER_TOWNSHIP_GRID, "qingxi/atlantis"),
        color=one("green", "yellow", "red", "blue"),
        difficulty=one("simple", "ordinary", "complex"),
        summary=one("邻里纠纷", ""),
    )
    def register(
        self, caller: Caller, channel: str, jurisdiction: str, color: str, difficulty: str, summary: str
    ) -> Any:
        case_id = self._register(
            caller,
            channel=channel,
            category="neighbour",
            summary=summary,
            jurisdiction=jurisdiction,
            risk_color=color,
            difficulty=difficulty,
        )
        return multiple() if case_id is None else case_id

    @rule(minutes=st.integers(0, 3 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    def _people(self, case: Case) -> tuple[Caller, Caller | None, Caller | None]:
        """The case's township center, the unit it is with and its handler, as callers (if known)."""
        township = CAST.township if case.jurisdiction.startswith("qingxi/chengguan") else CAST.other_township
        unit = {VILLAGE_UNIT: CAST.village, "qingxi-hrss": CAST.department}.get(case.unit or case.accepted_unit)
        handler = {"gw-zhao": CAST.grid_worker, "med-wang": CAST.mediator, "vil-qian": CAST.village}.get(
            case.handler_id
        )
        return township, unit, handler

    def _fitting(self, case_id: UUID, name: str) -> Caller:
        """The caller SPEC §2 names for this command on this case."""
        township, unit, handler = self._people(self.ledger.get_case(case_id))
        unit = unit or township
        if name in ("accept", "return", "assign", "transfer", "progress"):
            return unit
        if name == "conclude":
            return handler or unit
        if name == "ruling":
            return CAST.court
        if name in MEDIATION_OPS:
            return CAST.mediator
        return township

    @rule(
        case_id=cases,
        caller=st.one_of(st.none(), LIKELY_CALLERS),
        back=one(None, None, None, None, 0, 5, 20, 60 * 24 * 30, -1),
        data=st.data(),
    )
    def command(self, case_id: UUID, caller: Caller | None, back: int | None, data: st.DataObject) -> None:
        fits = STATE_OPS[self.ledger.get_case(case_id).status]
        name = data.draw(st.one_of(st.sampled_from(fits), st.sampled_from(sorted(OPS))))
        caller = caller or self._fitting(case_id, name)
        occurred_at = None if back is None else self.clock.now() - timedelta(minutes=back)
        self._attempt(case_id, name, lambda: OPS[name](self.ctx, case_id, caller, data.draw, occurred_at))

    @rule(case_id=cases, steps=st.integers(1, 4), data=st.data())
    def next_steps(self, case_id: UUID, steps: int, data: st.DataObject) -> None:
        """A few steps that fit the case, by the right callers, so that runs reach mediation, rating and review."""
        for _ in range(steps):
            self._next_step(case_id, data)

    def _next_step(self, case_id: UUID, data: st.DataObject) -> None:
        case = self.ledger.get_case(case_id)
        township, unit, handler = self._people(case)
        options: dict[str, Callable[[], CommandResult]] = {}
        lg, x = self.ledger, self.ctx
        if case.status == "registered":
            options["dispatch"] = lambda: lg.dispatch(
                case_id, township, unit=data.draw(one(VILLAGE_UNIT, "qingxi-hrss"))
            )
        elif case.status == "dispatched" and unit:
            options["accept"] = lambda: lg.accept(case_id, unit)
        elif case.status == "accepted" and unit:
            options["assign"] = lambda: lg.assign(case_id, unit, handler_kind="mediator", mediator_id=x.qualified)
        elif case.status == "handling":
            options["notify_rights"] = lambda: lg.notify_rights(case_id, CAST.mediator, party_ids=PARTY_IDS)
            options["proposal"] = lambda: lg.issue_proposal(case_id, CAST.mediator, proposal_id="P1", terms="t")
            options["agreement"] = lambda: lg.reach_agreement(
                case_id, CAST.mediator, terms="t", amount="300", debtor_party_id="p2", creditor_party_id="p1"
            )
            if handler:
                options["conclude"] = lambda: lg.conclude(case_id, handler, outcome="resolved")
        elif case.status == "concluded":
            options["rate"] = lambda: lg.rate(
                case_id,
                township,
                party_id=data.draw(one(*PARTY_IDS)),
                satisfaction=data.draw(one("satisfied", "dissatisfied")),
                method="phone",
            )
            options["review"] = lambda: lg.complete_review(
                case_id, township, result=data.draw(one("verified", "rectification")), note="n"
            )
            options["reopen"] = lambda: lg.reopen(case_id, township, reason="不满意")
        if not options:
            return
        name = data.draw(st.sampled_from(sorted(options)))
        self._attempt(case_id, name, options[name])

    def _attempt(self, case_id: UUID, name: str, action: Callable[[], CommandResult]) -> None:
        """One event recorded on the case, or a refusal with nothing recorded anywhere."""
        before = stored(self.ledger, case_id)
        last = self.ledger.recorder.max_notification_id()
        assert last is not None
        try:
            result = action()
        except DomainError:
            assert stored(self.ledger, case_id) == before, name
            assert self.ledger.recorder.max_notification_id() == last, name
            return
        after = stored(self.ledger, case_id)
        assert after[: len(before)] == before, name
        assert len(after) == len(before) + 1, name
        assert (UUID(result.id), result.version) == (case_id, len(after)), name
        assert self.ledger.recorder.max_notification_id() == last + 1, name

    @invariant()
    def replaying_the_events_gives_the_state_the_commands_built(self) -> None:
        for case_id, built in self.built.items():
            assert state(replayed(self.ledger, case_id)) == state(built)
            assert state(self.ledger.get_case(case_id)) == state(built)


LedgerMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.__doc__ = (
    "SPEC §2: a command records exactly one event or is refused with nothing recorded; §7: replay agrees."
)


# ---------------------------------------------------------------- deadlines never fail

FAR_FUTURE = cst(2031, 6, 1)


@settings(max_examples=150, deadline=None, database=None)
@given(
    registered=st.datetimes(
        min_value=datetime(2004, 1, 1), max_value=datetime(2030, 12, 31, 23, 59), timezones=st.just(CHINA_TZ)
    ),
    difficulty=one("simple", "ordinary", "complex"),
    channel=one("grid_patrol", "hotline_12345"),
    gaps=st.lists(st.integers(0, 20 * 24 * 60), min_size=2, max_size=2),
)
def test_deadlines_never_fail_for_any_registration_between_2004_and_2030(
    registered: datetime, difficulty: str, channel: str, gaps: list[int]
) -> None:
    """SPEC §4: a deadline is always computed; it is provisional exactly when it counts days beyond the loaded years."""
    ledger = build_ledger(Settings(backend="memory"), clock=lambda: FAR_FUTURE)
    importer = CAST.importer
    dispatched = registered + timedelta(minutes=gaps[0])
    accepted = dispatched + timedelta(minutes=gaps[1])
    result = ledger.register_case(
        importer,
        channel=channel,
        category="land",
        summary="历史纸质台账",
        jurisdiction=GRID,
        parties=list(PARTIES),
        difficulty=difficulty,
        occurred_at=registered,
    )
    case_id = UUID(result.id)
    ledger.dispatch(case_id, importer, unit=VILLAGE_UNIT, occurred_at=dispatched)
    ledger.accept(case_id, importer, occurred_at=accepted)

    view = ledger.view_case(case_id, importer.actor)

    assert [d.kind for d in view.deadlines] == ["dispatch", "accept", "assign", "resolve"]
    for deadline in view.deadlines:
        assert deadline.due_at > deadline.started_at
        last_day_counted = (deadline.due_at.astimezone(CHINA_TZ) - timedelta(days=1)).date()
        assert deadline.provisional == (last_day_counted.year > 2026)
