"""Parties' personal data at rest, on every backend (SPEC §6, §10; REFERENCES "Privacy").

Names, phones, ID numbers and addresses are sealed (AES-256-GCM under a per-party key, with
associated data naming the case, the party and the field) before the registration event is
made: no table of the event store or of the views ever holds them in clear. A sealed value
swapped with another party's, or moved to another case, fails authentication and reads as
``[已损坏]``, never as someone else's data. Lookups go by keyed HMAC tokens. Erasure, asked by
one official and approved by another, destroys the party's key: its fields read ``[已删除]``,
its lookup tokens leave the index, and the hash chain and the Merkle proofs still verify,
since they cover the stored bytes, which do not change.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.ledger import Caller, CaseLedger
from application.privacy import DAMAGED, ERASED, PersonalData
from domain.errors import ConcurrentUpdateError, InvalidCommand, InvalidTransition, NotPermitted
from domain.merkle import verify_inclusion
from domain.values import Actor, Party, Role
from infrastructure.bootstrap import build_integrity, build_views
from infrastructure.checkpoints import Checkpoint
from infrastructure.integrity import verify_aggregate
from infrastructure.integrity.log import notification_leaf
from infrastructure.integrity.service import IntegrityService
from infrastructure.integrity.verify import stored_entries, verify_log
from infrastructure.privacy import KEK_FILENAME, LOOKUP_KEY_FILENAME
from infrastructure.settings import Settings
from infrastructure.views.queries import CaseFilter, Scope, ViewQueries
from infrastructure.views.store import ViewStore
from infrastructure.worker import ProjectionWorker
from tests.conftest import LedgerOpener

GRID = "qingxi/chengguan/dongguan/grid-01"
VILLAGE_UNIT = "chengguan-dongguan"
TOWNSHIP = Caller(Actor("tc-li", Role.TOWNSHIP_CENTER.value, "chengguan-center", "qingxi/chengguan"))
OTHER_TOWNSHIP_OFFICIAL = Caller(Actor("tc-ma", Role.TOWNSHIP_CENTER.value, "chengguan-center", "qingxi/chengguan"))
COUNTY = Caller(Actor("cc-zheng", Role.COUNTY_CENTER.value, "qingxi-center", "qingxi"))
VILLAGE = Caller(Actor("v-zhao", Role.UNIT.value, VILLAGE_UNIT, "qingxi/chengguan/dongguan"))
MEDIATOR = Caller(Actor("med-wang", Role.MEDIATOR.value, "chengguan-pmc", "qingxi/chengguan"))
IMPORTER = Caller(Actor("arch-wu", Role.IMPORTER.value, "qingxi-center", "qingxi"))

# Values that appear nowhere else in the ledger, so finding one anywhere is a leak.
OUYANG = Party(
    "p1", "欧阳春花", "applicant", phone="13912345678", id_number="11010519491231002X", address="幸福路8号3栋"
)
SIMA = Party(
    "p2", "司马秋实", "respondent", phone="15887654321", id_number="44030419850512341X", address="和平里二巷5号"
)
FIELDS = ("name", "phone", "id_number", "address")


def needles(party: Party) -> list[str]:
    """A party's personal values, also as JSON writes them with non-ASCII escaped."""
    values = [getattr(party, field) for field in FIELDS]
    return values + [json.dumps(value)[1:-1] for value in values if not value.isascii()]


def _texts(row: Any) -> Iterator[str]:
    for value in row.values() if isinstance(row, dict) else row:
        if isinstance(value, bytes | bytearray | memoryview):
            yield bytes(value).decode("utf-8", errors="replace")
        elif value is not None:
            yield str(value)


