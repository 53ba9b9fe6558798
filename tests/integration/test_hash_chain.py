"""The per-case hash chain (SPEC §10; REFERENCES "Integrity"), on every backend.

Each stored event has exactly one ``event_chain`` row, ``hash = SHA-256("caseledger-chain/v1"
|| previous || digest)``, written in the event's own transaction: a failed save (a version
conflict, or a chain insert that fails after the events' insert) leaves neither events nor
chain rows. One save of several aggregates chains each aggregate on its own.

Tampering by SQL as a superuser (SQLite and PostgreSQL) — altering an event's state,
deleting an event, swapping two events' states, transplanting an event into another case —
is caught by ``verify_chain``, which names the first bad version. Editing an event and then
recomputing every later hash is NOT caught by the chain alone: the chain is made from the
rows it checks. Only a comparison with an external, signed checkpoint of the chain heads
catches that, and the last test shows the head it would compare has changed.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, Notification, StoredEvent

from application.ledger import Caller, CaseLedger, CommandResult
from domain.case import Case
from domain.errors import ConcurrentUpdateError
from domain.values import Actor, Party, Role
from infrastructure.integrity import ChainGapError, ChainRow, verify_aggregate
from infrastructure.integrity.chain import GENESIS, chain_hash, event_digest, verify_chain
from infrastructure.integrity.popo import ChainedPOPOApplicationRecorder
from infrastructure.integrity.postgres import ChainedPostgresApplicationRecorder
from infrastructure.integrity.sqlite import ChainedSQLiteApplicationRecorder
from infrastructure.settings import Settings
from tests.conftest import LedgerOpener, OpenLedger

GRID = "qingxi/chengguan/dongguan/grid-01"
VILLAGE_UNIT = "chengguan-dongguan"
IMPORTER = Actor("imp-01", Role.IMPORTER.value, "qingxi-center", "qingxi")
TOWNSHIP = Actor("tc-chengguan", Role.TOWNSHIP_CENTER.value, "chengguan-center", "qingxi/chengguan")
VILLAGE = Actor("v-dongguan", Role.UNIT.value, VILLAGE_UNIT, "qingxi/chengguan/dongguan")
GRID_WORKER = Actor("gw-07", Role.GRID_WORKER.value, VILLAGE_UNIT, GRID)
PARTIES = [Party("p1", "张三", "applicant", phone="13800000001"), Party("p2", "李四", "respondent")]
RECORDERS = {
    "memory": ChainedPOPOApplicationRecorder,
    "sqlite": ChainedSQLiteApplicationRecorder,
    "postgres": ChainedPostgresApplicationRecorder,
}


def caller(actor: Actor, request_id: str = "req") -> Caller:
    return Caller(actor, request_id=request_id)


def register(ledger: CaseLedger) -> UUID:
    result = ledger.register_case(
        caller(TOWNSHIP, "req-register"),
        channel="visit",
        category="neighbour",
        summary="楼上漏水，双方就维修费用发生争执",
        jurisdiction=GRID,
        parties=PARTIES,
        risk_color="yellow",
    )
    return UUID(result.id)


def new_case(ledger: CaseLedger) -> Case:
    """A registered case not yet saved (one pending event)."""
    return Case.register(
        uuid4(),
        ledger.provenance(caller(TOWNSHIP), None),
        channel="visit",
        category="neighbour",
        summary="相邻通行纠纷",
        jurisdiction=GRID,
        parties=PARTIES,
    )


def drive_to_handling(ledger: CaseLedger) -> UUID:
    """Registered, dispatched, accepted, assigned: version 4, ready for progress notes."""
    case_id = register(ledger)
    ledger.dispatch(case_id, caller(TOWNSHIP, "req-dispatch"), unit=VILLAGE_UNIT)
    ledger.accept(case_id, caller(VILLAGE, "req-accept"))
    ledger.assign(case_id, caller(VILLAGE, "req-assign"), handler_id="gw-07", handler_kind="grid_worker")
    return case_id


def progress(ledger: CaseLedger, case_id: UUID, note: str) -> CommandResult:
    return ledger.record_progress(case_id, caller(GRID_WORKER, f"req-{note}"), note=note)


def all_notifications(ledger: CaseLedger) -> list[Notification]:
    return list(ledger.recorder.select_notifications(start=None, limit=1_000_000))


def chain_of(ledger: CaseLedger, case_id: UUID) -> list[ChainRow]:
    rows: list[ChainRow] = ledger.recorder.select_chain(case_id)  # type: ignore[attr-defined]
    return rows


def verify(ledger: CaseLedger, case_id: UUID) -> int | None:
    return verify_aggregate(ledger.recorder, case_id)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- raw access, as a superuser


class RawStore:
    """The backend's tables, reached around the ledger (SQL as a superuser, or the memory dicts)."""

    def __init__(self, settings: Settings, ledger: CaseLedger) -> None:
        self.settings = settings
        self.recorder: Any = cast(Any, ledger.recorder)
        self.events = self.recorder.events_table_name if settings.backend != "memory" else ""
        self.chain = self.recorder.chain_table_name

    def key(self, originator_id: UUID) -> Any:
        return originator_id.hex if self.settings.backend == "sqlite" else originator_id

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        if self.settings.backend == "sqlite":
            conn = sqlite3.connect(self.settings.data_dir / "caseledger.sqlite3", isolation_level=None, timeout=10)
            try:
                yield conn
            finally:
                conn.close()
        else:
            import psycopg
            from psycopg.conninfo import make_conninfo

            with psycopg.connect(make_conninfo(**self.settings.postgres_params()), autocommit=True) as pg:
                yield pg

    def sql(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders, ``{events}`` and ``{chain}`` table names), committed."""
        statement = statement.format(events=self.events, chain=self.chain)
        if self.settings.backend == "postgres":
            statement = statement.replace("?", "%s")
        with self._connect() as conn:
            cursor = conn.execute(statement, params)
            return list(cursor.fetchall()) if cursor.description else []

    def chain_row_count(self) -> int:
        if self.settings.backend == "memory":
            return sum(len(versions) for versions in self.recorder._event_chain.values())
        return int(self.sql("SELECT count(*) FROM {chain}")[0][0])

    def event_count(self, originator_id: UUID) -> int:
        if self.settings.backend == "memory":
            return len(self.recorder._stored_events_index.get(str(originator_id), {}))
        return int(self.sql("SELECT count(*) FROM {events} WHERE originator_id = ?", self.key(originator_id))[0][0])


@pytest.fixture
def raw(backend_settings: Settings) -> Callable[[CaseLedger], RawStore]:
    return lambda ledger: RawStore(backend_settings, ledger)


def assert_every_event_chained(ledger: CaseLedger, store: RawStore) -> None:
    """Each stored event has exactly one chain row, with its notification id, digest and hash."""
    notifications = all_notifications(ledger)
    by_case: dict[UUID, list[Notification]] = defaultdict(list)
    for n in notifications:
        by_case[UUID(str(n.originator_id))].append(n)
    for case_id, events in by_case.items():
        events.sort(key=lambda n: n.originator_version)
        rows = chain_of(ledger, case_id)
        assert [(r.originator_version, r.notification_id) for r in rows] == [
            (n.originator_version, n.id) for n in events
        ]
        previous = GENESIS
        for n, row in zip(events, rows, strict=True):
            digest = event_digest(case_id, n.originator_version, n.topic, n.state)
            assert (row.digest, row.hash) == (digest, chain_hash(previous, digest))
            previous = row.hash
        assert verify(ledger, case_id) is None
    assert store.chain_row_count() == len(notifications)


# ---------------------------------------------------------------------- the byte format


def test_the_byte_formats_are_the_documented_ones() -> None:
    """A known answer computed straight from the module docstring's description."""
    case_id = UUID("12345678-1234-5678-1234-567812345678")
    topic, state = "domain.case:Case.Registered", b'{"summary":"\xe6\xbc\x8f\xe6\xb0\xb4"}'

    def field(b: bytes) -> bytes:
        return len(b).to_bytes(8, "big") + b

    expected_digest = hashlib.sha256(
        b"caseledger-event/v1"
        + field(case_id.bytes)
        + field((3).to_bytes(8, "big"))
        + field(topic.encode())
        + field(state)
    ).digest()
    previous = hashlib.sha256(b"anything").digest()

    assert event_digest(case_id, 3, topic, state) == expected_digest
    assert (
        chain_hash(previous, expected_digest)
        == hashlib.sha256(b"caseledger-chain/v1" + previous + expected_digest).digest()
    )
    assert bytes(32) == GENESIS
    # Length prefixes keep the fields apart: moving a byte from topic to state changes the digest.
    assert event_digest(case_id, 3, "ab", b"c") != event_digest(case_id, 3, "a", b"bc")


