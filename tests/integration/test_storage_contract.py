"""Storage contract: what every event store must do for the ledger, run on each backend.

One abstract class states the rules; a subclass per backend (memory, SQLite, PostgreSQL)
supplies the store and its one backend-specific fact, how a commit whose reply was lost
looks to the ledger. "Another ledger" is a second ``CaseLedger`` instance on the same
store, as a second API process or a restarted one would be (SPEC §6, §8, §11; STYLE
"Contract tests for storage"; REFERENCES "eventsourcing 9.5.6: behaviours to know").
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

import pytest
from eventsourcing.persistence import Notification, OperationalError

from application.errors import IdempotencyKeyReused
from application.idempotency import record_id
from application.ledger import Caller, CaseLedger, CommandResult
from domain.calendar import CHINA_TZ, YearSchedule
from domain.calendar_book import CALENDAR_BOOK_ID
from domain.case import Case
from domain.errors import ConcurrentUpdateError
from domain.values import Actor, Party, Role
from infrastructure.settings import Settings
from tests.conftest import OpenLedger

GRID = "qingxi/chengguan/dongguan/grid-01"
VILLAGE_UNIT = "chengguan-dongguan"

IMPORTER = Actor("imp-01", Role.IMPORTER.value, "qingxi-center", "qingxi")
TOWNSHIP = Actor("tc-chengguan", Role.TOWNSHIP_CENTER.value, "chengguan-center", "qingxi/chengguan")
VILLAGE = Actor("v-dongguan", Role.UNIT.value, VILLAGE_UNIT, "qingxi/chengguan/dongguan")
GRID_WORKER = Actor("gw-07", Role.GRID_WORKER.value, VILLAGE_UNIT, GRID)
COUNTY = Actor("county-01", Role.COUNTY_CENTER.value, "qingxi-center", "qingxi")
ADMIN = Actor("admin-01", Role.ADMIN.value, "qingxi-center", "qingxi")

PARTIES = [
    Party("p1", "张三", "applicant", phone="13800000001", id_number="110101199003071234", address="东关社区3号楼2单元"),
    Party("p2", "李四", "respondent", phone="13900000002", address="东关社区3号楼3单元"),
]
# Paper records brought in by the importer keep the time on the paper (SPEC §6).
PAPER_DATE = datetime(2026, 3, 2, 9, 30, tzinfo=CHINA_TZ)
HANDLING_VERSION = 4  # registered, dispatched, accepted, handler assigned
THREADS = 8


@dataclass
class LostReply:
    """Counts the commits whose reply a fault injection swallowed."""

    lost: int = 0


def caller(actor: Actor, request_id: str, key: str = "", request_hash: str = "") -> Caller:
    return Caller(actor, request_id=request_id, idempotency_key=key, request_hash=request_hash or key)


def register(ledger: CaseLedger, who: Caller | None = None) -> CommandResult:
    """制单 from a paper record: back-dated, so its event is marked imported."""
    return ledger.register_case(
        who or caller(IMPORTER, "req-register"),
        channel="hotline_12345",
        category="neighbour",
        summary="楼上漏水，双方就维修费用发生争执",
        jurisdiction=GRID,
        parties=PARTIES,
        risk_color="yellow",
        difficulty="ordinary",
        external_ref="12345-2026-000123",
        occurred_at=PAPER_DATE,
    )


def drive_to_handling(ledger: CaseLedger) -> UUID:
    """Register, dispatch, accept and assign a case: it is then at ``HANDLING_VERSION``."""
    case_id = UUID(register(ledger).id)
    ledger.dispatch(case_id, caller(TOWNSHIP, "req-dispatch"), unit=VILLAGE_UNIT, note="请东关社区处理")
    ledger.accept(case_id, caller(VILLAGE, "req-accept"))
    ledger.assign(
        case_id,
        caller(VILLAGE, "req-assign"),
        handler_id=GRID_WORKER.user_id,
        handler_kind="grid_worker",
        handler_name="王网格",
    )
    return case_id


def stored_events(ledger: CaseLedger, case_id: UUID) -> list[Any]:
    return ledger.case_events(case_id, COUNTY)


def versions(events: list[Any]) -> list[int]:
    return [e.originator_version for e in events]


def notes(events: list[Any]) -> list[str]:
    return [e.note for e in events if isinstance(e, Case.ProgressRecorded)]


def attempt(command: Callable[[], CommandResult]) -> CommandResult | Exception:
    try:
        return command()
    except Exception as error:  # the outcome is what the test inspects
        return error


def race(ledgers: list[CaseLedger], monkeypatch: pytest.MonkeyPatch, command: Callable[[int], Any]) -> list[Any]:
    """Run ``command(i)`` on one thread per ledger, every thread holding the case as loaded before any saves."""
    barrier = threading.Barrier(len(ledgers))
    for ledger in {id(ledger): ledger for ledger in ledgers}.values():  # gate each instance once
        load = ledger.get_case

        def load_then_wait(case_id: UUID, load: Callable[[UUID], Case] = load) -> Case:
            case = load(case_id)
            barrier.wait(timeout=30)
            return case

        monkeypatch.setattr(ledger, "get_case", load_then_wait)
    outcomes: list[Any] = [None] * len(ledgers)

    def run(i: int) -> None:
        outcomes[i] = attempt(lambda: command(i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(ledgers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    return outcomes


class StorageContract(ABC):
    """Rules every event store must keep for the ledger; subclasses name the store."""

    # Whether the recorder itself retries a write whose connection dropped (PostgreSQL does).
    recorder_retries_writes: ClassVar[bool]
    # Extra eventsourcing keys for the ledgers of the threaded tests (smaller pools).
    thread_env: ClassVar[dict[str, str]] = {}

    @abstractmethod
    def lose_reply_once(self, ledger: CaseLedger, monkeypatch: pytest.MonkeyPatch) -> AbstractContextManager[LostReply]:
        """Within the block, the next commit succeeds and then fails as a dropped connection would."""

    # ------------------------------------------------------------------ round trips

    def test_a_case_read_by_another_ledger_has_the_same_events_and_state(
        self, open_ledger: OpenLedger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SPEC §6: every event keeps who, occurred_at, recorded_at, request and imported mark, in order."""
        writer = open_ledger()
        written: list[Any] = []
        put = writer.events.put

        def keep(events: Any, **kwargs: Any) -> Any:
            written.extend(events)
            return put(events, **kwargs)

        monkeypatch.setattr(writer.events, "put", keep)
        before = datetime.now(UTC)
        case_id = drive_to_handling(writer)
        reported = datetime.now(CHINA_TZ)  # reported in local time; the offset must survive
        writer.record_progress(
            case_id, caller(GRID_WORKER, "req-progress-1"), note="电话联系双方", occurred_at=reported
        )
        writer.record_progress(case_id, caller(GRID_WORKER, "req-progress-2"), note="上门查看漏水点")
        after = datetime.now(UTC)

        reader = open_ledger()
        events = stored_events(reader, case_id)

        assert events == [e for e in written if e.originator_id == case_id]
        assert [type(e).__name__ for e in events] == [
            "Registered",
            "Dispatched",
            "Accepted",
            "HandlerAssigned",
            "ProgressRecorded",
            "ProgressRecorded",
        ]
        assert versions(events) == [1, 2, 3, 4, 5, 6]
        assert [e.request_id for e in events] == [
            "req-register",
            "req-dispatch",
            "req-accept",
            "req-assign",
            "req-progress-1",
            "req-progress-2",
        ]
        assert [e.actor for e in events] == [IMPORTER, TOWNSHIP, VILLAGE, VILLAGE, GRID_WORKER, GRID_WORKER]
        assert [e.imported for e in events] == [True, False, False, False, False, False]
        assert events[0].occurred_at == PAPER_DATE
        assert events[0].occurred_at.utcoffset() == timedelta(hours=8)
        assert events[4].occurred_at == reported
        assert events[4].occurred_at.utcoffset() == timedelta(hours=8)
        assert all(before <= e.timestamp <= after for e in events)
        assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
        assert vars(reader.get_case(case_id)) == vars(writer.get_case(case_id))

    def test_party_and_actor_values_come_back_as_value_objects(self, open_ledger: OpenLedger) -> None:
        """SPEC §6: parties (with personal data) and actors are value objects with registered transcodings."""
        case_id = drive_to_handling(open_ledger())

        reader = open_ledger()
        case = reader.get_case(case_id)
        revealed = reader.reveal_parties(case_id, case.parties.values())

        assert all(type(p) is Party for p in case.parties.values())
        # Recorded sealed (SPEC §10), read back in clear by a ledger holding the store's keys.
        assert all(p.name.startswith("enc:v1:") for p in case.parties.values())
        fields = ("party_id", "name", "kind", "phone", "id_number", "address")
        assert [tuple(getattr(p, f) for f in fields) for p in revealed] == [
            tuple(getattr(p, f) for f in fields) for p in PARTIES
        ]
        assert case.registered_by == IMPORTER
        assert type(case.registered_by) is Actor
        assert (case.status, case.handler_id, case.handler_name) == ("handling", GRID_WORKER.user_id, "王网格")

    # ------------------------------------------------------------------ the notification log

    def test_the_notification_log_lists_every_event_once_in_order(self, open_ledger: OpenLedger) -> None:
        """SPEC §7: projections follow one log in which each event appears exactly once, in commit order."""
        writer = open_ledger()
        expected: list[tuple[UUID, int]] = []
        positions: list[tuple[int | None, tuple[UUID, int]]] = []

        def note(result: CommandResult, *others: tuple[UUID, int]) -> None:
            expected.append((UUID(result.id), result.version))
            expected.extend(others)
            # The reply's position is the command's own event, not the idempotency record after it.
            positions.append((result.position, (UUID(result.id), result.version)))

        first = register(writer)
        note(first)
        second = register(writer, caller(IMPORTER, "req-second", key="register-2"))
        note(second, (record_id(IMPORTER.user_id, "register-2"), 1))
        first_id, second_id = UUID(first.id), UUID(second.id)
        note(writer.dispatch(first_id, caller(TOWNSHIP, "r3"), unit=VILLAGE_UNIT))
        note(writer.grade(second_id, caller(TOWNSHIP, "r4"), risk_color="red", difficulty="complex", reason="涉及多户"))
        note(writer.accept(first_id, caller(VILLAGE, "r5")))
        note(writer.dispatch(second_id, caller(TOWNSHIP, "r6"), unit=VILLAGE_UNIT))

        reader = open_ledger()
        listed: list[Notification] = []
        start = 1
        while page := reader.notification_log.select(start=start, limit=3):
            listed.extend(page)
            start = page[-1].id + 1

        assert [(n.originator_id, n.originator_version) for n in listed] == expected
        ids = [n.id for n in listed]
        assert ids == sorted(set(ids))
        assert reader.recorder.max_notification_id() == ids[-1]
        by_event = {(n.originator_id, n.originator_version): n.id for n in listed}
        assert [position for position, _ in positions] == [by_event[last] for _, last in positions]
        assert {n.topic for n in listed if n.originator_id == first_id} == {
            "domain.case:Case.Registered",
            "domain.case:Case.Dispatched",
            "domain.case:Case.Accepted",
        }

    # ------------------------------------------------------------------ concurrent writers

    def test_of_two_writers_at_the_same_version_exactly_one_wins(
        self, open_ledger: OpenLedger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SPEC §8: a second writer holding a stale version is refused; the first write stands alone."""
        first, second = open_ledger(), open_ledger()
        case_id = drive_to_handling(first)
        won: list[CommandResult] = []
        load = second.get_case

        def load_then_lose_the_race(loading: UUID) -> Case:
            stale = load(loading)
            won.append(first.record_progress(loading, caller(GRID_WORKER, "req-first"), note="first writer"))
            return stale

        monkeypatch.setattr(second, "get_case", load_then_lose_the_race)

        with pytest.raises(ConcurrentUpdateError) as refused:
            second.record_progress(case_id, caller(GRID_WORKER, "req-second"), note="second writer")

        assert refused.value.context["id"] == str(case_id)
        assert [(r.id, r.version) for r in won] == [(str(case_id), HANDLING_VERSION + 1)]
        events = stored_events(open_ledger(), case_id)
        assert versions(events) == list(range(1, HANDLING_VERSION + 2))
        assert notes(events) == ["first writer"]

    def test_of_many_threads_at_the_same_version_exactly_one_wins(
        self, open_ledger: OpenLedger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """REFERENCES: K concurrent writers at the same version: one wins, versions stay contiguous."""
        case_id = drive_to_handling(open_ledger())
        ledgers = [open_ledger(self.thread_env) for _ in range(THREADS)]

        outcomes = race(
            ledgers,
            monkeypatch,
            lambda i: ledgers[i].record_progress(case_id, caller(GRID_WORKER, f"req-{i}"), note=f"writer {i}"),
        )

        winners = [o for o in outcomes if isinstance(o, CommandResult)]
        losers = [o for o in outcomes if not isinstance(o, CommandResult)]
        assert len(winners) == 1, outcomes
        assert all(isinstance(o, ConcurrentUpdateError) for o in losers), losers
        assert winners[0].version == HANDLING_VERSION + 1
        events = stored_events(open_ledger(), case_id)
        assert versions(events) == list(range(1, HANDLING_VERSION + 2))
        assert len(notes(events)) == 1

    def test_of_many_threads_sharing_one_ledger_exactly_one_wins(
        self, open_ledger: OpenLedger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SPEC §8: the API's worker threads share one ledger; at one loaded version only one write lands."""
        ledger = open_ledger()
        case_id = drive_to_handling(ledger)

        outcomes = race(
            [ledger] * THREADS,
            monkeypatch,
            lambda i: ledger.record_progress(case_id, caller(GRID_WORKER, f"req-{i}"), note=f"thread {i}"),
        )

        assert sum(isinstance(o, CommandResult) for o in outcomes) == 1, outcomes
        assert all(isinstance(o, CommandResult | ConcurrentUpdateError) for o in outcomes), outcomes
        events = stored_events(open_ledger(), case_id)
        assert versions(events) == list(range(1, HANDLING_VERSION + 2))
        assert len(notes(events)) == 1

    # ------------------------------------------------------------------ idempotency

    def test_an_idempotent_command_replays_on_another_ledger_and_records_nothing(self, open_ledger: OpenLedger) -> None:
        """SPEC §8: a retried request with the same Idempotency-Key records nothing twice, whichever process gets it."""
        first = open_ledger()
        case_id = drive_to_handling(first)
        command = caller(GRID_WORKER, "req-progress", key="progress-1", request_hash="sha256:aaa")
        original = first.record_progress(case_id, command, note="电话联系双方")
        logged = first.recorder.max_notification_id()

        again = open_ledger().record_progress(case_id, command, note="电话联系双方")

        assert (again.id, again.version) == (original.id, original.version) == (str(case_id), HANDLING_VERSION + 1)
        assert again.replayed
        assert first.recorder.max_notification_id() == logged
        assert notes(stored_events(first, case_id)) == ["电话联系双方"]

    def test_an_idempotency_key_reused_for_another_request_is_refused(self, open_ledger: OpenLedger) -> None:
        """SPEC §8: the same key with a different request body is an error, not a replay of the first."""
        case_id = drive_to_handling(open_ledger())
        open_ledger().record_progress(case_id, caller(GRID_WORKER, "r1", key="k", request_hash="sha256:aaa"), note="一")

        with pytest.raises(IdempotencyKeyReused):
            open_ledger().record_progress(
                case_id, caller(GRID_WORKER, "r2", key="k", request_hash="sha256:bbb"), note="二"
            )

        assert notes(stored_events(open_ledger(), case_id)) == ["一"]

    def test_concurrent_duplicates_of_one_request_all_return_the_one_result(
        self, open_ledger: OpenLedger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """application/idempotency.py: a concurrent duplicate loses the race on the record and replays it."""
        case_id = drive_to_handling(open_ledger())
        ledgers = [open_ledger(self.thread_env) for _ in range(4)]
        command = caller(GRID_WORKER, "req-dup", key="progress-dup", request_hash="sha256:dup")

        outcomes = race(ledgers, monkeypatch, lambda i: ledgers[i].record_progress(case_id, command, note="同一请求"))

        assert all(isinstance(o, CommandResult) for o in outcomes), outcomes
        assert {(o.id, o.version) for o in outcomes} == {(str(case_id), HANDLING_VERSION + 1)}
        assert notes(stored_events(open_ledger(), case_id)) == ["同一请求"]

    def test_a_retry_after_a_lost_reply_returns_the_original_result(
        self, open_ledger: OpenLedger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """REFERENCES: when a commit succeeded but its reply was lost, the key turns the retry into the original success."""
        ledger = open_ledger()
        case_id = drive_to_handling(ledger)
        command = caller(GRID_WORKER, "req-lost", key="progress-lost", request_hash="sha256:lost")

        with self.lose_reply_once(ledger, monkeypatch) as fault:
            outcome = attempt(lambda: ledger.record_progress(case_id, command, note="回复丢失"))
        retried = ledger.record_progress(case_id, command, note="回复丢失")

        assert fault.lost == 1
        expected = (str(case_id), HANDLING_VERSION + 1)
        if self.recorder_retries_writes:
            # The recorder's own retry met its committed row: the ledger must answer success.
            assert isinstance(outcome, CommandResult), outcome
            assert (outcome.id, outcome.version) == expected
        else:
            # No retry inside the recorder: the client sees the failure and retries itself.
            assert isinstance(outcome, OperationalError), outcome
        assert (retried.id, retried.version) == expected
        events = stored_events(open_ledger(), case_id)
        assert versions(events) == list(range(1, HANDLING_VERSION + 2))
        assert notes(events) == ["回复丢失"]

    def test_a_replay_repeats_the_original_ledger_position(self, open_ledger: OpenLedger) -> None:
        """application/idempotency.py: a retry "replays the first response", its ledger position included."""
        ledger = open_ledger()
        case_id = drive_to_handling(ledger)
        command = caller(GRID_WORKER, "req-pos", key="progress-pos", request_hash="sha256:pos")

        original = ledger.record_progress(case_id, command, note="位置")
        replayed = ledger.record_progress(case_id, command, note="位置")

        assert original.position is not None
        assert replayed.as_dict() == original.as_dict()

    def test_a_lost_reply_without_a_key_still_records_the_step_once(
        self, open_ledger: OpenLedger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """REFERENCES: without a key the lost reply surfaces as an error, but the step is stored exactly once."""
        ledger = open_ledger()
        case_id = drive_to_handling(ledger)

        with self.lose_reply_once(ledger, monkeypatch) as fault:
            outcome = attempt(lambda: ledger.record_progress(case_id, caller(GRID_WORKER, "r"), note="无幂等键"))

        assert fault.lost == 1
        # The recorder's retry meets its own row and reports a conflict; without a retry, the dropped connection.
        expected_error = ConcurrentUpdateError if self.recorder_retries_writes else OperationalError
        assert isinstance(outcome, expected_error), outcome
        events = stored_events(open_ledger(), case_id)
        assert versions(events) == list(range(1, HANDLING_VERSION + 2))
        assert notes(events) == ["无幂等键"]

    # ------------------------------------------------------------------ calendar

    def test_a_loaded_calendar_year_is_visible_to_another_ledger(self, open_ledger: OpenLedger) -> None:
        """SPEC §4: a year's schedule loaded by an operator (as an event) reaches every ledger process."""
        reader, writer = open_ledger(), open_ledger()
        assert not reader.calendar().covers(2027)  # the reader has now cached its calendar
        new_year = YearSchedule(
            2027, holidays=frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}), workdays=frozenset()
        )
        national_day = YearSchedule(
            2027, holidays=frozenset(date(2027, 10, d) for d in range(1, 8)), workdays=frozenset()
        )

        loaded = writer.load_calendar_year(caller(ADMIN, "req-cal-1"), new_year, source="国办发明电", digest="sha256:1")
        calendar = reader.calendar()
        assert loaded.extra == {"year": 2027}
        assert calendar.covers(2027)
        assert not calendar.is_workday(date(2027, 1, 1))  # a Friday inside the holiday

        writer.load_calendar_year(caller(ADMIN, "req-cal-2"), national_day, source="更正", digest="sha256:2")
        corrected = reader.calendar()
        assert corrected.is_workday(date(2027, 1, 1))  # the re-load replaced the year
        assert not corrected.is_workday(date(2027, 10, 4))
        book: Any = open_ledger().repository.get(CALENDAR_BOOK_ID)
        assert book.version == 3
        assert open_ledger().calendar().schedule(2027) == national_day


# ---------------------------------------------------------------------- one subclass per backend


class TestMemoryStorage(StorageContract):
    """The in-memory store (``eventsourcing.popo``); ledgers share one recorder."""

    recorder_retries_writes = False

    @pytest.fixture
    def backend_settings(self, memory_settings: Settings) -> Settings:
        return memory_settings

    @contextmanager
    def lose_reply_once(self, ledger: CaseLedger, monkeypatch: pytest.MonkeyPatch) -> Iterator[LostReply]:
        fault = LostReply()
        recorder: Any = ledger.recorder
        insert = recorder.insert_events

        def insert_then_drop(*args: Any, **kwargs: Any) -> Any:
            result = insert(*args, **kwargs)
            if not fault.lost:
                fault.lost += 1
                raise OperationalError("connection dropped after commit (simulated)")
            return result

        with monkeypatch.context() as patch:
            patch.setattr(recorder, "insert_events", insert_then_drop)
            yield fault


class TestSQLiteStorage(StorageContract):
    """The embedded default: ``eventsourcing.sqlite`` on a file in WAL mode."""

    recorder_retries_writes = False

    @pytest.fixture
    def backend_settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings

    @contextmanager
    def lose_reply_once(self, ledger: CaseLedger, monkeypatch: pytest.MonkeyPatch) -> Iterator[LostReply]:
        fault = LostReply()
        datastore: Any = ledger.recorder.datastore  # type: ignore[attr-defined]
        transaction = datastore.transaction

        @contextmanager
        def commit_then_drop(*, commit: bool) -> Iterator[Any]:
            with transaction(commit=commit) as cursor:
                yield cursor
            if commit and not fault.lost:  # reached only when the COMMIT succeeded
                fault.lost += 1
                raise OperationalError("disk I/O error after commit (simulated)")

        with monkeypatch.context() as patch:
            patch.setattr(datastore, "transaction", commit_then_drop)
            yield fault


@pytest.mark.postgres
class TestPostgresStorage(StorageContract):
    """Production: ``eventsourcing.postgres`` (psycopg 3) on a database of this test session."""

    recorder_retries_writes = True
    thread_env: ClassVar[dict[str, str]] = {
        "CASELEDGER_POSTGRES_POOL_SIZE": "1",
        "CASELEDGER_POSTGRES_MAX_OVERFLOW": "1",
    }

    @pytest.fixture
    def backend_settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings

    @contextmanager
    def lose_reply_once(self, ledger: CaseLedger, monkeypatch: pytest.MonkeyPatch) -> Iterator[LostReply]:
        fault = LostReply()
        recorder: Any = ledger.recorder
        datastore = recorder.datastore
        get_connection = datastore.get_connection
        insert_rows = recorder._insert_stored_events
        inserted = threading.Event()

        def insert_and_mark(*args: Any, **kwargs: Any) -> Any:
            result = insert_rows(*args, **kwargs)
            inserted.set()
            return result

        @contextmanager
        def connection_dropped_after_commit() -> Iterator[Any]:
            with get_connection() as conn:
                yield conn
            # Reached only when the transaction inside committed; then the reply "never arrives".
            if inserted.is_set() and not fault.lost:
                fault.lost += 1
                raise OperationalError("server closed the connection unexpectedly (simulated after commit)")

        with monkeypatch.context() as patch:
            patch.setattr(recorder, "_insert_stored_events", insert_and_mark)
            patch.setattr(datastore, "get_connection", connection_dropped_after_commit)
            yield fault
