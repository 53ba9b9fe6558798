"""Tampering with stored events by SQL is caught against a checkpoint held outside (issue 4).

Each test loads a small county, projects it (which appends the Merkle log), signs a
checkpoint that the "auditor" keeps, then edits the database directly as a superuser
would, and runs the offline verifier, which must fail and name the first bad entry.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application.ledger import CaseLedger
from domain.errors import NotFound
from domain.merkle import complete_nodes_after_append
from infrastructure.bootstrap import build_integrity, build_ledger, build_views
from infrastructure.checkpoints import Checkpoint
from infrastructure.demo import load_demo
from infrastructure.integrity.log import notification_leaf
from infrastructure.integrity.service import LOG_NAME, IntegrityService
from infrastructure.integrity.verify import Report, stored_entries, verify_log
from infrastructure.settings import Settings
from infrastructure.views.store import ViewStore
from infrastructure.worker import ProjectionWorker

Execute = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]


class County:
    """A projected demo county, its checkpoint held outside, and raw SQL on its event store."""

    def __init__(self, settings: Settings, *, cases: int = 12, batch_size: int = 1000) -> None:
        self.settings = settings
        self.ledger: CaseLedger = build_ledger(settings)
        self.store: ViewStore = build_views(settings)
        self.integrity: IntegrityService = build_integrity(settings, self.store)
        load_demo(self.ledger, cases=cases, seed=11)
        ProjectionWorker(self.ledger, self.store, log=self.integrity.log, batch_size=batch_size).catch_up()
        self.held: Checkpoint = self.integrity.checkpoint()
        self.public_key = self.integrity.signer.public_key_pem()

    def close(self) -> None:
        self.store.db.close()
        self.ledger.close()

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run SQL on the event store directly, committing at once."""
        statement = statement.replace("stored_events", self.ledger.recorder.events_table_name)  # type: ignore[attr-defined]
        if self.settings.backend == "sqlite":
            with sqlite3.connect(Path(self.settings.data_dir) / "caseledger.sqlite3") as conn:
                return conn.execute(statement.replace("%s", "?"), params).fetchall()
        import psycopg
        from psycopg.conninfo import make_conninfo

        with psycopg.connect(make_conninfo(**self.settings.postgres_params()), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def key(self, originator_id: Any) -> Any:
        """How this backend stores an originator id."""
        return UUID(str(originator_id)).hex if self.settings.backend == "sqlite" else UUID(str(originator_id))

    def event(self, position: int) -> tuple[Any, int]:
        notification = self.ledger.recorder.select_notifications(start=position, limit=1)[0]
        return notification.originator_id, notification.originator_version

    def verify(self) -> Report:
        fresh = build_ledger(self.settings)  # the auditor's own connection, through the production reader
        try:
            return verify_log(
                lambda: stored_entries(fresh.recorder),
                lambda: self.integrity.log.stored_leaf_hashes(self.held.tree_size),
                self.held,
                self.public_key,
            )
        finally:
            fresh.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def county(request: pytest.FixtureRequest) -> Iterator[County]:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    built = County(settings)
    try:
        yield built
    finally:
        built.close()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_log_appended_far_behind_in_small_batches_verifies(request: pytest.FixtureRequest, backend: str) -> None:
    """A catch-up far behind the head (on PostgreSQL appended by a child process) gives the same log."""
    county = County(request.getfixturevalue(f"{backend}_settings"), cases=40, batch_size=10)
    try:
        report = county.verify()
        assert report.ok, report.first_failure
        assert report.checked == county.held.tree_size == county.ledger.recorder.max_notification_id()
    finally:
        county.close()


def test_an_untouched_ledger_verifies(county: County) -> None:
    """The verifier recomputes every leaf from the stored events and gets the signed root."""
    report = county.verify()
    assert report.ok, report.first_failure
    assert report.checked == county.held.tree_size


def test_events_recorded_after_the_held_checkpoint_leave_it_verifying(county: County) -> None:
    """The ledger grew since the auditor's checkpoint: its first ``tree_size`` events still match."""
    load_demo(county.ledger, cases=60, seed=12)
    report = county.verify()
    assert report.ok, report.first_failure
    assert report.checked == county.held.tree_size
    # Read in pages of 7 (the default is thousands), every event comes back once, in order.
    positions = [entry.position for entry in stored_entries(county.ledger.recorder, page=7)]
    assert len(positions) > county.held.tree_size and positions == sorted(set(positions))


def test_an_altered_event_is_caught_and_named(county: County) -> None:
    """SQL UPDATE of one event's stored bytes: the first bad entry is that event's leaf."""
    originator_id, version = county.event(40)
    county.sql(
        "UPDATE stored_events SET state = %s WHERE originator_id = %s AND originator_version = %s",
        (b'{"forged":true}', county.key(originator_id), version),
    )
    report = county.verify()
    assert not report.ok
    assert f"leaf 39: event {version} of {originator_id}" in (report.first_failure or "")


def test_a_deleted_event_is_caught_and_named(county: County) -> None:
    """SQL DELETE of one event: every later leaf moves, and the first one is named."""
    originator_id, version = county.event(25)
    county.sql(
        "DELETE FROM stored_events WHERE originator_id = %s AND originator_version = %s",
        (county.key(originator_id), version),
    )
    report = county.verify()
    assert not report.ok
    assert "leaf 24:" in (report.first_failure or "")


def test_two_swapped_events_are_caught_at_the_first(county: County) -> None:
    """Swapping the stored bytes of two events: caught at the earlier of the two."""
    first, second = county.event(30), county.event(31)
    rows = {
        key: county.sql(
            "SELECT state FROM stored_events WHERE originator_id = %s AND originator_version = %s",
            (county.key(key[0]), key[1]),
        )[0][0]
        for key in (first, second)
    }
    for target, source in ((first, second), (second, first)):
        county.sql(
            "UPDATE stored_events SET state = %s WHERE originator_id = %s AND originator_version = %s",
            (bytes(rows[source]), county.key(target[0]), target[1]),
        )
    report = county.verify()
    assert not report.ok
    assert "leaf 29:" in (report.first_failure or "")


def test_an_event_transplanted_into_another_case_is_caught(county: County) -> None:
    """Moving an event to another case (changing its originator id) changes its digest."""
    victim_id, version = county.event(50)
    other_id, _ = county.event(1)
    county.sql(
        "UPDATE stored_events SET originator_id = %s, originator_version = %s "
        "WHERE originator_id = %s AND originator_version = %s",
        (county.key(other_id), 10_000, county.key(victim_id), version),
    )
    report = county.verify()
    assert not report.ok
    assert "leaf 49:" in (report.first_failure or "")


def test_an_edit_with_every_hash_recomputed_is_caught_against_the_held_checkpoint(county: County) -> None:
    """The attacker edits an event and rewrites the whole Merkle log to match: the root the
    auditor holds no longer fits, though no stored leaf differs from its recomputation."""
    originator_id, version = county.event(40)
    county.sql(
        "UPDATE stored_events SET state = %s WHERE originator_id = %s AND originator_version = %s",
        (b'{"forged":true}', county.key(originator_id), version),
    )
    fresh = build_ledger(county.settings)
    try:
        notifications = fresh.recorder.select_notifications(start=1, limit=10**6)
    finally:
        fresh.close()
    with county.store.db.transaction() as cursor:
        cursor.execute("DELETE FROM merkle_leaves")
        cursor.execute("DELETE FROM merkle_nodes")
        nodes: dict[tuple[int, int], bytes] = {}
        for index, notification in enumerate(notifications):
            hashed = notification_leaf(notification)
            cursor.execute(
                "INSERT INTO merkle_leaves (leaf_index, position, originator_id, originator_version, leaf_hash) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    index,
                    notification.id,
                    str(notification.originator_id),
                    notification.originator_version,
                    hashed.hex(),
                ),
            )
            for level, node_index, value in complete_nodes_after_append(index, hashed, lambda lv, ix: nodes[(lv, ix)]):
                nodes[(level, node_index)] = value
                cursor.execute(
                    "INSERT INTO merkle_nodes (level, node_index, hash) VALUES (?, ?, ?)",
                    (level, node_index, value.hex()),
                )
    report = county.verify()
    assert not report.ok
    assert "rewritten to match" in (report.first_failure or "")


def test_a_checkpoint_held_from_long_ago_still_answers_proofs(county: County) -> None:
    """An auditor's old checkpoint, with ten thousand signed after it, still gets an inclusion proof."""
    later = [
        county.integrity.signer.sign(LOG_NAME, county.held.tree_size + n, b"\0" * 32, county.held.timestamp)
        for n in range(1, 10_001)
    ]
    with county.store.db.transaction() as cursor:
        cursor.executemany(
            "INSERT INTO checkpoints (tree_size, created_at, checkpoint) VALUES (?, ?, ?)",
            [(c.tree_size, c.timestamp.isoformat(), c.to_json()) for c in later],
        )
    position = county.ledger.recorder.max_notification_id() or 0

    proof = county.integrity.inclusion(position, county.held.tree_size)

    assert proof["tree_size"] == county.held.tree_size
    assert proof["checkpoint"]["tree_size"] == county.held.tree_size
    with pytest.raises(NotFound):
        county.integrity.inclusion(position, county.held.tree_size + 10_001)
