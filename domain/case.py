"""The ``Case`` aggregate: one dispute from registration (制单) to review (考单).

Every public method is a command: it checks the case's state and the actor, raises a
:mod:`domain.errors` refusal (recording nothing) or triggers exactly one event. Event
``apply`` methods only evolve state, so replaying stored events never re-runs a check.

All events of one aggregate live in this one class because their stored topics are
``domain.case:Case.<Name>`` forever; splitting the class would rename them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.calendar import CHINA_TZ, WorkCalendar
from domain.deadlines import DEADLINE_POLICY, due_after
from domain.errors import InvalidCommand, InvalidTransition, NotFound, NotPermitted
from domain.provenance import Provenance
from domain.values import (
    REFERENCE_BRACKETS,
    Actor,
    Category,
    Channel,
    ChoiceMethod,
    Difficulty,
    EscalationKind,
    FailureAdvice,
    Outcome,
    Party,
    Performance,
    ProposalResponse,
    RatingMethod,
    ReviewResult,
    RiskColor,
    Role,
    Ruling,
    Satisfaction,
)


class Status:
    """Case states; codes stored, Chinese labels shown."""

    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    HANDLING = "handling"
    CONCLUDED = "concluded"
    CLOSED = "closed"

    LABELS: ClassVar[dict[str, str]] = {
        REGISTERED: "待派单",
        DISPATCHED: "待接单",
        ACCEPTED: "已接单待指派",
        HANDLING: "办理中",
        CONCLUDED: "已办结待复核",
        CLOSED: "已销项",
    }


# Fields an ``EntryCorrected`` may set, by the corrected event's class name. ``occurred_at``
# is correctable on every event because a mistyped time would otherwise skew deadlines
# forever; outcomes and ratings are deliberately not, since correcting them would rewrite
# a judgement rather than a clerical slip.
CORRECTABLE_FIELDS: dict[str, frozenset[str]] = {
    "Registered": frozenset({"summary", "category", "channel", "external_ref"}),
    "ProgressRecorded": frozenset({"note"}),
    "MediationSessionHeld": frozenset({"notes", "attendees", "on_site"}),
    "Concluded": frozenset({"note", "referred_to"}),
    "SatisfactionRated": frozenset({"method", "comment"}),
    "FollowUpVisited": frozenset({"note", "method"}),
}
ALWAYS_CORRECTABLE = frozenset({"occurred_at"})

# Names the SPEC gives these events ("CaseRegistered"); the rest already match.
_SPEC_PREFIXED = frozenset(
    {
        "Registered",
        "Graded",
        "Dispatched",
        "Accepted",
        "Returned",
        "Escalated",
        "Transferred",
        "Concluded",
        "Reopened",
    }
)


def spec_event_name(class_name: str) -> str:
    """The event's name as SPEC §2–§3 writes it (``Registered`` → ``CaseRegistered``)."""
    return "Case" + class_name if class_name in _SPEC_PREFIXED else class_name


def _require(condition: bool, error: Exception) -> None:
    if not condition:
        raise error


