"""``CaseLedger``: one method per step of SPEC §2–§4, each load → decide → save."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from threading import Lock
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder
from eventsourcing.utils import strtobool

from application.access import authorize, authorize_place, authorize_read
from application.errors import IdempotencyKeyReused
from application.group_commit import GroupCommit
from application.idempotency import IdempotencyRecord, record_id
from application.privacy import PersonalData, RecentRedactors, RevealedParty, redactor
from application.repository import LedgerRepository
from application.transcodings import register_value_transcodings
from domain.access_log import AccessRecord
from domain.calendar import WorkCalendar, YearSchedule
from domain.calendar_book import CALENDAR_BOOK_ID, CalendarBook
from domain.case import Case
from domain.case_deadlines import CaseDeadline, case_deadlines
from domain.errors import (
    CaseNotFoundError,
    ConcurrentUpdateError,
    InvalidCommand,
    MediatorNotFoundError,
    NotFound,
    NotPermitted,
    VersionMismatchError,
)
from domain.mediator import Mediator
from domain.org import Organisation
from domain.policy_book import POLICY_BOOK_ID, PolicyBook
from domain.provenance import Provenance
from domain.scoring import ScoringPolicy, policy_from_dict
from domain.values import Actor, Party, Role

# SPEC §6 / issue: a step may be reported up to ten minutes after it happened, never before.
MAX_REPORTING_DELAY = timedelta(minutes=10)

# Kinds of unit a case may be dispatched or transferred to: those whose people accept and
# return cases (a court or the county center never accepts a dispatch; it would be stuck).
RECEIVING_UNITS = ("village", "department", "township_center", "mediation_committee")

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class Caller:
    """Who sends a command, and the request facts that travel with it."""

    actor: Actor
    request_id: str = ""
    idempotency_key: str = ""
    request_hash: str = ""
    expected_version: int | None = None


@dataclass(frozen=True)
class CommandResult:
    """What a command returns: the aggregate, its new version and ledger position."""

    id: str
    version: int
    position: int | None = None
    replayed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "position": self.position, **self.extra}


@dataclass(frozen=True)
class CaseView:
    """A case as loaded, with its deadlines as they stand now."""

    case: Case
    deadlines: list[CaseDeadline]
    calendar_years: tuple[int, ...]
    # The parties erased by now, even when ``case`` is a past state: erasure counts for every read.
    erased_parties: dict[str, dict[str, Any]]


def utcnow() -> datetime:
    return datetime.now(UTC)


class CaseLedger(Application[UUID]):
    """The event-sourced ledger of dispute cases and mediators."""

    name = "CaseLedger"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        seed_calendar: WorkCalendar | None = None,
        organisation: Organisation | None = None,
        clock: Callable[[], datetime] = utcnow,
        position_of: Callable[[UUID, int], int | None] | None = None,
    ) -> None:
        super().__init__(env)
        self.position_of = position_of or (lambda _id, _version: None)
        self.group_commit = GroupCommit(self.save)
        # Called after every successful save: an in-process projection worker wakes at once.
        self.saved_listeners: list[Callable[[], None]] = []
        self.seed_calendar = seed_calendar or WorkCalendar(())
        self.organisation = organisation or Organisation()
        self.clock = clock
        self._calendar: tuple[int, WorkCalendar] = (0, self.seed_calendar)
        self._calendar_lock = Lock()
        # Parties' keys: in memory until the storage's own key store is attached (bootstrap).
        self.personal_data = PersonalData.ephemeral()
        self._redactors = RecentRedactors()

    def construct_repository(self) -> Repository[UUID]:
        # Built from the environment as the library builds its own; only the fold differs.
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return LedgerRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(maxsize) if maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_value_transcodings(transcoder)

    # ------------------------------------------------------------------ plumbing

    def provenance(self, caller: Caller, occurred_at: datetime | None) -> Provenance:
        """Stamp a command; ``occurred_at`` must be within the reporting delay, never ahead."""
        now = self.clock()
        importing = caller.actor.role == Role.IMPORTER
        if occurred_at is None:
            occurred_at = now
        elif occurred_at.tzinfo is None:
            raise InvalidCommand("occurred_at needs a time zone offset", field="occurred_at")
        elif occurred_at > now:
            raise InvalidCommand("occurred_at is in the future", field="occurred_at")
        elif not importing and occurred_at < now - MAX_REPORTING_DELAY:
            raise InvalidCommand(
                "occurred_at is more than 10 minutes ago; only imports of paper records may be back-dated",
                field="occurred_at",
            )
        return Provenance(caller.actor, occurred_at, caller.request_id, importing)

    def _replay(self, caller: Caller) -> CommandResult | None:
        if not caller.idempotency_key:
            return None
        try:
            record: Any = self.repository.get(record_id(caller.actor.user_id, caller.idempotency_key))
        except AggregateNotFoundError:
            return None
        assert isinstance(record, IdempotencyRecord)
        if record.request_hash != caller.request_hash:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request",
                idempotency_key=caller.idempotency_key,
            )
        data = dict(record.result)
        data.pop("position", None)
        aggregate_id, version = data.pop("id"), data.pop("version")
        # The record is saved before its position is known; the events it answered for
        # are in the same transaction, so their position is found, not guessed.
        position = self.position_of(UUID(aggregate_id), version)
        return CommandResult(id=aggregate_id, version=version, position=position, replayed=True, extra=data)

    def _save(
        self, caller: Caller, aggregate: Aggregate, *others: Aggregate, extra: dict[str, Any] | None = None
    ) -> CommandResult:
        result = CommandResult(id=str(aggregate.id), version=aggregate.version, extra=extra or {})
        to_save: list[Aggregate] = [aggregate, *others]
        if caller.idempotency_key:
            to_save.append(
                IdempotencyRecord.record(
                    key=caller.idempotency_key,
                    user_id=caller.actor.user_id,
                    request_hash=caller.request_hash,
                    result=result.as_dict(),
                    occurred_at=self.clock(),
                )
            )
        try:
            recordings = self.group_commit.save(*to_save)
        except IntegrityError:
            # Either a duplicate request won the race (or our own commit's reply was lost),
            # in which case its record replays; or another writer took this version.
            replayed = self._replay(caller)
            if replayed is not None:
                return replayed
            raise ConcurrentUpdateError(
                "another change was saved first; reload the case and retry",
                id=str(aggregate.id),
            ) from None
        # The position of the command's own last event; the idempotency record after it
        # is bookkeeping, and a replay must report the same number.
        for listener in self.saved_listeners:
            listener()
        position = max(
            (r.notification.id for r in recordings if r.domain_event.originator_id == aggregate.id), default=None
        )
        return CommandResult(result.id, result.version, position, extra=result.extra)

    def _get(self, kind: type[A], aggregate_id: UUID, missing: type[NotFound]) -> A:
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise missing(f"no {kind.__name__.lower()} {aggregate_id}", id=str(aggregate_id)) from None
        if not isinstance(aggregate, kind):
            raise missing(f"no {kind.__name__.lower()} {aggregate_id}", id=str(aggregate_id))
        return aggregate

    def get_case(self, case_id: UUID) -> Case:
        return self._get(Case, case_id, CaseNotFoundError)

    def get_mediator(self, mediator_id: UUID) -> Mediator:
        return self._get(Mediator, mediator_id, MediatorNotFoundError)

    def _on_case(
        self,
        command: str,
        case_id: UUID,
        caller: Caller,
        occurred_at: datetime | None,
        decide: Callable[[Case, Provenance], Any],
    ) -> CommandResult:
        """The shape of every case command after registration; its free text refers to the parties."""

        def redacting(case: Case, p: Provenance) -> Any:
            return decide(case, replace(p, redact=self._case_redactor(case)))

        return self._on_aggregate(command, "case", lambda: self.get_case(case_id), caller, occurred_at, redacting)

    def _on_aggregate(
        self,
        command: str,
        label: str,
        load: Callable[[], Any],
        caller: Caller,
        occurred_at: datetime | None,
        decide: Callable[[Any, Provenance], Any],
    ) -> CommandResult:
        """Authorize, replay or load, check the place and If-Match, decide, save."""
        authorize(caller.actor, command)
        replayed = self._replay(caller)
        if replayed is not None:
            return replayed
        aggregate = load()
        authorize_place(caller.actor, aggregate.jurisdiction)
        if caller.expected_version is not None and caller.expected_version != aggregate.version:
            raise VersionMismatchError(
                f"If-Match names version {caller.expected_version}; the {label} is at {aggregate.version}",
                id=str(aggregate.id),
                current_version=aggregate.version,
            )
        outcome = decide(aggregate, self.provenance(caller, occurred_at))
        return self._save(caller, aggregate, extra=outcome if isinstance(outcome, dict) else None)

    def _case_redactor(self, case: Case) -> Callable[[str], str]:
        """The case's free-text redactor: a recent one, else one made when some text is recorded
        (only then are the parties decrypted)."""

        def redact(text: str) -> str:
            recent = self._redactors.get(case.id)
            if recent is None:
                recent = redactor(self.reveal_parties(case.id, case.parties.values(), case.erased_parties))
                self._redactors.put(case.id, recent)
            return recent(text)

        return redact

    def _qualified_mediator(self, mediator_id: str) -> Mediator:
        try:
            mediator = self.get_mediator(UUID(mediator_id))
        except ValueError:
            raise InvalidCommand("mediator_id is not a UUID", field="mediator_id") from None
        if not mediator.qualified:
            raise InvalidCommand(
                "this mediator is not qualified and cannot be chosen or assigned",
                field="mediator_id",
                mediator_id=mediator_id,
            )
        return mediator

    def _check_unit(self, unit: str, field_name: str, *kinds: str) -> None:
        if not self.organisation.has_unit(unit, *kinds):
            raise InvalidCommand(f"unknown unit '{unit}'", field=field_name)

    def _check_unit_covers(self, unit: str, case: Case, field_name: str) -> None:
        # A unit can only accept what lies in its own jurisdiction; sending a case elsewhere
        # would strand it where nobody may act on it.
        if not self.organisation.unit_covers(unit, case.jurisdiction):
            raise InvalidCommand(f"unit '{unit}' does not cover the case's place {case.jurisdiction}", field=field_name)

    # ------------------------------------------------------------------ calendar

    def calendar(self) -> WorkCalendar:
        """The seed plus every year an operator loaded, re-read when a new load is stored."""
        version, calendar = self._calendar
        newer = self.recorder.select_events(CALENDAR_BOOK_ID, gt=version, limit=1)
        if not newer:
            return calendar
        with self._calendar_lock:
            book: Any = self.repository.get(CALENDAR_BOOK_ID)
            assert isinstance(book, CalendarBook)
            self._calendar = (book.version, book.calendar(self.seed_calendar))
            return self._calendar[1]

    def load_calendar_year(self, caller: Caller, schedule: YearSchedule, *, source: str, digest: str) -> CommandResult:
        """Adopt a year's working-day schedule (an audited event)."""
        authorize(caller.actor, "load_calendar")
        p = self.provenance(caller, None)
        try:
            book: Any = self.repository.get(CALENDAR_BOOK_ID)
        except AggregateNotFoundError:
            book = CalendarBook.open(p.event_fields())
        book.load(p.event_fields(), schedule, source=source, digest=digest)
        return self._save(caller, book, extra={"year": schedule.year})

    # ------------------------------------------------------------------ scoring policies

    def policy_adoptions(self) -> list[tuple[datetime, ScoringPolicy]]:
        """Every adopted scoring policy with its effective date (v1 applies before any)."""
        try:
            book: Any = self.repository.get(POLICY_BOOK_ID)
        except AggregateNotFoundError:
            return []
        return list(book.adoptions)

    def adopt_policy(self, caller: Caller, *, policy: dict[str, Any], effective_from: datetime) -> CommandResult:
        """Adopt a scoring policy from a date on (an audited event)."""
        authorize(caller.actor, "adopt_policy")
        # A policy scores the whole county, so only the county's own center adopts one.
        authorize_place(caller.actor, self.organisation.county)
        replayed = self._replay(caller)
        if replayed is not None:
            return replayed
        p = self.provenance(caller, None)
        scoring_policy = policy_from_dict(policy)
        try:
            book: Any = self.repository.get(POLICY_BOOK_ID)
        except AggregateNotFoundError:
            book = PolicyBook.open(p.event_fields())
        book.adopt(p.event_fields(), scoring_policy, effective_from)
        return self._save(caller, book, extra={"policy": scoring_policy.name})

    # ------------------------------------------------------------------ reading

    def record_read(self, reader: Actor, *, request_id: str, method: str, path: str, query: str, reason: str) -> int:
        """Log a read of case data before it is served; a read that cannot be logged fails.

        Returns the record's ledger position.
        """
        p = Provenance(reader, self.clock(), request_id, False)
        record = AccessRecord.record(uuid4(), p, method=method, path=path, query=query, reason=reason)
        recordings = self.group_commit.save(record)
        return recordings[-1].notification.id

    def view_case(self, case_id: UUID, reader: Actor, as_of: datetime | None = None) -> CaseView:
        """A case with its deadlines, if the reader may see it; ``as_of`` gives it as it stood then.

        "Then" is world time (``occurred_at``): the case folded from the events that had
        happened by that moment, its deadlines judged at that moment.
        """
        case = self.get_case(case_id)
        self.authorize_case_read(reader, case)
        calendar = self.calendar()
        if as_of is None:
            return CaseView(
                case, case_deadlines(case, calendar, self.clock()), calendar.loaded_years, case.erased_parties
            )
        if as_of.tzinfo is None:
            raise InvalidCommand("as_of needs a time zone offset", field="as_of")
        past: Any = None
        event: Any
        for event in self.events.get(case_id):
            if event.occurred_at > as_of:
                break
            past = event.mutate(past)
        if past is None:
            raise CaseNotFoundError(f"case {case_id} had not been registered by {as_of.isoformat()}", id=str(case_id))
        return CaseView(past, case_deadlines(past, calendar, as_of), calendar.loaded_years, case.erased_parties)

    @staticmethod
    def authorize_case_read(reader: Actor, case: Case) -> None:
        """Whether ``reader`` may read this case: by jurisdiction, or a court it applied to."""
        if reader.role == Role.COURT:
            if not any(c["court"] == reader.unit for c in case.confirmations.values()):
                raise NotPermitted("a court reads only the cases submitted to it for confirmation")
            return
        authorize_read(reader, case.jurisdiction)

    def case_events(self, case_id: UUID, reader: Actor) -> list[Any]:
        """The case's events in order (the audit trail)."""
        case = self.get_case(case_id)
        self.authorize_case_read(reader, case)
        return list(self.events.get(case_id))

    # ------------------------------------------------------------------ 制单

    def register_case(
        self,
        caller: Caller,
        *,
        channel: str,
        category: str,
        summary: str,
        jurisdiction: str,
        parties: list[Party],
        risk_color: str = "green",
        difficulty: str = "ordinary",
        external_ref: str = "",
        occurred_at: datetime | None = None,
        case_id: UUID | None = None,
    ) -> CommandResult:
        """制单: register a dispute."""
        authorize(caller.actor, "register")
        replayed = self._replay(caller)
        if replayed is not None:
            return replayed
        if not self.organisation.has_place(jurisdiction):
            raise InvalidCommand(f"unknown jurisdiction '{jurisdiction}'", field="jurisdiction")
        authorize_place(caller.actor, jurisdiction)
        # The summary names the parties by reference (their data is given here in clear).
        redact = redactor(parties)
        p = replace(self.provenance(caller, occurred_at), redact=redact)
        new_id = case_id or uuid4()
        try:
            case = Case.register(
                new_id,
                p,
                channel=channel,
                category=category,
                summary=summary,
                jurisdiction=jurisdiction,
                parties=parties,
                risk_color=risk_color,
                difficulty=difficulty,
                external_ref=external_ref,
                # The domain checks the parties as given, then they are sealed for the event;
                # their new keys are stored in the same transaction as the event.
                seal=lambda checked: self.personal_data.seal(new_id, checked),
            )
            result = self._save(caller, case)
        finally:
            self.personal_data.release(new_id)
        self._redactors.put(new_id, redact)
        return result

    # ------------------------------------------------------------------ parties' personal data

    def reveal_parties(
        self, case_id: UUID, parties: Iterable[Party], erased: Collection[str] = ()
    ) -> list[RevealedParty]:
        """The parties of a case decrypted for one read (the caller masks them by role)."""
        return self.personal_data.reveal(case_id, list(parties), erased)

    def lookup_token(self, field: str, value: str) -> str:
        """The keyed token under which an ID number or phone is indexed."""
        return self.personal_data.lookup_token(field, value)

    def request_party_erasure(
        self, case_id: UUID, caller: Caller, *, party_id: str, reason: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """Ask that a party's personal data be erased (a township or county center official)."""
        return self._on_case(
            "request_erasure",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.request_party_erasure(p, party_id=party_id, reason=reason),
        )

    def approve_party_erasure(
        self, case_id: UUID, caller: Caller, *, party_id: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """A second official approves: ``PartyErased`` is recorded, then the party's key is destroyed.

        The event comes first, so no key is ever destroyed without its record. Should the
        process stop in between, reads of the case already show the party erased, and the
        approval retried with its ``Idempotency-Key`` destroys the key.
        """
        result = self._on_case(
            "approve_erasure",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.erase_party(p, party_id=party_id),
        )
        record = self.get_case(case_id).erased_parties.get(party_id)
        if record is not None:
            self._redactors.forget(case_id)  # it holds the party's values
            self.personal_data.destroy(
                case_id,
                party_id,
                destroyed_by=record["approved_by"],
                requested_by=record["requested_by"],
                at=self.clock(),
            )
        return result

    def grade(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        risk_color: str,
        difficulty: str,
        reason: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """研判."""
        return self._on_case(
            "grade",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.grade(p, risk_color=risk_color, difficulty=difficulty, reason=reason),
        )

    def dispatch(
        self, case_id: UUID, caller: Caller, *, unit: str, note: str = "", occurred_at: datetime | None = None
    ) -> CommandResult:
        """派单."""

        def decide(case: Case, p: Provenance) -> None:
            self._check_unit(unit, "unit", *RECEIVING_UNITS)
            self._check_unit_covers(unit, case, "unit")
            case.dispatch(p, unit=unit, note=note)

        return self._on_case("dispatch", case_id, caller, occurred_at, decide)

    def accept(self, case_id: UUID, caller: Caller, *, occurred_at: datetime | None = None) -> CommandResult:
        """接单."""
        return self._on_case("accept", case_id, caller, occurred_at, lambda c, p: c.accept(p))

    def return_case(
        self, case_id: UUID, caller: Caller, *, reason: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """退单."""
        return self._on_case("return", case_id, caller, occurred_at, lambda c, p: c.return_(p, reason=reason))

    def assign(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        handler_id: str = "",
        handler_kind: str,
        handler_name: str = "",
        mediator_id: str = "",
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Assign a grid worker or a qualified mediator."""

        def decide(case: Case, p: Provenance) -> None:
            # Looked up only after the caller's role and any replay were settled, so a caller
            # who may not act learns nothing about mediators, and a retry still replays.
            user_id, name = handler_id, handler_name
            if mediator_id:
                mediator = self._qualified_mediator(mediator_id)
                user_id, name = mediator.user_id, handler_name or mediator.name
            case.assign(p, handler_id=user_id, handler_kind=handler_kind, handler_name=name, mediator_id=mediator_id)

        return self._on_case(
            "assign",
            case_id,
            caller,
            occurred_at,
            decide,
        )

    # ------------------------------------------------------------------ 做单

    def record_progress(
        self, case_id: UUID, caller: Caller, *, note: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """做单 progress."""
        return self._on_case("progress", case_id, caller, occurred_at, lambda c, p: c.record_progress(p, note=note))

    def escalate(
        self, case_id: UUID, caller: Caller, *, kind: str, to: str, reason: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """吹哨 / 联席会."""
        return self._on_case(
            "escalate", case_id, caller, occurred_at, lambda c, p: c.escalate(p, kind=kind, to=to, reason=reason)
        )

    def transfer(
        self, case_id: UUID, caller: Caller, *, to_unit: str, reason: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """转办单."""

        def decide(case: Case, p: Provenance) -> None:
            self._check_unit(to_unit, "to_unit", *RECEIVING_UNITS)
            self._check_unit_covers(to_unit, case, "to_unit")
            case.transfer(p, to_unit=to_unit, reason=reason)

        return self._on_case("transfer", case_id, caller, occurred_at, decide)

    def extend_deadline(
        self, case_id: UUID, caller: Caller, *, extra_days: int, reason: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """Township-approved extension of the resolution deadline."""
        return self._on_case(
            "extend",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.extend_deadline(p, extra_days=extra_days, reason=reason),
        )

    # ------------------------------------------------------------------ mediation

    def choose_mediator(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        mediator_id: str,
        method: str,
        chosen_by: list[str],
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Parties choose a qualified mediator."""

        def decide(case: Case, p: Provenance) -> None:
            mediator = self._qualified_mediator(mediator_id)
            case.choose_mediator(
                p, mediator_id=mediator_id, mediator_user_id=mediator.user_id, method=method, chosen_by=chosen_by
            )

        return self._on_case("choose_mediator", case_id, caller, occurred_at, decide)

    def notify_rights(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        party_ids: list[str],
        notes: str = "",
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """告知权利义务."""
        return self._on_case(
            "notify_rights",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.notify_rights(p, party_ids=party_ids, notes=notes),
        )

    def request_appraisal(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        appraisal_id: str,
        matter: str,
        institution: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Ask for a technical appraisal."""
        return self._on_case(
            "appraisal",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.request_appraisal(p, appraisal_id=appraisal_id, matter=matter, institution=institution),
        )

    def complete_appraisal(
        self, case_id: UUID, caller: Caller, *, appraisal_id: str, conclusion: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """Record an appraisal's conclusion."""
        return self._on_case(
            "appraisal",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.complete_appraisal(p, appraisal_id=appraisal_id, conclusion=conclusion),
        )

    def hold_session(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        on_site: bool,
        attendees: list[str],
        notes: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """A mediation session."""
        return self._on_case(
            "session",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.hold_session(p, on_site=on_site, attendees=attendees, notes=notes),
        )

    def record_undisputed_facts(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        facts: str,
        consenting_party_ids: list[str],
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """无争议事实记载."""
        return self._on_case(
            "undisputed_facts",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.record_undisputed_facts(p, facts=facts, consenting_party_ids=consenting_party_ids),
        )

    def issue_proposal(
        self, case_id: UUID, caller: Caller, *, proposal_id: str, terms: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """无异议调解方案."""
        return self._on_case(
            "proposal",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.issue_proposal(p, proposal_id=proposal_id, terms=terms),
        )

    def respond_to_proposal(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        proposal_id: str,
        party_id: str,
        response: str,
        reason: str = "",
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """A party accepts or objects to a proposal."""
        calendar = self.calendar()
        return self._on_case(
            "proposal_response",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.respond_to_proposal(
                p, calendar, proposal_id=proposal_id, party_id=party_id, response=response, reason=reason
            ),
        )

    def reach_agreement(
        self, case_id: UUID, caller: Caller, *, occurred_at: datetime | None = None, **terms: str
    ) -> CommandResult:
        """调解协议."""
        return self._on_case("agreement", case_id, caller, occurred_at, lambda c, p: c.reach_agreement(p, **terms))

    def fail_mediation(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        advice: list[str],
        filed_with: str,
        note: str = "",
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """调解不成."""
        return self._on_case(
            "failure",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.fail_mediation(p, advice=advice, filed_with=filed_with, note=note),
        )

    # ------------------------------------------------------------------ 办结 评单 考单

    def conclude(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        outcome: str,
        referred_to: str = "",
        note: str = "",
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """办结."""
        return self._on_case(
            "conclude",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.conclude(p, outcome=outcome, referred_to=referred_to, note=note),
        )

    def rate(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        party_id: str,
        satisfaction: str,
        method: str,
        comment: str = "",
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """评单."""
        return self._on_case(
            "rate",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.rate(p, party_id=party_id, satisfaction=satisfaction, method=method, comment=comment),
        )

    def complete_review(
        self, case_id: UUID, caller: Caller, *, result: str, note: str = "", occurred_at: datetime | None = None
    ) -> CommandResult:
        """复核."""
        return self._on_case(
            "review", case_id, caller, occurred_at, lambda c, p: c.complete_review(p, result=result, note=note)
        )

    def reopen(
        self, case_id: UUID, caller: Caller, *, reason: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """Reopen after a dissatisfied rating."""
        return self._on_case(
            "reopen", case_id, caller, occurred_at, lambda c, p: c.reopen_after_rating(p, reason=reason)
        )

    def record_performance(
        self, case_id: UUID, caller: Caller, *, performance: str, note: str = "", occurred_at: datetime | None = None
    ) -> CommandResult:
        """履行情况."""
        return self._on_case(
            "performance",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.record_performance(p, performance=performance, note=note),
        )

    def follow_up(
        self, case_id: UUID, caller: Caller, *, method: str, note: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """回访."""
        return self._on_case(
            "follow_up", case_id, caller, occurred_at, lambda c, p: c.visit(p, method=method, note=note)
        )

    def correct(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        position: int,
        corrected: dict[str, Any],
        reason: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """更正 by a correcting entry."""
        return self._on_case(
            "correct",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.correct(p, position=position, corrected=corrected, reason=reason),
        )

    # ------------------------------------------------------------------ the court

    def apply_for_confirmation(
        self,
        case_id: UUID,
        caller: Caller,
        *,
        court: str,
        applicant_party_ids: list[str],
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """司法确认 application, within 30 days of the agreement taking effect."""

        def decide(case: Case, p: Provenance) -> dict[str, str]:
            self._check_unit(court, "court", "court")
            confirmation_id = case.apply_for_confirmation(
                p, self.calendar(), court=court, applicant_party_ids=applicant_party_ids
            )
            return {"confirmation_id": confirmation_id}

        return self._on_case("judicial_confirmation", case_id, caller, occurred_at, decide)

    def rule_on_confirmation(
        self,
        confirmation_id: str,
        caller: Caller,
        *,
        ruling: str,
        ruling_number: str,
        note: str = "",
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """The court posts its ruling."""
        authorize(caller.actor, "ruling")
        case_id = confirmation_case_id(confirmation_id)
        return self._on_case(
            "ruling",
            case_id,
            caller,
            occurred_at,
            lambda c, p: c.rule_on_confirmation(
                p, confirmation_id=confirmation_id, ruling=ruling, ruling_number=ruling_number, note=note
            ),
        )

    def apply_for_payment_order(
        self, case_id: UUID, caller: Caller, *, court: str, creditor_party_id: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """支付令 application."""

        def decide(case: Case, p: Provenance) -> None:
            self._check_unit(court, "court", "court")
            case.apply_for_payment_order(p, court=court, creditor_party_id=creditor_party_id)

        return self._on_case("payment_order", case_id, caller, occurred_at, decide)

    # ------------------------------------------------------------------ mediators

    def register_mediator(
        self,
        caller: Caller,
        *,
        name: str,
        user_id: str,
        organisation: str,
        organisation_kind: str,
        specialties: list[str],
        jurisdiction: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Register a mediator with their organisation."""
        authorize(caller.actor, "register_mediator")
        replayed = self._replay(caller)
        if replayed is not None:
            return replayed
        if not self.organisation.has_place(jurisdiction):
            raise InvalidCommand(f"unknown jurisdiction '{jurisdiction}'", field="jurisdiction")
        authorize_place(caller.actor, jurisdiction)
        p = self.provenance(caller, occurred_at)
        mediator = Mediator.register(
            uuid4(),
            p,
            name=name,
            user_id=user_id,
            organisation=organisation,
            organisation_kind=organisation_kind,
            specialties=specialties,
            jurisdiction=jurisdiction,
        )
        return self._save(caller, mediator)

    def _on_mediator(
        self,
        command: str,
        mediator_id: UUID,
        caller: Caller,
        occurred_at: datetime | None,
        decide: Callable[[Mediator, Provenance], Any],
    ) -> CommandResult:
        return self._on_aggregate(
            command, "mediator", lambda: self.get_mediator(mediator_id), caller, occurred_at, decide
        )

    def qualify_mediator(
        self,
        mediator_id: UUID,
        caller: Caller,
        *,
        examination: str,
        certificate_no: str = "",
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Qualified after joint examination."""
        return self._on_mediator(
            "qualify_mediator",
            mediator_id,
            caller,
            occurred_at,
            lambda m, p: m.qualify(p, examination=examination, certificate_no=certificate_no),
        )

    def lodge_complaint(
        self,
        mediator_id: UUID,
        caller: Caller,
        *,
        ground: str,
        description: str,
        case_id: str = "",
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Lodge a complaint against a mediator."""
        complaint_id = uuid4().hex[:12]

        def lodge(m: Mediator, p: Provenance) -> dict[str, str]:
            m.lodge_complaint(p, complaint_id=complaint_id, ground=ground, description=description, case_id=case_id)
            return {"complaint_id": complaint_id}

        return self._on_mediator("lodge_complaint", mediator_id, caller, occurred_at, lodge)

    def find_complaint(
        self,
        mediator_id: UUID,
        caller: Caller,
        *,
        complaint_id: str,
        valid: bool,
        finding: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Find a complaint valid or invalid."""
        return self._on_mediator(
            "find_complaint",
            mediator_id,
            caller,
            occurred_at,
            lambda m, p: m.find_complaint(p, complaint_id=complaint_id, valid=valid, finding=finding),
        )


def confirmation_case_id(confirmation_id: str) -> UUID:
    """Confirmation ids are ``<case id>-jc<n>``, so the court's ruling finds its case."""
    case_part, sep, _ = confirmation_id.rpartition("-jc")
    try:
        if not sep:
            raise ValueError(confirmation_id)
        return UUID(case_part)
    except ValueError:
        raise CaseNotFoundError(f"no judicial confirmation {confirmation_id}") from None
