"""Turns a batch of ledger notifications into the rows every read view needs.

The projector keeps the aggregates it has seen in memory and moves each one forward with
the very events it reads, so the views are derived by the domain's own code (the same
``apply`` methods, deadlines and scoring) and never by a second copy of the rules.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification

from application.projections.figures import FIGURE_COLUMNS
from application.projections.rows import access_row, audit_entry, case_row, court_rows, stamp
from domain.calendar import WorkCalendar
from domain.calendar_book import CalendarBook
from domain.case import Case
from domain.policy_book import PolicyBook, policy_in_force
from domain.scoring import Evaluation, ScoringPolicy

# The views this projector feeds; each keeps its own tracked position.
VIEWS = ("cases", "audit", "court", "access")

# What a case row was from each of its events on: only what the figures as of a past moment
# count (the one case as of a moment is replayed from its events instead). ``case_id`` first.
HISTORY_COLUMNS = tuple(dict.fromkeys(("case_id", "version", "county", "township", "village", "grid", *FIGURE_COLUMNS)))
_history_values = itemgetter(*HISTORY_COLUMNS)

# Case events that change nothing a case row or its evaluation shows but the version: their
# row is the previous one with the new version, which spares deriving deadlines and scores
# again. (A contract test compares every row with a full derivation.)
ROW_NEUTRAL = frozenset(
    {
        "ProgressRecorded",
        "MediatorChosen",
        "RightsNotified",
        "AppraisalRequested",
        "AppraisalCompleted",
        "MediationSessionHeld",
        "UndisputedFactsRecorded",
        "ProposalIssued",
        "ProposalAccepted",
        "ProposalObjected",
        "Escalated",
        "FollowUpVisited",
        "JudicialConfirmationApplied",
        "JudicialConfirmationRuled",
        "PaymentOrderApplied",
        "PartyErasureRequested",
        "PartyErased",
    }
)


@dataclass
class Changes:
    """Everything one batch changes, written by a view store in one transaction."""

    positions: dict[str, int] = field(default_factory=dict)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (valid from, the row's HISTORY_COLUMNS values) per case event, in ledger order.
    history: list[tuple[str | None, tuple[Any, ...]]] = field(default_factory=list)
    evaluations: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    court: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: list[dict[str, Any]] = field(default_factory=list)
    # (case id, party id) → the party's lookup tokens as (field, token); None: remove them.
    party_index: dict[tuple[str, str], list[tuple[str, str]] | None] = field(default_factory=dict)
    calendar_changed: bool = False

    def __bool__(self) -> bool:
        return bool(self.positions)


class LedgerProjector:
    """Follows the ledger's events and derives view rows from the aggregates they build."""

    def __init__(
        self,
        mapper: Mapper[UUID],
        load_case: Callable[[UUID, int | None], Case],
        seed_calendar: WorkCalendar,
        *,
        cache_size: int = 50_000,
    ) -> None:
        self.mapper = mapper
        self.load_case = load_case
        self.seed_calendar = seed_calendar
        self.calendar = seed_calendar
        self.adoptions: list[tuple[datetime, ScoringPolicy]] = []
        self._cases: OrderedDict[UUID, Case] = OrderedDict()
        self._rows: dict[UUID, dict[str, Any]] = {}
        self._books: dict[UUID, Any] = {}
        self._cache_size = cache_size

    def forget(self) -> None:
        """Drop everything derived from events (after a failed write it may be ahead of the views)."""
        self._cases.clear()
        self._rows.clear()
        self._books.clear()
        self.calendar = self.seed_calendar
        self.adoptions = []

    def policy_at(self, moment: datetime) -> ScoringPolicy:
        return policy_in_force(self.adoptions, moment)

    def project(self, notifications: Sequence[Notification], done: dict[str, int]) -> Changes:
        """Rows for every view whose tracked position (``done``) is below each notification."""
        changes = Changes()
        # Each case's newest evaluation in the batch: only that one is written.
        scored: dict[str, Evaluation | None] = {}
        every_view = list(VIEWS)
        # Past the furthest view, every view wants each event: their positions are set once, below.
        furthest = max(done.get(view, 0) for view in VIEWS)
        for notification in notifications:
            event: Any = self.mapper.to_domain_event(notification)
            position = notification.id
            if position > furthest:
                wanted = every_view
            else:
                wanted = [view for view in VIEWS if done.get(view, 0) < position]
                for view in wanted:
                    changes.positions[view] = position
            owner = type(event).__qualname__.split(".")[0]
            if owner in ("CalendarBook", "PolicyBook"):
                # Followed even when no view wants the event: later rows depend on them.
                self.follow_book(event)
                if owner == "CalendarBook" and "cases" in wanted:
                    changes.calendar_changed = True
                    _write_evaluations(scored, changes)  # before they are derived again
                    self._recalendar_batch(changes)
            if not wanted:
                continue
            if owner in ("Case", "Mediator", "CalendarBook", "PolicyBook") and "audit" in wanted:
                changes.audit.append(audit_entry(event, notification))
            if owner == "Case":
                self._project_case(event, position, wanted, changes, scored)
            elif owner == "AccessRecord" and "access" in wanted:
                changes.access.append(access_row(event, position))
        if notifications and notifications[-1].id > furthest:
            changes.positions.update(dict.fromkeys(VIEWS, notifications[-1].id))
        _write_evaluations(scored, changes)
        return changes

    def refresh(self, stored: Sequence[tuple[str, int, int]], changes: Changes) -> None:
        """Recompute stored rows (case id, version, position) under a calendar that just changed.

        Each case is taken at the version its row shows, so the refreshed row differs from
        the stored one only by the calendar, and keeps its ledger position.
        """
        for case_id, version, position in stored:
            case = self.load_case(UUID(case_id), version)
            self._rederive(case, position, changes)

    def _rederive(self, case: Case, position: int, changes: Changes) -> None:
        row, evaluation = case_row(case, self.calendar, self.policy_at)
        row["position"] = position
        changes.cases[str(case.id)] = row
        changes.evaluations[str(case.id)] = _evaluation_row(str(case.id), evaluation)
        if self._cases.get(case.id) is case or case.id not in self._cases:
            self._rows[case.id] = row
        for record in court_rows(case, self.calendar):
            record["position"] = position
            changes.court[record["confirmation_id"]] = record

    def _recalendar_batch(self, changes: Changes) -> None:
        """Rows of this batch derived before a calendar change, derived again after it."""
        for case_id, row in list(changes.cases.items()):
            case = self._cases.get(UUID(case_id))
            if row["provisional"] and case is not None and case.version == row["version"]:
                self._rederive(case, row["position"], changes)

    def follow_book(self, event: Any) -> None:
        """Move the calendar or the scoring policies forward by one of their events."""
        book = event.mutate(self._books.get(event.originator_id))
        self._books[event.originator_id] = book
        if isinstance(book, CalendarBook):
            self.calendar = book.calendar(self.seed_calendar)
        elif isinstance(book, PolicyBook):
            self.adoptions = list(book.adoptions)

    def _case_at(self, event: Any) -> Case:
        """The case as it stands after ``event``, from the cache or the event store."""
        case_id = event.originator_id
        cached = self._cases.get(case_id)
        if cached is not None and cached.version == event.originator_version - 1:
            event.mutate(cached)
            self._cases.move_to_end(case_id)
            return cached
        if cached is not None and cached.version == event.originator_version:
            return cached
        if event.originator_version == 1:
            case: Case = event.mutate(None)
        else:
            case = self.load_case(case_id, event.originator_version)
        self._cases[case_id] = case
        self._rows.pop(case_id, None)
        if len(self._cases) > self._cache_size:
            evicted, _ = self._cases.popitem(last=False)
            self._rows.pop(evicted, None)
        return case

    def _project_case(
        self, event: Any, position: int, wanted: list[str], changes: Changes, scored: dict[str, Evaluation | None]
    ) -> None:
        case = self._case_at(event)
        case_id = str(case.id)
        if "cases" in wanted:
            previous = self._rows.get(case.id)
            if previous is not None and type(event).__name__ in ROW_NEUTRAL:
                row = {**previous, "version": case.version, "position": position}
            else:
                row, evaluation = case_row(case, self.calendar, self.policy_at)
                row["position"] = position
                scored[case_id] = evaluation
            self._rows[case.id] = row
            changes.cases[case_id] = row
            changes.history.append((stamp(event.occurred_at), _history_values(row)))
            _index_parties(event, case_id, changes)
        if "court" in wanted and case.confirmations:
            for record in court_rows(case, self.calendar):
                record["position"] = position
                changes.court[record["confirmation_id"]] = record


def _index_parties(event: Any, case_id: str, changes: Changes) -> None:
    """Lookup tokens of a registration's parties; an erased party's are taken out again."""
    name = type(event).__name__
    if name == "Registered":
        for party in event.parties:
            tokens = [("id_number", party.id_number_hmac), ("phone", party.phone_hmac)]
            changes.party_index[(case_id, party.party_id)] = [(kind, token) for kind, token in tokens if token]
    elif name == "PartyErased":
        changes.party_index[(case_id, event.party_id)] = None


def _write_evaluations(scored: dict[str, Evaluation | None], changes: Changes) -> None:
    for case_id, evaluation in scored.items():
        changes.evaluations[case_id] = _evaluation_row(case_id, evaluation)
    scored.clear()


def _evaluation_row(case_id: str, evaluation: Evaluation | None) -> dict[str, Any] | None:
    if evaluation is None:
        return None
    return {
        "case_id": case_id,
        "policy": evaluation.policy,
        "score": float(evaluation.score),
        "grade": evaluation.grade,
        "grade_code": evaluation.grade_code,
        "evaluation": evaluation.as_dict(),
    }