def test_verify_chain_names_the_first_bad_version_without_a_database() -> None:
    """Missing versions, extra rows, swaps, transplants and duplicates; a recomputed chain passes."""
    a, b = uuid4(), uuid4()
    events = [(a, v, "t", f"state {v}".encode()) for v in range(1, 6)]
    hashes, previous = [], GENESIS
    for _, v, t, s in events:
        previous = chain_hash(previous, event_digest(a, v, t, s))
        hashes.append((v, previous))

    assert verify_chain(events, hashes) is None
    assert verify_chain(reversed(events), reversed(hashes)) is None  # any order
    assert verify_chain([], []) is None
    assert verify_chain(events[:2] + events[3:], hashes) == 3  # an event deleted
    assert verify_chain(events, hashes[:2] + hashes[3:]) == 3  # a chain row deleted
    assert verify_chain(events[:4], hashes) == 5  # an extra chain row
    assert verify_chain(events, hashes[:4]) == 5  # an event without its chain row
    assert verify_chain([*events, (a, 7, "t", b"x")], hashes) == 6  # a gap after the end
    swapped = [events[0], (a, 2, "t", events[2][3]), (a, 3, "t", events[1][3]), *events[3:]]
    assert verify_chain(swapped, hashes) == 2
    transplanted = [*events[:3], (b, 4, "t", events[3][3]), events[4]]
    assert verify_chain(transplanted, hashes) == 4
    assert verify_chain(events, hashes, originator_id=b) == 1  # someone else's events
    assert verify_chain([*events, events[2]], hashes) == 3  # a duplicate
    assert verify_chain([(a, 0, "t", b""), *events], hashes) == 0  # a version no writer makes
    assert verify_chain([*events[:2], ("not a uuid", 3, "t", b""), *events[3:]], hashes) == 3

    # A chain recomputed after an edit verifies: only an external checkpoint of the head catches it.
    edited = [*events[:2], (a, 3, "t", b"edited"), *events[3:]]
    recomputed, previous = [], GENESIS
    for _, v, t, s in edited:
        previous = chain_hash(previous, event_digest(a, v, t, s))
        recomputed.append((v, previous))
    assert verify_chain(edited, recomputed) is None
    assert recomputed[-1][1] != hashes[-1][1]