class World:
    """A ledger, its views and Merkle log on one backend, and raw reads of every table."""

    def __init__(self, settings: Settings, opener: LedgerOpener) -> None:
        self.settings = settings
        self.opener = opener
        self.ledger: CaseLedger = opener()
        self.store: ViewStore = build_views(settings)
        self.integrity: IntegrityService = build_integrity(settings, self.store)
        self.queries = ViewQueries(self.store.db)

    def project(self) -> None:
        ProjectionWorker(self.ledger, self.store, log=self.integrity.log).catch_up()

    def register(self, *parties: Party, caller: Caller = TOWNSHIP, case_id: UUID | None = None) -> UUID:
        result = self.ledger.register_case(
            caller,
            channel="visit",
            category="neighbour",
            summary="相邻通行纠纷，双方就通道宽度发生争执",
            jurisdiction=GRID,
            parties=list(parties or (OUYANG, SIMA)),
            case_id=case_id,
        )
        return UUID(result.id)

    def to_confirmation(self) -> UUID:
        """A case mediated to an agreement and submitted to the county court: parties in the court view."""
        mediator_id = UUID(
            self.ledger.register_mediator(
                TOWNSHIP,
                name="王调解",
                user_id=MEDIATOR.actor.user_id,
                organisation="城关镇人民调解委员会",
                organisation_kind="people_mediation_committee",
                specialties=[],
                jurisdiction="qingxi/chengguan",
            ).id
        )
        self.ledger.qualify_mediator(mediator_id, COUNTY, examination="2026年度人民调解员联合考核")
        case_id = self.register()
        self.ledger.dispatch(case_id, TOWNSHIP, unit=VILLAGE_UNIT)
        self.ledger.accept(case_id, VILLAGE)
        self.ledger.assign(case_id, VILLAGE, handler_kind="mediator", mediator_id=str(mediator_id))
        self.ledger.notify_rights(case_id, MEDIATOR, party_ids=["p1", "p2"])
        self.ledger.reach_agreement(case_id, MEDIATOR, terms="双方各让一步，通道宽度按现状保留")
        self.ledger.apply_for_confirmation(case_id, MEDIATOR, court="qingxi-court", applicant_party_ids=["p1", "p2"])
        return case_id

    def reveal(self, case_id: UUID, ledger: CaseLedger | None = None) -> dict[str, Any]:
        """The parties as a fresh ledger on the same store reads them (no cache, nothing in hand)."""
        reader = ledger or self.opener()
        case = reader.get_case(case_id)
        return {p.party_id: p for p in reader.reveal_parties(case_id, case.parties.values(), case.erased_parties)}

    def lookup(self, field: str, value: str, personal_data: PersonalData | None = None) -> list[str]:
        token = (personal_data or self.ledger.personal_data).lookup_token(field, value)
        page = self.queries.list_cases(
            Scope(None), CaseFilter(party_tokens=[(field, token)]), now=self.ledger.clock(), limit=200
        )
        return [row["case_id"] for row in page.items]

    # ------------------------------------------------------------------ raw storage

    def stored_text(self) -> str:
        """Every text and blob value of every table: events, chain, views, Merkle log, key tables."""
        chunks: list[str] = []
        if self.settings.backend == "postgres":
            import psycopg
            from psycopg import sql
            from psycopg.conninfo import make_conninfo

            with psycopg.connect(make_conninfo(**self.settings.postgres_params()), autocommit=True) as conn:
                tables = conn.execute(
                    "SELECT schemaname, tablename FROM pg_tables "
                    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                ).fetchall()
                assert tables
                for schema, table in tables:
                    for row in conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table))):
                        chunks.extend(_texts(row))
        elif self.settings.backend == "sqlite":
            for name in ("caseledger.sqlite3", "views.sqlite3"):
                with closing(sqlite3.connect(Path(self.settings.data_dir) / name)) as conn:
                    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                    for table in tables:
                        for row in conn.execute(f'SELECT * FROM "{table}"'):
                            chunks.extend(_texts(row))
        else:
            for notification in self.ledger.recorder.select_notifications(start=1, limit=10**6):
                chunks.append(notification.state.decode("utf-8"))
            for row in self.store.db.query("SELECT name FROM sqlite_master WHERE type = 'table'"):
                for stored in self.store.db.query(f'SELECT * FROM "{row["name"]}"'):
                    chunks.extend(_texts(stored))
        return "\n".join(chunks)

    def raw_files(self) -> bytes:
        """SQLite only: the bytes of the database files themselves, write-ahead logs included."""
        data = b""
        for path in sorted(Path(self.settings.data_dir).glob("*.sqlite3*")):
            data += path.read_bytes()
        return data

    def verify(self, held: Checkpoint) -> Any:
        return verify_log(
            lambda: stored_entries(self.ledger.recorder),
            lambda: self.integrity.log.stored_leaf_hashes(held.tree_size),
            held,
            self.integrity.signer.public_key_pem(),
        )

    # ------------------------------------------------------------------ tampering

    def rewrite_event(self, case_id: UUID, version: int, change: Any) -> None:
        """Edit one stored event's state in place, as someone with the database would."""
        recorder: Any = self.ledger.recorder
        stored = recorder.select_events(case_id, gt=version - 1, lte=version)[0]
        state = json.loads(stored.state)
        change(state)
        new_state = json.dumps(state, ensure_ascii=False).encode("utf-8")
        if self.settings.backend == "memory":
            index = recorder._stored_events_index[str(case_id)][version]
            recorder._stored_events[index] = type(stored)(
                stored.originator_id, stored.originator_version, stored.topic, new_state
            )
            return
        table = recorder.events_table_name
        if self.settings.backend == "sqlite":
            with closing(sqlite3.connect(Path(self.settings.data_dir) / "caseledger.sqlite3")) as conn, conn:
                conn.execute(
                    f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                    (new_state, case_id.hex, version),
                )
            return
        import psycopg
        from psycopg.conninfo import make_conninfo

        with psycopg.connect(make_conninfo(**self.settings.postgres_params()), autocommit=True) as conn:
            conn.execute(
                f"UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = %s",
                (new_state, case_id, version),
            )

    def close(self) -> None:
        self.store.db.close()