def _enum(kind: type[Any], value: str, field: str) -> str:
    try:
        return str(kind(value).value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidCommand(f"{field} '{value}' is not one of: {allowed}", field=field) from None


def _money(value: str) -> str:
    """A sum of yuan, at most two decimals, normalised as ``"3500.00"``."""
    try:
        amount = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise InvalidCommand(f"amount '{value}' is not a sum of money", field="amount") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidCommand(f"amount '{value}' is not a sum of money in yuan and fen", field="amount")
    return f"{amount:.2f}"


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidCommand(f"{field} '{value}' is not a date (YYYY-MM-DD)", field=field) from None


def _effective_moment(value: str) -> datetime:
    """When an agreement took effect: a date (that day, China time) or a time with an offset."""
    if len(value) == 10:
        return datetime.combine(_day(value, "effective_on"), time(0), CHINA_TZ)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidCommand(f"effective_on '{value}' is not a date or time", field="effective_on") from None
    if moment.tzinfo is None:
        raise InvalidCommand("effective_on needs a time zone offset", field="effective_on")
    return moment


def _text(value: str, field: str, *, required: bool = True, limit: int = 4000) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidCommand(f"{field} must not be empty", field=field)
    if len(value) > limit:
        raise InvalidCommand(f"{field} is longer than {limit} characters", field=field)
    if any(bracket in value for bracket in REFERENCE_BRACKETS):
        raise InvalidCommand(f"{field} must not contain ⟦ or ⟧ (they mark references to parties)", field=field)
    return value


# Event fields that hold what an official wrote, where a party's name, phone, ID number or
# address may appear: recorded with those replaced by references (``Provenance.redact``).
FREE_TEXT = frozenset({"summary", "note", "notes", "reason", "terms", "comment", "matter", "conclusion", "facts",
                       "attendees"})  # fmt: skip


def _redacted(p: Provenance, name: str, value: Any) -> Any:
    if name == "corrected":  # an EntryCorrected's new values, by the field they replace
        return {field: _redacted(p, field, new) for field, new in value.items()}
    if name not in FREE_TEXT:
        return value
    if isinstance(value, list):
        return [p.redacted(item) for item in value]
    return p.redacted(value)


def check_parties(parties: list[Party]) -> list[Party]:
    """制单's rules for the parties, on their data as given (before any sealing)."""
    _require(bool(parties), InvalidCommand("a case needs at least one party", field="parties"))
    ids = [party.party_id for party in parties]
    _require(len(set(ids)) == len(ids), InvalidCommand("party ids repeat", field="parties"))
    for party in parties:
        _text(party.party_id, "parties.party_id", limit=64)
        _text(party.name, "parties.name", limit=100)
    return list(parties)


class Case(Aggregate):
    """A dispute case (矛盾纠纷) and everything done about it."""

    class Event(Aggregate.Event):
        actor: Actor
        occurred_at: datetime
        request_id: str
        imported: bool

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            case.times[self.originator_version] = self.occurred_at
            case.event_names.append(type(self).__name__)
            case.last_occurred_at = max(case.last_occurred_at, self.occurred_at)
            self.evolve(case)

        def evolve(self, case: Case) -> None:
            """What this event changes (overridden per event)."""

    class Registered(Event, Aggregate.Created):
        channel: str
        category: str
        summary: str
        jurisdiction: str
        parties: list[Party]
        risk_color: str
        difficulty: str
        external_ref: str

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            case.times = {}
            case.event_names = [""]  # position 0 does not exist; keeps indexes = versions
            case.last_occurred_at = self.occurred_at
            super().apply(case)

        def evolve(self, case: Case) -> None:
            case.status = Status.REGISTERED
            case.channel = self.channel
            case.category = self.category
            case.summary = self.summary
            case.external_ref = self.external_ref
            case.jurisdiction = self.jurisdiction
            case.parties = {p.party_id: p for p in self.parties}
            case.risk_color = self.risk_color
            case.difficulty = self.difficulty
            case.registered_by = self.actor
            case.county_flagged = False
            case.unit = ""
            case.accepted_unit = ""
            case.handler_id = ""
            case.handler_kind = ""
            case.handler_name = ""
            case.mediator_id = ""
            case.mediator_user_id = ""
            case.round = 1
            case.steps = []
            case.rights_notified = False
            case.sessions = 0
            case.appraisals = {}
            case.undisputed_facts = []
            case.proposals = {}
            case.agreement = None
            case.mediation_failure = None
            case.escalations = []
            case.transfers = []
            case.conclusion = None
            case.ratings = []
            case.review = None
            case.reopenings = []
            case.performance = None
            case.follow_ups = 0
            case.confirmations = {}
            case.payment_orders = []
            case.corrections = []
            case.erasure_requests = {}
            case.erased_parties = {}
            case.imported = self.imported
            case.open_step("dispatch", self.originator_version)

    class Graded(Event):
        risk_color: str
        difficulty: str
        reason: str

        def evolve(self, case: Case) -> None:
            case.risk_color = self.risk_color
            case.difficulty = self.difficulty

    class Dispatched(Event):
        unit: str
        note: str
        county_flagged: bool

        def evolve(self, case: Case) -> None:
            case.status = Status.DISPATCHED
            case.unit = self.unit
            case.county_flagged = case.county_flagged or self.county_flagged
            case.close_step("dispatch", self.originator_version)
            case.open_step("accept", self.originator_version)

    class Accepted(Event):
        unit: str

        def evolve(self, case: Case) -> None:
            case.status = Status.ACCEPTED
            case.accepted_unit = self.unit
            case.close_step("accept", self.originator_version)
            case.open_step("assign", self.originator_version)
            if not any(s["kind"] == "resolve" for s in case.steps):
                case.open_step("resolve", self.originator_version)

    class Returned(Event):
        unit: str
        reason: str

        def evolve(self, case: Case) -> None:
            case.status = Status.REGISTERED
            case.unit = ""
            case.close_step("accept", self.originator_version)
            case.open_step("dispatch", self.originator_version)

    class HandlerAssigned(Event):
        handler_id: str
        handler_kind: str
        handler_name: str
        mediator_id: str

        def evolve(self, case: Case) -> None:
            case.status = Status.HANDLING
            case.handler_id = self.handler_id
            case.handler_kind = self.handler_kind
            case.handler_name = self.handler_name
            if self.mediator_id:
                case.mediator_id = self.mediator_id
                case.mediator_user_id = self.handler_id
            case.close_step("assign", self.originator_version)

    class ProgressRecorded(Event):
        note: str

    class MediatorChosen(Event):
        mediator_id: str
        mediator_user_id: str
        method: str
        chosen_by: list[str]

        def evolve(self, case: Case) -> None:
            case.mediator_id = self.mediator_id
            case.mediator_user_id = self.mediator_user_id

    class RightsNotified(Event):
        party_ids: list[str]
        notes: str

        def evolve(self, case: Case) -> None:
            case.rights_notified = True

    class AppraisalRequested(Event):
        appraisal_id: str
        matter: str
        institution: str

        def evolve(self, case: Case) -> None:
            case.appraisals[self.appraisal_id] = None

    class AppraisalCompleted(Event):
        appraisal_id: str
        conclusion: str

        def evolve(self, case: Case) -> None:
            case.appraisals[self.appraisal_id] = self.conclusion

    class MediationSessionHeld(Event):
        on_site: bool
        attendees: list[str]
        notes: str

        def evolve(self, case: Case) -> None:
            case.sessions += 1

    class UndisputedFactsRecorded(Event):
        facts: str
        consenting_party_ids: list[str]

        def evolve(self, case: Case) -> None:
            case.undisputed_facts.append(self.originator_version)

    class ProposalIssued(Event):
        proposal_id: str
        terms: str

        def evolve(self, case: Case) -> None:
            case.proposals[self.proposal_id] = {"issued": self.originator_version, "responses": {}}
            case.open_step("proposal_objection", self.originator_version, ref=self.proposal_id)

    class ProposalAccepted(Event):
        proposal_id: str
        party_id: str

        def evolve(self, case: Case) -> None:
            case.proposals[self.proposal_id]["responses"][self.party_id] = "accepted"

    class ProposalObjected(Event):
        proposal_id: str
        party_id: str
        reason: str

        def evolve(self, case: Case) -> None:
            case.proposals[self.proposal_id]["responses"][self.party_id] = "objected"
            case.close_step("proposal_objection", self.originator_version, ref=self.proposal_id)

    class AgreementReached(Event):
        terms: str
        amount: str
        debtor_party_id: str
        creditor_party_id: str
        performance_due: str
        effective_on: str

        def evolve(self, case: Case) -> None:
            case.agreement = {
                "version": self.originator_version,
                "round": case.round,
                "terms": self.terms,
                "amount": self.amount,
                "debtor_party_id": self.debtor_party_id,
                "creditor_party_id": self.creditor_party_id,
                "performance_due": self.performance_due,
                "effective_on": self.effective_on,
            }
            case.open_step("judicial_confirmation", self.originator_version)

    class MediationFailed(Event):
        advice: list[str]
        filed_with: str
        note: str

        def evolve(self, case: Case) -> None:
            case.mediation_failure = {
                "version": self.originator_version,
                "round": case.round,
                "advice": list(self.advice),
                "filed_with": self.filed_with,
            }

    class Escalated(Event):
        kind: str
        to: str
        reason: str

        def evolve(self, case: Case) -> None:
            case.escalations.append({"kind": self.kind, "to": self.to})

    class Transferred(Event):
        to_unit: str
        reason: str

        def evolve(self, case: Case) -> None:
            case.status = Status.DISPATCHED
            case.transfers.append({"from": case.accepted_unit, "to": self.to_unit})
            case.unit = self.to_unit
            case.accepted_unit = ""
            case.handler_id = case.handler_kind = case.handler_name = ""
            # The first unit's assignment clock stops with the hand-over; the new unit's
            # starts when it accepts.
            case.close_step("assign", self.originator_version)
            case.open_step("accept", self.originator_version)

    class DeadlineExtended(Event):
        extra_days: int
        reason: str

        def evolve(self, case: Case) -> None:
            step = case.open_step_of("resolve")
            if step is not None:
                step["extra_days"] += self.extra_days
                step["extensions"].append(self.originator_version)

    class Concluded(Event):
        outcome: str
        referred_to: str
        note: str

        def evolve(self, case: Case) -> None:
            case.status = Status.CONCLUDED
            case.conclusion = {
                "version": self.originator_version,
                "outcome": self.outcome,
                "referred_to": self.referred_to,
                "round": case.round,
            }
            case.close_step("resolve", self.originator_version)

    class SatisfactionRated(Event):
        party_id: str
        satisfaction: str
        method: str
        comment: str

        def evolve(self, case: Case) -> None:
            case.ratings.append(
                {
                    "version": self.originator_version,
                    "round": case.round,
                    "party_id": self.party_id,
                    "satisfaction": self.satisfaction,
                    "method": self.method,
                    "rater": self.actor.user_id,
                }
            )

    class ReviewCompleted(Event):
        result: str
        note: str

        def evolve(self, case: Case) -> None:
            case.review = {"version": self.originator_version, "result": self.result}
            if self.result == ReviewResult.VERIFIED:
                case.status = Status.CLOSED
            else:
                case.reopen(self.originator_version, "rectification")

    class Reopened(Event):
        reason: str

        def evolve(self, case: Case) -> None:
            case.reopen(self.originator_version, "dissatisfied")

    class PerformanceRecorded(Event):
        performance: str
        note: str

        def evolve(self, case: Case) -> None:
            case.performance = self.performance

    class FollowUpVisited(Event):
        method: str
        note: str

        def evolve(self, case: Case) -> None:
            case.follow_ups += 1

    class JudicialConfirmationApplied(Event):
        confirmation_id: str
        court: str
        applicant_party_ids: list[str]

        def evolve(self, case: Case) -> None:
            case.confirmations[self.confirmation_id] = {
                "court": self.court,
                "applied": self.originator_version,
                "status": "pending",
                "ruling_number": "",
            }
            case.close_step("judicial_confirmation", self.originator_version)

    class JudicialConfirmationRuled(Event):
        confirmation_id: str
        ruling: str
        ruling_number: str
        note: str

        def evolve(self, case: Case) -> None:
            record = case.confirmations[self.confirmation_id]
            record["status"] = self.ruling
            record["ruling_number"] = self.ruling_number
            record["ruled"] = self.originator_version

    class PaymentOrderApplied(Event):
        court: str
        creditor_party_id: str
        amount: str

        def evolve(self, case: Case) -> None:
            case.payment_orders.append(self.originator_version)

    class EntryCorrected(Event):
        position: int
        corrected: dict[str, Any]
        reason: str

        def evolve(self, case: Case) -> None:
            case.corrections.append(self.originator_version)
            for name, value in self.corrected.items():
                if name == "occurred_at":
                    case.times[self.position] = datetime.fromisoformat(value)
                elif case.event_names[self.position] == "Registered":
                    setattr(case, name, value)
                elif name == "referred_to" and case.conclusion:
                    case.conclusion["referred_to"] = value

    class PartyErasureRequested(Event):
        party_id: str
        reason: str

        def evolve(self, case: Case) -> None:
            case.erasure_requests[self.party_id] = {
                "party_id": self.party_id,
                "requested_by": self.actor.user_id,
                "requester": self.actor,
                "requested_version": self.originator_version,
                "reason": self.reason,
            }

    class PartyErased(Event):
        """The second official's approval; the event itself holds no personal data."""

        party_id: str
        requested_by: Actor
        requested_version: int

        def evolve(self, case: Case) -> None:
            case.erasure_requests.pop(self.party_id, None)
            case.erased_parties[self.party_id] = {
                "party_id": self.party_id,
                "requested_by": self.requested_by.user_id,
                "requested_version": self.requested_version,
                "approved_by": self.actor.user_id,
                "erased_version": self.originator_version,
            }

    # Attributes set by events (declared for type checkers and readers).
    times: dict[int, datetime]
    event_names: list[str]
    last_occurred_at: datetime
    status: str
    channel: str
    category: str
    summary: str
    external_ref: str
    jurisdiction: str
    parties: dict[str, Party]
    risk_color: str
    difficulty: str
    registered_by: Actor
    county_flagged: bool
    unit: str
    accepted_unit: str
    handler_id: str
    handler_kind: str
    handler_name: str
    mediator_id: str
    mediator_user_id: str
    round: int
    steps: list[dict[str, Any]]
    rights_notified: bool
    sessions: int
    appraisals: dict[str, str | None]
    undisputed_facts: list[int]
    proposals: dict[str, dict[str, Any]]
    agreement: dict[str, Any] | None
    mediation_failure: dict[str, Any] | None
    escalations: list[dict[str, str]]
    transfers: list[dict[str, str]]
    conclusion: dict[str, Any] | None
    ratings: list[dict[str, Any]]
    review: dict[str, Any] | None
    reopenings: list[dict[str, Any]]
    performance: str | None
    follow_ups: int
    confirmations: dict[str, dict[str, Any]]
    payment_orders: list[int]
    corrections: list[int]
    erasure_requests: dict[str, dict[str, Any]]
    erased_parties: dict[str, dict[str, Any]]
    imported: bool

    def __init__(self) -> None:
        """State is set by the events' ``apply`` methods, so replay and commands agree."""

    # ------------------------------------------------------------------ state helpers

    def open_step(self, kind: str, version: int, ref: str = "") -> None:
        """Start a deadline clock (dispatch, accept, assign, resolve...) at an event."""
        self.steps.append(
            {
                "kind": kind,
                "ref": ref,
                "round": self.round,
                "started": version,
                "done": None,
                "extra_days": 0,
                "extensions": [],
            }
        )

    def open_step_of(self, kind: str, ref: str = "") -> dict[str, Any] | None:
        step: dict[str, Any]
        for step in reversed(self.steps):
            if step["kind"] == kind and step["ref"] == ref and step["done"] is None:
                return step
        return None

    def close_step(self, kind: str, version: int, ref: str = "") -> None:
        step = self.open_step_of(kind, ref)
        if step is not None:
            step["done"] = version

    def reopen(self, version: int, reason: str) -> None:
        self.status = Status.HANDLING
        self.reopenings.append({"version": version, "reason": reason, "round": self.round})
        self.round += 1
        self.conclusion = None
        self.review = None
        self.open_step("resolve", version)

    # ------------------------------------------------------------------ guards

    def _check(self, command: str, allowed: tuple[str, ...]) -> None:
        _require(
            self.status in allowed,
            InvalidTransition(
                command,
                self.status,
                f"cannot {command} a case that is {self.status}",
                case_id=str(self.id),
            ),
        )

    def _check_time(self, p: Provenance) -> None:
        _require(
            p.occurred_at >= self.last_occurred_at,
            InvalidCommand(
                "occurred_at is earlier than the case's previous step",
                field="occurred_at",
                case_id=str(self.id),
            ),
        )

    def _check_party(self, party_id: str) -> None:
        _require(
            party_id in self.parties,
            InvalidCommand(f"unknown party '{party_id}'", field="party_id", case_id=str(self.id)),
        )

    def _check_parties(self, party_ids: list[str], field: str) -> None:
        for party_id in party_ids:
            _require(
                party_id in self.parties,
                InvalidCommand(f"unknown party '{party_id}'", field=field, case_id=str(self.id)),
            )

    def _record(self, event_class: type[Event], p: Provenance, **data: Any) -> None:
        self._check_time(p)
        if p.redact is not None:
            data = {name: _redacted(p, name, value) for name, value in data.items()}
        self.trigger_event(event_class, **p.event_fields(), **data)

    @staticmethod
    def _importing(p: Provenance) -> bool:
        return p.actor.role == Role.IMPORTER

    def _check_unit(self, p: Provenance, unit: str, command: str) -> None:
        _require(
            self._importing(p) or p.actor.unit == unit,
            NotPermitted(f"only unit '{unit}' may {command} this case", case_id=str(self.id)),
        )

    def _is_mediation_actor(self, p: Provenance) -> bool:
        if p.actor.role != Role.MEDIATOR:
            return True
        return p.actor.user_id in (self.handler_id, self.mediator_user_id)

    def _check_mediation(self, command: str, p: Provenance) -> None:
        self._check(command, (Status.HANDLING,))
        _require(
            self._is_mediation_actor(p),
            NotPermitted("only the case's mediator may record its mediation", case_id=str(self.id)),
        )

    # ------------------------------------------------------------------ 制单 研判 派单 接单

    @classmethod
    def register(
        cls,
        case_id: UUID,
        p: Provenance,
        *,
        channel: str,
        category: str,
        summary: str,
        jurisdiction: str,
        parties: list[Party],
        risk_color: str = RiskColor.GREEN,
        difficulty: str = Difficulty.ORDINARY,
        external_ref: str = "",
        seal: Callable[[list[Party]], list[Party]] | None = None,
    ) -> Case:
        """制单: open a case.

        ``seal`` is how the parties are recorded: every rule is checked on the parties as
        given, then ``seal`` (the application's encryption of their personal fields) turns
        them into what the event holds. Nothing is sealed for a command that is refused.
        """
        checked = check_parties(parties)
        fields = {
            "channel": _enum(Channel, channel, "channel"),
            "category": _enum(Category, category, "category"),
            "summary": p.redacted(_text(summary, "summary")),
            "jurisdiction": _text(jurisdiction, "jurisdiction", limit=300),
            "risk_color": _enum(RiskColor, risk_color, "risk_color"),
            "difficulty": _enum(Difficulty, difficulty, "difficulty"),
            "external_ref": _text(external_ref, "external_ref", required=False, limit=100),
        }
        recorded = seal(checked) if seal is not None else checked
        _require(
            [party.party_id for party in recorded] == [party.party_id for party in checked],
            InvalidCommand("sealing changed the parties", field="parties"),
        )
        return cls._create(cls.Registered, id=case_id, **p.event_fields(), parties=recorded, **fields)

    def grade(self, p: Provenance, *, risk_color: str, difficulty: str, reason: str) -> None:
        """研判: (re-)grade the risk color and difficulty, with a reason."""
        self._check("grade", (Status.REGISTERED, Status.DISPATCHED, Status.ACCEPTED, Status.HANDLING))
        self._record(
            self.Graded,
            p,
            risk_color=_enum(RiskColor, risk_color, "risk_color"),
            difficulty=_enum(Difficulty, difficulty, "difficulty"),
            reason=_text(reason, "reason"),
        )

    def dispatch(self, p: Provenance, *, unit: str, note: str = "") -> None:
        """派单: send the case to a village or department. Red cases are flagged to the county."""
        self._check("dispatch", (Status.REGISTERED,))
        _require(
            self._importing(p) or p.actor.role != Role.UNIT or self.risk_color == RiskColor.GREEN,
            NotPermitted(
                "a village may dispatch only green cases; yellow and red go through the township",
                case_id=str(self.id),
            ),
        )
        self._record(
            self.Dispatched,
            p,
            unit=_text(unit, "unit", limit=100),
            note=_text(note, "note", required=False),
            county_flagged=self.risk_color == RiskColor.RED,
        )

    def accept(self, p: Provenance) -> None:
        """接单: the unit it was dispatched to takes it."""
        self._check("accept", (Status.DISPATCHED,))
        self._check_unit(p, self.unit, "accept")
        self._record(self.Accepted, p, unit=self.unit)

    def return_(self, p: Provenance, *, reason: str) -> None:
        """退单: the unit sends it back to dispatch, with a reason."""
        self._check("return", (Status.DISPATCHED,))
        self._check_unit(p, self.unit, "return")
        self._record(self.Returned, p, unit=self.unit, reason=_text(reason, "reason"))

    def assign(
        self,
        p: Provenance,
        *,
        handler_id: str,
        handler_kind: str,
        handler_name: str = "",
        mediator_id: str = "",
    ) -> None:
        """Name the grid worker or mediator who handles the case.

        A mediator's qualification is checked by the application, which can see the
        ``Mediator`` aggregate; here only the case's own rules.
        """
        self._check("assign", (Status.ACCEPTED, Status.HANDLING))
        self._check_unit(p, self.accepted_unit, "assign")
        _require(
            handler_kind in (Role.GRID_WORKER, Role.MEDIATOR, Role.UNIT),
            InvalidCommand("handler_kind must be grid_worker, mediator or unit", field="handler_kind"),
        )
        _require(
            (handler_kind == Role.MEDIATOR) == bool(mediator_id),
            InvalidCommand("a mediator handler needs mediator_id, others none", field="mediator_id"),
        )
        self._record(
            self.HandlerAssigned,
            p,
            handler_id=_text(handler_id, "handler_id", limit=100),
            handler_kind=handler_kind,
            handler_name=_text(handler_name, "handler_name", required=False, limit=100),
            mediator_id=mediator_id,
        )

    # ------------------------------------------------------------------ 做单

    def record_progress(self, p: Provenance, *, note: str) -> None:
        """做单: a handling note."""
        self._check("record progress on", (Status.HANDLING,))
        self._record(self.ProgressRecorded, p, note=_text(note, "note"))

    def escalate(self, p: Provenance, *, kind: str, to: str, reason: str) -> None:
        """吹哨 / 联席会 / mediation committee discussion."""
        self._check("escalate", (Status.ACCEPTED, Status.HANDLING))
        self._record(
            self.Escalated,
            p,
            kind=_enum(EscalationKind, kind, "kind"),
            to=_text(to, "to", limit=200),
            reason=_text(reason, "reason"),
        )

    def transfer(self, p: Provenance, *, to_unit: str, reason: str) -> None:
        """转办单: hand the case to another unit, which must accept it."""
        self._check("transfer", (Status.ACCEPTED, Status.HANDLING))
        to_unit = _text(to_unit, "to_unit", limit=100)
        _require(
            to_unit != self.accepted_unit,
            InvalidCommand("the case is already with that unit", field="to_unit"),
        )
        self._record(self.Transferred, p, to_unit=to_unit, reason=_text(reason, "reason"))

    def extend_deadline(self, p: Provenance, *, extra_days: int, reason: str) -> None:
        """Extend the resolution deadline; the township approves (the actor is the approver)."""
        self._check("extend", (Status.ACCEPTED, Status.HANDLING))
        _require(
            self._importing(p) or p.actor.role == Role.TOWNSHIP_CENTER,
            NotPermitted("an extension needs the township center's approval", case_id=str(self.id)),
        )
        _require(
            0 < extra_days <= 60,
            InvalidCommand("extra_days must be between 1 and 60", field="extra_days"),
        )
        _require(
            self.open_step_of("resolve") is not None,
            InvalidTransition("extend", self.status, "no resolution deadline is running"),
        )
        self._record(self.DeadlineExtended, p, extra_days=extra_days, reason=_text(reason, "reason"))

    # ------------------------------------------------------------------ mediation (§3)

    def choose_mediator(
        self,
        p: Provenance,
        *,
        mediator_id: str,
        mediator_user_id: str,
        method: str,
        chosen_by: list[str],
    ) -> None:
        """Parties choose their mediator (qualification is checked by the application)."""
        self._check("choose a mediator for", (Status.ACCEPTED, Status.HANDLING))
        _require(bool(chosen_by), InvalidCommand("chosen_by names no party", field="chosen_by"))
        self._check_parties(chosen_by, "chosen_by")
        self._record(
            self.MediatorChosen,
            p,
            mediator_id=mediator_id,
            mediator_user_id=mediator_user_id,
            method=_enum(ChoiceMethod, method, "method"),
            chosen_by=list(chosen_by),
        )

    def notify_rights(self, p: Provenance, *, party_ids: list[str], notes: str = "") -> None:
        """告知权利义务: required before any session or proposal."""
        self._check_mediation("notify rights on", p)
        _require(bool(party_ids), InvalidCommand("party_ids is empty", field="party_ids"))
        self._check_parties(party_ids, "party_ids")
        self._record(self.RightsNotified, p, party_ids=list(party_ids), notes=_text(notes, "notes", required=False))

    def request_appraisal(self, p: Provenance, *, appraisal_id: str, matter: str, institution: str) -> None:
        """Ask for a technical appraisal."""
        self._check_mediation("request an appraisal on", p)
        _require(
            appraisal_id not in self.appraisals,
            InvalidCommand("appraisal_id already used", field="appraisal_id"),
        )
        self._record(
            self.AppraisalRequested,
            p,
            appraisal_id=_text(appraisal_id, "appraisal_id", limit=64),
            matter=_text(matter, "matter"),
            institution=_text(institution, "institution", limit=200),
        )

    def complete_appraisal(self, p: Provenance, *, appraisal_id: str, conclusion: str) -> None:
        """Record an appraisal's conclusion."""
        self._check_mediation("complete an appraisal on", p)
        _require(
            appraisal_id in self.appraisals and self.appraisals[appraisal_id] is None,
            InvalidTransition("complete appraisal", self.status, "no such appraisal is pending"),
        )
        self._record(self.AppraisalCompleted, p, appraisal_id=appraisal_id, conclusion=_text(conclusion, "conclusion"))

    def _check_mediating(self, command: str, p: Provenance) -> None:
        self._check_mediation(command, p)
        _require(
            self.rights_notified,
            InvalidTransition(command, self.status, "parties must be notified of their rights first"),
        )
        _require(
            not self._mediation_ended(),
            InvalidTransition(command, self.status, "mediation already ended in this round"),
        )

    def _mediation_ended(self) -> bool:
        return any(
            record is not None and record["round"] == self.round for record in (self.agreement, self.mediation_failure)
        )

    def hold_session(self, p: Provenance, *, on_site: bool, attendees: list[str], notes: str) -> None:
        """调解: a mediation session."""
        self._check_mediating("hold a session on", p)
        self._record(
            self.MediationSessionHeld,
            p,
            on_site=on_site,
            attendees=[_text(a, "attendees", limit=100) for a in attendees],
            notes=_text(notes, "notes"),
        )

    def record_undisputed_facts(self, p: Provenance, *, facts: str, consenting_party_ids: list[str]) -> None:
        """无争议事实记载: needs every party's consent."""
        self._check_mediation("record undisputed facts on", p)
        self._check_parties(consenting_party_ids, "consenting_party_ids")
        _require(
            set(consenting_party_ids) == set(self.parties),
            InvalidCommand("every party must consent to the undisputed facts", field="consenting_party_ids"),
        )
        self._record(
            self.UndisputedFactsRecorded,
            p,
            facts=_text(facts, "facts"),
            consenting_party_ids=list(consenting_party_ids),
        )

    def issue_proposal(self, p: Provenance, *, proposal_id: str, terms: str) -> None:
        """无异议调解方案: a proposal deemed accepted when no party objects in time."""
        self._check_mediating("issue a proposal on", p)
        _require(proposal_id not in self.proposals, InvalidCommand("proposal_id already used", field="proposal_id"))
        self._record(
            self.ProposalIssued, p, proposal_id=_text(proposal_id, "proposal_id", limit=64), terms=_text(terms, "terms")
        )

    def respond_to_proposal(
        self,
        p: Provenance,
        calendar: WorkCalendar,
        *,
        proposal_id: str,
        party_id: str,
        response: str,
        reason: str = "",
    ) -> None:
        """A party accepts or objects; an objection after the period is refused."""
        self._check_mediation("respond to a proposal on", p)
        _require(proposal_id in self.proposals, InvalidCommand("unknown proposal", field="proposal_id"))
        self._check_party(party_id)
        proposal = self.proposals[proposal_id]
        _require(
            party_id not in proposal["responses"],
            InvalidTransition("respond to proposal", self.status, "this party has already responded"),
        )
        response = _enum(ProposalResponse, response, "response")
        if response == ProposalResponse.OBJECTED:
            window = due_after(calendar, self.times[proposal["issued"]], DEADLINE_POLICY["proposal_objection"])
            _require(
                p.occurred_at <= window.at,
                InvalidTransition("object to proposal", self.status, "the objection period has passed"),
            )
            self._record(
                self.ProposalObjected, p, proposal_id=proposal_id, party_id=party_id, reason=_text(reason, "reason")
            )
        else:
            self._record(self.ProposalAccepted, p, proposal_id=proposal_id, party_id=party_id)

    def reach_agreement(
        self,
        p: Provenance,
        *,
        terms: str,
        amount: str = "0",
        debtor_party_id: str = "",
        creditor_party_id: str = "",
        performance_due: str = "",
        effective_on: str = "",
    ) -> None:
        """调解成功: the mediation agreement (人民调解协议书)."""
        self._check_mediating("record an agreement on", p)
        for party_id in (debtor_party_id, creditor_party_id):
            if party_id:
                self._check_party(party_id)
        if effective_on:
            _effective_moment(effective_on)
        if performance_due:
            _day(performance_due, "performance_due")
        self._record(
            self.AgreementReached,
            p,
            terms=_text(terms, "terms"),
            amount=_money(amount),
            debtor_party_id=debtor_party_id,
            creditor_party_id=creditor_party_id,
            performance_due=performance_due,
            effective_on=effective_on,
        )

    def fail_mediation(self, p: Provenance, *, advice: list[str], filed_with: str, note: str = "") -> None:
        """调解不成: advise the routes left and file with the county center."""
        self._check_mediation("record a failed mediation on", p)
        _require(
            not self._mediation_ended(),
            InvalidTransition("fail mediation", self.status, "mediation already ended in this round"),
        )
        _require(bool(advice), InvalidCommand("advice must name at least one route", field="advice"))
        self._record(
            self.MediationFailed,
            p,
            advice=[_enum(FailureAdvice, a, "advice") for a in advice],
            filed_with=_text(filed_with, "filed_with", limit=200),
            note=_text(note, "note", required=False),
        )

    # ------------------------------------------------------------------ 办结 评单 考单

    def conclude(self, p: Provenance, *, outcome: str, referred_to: str = "", note: str = "") -> None:
        """办结: only the handler concludes."""
        self._check("conclude", (Status.HANDLING,))
        _require(
            self._importing(p) or p.actor.user_id == self.handler_id,
            NotPermitted("only the case's handler may conclude it", case_id=str(self.id)),
        )
        outcome = _enum(Outcome, outcome, "outcome")
        _require(
            outcome != Outcome.UNRESOLVED_REFERRED or bool(referred_to.strip()),
            InvalidCommand("an unresolved case must say where it was referred", field="referred_to"),
        )
        self._record(
            self.Concluded,
            p,
            outcome=outcome,
            referred_to=_text(referred_to, "referred_to", required=False, limit=200),
            note=_text(note, "note", required=False),
        )

    def rate(self, p: Provenance, *, party_id: str, satisfaction: str, method: str, comment: str = "") -> None:
        """评单: a party's satisfaction, collected by anyone but the handler."""
        self._check("rate", (Status.CONCLUDED,))
        _require(
            p.actor.user_id not in (self.handler_id, self.mediator_user_id),
            NotPermitted("the case's own handler may not collect its rating", case_id=str(self.id)),
        )
        self._check_party(party_id)
        _require(
            not any(r["party_id"] == party_id and r["round"] == self.round for r in self.ratings),
            InvalidTransition("rate", self.status, "this party has already rated this round"),
        )
        self._record(
            self.SatisfactionRated,
            p,
            party_id=party_id,
            satisfaction=_enum(Satisfaction, satisfaction, "satisfaction"),
            method=_enum(RatingMethod, method, "method"),
            comment=_text(comment, "comment", required=False, limit=1000),
        )

    def complete_review(self, p: Provenance, *, result: str, note: str = "") -> None:
        """复核: verify and close (销项), or order rectification, which reopens handling."""
        self._check("review", (Status.CONCLUDED,))
        result = _enum(ReviewResult, result, "result")
        _require(
            result == ReviewResult.VERIFIED or bool(note.strip()),
            InvalidCommand("a rectification order must say what to rectify", field="note"),
        )
        self._record(self.ReviewCompleted, p, result=result, note=_text(note, "note", required=False))

    def reopen_after_rating(self, p: Provenance, *, reason: str) -> None:
        """Reopen after a dissatisfied rating of this round."""
        self._check("reopen", (Status.CONCLUDED,))
        _require(
            any(r["round"] == self.round and r["satisfaction"] == Satisfaction.DISSATISFIED for r in self.ratings),
            InvalidTransition("reopen", self.status, "a case is reopened only after a dissatisfied rating"),
        )
        self._record(self.Reopened, p, reason=_text(reason, "reason"))

    def record_performance(self, p: Provenance, *, performance: str, note: str = "") -> None:
        """履行情况 of the agreement."""
        _require(
            self.agreement is not None,
            InvalidTransition("record performance", self.status, "there is no agreement to perform"),
        )
        self._record(
            self.PerformanceRecorded,
            p,
            performance=_enum(Performance, performance, "performance"),
            note=_text(note, "note", required=False),
        )

    def visit(self, p: Provenance, *, method: str, note: str) -> None:
        """回访 after conclusion."""
        self._check("follow up", (Status.CONCLUDED, Status.CLOSED))
        self._record(self.FollowUpVisited, p, method=_enum(RatingMethod, method, "method"), note=_text(note, "note"))

    # ------------------------------------------------------------------ the court

    def confirmation_window(self, calendar: WorkCalendar) -> datetime | None:
        """End of the 30-day period to apply for judicial confirmation, if there is an agreement."""
        if self.agreement is None:
            return None
        start = self.agreement_effective_at()
        return due_after(calendar, start, DEADLINE_POLICY["judicial_confirmation"]).at

    def agreement_effective_at(self) -> datetime:
        assert self.agreement is not None
        effective_on = self.agreement["effective_on"]
        if effective_on:
            return _effective_moment(effective_on)
        return self.times[self.agreement["version"]]

    def apply_for_confirmation(
        self,
        p: Provenance,
        calendar: WorkCalendar,
        *,
        court: str,
        applicant_party_ids: list[str],
    ) -> str:
        """司法确认: all parties apply jointly within 30 days of the agreement taking effect."""
        window = self.confirmation_window(calendar)
        _require(
            window is not None,
            InvalidTransition("apply for judicial confirmation", self.status, "there is no agreement"),
        )
        assert window is not None
        _require(
            p.occurred_at <= window,
            InvalidTransition(
                "apply for judicial confirmation",
                self.status,
                "the 30-day period after the agreement took effect has passed",
            ),
        )
        self._check_parties(applicant_party_ids, "applicant_party_ids")
        _require(
            set(applicant_party_ids) == set(self.parties),
            InvalidCommand("all parties must apply jointly", field="applicant_party_ids"),
        )
        _require(
            not any(c["status"] in ("pending", Ruling.CONFIRMED) for c in self.confirmations.values()),
            InvalidTransition(
                "apply for judicial confirmation", self.status, "an application is already pending or confirmed"
            ),
        )
        confirmation_id = f"{self.id}-jc{len(self.confirmations) + 1}"
        self._record(
            self.JudicialConfirmationApplied,
            p,
            confirmation_id=confirmation_id,
            court=_text(court, "court", limit=100),
            applicant_party_ids=list(applicant_party_ids),
        )
        return confirmation_id

    def rule_on_confirmation(
        self, p: Provenance, *, confirmation_id: str, ruling: str, ruling_number: str, note: str = ""
    ) -> None:
        """The court addressed posts its ruling."""
        record = self.confirmations.get(confirmation_id)
        _require(
            record is not None,
            NotFound(f"no judicial confirmation {confirmation_id}", confirmation_id=confirmation_id),
        )
        assert record is not None
        _require(
            self._importing(p) or (p.actor.role == Role.COURT and p.actor.unit == record["court"]),
            NotPermitted("only the court the application was addressed to may rule", case_id=str(self.id)),
        )
        _require(
            record["status"] == "pending",
            InvalidTransition("rule", record["status"], "this application has already been ruled on"),
        )
        self._record(
            self.JudicialConfirmationRuled,
            p,
            confirmation_id=confirmation_id,
            ruling=_enum(Ruling, ruling, "ruling"),
            ruling_number=_text(ruling_number, "ruling_number", limit=100),
            note=_text(note, "note", required=False),
        )

    def apply_for_payment_order(self, p: Provenance, *, court: str, creditor_party_id: str) -> None:
        """支付令: a creditor applies on a monetary agreement."""
        _require(
            self.agreement is not None and Decimal(self.agreement["amount"] or "0") > 0,
            InvalidTransition("apply for a payment order", self.status, "there is no monetary agreement"),
        )
        assert self.agreement is not None
        self._check_party(creditor_party_id)
        _require(
            creditor_party_id == self.agreement["creditor_party_id"],
            InvalidCommand("only the agreement's creditor may apply", field="creditor_party_id"),
        )
        self._record(
            self.PaymentOrderApplied,
            p,
            court=_text(court, "court", limit=100),
            creditor_party_id=creditor_party_id,
            amount=self.agreement["amount"],
        )

    # ------------------------------------------------------------------ erasure of a party's data

    def request_party_erasure(self, p: Provenance, *, party_id: str, reason: str) -> None:
        """Ask that a party's personal data be erased; a second, different official approves."""
        self._check_party(party_id)
        self._check_not_erased("request erasure", party_id)
        _require(
            party_id not in self.erasure_requests,
            InvalidTransition(
                "request erasure",
                self.status,
                f"the erasure of party '{party_id}' already awaits approval",
                case_id=str(self.id),
                party_id=party_id,
            ),
        )
        self._record(self.PartyErasureRequested, p, party_id=party_id, reason=_text(reason, "reason", limit=1000))

    def erase_party(self, p: Provenance, *, party_id: str) -> None:
        """Approve a pending erasure (four eyes: never by the official who requested it)."""
        self._check_party(party_id)
        self._check_not_erased("approve erasure", party_id)
        request = self.erasure_requests.get(party_id)
        _require(
            request is not None,
            InvalidTransition(
                "approve erasure",
                self.status,
                f"no erasure of party '{party_id}' awaits approval",
                case_id=str(self.id),
                party_id=party_id,
            ),
        )
        assert request is not None
        _require(
            p.actor.user_id != request["requested_by"],
            NotPermitted(
                "the official who requested an erasure may not approve it; a second official must",
                case_id=str(self.id),
                party_id=party_id,
            ),
        )
        self._record(
            self.PartyErased,
            p,
            party_id=party_id,
            requested_by=request["requester"],
            requested_version=request["requested_version"],
        )

    def _check_not_erased(self, command: str, party_id: str) -> None:
        _require(
            party_id not in self.erased_parties,
            InvalidTransition(
                command, self.status, f"party '{party_id}' is already erased", case_id=str(self.id), party_id=party_id
            ),
        )

    # ------------------------------------------------------------------ corrections

    def correct(self, p: Provenance, *, position: int, corrected: dict[str, Any], reason: str) -> None:
        """更正: a correcting entry naming the position it corrects; nothing is edited."""
        _require(
            1 <= position <= self.version,
            InvalidCommand("position does not name an entry of this case", field="position"),
        )
        name = self.event_names[position]
        _require(
            name != "EntryCorrected",
            InvalidCommand("a correction is corrected by another correction of the original entry", field="position"),
        )
        _require(bool(corrected), InvalidCommand("corrected names no field", field="corrected"))
        allowed = CORRECTABLE_FIELDS.get(name, frozenset()) | ALWAYS_CORRECTABLE
        unknown = sorted(set(corrected) - allowed)
        _require(
            not unknown,
            InvalidCommand(
                f"{spec_event_name(name)} cannot have {', '.join(unknown)} corrected; allowed: {', '.join(sorted(allowed))}",
                field="corrected",
            ),
        )
        values = {name: self._corrected_value(name, value, position, p) for name, value in corrected.items()}
        self._record(self.EntryCorrected, p, position=position, corrected=values, reason=_text(reason, "reason"))

    def _corrected_value(self, name: str, value: Any, position: int, p: Provenance) -> Any:
        """A corrected value obeys the same rules as the field it replaces."""
        field = f"corrected.{name}"
        if name == "occurred_at":
            return self._corrected_time(position, value, p)
        if name in ("category", "channel", "method"):
            kind = {"category": Category, "channel": Channel, "method": RatingMethod}[name]
            return _enum(kind, str(value), field)
        if name == "on_site":
            _require(isinstance(value, bool), InvalidCommand("on_site must be true or false", field=field))
            return value
        if name == "attendees":
            _require(
                isinstance(value, list) and all(isinstance(a, str) for a in value),
                InvalidCommand("attendees must be a list of names", field=field),
            )
            return [_text(a, field, limit=100) for a in value]
        _require(isinstance(value, str), InvalidCommand(f"{name} must be text", field=field))
        # A referral may be corrected away ("并未移交，登记有误"): the score then shows an
        # unresolved case without referral, which is the point of correcting it.
        limits = {"external_ref": 100, "referred_to": 200, "comment": 1000}
        required = name in ("summary", "notes", "note")
        return _text(value, field, required=required, limit=limits.get(name, 4000))

    def _corrected_time(self, position: int, value: Any, p: Provenance) -> str:
        try:
            when = datetime.fromisoformat(str(value))
        except ValueError:
            raise InvalidCommand("occurred_at is not an ISO 8601 time", field="corrected.occurred_at") from None
        _require(
            when.tzinfo is not None, InvalidCommand("occurred_at needs a time zone", field="corrected.occurred_at")
        )
        before = self.times.get(position - 1)
        after = self.times.get(position + 1)
        _require(
            (before is None or when >= before) and (after is None or when <= after) and when <= p.occurred_at,
            InvalidCommand(
                "a corrected time must keep the entries in order and not lie after the correction",
                field="corrected.occurred_at",
            ),
        )
        return when.isoformat()