# ---------------------------------------------------------------------- every backend


def test_every_backend_records_through_the_chained_recorder(
    open_ledger: OpenLedger, backend_settings: Settings
) -> None:
    """``Settings.eventsourcing_env`` names the chained module of each backend; the library resolves its factory."""
    assert type(open_ledger().recorder) is RECORDERS[backend_settings.backend]


def test_every_saved_event_has_exactly_one_chain_row_with_the_right_hash(
    open_ledger: OpenLedger, raw: Callable[[CaseLedger], RawStore]
) -> None:
    """Cases written step by step, by two ledgers on one store, each chained from GENESIS."""
    writer, other = open_ledger(), open_ledger()
    first = drive_to_handling(writer)
    second = register(other)
    progress(other, first, "电话联系双方")
    progress(writer, first, "上门查看")

    rows = chain_of(other, first)
    assert [r.originator_version for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].hash == chain_hash(GENESIS, rows[0].digest)
    assert [r.originator_version for r in chain_of(writer, second)] == [1]
    assert_every_event_chained(writer, raw(writer))


def test_one_save_of_several_aggregates_chains_each_on_its_own(
    open_ledger: OpenLedger, raw: Callable[[CaseLedger], RawStore]
) -> None:
    """A group commit: several cases, several events each, one ``Application.save``, one transaction."""
    ledger = open_ledger()
    a, b = drive_to_handling(ledger), drive_to_handling(ledger)
    case_a, case_b, fresh = ledger.get_case(a), ledger.get_case(b), new_case(ledger)
    p = ledger.provenance(caller(GRID_WORKER), None)
    for i in range(3):
        case_a.record_progress(p, note=f"a-{i}")
        case_b.record_progress(p, note=f"b-{i}")

    recordings = ledger.save(case_a, fresh, case_b)

    assert len(recordings) == 7
    positions = {
        (r.domain_event.originator_id, r.domain_event.originator_version): r.notification.id for r in recordings
    }
    for case_id, last in ((a, 7), (b, 7), (fresh.id, 1)):
        rows = chain_of(ledger, case_id)
        assert [r.originator_version for r in rows] == list(range(1, last + 1))
        for row in rows:
            if (case_id, row.originator_version) in positions:
                assert row.notification_id == positions[(case_id, row.originator_version)]
    assert chain_of(ledger, a)[4].hash == chain_hash(chain_of(ledger, a)[3].hash, chain_of(ledger, a)[4].digest)
    assert_every_event_chained(ledger, raw(ledger))