def parties_of(state: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The stored parties of a registration event's state, by party id (edited in place)."""
    return {p["_data_"]["party_id"]: p["_data_"] for p in state["parties"]}


@pytest.fixture
def world(backend_settings: Settings, open_ledger: Any) -> Iterator[World]:
    built = World(backend_settings, open_ledger)
    try:
        yield built
    finally:
        built.close()


# ---------------------------------------------------------------------- at rest


def test_no_party_value_is_stored_in_clear_anywhere(world: World) -> None:
    """SPEC §10: no table (events, chain, views, court records, Merkle log, keys) holds a name, phone, ID or address."""
    case_id = world.to_confirmation()
    world.project()
    assert world.queries.court_records(court="qingxi-court", scope=Scope(None)).items, "the court view has parties"

    stored = world.stored_text()

    assert str(case_id) in stored or case_id.hex in stored  # the scan does see the data
    for party in (OUYANG, SIMA):
        leaked = [value for value in needles(party) if value in stored]
        assert leaked == [], f"{party.party_id} stored in clear: {leaked}"
    assert "enc:v1:" in stored
    if world.settings.backend == "sqlite":
        raw = world.raw_files()
        assert not [v for p in (OUYANG, SIMA) for v in needles(p) if v.encode() in raw]


def test_the_parties_read_back_in_clear_with_the_stores_keys(world: World) -> None:
    """SPEC §6: held so that it can be masked in views: a ledger on the same store reads the values."""
    case_id = world.register()

    revealed = world.reveal(case_id)

    for party in (OUYANG, SIMA):
        shown = revealed[party.party_id]
        assert [getattr(shown, f) for f in FIELDS] == [getattr(party, f) for f in FIELDS]
        assert (shown.erased, shown.damaged) == (False, ())


def test_a_name_is_checked_before_it_is_sealed(world: World) -> None:
    """The domain's rule on names (1–100 characters) applies to the name as given, not to its ciphertext."""
    case_id = uuid4()
    before = world.ledger.recorder.max_notification_id()

    with pytest.raises(InvalidCommand, match=r"parties\.name"):
        world.register(Party("p1", "张" * 101), case_id=case_id)

    assert world.ledger.recorder.max_notification_id() == before
    assert world.ledger.personal_data.keys.keys(str(case_id)) == {}  # nothing sealed for a refused command
    assert world.register(Party("p1", "张" * 100))  # a long name seals to far more than 100 characters


def test_a_second_registration_under_a_used_case_id_leaves_the_first_readable(world: World) -> None:
    """The key already stored for a case and party is never replaced, so a refused write breaks no ciphertext."""
    case_id = world.register()

    with pytest.raises(ConcurrentUpdateError):
        world.register(Party("p1", "冒名顶替", phone="13000000000"), case_id=case_id)

    assert world.reveal(case_id)["p1"].name == OUYANG.name


# ---------------------------------------------------------------------- tampering


def test_swapping_two_parties_sealed_fields_is_detected(world: World) -> None:
    """AAD binds each ciphertext to its party: swapped phones read [已损坏], never as the other party's phone."""
    case_id = world.register()

    def swap(state: dict[str, Any]) -> None:
        parties = parties_of(state)
        parties["p1"]["phone"], parties["p2"]["phone"] = parties["p2"]["phone"], parties["p1"]["phone"]
        parties["p1"]["name"], parties["p2"]["name"] = parties["p2"]["name"], parties["p1"]["name"]

    world.rewrite_event(case_id, 1, swap)
    revealed = world.reveal(case_id)

    for party_id in ("p1", "p2"):
        assert revealed[party_id].phone == DAMAGED
        assert revealed[party_id].name == DAMAGED
        assert set(revealed[party_id].damaged) == {"name", "phone"}
    # Untouched fields still read, and nothing of one party shows under the other.
    assert (revealed["p1"].id_number, revealed["p2"].id_number) == (OUYANG.id_number, SIMA.id_number)
    assert SIMA.phone not in {revealed["p1"].phone, revealed["p1"].name}
    # The chain names the altered event as well (it covers the stored bytes).
    assert verify_aggregate(world.ledger.recorder, case_id) == 1  # type: ignore[arg-type]


def test_a_sealed_field_moved_between_fields_or_cases_is_detected(world: World) -> None:
    """AAD names the case and the field: a ciphertext copied into another case or field fails authentication."""
    source = world.register()
    target = world.register(Party("p1", "令狐冲", phone="13700000001"), Party("p2", "任盈盈"))
    stolen = parties_of(json.loads(world.ledger.recorder.select_events(source, lte=1)[0].state))["p1"]

    def transplant(state: dict[str, Any]) -> None:
        parties = parties_of(state)
        parties["p1"]["name"] = stolen["name"]  # the same party id and field, in another case
        parties["p2"]["name"] = parties["p1"]["phone"]  # this case's p1 phone, in p2's name

    world.rewrite_event(target, 1, transplant)
    revealed = world.reveal(target)

    assert revealed["p1"].name == DAMAGED and revealed["p1"].name != OUYANG.name
    assert revealed["p1"].phone == "13700000001"
    assert revealed["p2"].name == DAMAGED


def test_a_ledger_with_another_key_encryption_key_reads_nothing(world: World) -> None:
    """The data keys are wrapped under the KEK kept outside the database: without it every field is [已损坏]."""
    case_id = world.register()
    other = world.opener()
    other.personal_data = PersonalData(world.ledger.personal_data.keys, bytes(32), bytes(32))

    revealed = world.reveal(case_id, other)

    assert all(getattr(revealed["p1"], f) == DAMAGED for f in FIELDS)


# ---------------------------------------------------------------------- lookup


def test_a_case_is_found_by_a_partys_id_number_or_phone(world: World) -> None:
    """REFERENCES: lookups by ID number or phone go by keyed HMAC; the phone in any common spelling."""
    case_id = world.register()
    other = world.register(Party("p1", "令狐冲", phone="13700000001"))
    world.project()

    assert world.lookup("id_number", OUYANG.id_number.lower()) == [str(case_id)]
    assert world.lookup("phone", "+86 158-8765-4321") == [str(case_id)]
    assert world.lookup("phone", "13700000001") == [str(other)]
    assert world.lookup("id_number", "110105194912310021") == []


def test_a_lookup_with_another_hmac_key_finds_nothing(world: World) -> None:
    """The token is keyed: a token made with any other key (a plain hash included) matches no case."""
    world.register()
    world.project()

    assert world.lookup("id_number", OUYANG.id_number) != []
    assert world.lookup("id_number", OUYANG.id_number, PersonalData.ephemeral()) == []
    stored = world.stored_text()
    import hashlib

    assert hashlib.sha256(OUYANG.id_number.encode()).hexdigest() not in stored


# The in-memory backend keeps its keys in memory and writes no key file.
@pytest.mark.parametrize(
    "backend_settings", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_the_key_files_live_outside_the_database_readable_by_the_owner_only(world: World) -> None:
    """The KEK and the lookup key are files (0600, directory 0700), created on first use, never stored in a table."""
    world.register()
    key_dir = world.settings.privacy_keys_dir()
    stored = world.stored_text()

    for name in (KEK_FILENAME, LOOKUP_KEY_FILENAME):
        path = key_dir / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(bytes.fromhex(path.read_text().strip())) == 32
        assert path.read_text().strip() not in stored
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    # A ledger opened later on the same settings reads with the same keys.
    assert world.lookup("phone", SIMA.phone, world.opener().personal_data) == []  # not projected yet
    world.project()
    assert world.lookup("phone", SIMA.phone, world.opener().personal_data) != []


# ---------------------------------------------------------------------- erasure


def test_an_erasure_needs_a_second_official(world: World) -> None:
    """Erasure is asked by one township or county official and approved by another; the same one is refused."""
    case_id = world.register()
    with pytest.raises(InvalidTransition, match="awaits"):
        world.ledger.approve_party_erasure(case_id, COUNTY, party_id="p1")
    world.ledger.request_party_erasure(case_id, TOWNSHIP, party_id="p1", reason="当事人依法申请删除")

    with pytest.raises(NotPermitted, match="second official"):
        world.ledger.approve_party_erasure(case_id, TOWNSHIP, party_id="p1")
    with pytest.raises(InvalidTransition, match="already awaits"):
        world.ledger.request_party_erasure(case_id, COUNTY, party_id="p1", reason="重复申请")
    for refused in (VILLAGE, IMPORTER, MEDIATOR):
        with pytest.raises(NotPermitted):
            world.ledger.approve_party_erasure(case_id, refused, party_id="p1")
    assert world.reveal(case_id)["p1"].name == OUYANG.name

    world.ledger.approve_party_erasure(case_id, OTHER_TOWNSHIP_OFFICIAL, party_id="p1")

    with pytest.raises(InvalidTransition, match="already erased"):
        world.ledger.request_party_erasure(case_id, COUNTY, party_id="p1", reason="再次申请")
    events = list(world.ledger.events.get(case_id))
    requested, erased = events[-2], events[-1]
    assert (type(requested).__name__, requested.actor.user_id, requested.party_id) == (
        "PartyErasureRequested",
        "tc-li",
        "p1",
    )
    assert (type(erased).__name__, erased.actor.user_id, erased.requested_by.user_id) == (
        "PartyErased",
        "tc-ma",
        "tc-li",
    )


def test_after_erasure_the_party_reads_erased_and_no_key_or_token_is_left(world: World) -> None:
    """Crypto-shredding: the key row is gone (a tombstone says when and by whom), the fields read [已删除]."""
    case_id = world.to_confirmation()
    world.project()
    assert world.lookup("id_number", OUYANG.id_number) == [str(case_id)]

    world.ledger.request_party_erasure(case_id, TOWNSHIP, party_id="p1", reason="当事人依法申请删除")
    world.ledger.approve_party_erasure(case_id, COUNTY, party_id="p1")
    world.project()

    revealed = world.reveal(case_id)
    assert revealed["p1"].erased
    assert [getattr(revealed["p1"], f) for f in FIELDS] == [ERASED] * 4
    assert [getattr(revealed["p2"], f) for f in FIELDS] == [getattr(SIMA, f) for f in FIELDS]
    # Even without the case's own record of the erasure (as the court view reads it), the key is gone.
    reader = world.opener()
    sealed = reader.get_case(case_id).parties.values()
    assert [p.erased for p in reader.reveal_parties(case_id, sealed)] == [True, False]
    keys = world.ledger.personal_data.keys
    assert set(keys.keys(str(case_id))) == {"p2"}
    tombstone = keys.tombstones(str(case_id))["p1"]
    assert (tombstone.destroyed_by, tombstone.requested_by) == ("cc-zheng", "tc-li")
    # The lookup index no longer knows the erased party; the other one is still found.
    assert world.lookup("id_number", OUYANG.id_number) == []
    assert world.lookup("phone", OUYANG.phone) == []
    assert world.lookup("phone", SIMA.phone) == [str(case_id)]
    # Still nothing in clear anywhere.
    stored = world.stored_text()
    assert [v for v in needles(OUYANG) if v in stored] == []


@pytest.mark.parametrize("backend_settings", ["sqlite"], indirect=True)  # raw database files: SQLite only
def test_on_sqlite_a_destroyed_key_leaves_the_database_files(world: World) -> None:
    """secure_delete and a WAL checkpoint: the wrapped key's bytes are in neither the file nor its log."""
    case_id = world.register()
    wrapped = world.ledger.personal_data.keys.keys(str(case_id))["p1"].wrapped
    assert wrapped in world.raw_files()

    world.ledger.request_party_erasure(case_id, TOWNSHIP, party_id="p1", reason="当事人依法申请删除")
    world.ledger.approve_party_erasure(case_id, COUNTY, party_id="p1")

    assert wrapped not in world.raw_files()


def test_after_erasure_the_chain_and_the_merkle_proofs_still_verify(world: World) -> None:
    """The chain and the log cover the stored bytes, which erasure leaves as they were: both still verify."""
    case_id = world.register()
    world.project()
    before = world.integrity.checkpoint()
    registered = world.ledger.recorder.select_notifications(start=1, limit=10)[0]

    world.ledger.request_party_erasure(case_id, TOWNSHIP, party_id="p1", reason="当事人依法申请删除")
    world.ledger.approve_party_erasure(case_id, COUNTY, party_id="p1")
    world.project()
    after = world.integrity.checkpoint()

    assert world.reveal(case_id)["p1"].erased
    assert verify_aggregate(world.ledger.recorder, case_id) is None  # type: ignore[arg-type]
    for held in (before, after):
        report = world.verify(held)
        assert report.ok, report.first_failure
    proof = world.integrity.inclusion(registered.id, after.tree_size)
    assert verify_inclusion(
        notification_leaf(registered),
        proof["leaf_index"],
        after.tree_size,
        [bytes.fromhex(node) for node in proof["proof"]],
        after.root_hash,
    )


def test_every_sealed_field_and_wrapped_key_has_a_nonce_and_key_of_its_own() -> None:
    """AES-GCM under one key must never see a nonce twice: the registration's random bytes
    are drawn in one call and cut up, so a slip in the cutting would repeat them."""
    personal = PersonalData.ephemeral()
    case_id = uuid4()
    others = [Party(f"p{n}", f"当事人{n}", "respondent", phone=f"1390000{n:04d}") for n in range(3, 6)]
    sealed = personal.seal(case_id, [OUYANG, SIMA, *others])
    held = personal.keys.keys(str(case_id))
    key_ids, data_keys, nonces = set(), set(), []
    for party in sealed:
        key = held[party.party_id]
        key_ids.add(key.key_id)
        data_keys.add(key.wrapped[12:])
        nonces.append(key.wrapped[:12])
        for field in FIELDS:
            value = getattr(party, field)
            if value:
                assert value.startswith(f"enc:v1:{key.key_id}:")
                nonces.append(base64.b64decode(value.rsplit(":", 1)[1])[:12])
    assert len(key_ids) == len(data_keys) == len(sealed) == 5
    assert len(nonces) == len(set(nonces)) == 5 + 4 * 2 + 2 * 3
    revealed = personal.reveal(case_id, sealed)
    assert [(p.name, p.phone, p.id_number) for p in revealed] == [
        (p.name, p.phone, p.id_number) for p in [OUYANG, SIMA, *others]
    ]