def test_a_batch_interleaving_aggregates_chains_each_in_version_order(
    open_ledger: OpenLedger, raw: Callable[[CaseLedger], RawStore]
) -> None:
    """Stored events of two aggregates, interleaved in one insert, link to their own predecessors."""
    ledger = open_ledger()
    a, b = uuid4(), uuid4()

    def stored(case_id: UUID, version: int) -> StoredEvent:
        return StoredEvent(case_id, version, "tests:Opaque", f"{case_id.hex[:4]}-{version}".encode())

    ledger.recorder.insert_events([stored(a, 1), stored(a, 2)])
    ids = ledger.recorder.insert_events([stored(b, 1), stored(a, 3), stored(b, 2), stored(a, 4), stored(b, 3)])

    assert ids is not None
    assert [r.notification_id for r in chain_of(ledger, a)[2:]] == [ids[1], ids[3]]
    assert [r.notification_id for r in chain_of(ledger, b)] == [ids[0], ids[2], ids[4]]
    assert_every_event_chained(ledger, raw(ledger))


def test_a_version_conflict_leaves_no_chain_row(open_ledger: OpenLedger, raw: Callable[[CaseLedger], RawStore]) -> None:
    """A stale writer's save fails as a whole: its new case and its conflicting event leave nothing."""
    ledger = open_ledger()
    store = raw(ledger)
    case_id = register(ledger)
    stale = ledger.get_case(case_id)
    ledger.dispatch(case_id, caller(TOWNSHIP, "req-first"), unit=VILLAGE_UNIT)
    before = chain_of(ledger, case_id)
    stale.dispatch(ledger.provenance(caller(TOWNSHIP), None), unit=VILLAGE_UNIT, note="晚到的派单")
    fresh = new_case(ledger)

    with pytest.raises(IntegrityError):
        ledger.save(fresh, stale)

    assert chain_of(ledger, case_id) == before
    assert chain_of(ledger, fresh.id) == []
    assert store.event_count(fresh.id) == 0
    assert_every_event_chained(ledger, store)


def test_racing_writers_leave_contiguous_verified_chains(
    open_ledger: OpenLedger, backend_settings: Settings, raw: Callable[[CaseLedger], RawStore]
) -> None:
    """Threads on separate ledgers race on one case (conflicts retried) and write their own cases."""
    small_pool = {"CASELEDGER_POSTGRES_POOL_SIZE": "1", "CASELEDGER_POSTGRES_MAX_OVERFLOW": "1"}
    ledgers = [open_ledger(small_pool if backend_settings.backend == "postgres" else None) for _ in range(4)]
    shared = drive_to_handling(ledgers[0])
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            own = register(ledgers[i])
            ledgers[i].dispatch(own, caller(TOWNSHIP), unit=VILLAGE_UNIT)
            for n in range(3):
                while True:
                    try:
                        progress(ledgers[i], shared, f"t{i}-{n}")
                        break
                    except ConcurrentUpdateError:
                        continue
        except BaseException as error:  # handed to the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(ledgers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors
    assert [r.originator_version for r in chain_of(ledgers[0], shared)] == list(range(1, 4 + 3 * len(ledgers) + 1))
    assert_every_event_chained(ledgers[0], raw(ledgers[0]))


def test_a_chain_insert_failing_after_the_events_insert_stores_neither(
    open_ledger: OpenLedger,
    backend_settings: Settings,
    raw: Callable[[CaseLedger], RawStore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step after the events' insert raises (inside the transaction): nothing is stored.

    On memory and SQLite that step is the chain's own insert; on PostgreSQL the chain rows go
    in the events' statement, so the step is a write beside them (a companion, like the keys).
    """
    ledger = open_ledger()
    store = raw(ledger)
    register(ledger)
    head = ledger.recorder.max_notification_id()
    seen: dict[str, Any] = {}

    def fail_after_insert(*args: Any) -> None:
        stored_events = args[1] if backend_settings.backend == "postgres" else args[-2]
        seen["id"] = stored_events[0].originator_id
        if backend_settings.backend == "memory":
            seen["visible"] = len(store.recorder._stored_events_index[str(seen["id"])])
        else:  # the same transaction's cursor sees its own uncommitted rows
            cursor = args[0]
            placeholder = "?" if backend_settings.backend == "sqlite" else "%s"
            cursor.execute(
                f"SELECT count(*) AS n FROM {store.events} WHERE originator_id = {placeholder}",
                (store.key(seen["id"]),),
            )
            seen["visible"] = cursor.fetchone()["n"]
        raise RuntimeError("chain insert failed (simulated)")

    with monkeypatch.context() as patch:
        if backend_settings.backend == "postgres":
            patch.setattr(ledger.recorder, "companions", [*ledger.recorder.companions, fail_after_insert])
        else:
            patch.setattr(ledger.recorder, "_insert_chain", fail_after_insert)
        with pytest.raises(RuntimeError, match="simulated"):
            register(ledger)

    assert seen["visible"] == 1  # the events' insert had happened
    assert ledger.recorder.max_notification_id() == head
    assert store.event_count(seen["id"]) == 0
    assert chain_of(ledger, seen["id"]) == []
    register(ledger)  # the store is still usable
    assert_every_event_chained(ledger, store)


# ---------------------------------------------------------------------- tampering by SQL


class TestTamperingBySql:
    """A superuser edits the tables directly; the chain names the first bad version."""

    @pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
    def backend_settings(self, request: pytest.FixtureRequest) -> Settings:
        """Only the stores a superuser can edit by SQL (overrides the conftest fixture in this class)."""
        settings: Settings = request.getfixturevalue(f"{request.param}_settings")
        return settings

    @pytest.fixture
    def ledger(self, backend_settings: Settings) -> Iterator[CaseLedger]:
        opener = LedgerOpener(backend_settings)
        try:
            yield opener()
        finally:
            opener.close_all()

    @pytest.fixture
    def store(self, backend_settings: Settings, ledger: CaseLedger) -> RawStore:
        return RawStore(backend_settings, ledger)

    @pytest.fixture
    def case_id(self, ledger: CaseLedger) -> UUID:
        case_id = drive_to_handling(ledger)
        progress(ledger, case_id, "第一次回访")
        assert verify(ledger, case_id) is None
        return case_id

    def state(self, store: RawStore, case_id: UUID, version: int) -> bytes:
        rows = store.sql(
            "SELECT state FROM {events} WHERE originator_id = ? AND originator_version = ?", store.key(case_id), version
        )
        return bytes(rows[0][0])

    def set_state(self, store: RawStore, case_id: UUID, version: int, state: bytes) -> None:
        store.sql(
            "UPDATE {events} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            state,
            store.key(case_id),
            version,
        )

    def test_untouched_data_verifies(self, ledger: CaseLedger, store: RawStore, case_id: UUID) -> None:
        assert [r.originator_version for r in chain_of(ledger, case_id)] == [1, 2, 3, 4, 5]
        assert_every_event_chained(ledger, store)

    def test_an_altered_state_is_caught_at_its_version(
        self, ledger: CaseLedger, store: RawStore, case_id: UUID
    ) -> None:
        state = self.state(store, case_id, 3)
        self.set_state(store, case_id, 3, state + b" ")

        assert self.state(store, case_id, 3) != state
        assert verify(ledger, case_id) == 3

    def test_a_deleted_event_is_caught_at_its_version(self, ledger: CaseLedger, store: RawStore, case_id: UUID) -> None:
        store.sql("DELETE FROM {events} WHERE originator_id = ? AND originator_version = 2", store.key(case_id))

        assert verify(ledger, case_id) == 2

    def test_a_deleted_event_and_its_chain_row_are_caught_too(
        self, ledger: CaseLedger, store: RawStore, case_id: UUID
    ) -> None:
        for table in ("{events}", "{chain}"):
            store.sql(f"DELETE FROM {table} WHERE originator_id = ? AND originator_version = 4", store.key(case_id))

        assert verify(ledger, case_id) == 4

    def test_swapped_states_are_caught_at_the_first_of_the_two(
        self, ledger: CaseLedger, store: RawStore, case_id: UUID
    ) -> None:
        second, fourth = self.state(store, case_id, 2), self.state(store, case_id, 4)
        self.set_state(store, case_id, 2, fourth)
        self.set_state(store, case_id, 4, second)

        assert verify(ledger, case_id) == 2

    def test_an_event_transplanted_into_another_case_is_caught_in_both(
        self, ledger: CaseLedger, store: RawStore, case_id: UUID
    ) -> None:
        """Case B's version 2 is replaced by case A's (originator_id changed): B's digest covers B's id."""
        other = drive_to_handling(ledger)
        store.sql("DELETE FROM {events} WHERE originator_id = ? AND originator_version = 2", store.key(other))
        store.sql(
            "UPDATE {events} SET originator_id = ? WHERE originator_id = ? AND originator_version = 2",
            store.key(other),
            store.key(case_id),
        )

        assert verify(ledger, other) == 2
        assert verify(ledger, case_id) == 2

    def test_a_transplant_that_moves_the_chain_row_as_well_is_caught(
        self, ledger: CaseLedger, store: RawStore, case_id: UUID
    ) -> None:
        other = drive_to_handling(ledger)
        for table in ("{events}", "{chain}"):
            store.sql(f"DELETE FROM {table} WHERE originator_id = ? AND originator_version = 3", store.key(other))
            store.sql(
                f"UPDATE {table} SET originator_id = ? WHERE originator_id = ? AND originator_version = 3",
                store.key(other),
                store.key(case_id),
            )

        assert verify(ledger, other) == 3

    def test_a_recomputed_chain_is_not_caught_by_the_chain_alone(
        self, ledger: CaseLedger, store: RawStore, case_id: UUID
    ) -> None:
        """Edit version 2, rewrite digests and hashes from there: it verifies. An external checkpoint
        of the head (the hash of the latest version, kept outside the database) is what catches it."""
        checkpointed_head = chain_of(ledger, case_id)[-1].hash
        self.set_state(store, case_id, 2, self.state(store, case_id, 2) + b" ")
        assert verify(ledger, case_id) == 2

        previous = chain_of(ledger, case_id)[0].hash
        for event in ledger.recorder.select_events(case_id, gt=1):
            digest = event_digest(case_id, event.originator_version, event.topic, event.state)
            previous = chain_hash(previous, digest)
            store.sql(
                "UPDATE {chain} SET digest = ?, hash = ? WHERE originator_id = ? AND originator_version = ?",
                digest,
                previous,
                store.key(case_id),
                event.originator_version,
            )

        assert verify(ledger, case_id) is None  # NOT caught here
        assert chain_of(ledger, case_id)[-1].hash != checkpointed_head  # caught against a checkpoint

    def test_a_missing_predecessor_row_refuses_the_next_save(
        self, ledger: CaseLedger, store: RawStore, case_id: UUID
    ) -> None:
        """The chain cannot be extended past a deleted chain row: the save fails and stores nothing."""
        store.sql("DELETE FROM {chain} WHERE originator_id = ? AND originator_version = 5", store.key(case_id))

        with pytest.raises(ChainGapError):
            progress(ledger, case_id, "再次回访")

        assert store.event_count(case_id) == 5

    def test_a_chain_row_already_present_fails_the_whole_save(self, ledger: CaseLedger, store: RawStore) -> None:
        """A database error in the chain insert (here a duplicate key) rolls back the events too."""
        fresh = new_case(ledger)
        store.sql(
            "INSERT INTO {chain} (originator_id, originator_version, notification_id, digest, hash) "
            "VALUES (?, 1, 0, ?, ?)",
            store.key(fresh.id),
            bytes(32),
            bytes(32),
        )
        head = ledger.recorder.max_notification_id()

        with pytest.raises(IntegrityError):
            ledger.save(fresh)

        assert store.event_count(fresh.id) == 0
        assert ledger.recorder.max_notification_id() == head

    def test_the_library_reads_the_events_table_as_before(
        self, backend_settings: Settings, ledger: CaseLedger, case_id: UUID
    ) -> None:
        """The library's own recorder, on the same store, reads exactly what the chained one wrote."""
        plain_module = {"sqlite": "eventsourcing.sqlite", "postgres": "eventsourcing.postgres"}[
            backend_settings.backend
        ]
        opener = LedgerOpener(backend_settings)
        try:
            plain = opener({"CASELEDGER_PERSISTENCE_MODULE": plain_module, "CASELEDGER_CREATE_TABLE": "n"})
            assert type(plain.recorder) is not type(ledger.recorder)
            assert all_notifications(plain) == all_notifications(ledger)
            assert plain.get_case(case_id).version == 5
        finally:
            opener.close_all()
