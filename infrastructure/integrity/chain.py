"""The per-case hash chain: its byte formats, the linking of new events, and a verifier.

Every stored event gets one chain row, written by the recorder in the same transaction as
the event (see ``infrastructure.integrity.postgres`` / ``.sqlite`` / ``.popo``)::

    event_chain (originator_id, originator_version, notification_id, digest, hash)
    PRIMARY KEY (originator_id, originator_version)

Byte formats (version 1). ``||`` is concatenation, ``SHA-256`` is FIPS 180-4 SHA-256 giving
32 bytes, ``u64(n)`` is ``n`` as 8 bytes big-endian unsigned, and ``field(b) = u64(len(b)) || b``::

    digest = SHA-256( b"caseledger-event/v1"                  19 ASCII bytes, no terminator
                      || field(originator_id.bytes)            16 bytes: the UUID, RFC 4122 byte order
                      || field(u64(originator_version))        8 bytes; versions start at 1
                      || field(topic.encode("utf-8"))          the stored topic text
                      || field(state) )                        the stored state bytes, exactly as in the
                                                               events table (after any compression or
                                                               encryption), so upcasting and destroying a
                                                               key never change a digest

    hash   = SHA-256( b"caseledger-chain/v1"                  19 ASCII bytes, no terminator
                      || previous                              32 bytes
                      || digest )                              32 bytes

    previous = GENESIS = 32 zero bytes                         for originator_version 1
    previous = hash of (originator_id, originator_version - 1) otherwise

For example, in Python: ``field = lambda b: len(b).to_bytes(8, "big") + b``, then
``sha256(b"caseledger-event/v1" + field(uuid.bytes) + field(version.to_bytes(8, "big"))
+ field(topic.encode()) + field(state)).digest()``. The ``digest`` column is a convenience
(an event can be checked against it without the rest of the chain); a verifier never trusts
it and recomputes it from the event.

What the chain proves, and what it cannot: recomputing it from the stored events catches an
event whose bytes were altered, a deleted or inserted event, two events swapped, and an event
moved from one case to another (its digest covers the originator id). It cannot catch someone
who edits an event and then recomputes every later hash of that case, nor one who deletes a
case's latest events together with their chain rows: the chain is computed from the data it
guards. Those are caught only by comparing with something kept outside the database: signed
checkpoints (a Merkle tree head over the chain hashes) held by the auditor or witnesses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Protocol
from uuid import UUID

GENESIS = bytes(32)
EVENT_TAG = b"caseledger-event/v1"
CHAIN_TAG = b"caseledger-chain/v1"
FIRST_VERSION = 1
_MAX_VERSION = 2**64 - 1

# (originator id, originator version, topic, state), as stored.
EventRow = tuple[UUID | str, int, str, bytes]
# (originator version, hash), as stored in the chain table.
ChainPair = tuple[int, bytes]


class StoredEventLike(Protocol):
    """What the library's ``StoredEvent`` offers: enough to digest an event."""

    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


class ChainGapError(RuntimeError):
    """A new event's predecessor has no chain row: the chain cannot be extended.

    Raised inside the write transaction, so the events are not stored either. It means
    the store holds events written before the chain existed, or chain rows were deleted.
    """


@dataclass(frozen=True)
class ChainRow:
    """One row of ``event_chain``."""

    originator_id: UUID
    originator_version: int
    notification_id: int
    digest: bytes
    hash: bytes


def as_uuid(originator_id: UUID | str) -> UUID:
    """An originator id as a UUID (SQLite stores it as 32 hex digits)."""
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)


def _parse_id(originator_id: UUID | str) -> UUID | None:
    try:
        return as_uuid(originator_id)
    except (ValueError, TypeError, AttributeError):
        return None


_ID_FIELD = (16).to_bytes(8, "big")
_VERSION_FIELD = (8).to_bytes(8, "big")


def event_digest(originator_id: UUID, originator_version: int, topic: str, state: bytes) -> bytes:
    """SHA-256 over the event's stored fields, in the module docstring's format."""
    if not FIRST_VERSION <= originator_version <= _MAX_VERSION:
        raise ValueError(f"originator_version out of range: {originator_version}")
    topic_bytes = topic.encode("utf-8")
    # The same bytes as EVENT_TAG || field(id) || field(u64(version)) || field(topic) || field(state),
    # fed in two parts so that the state (kilobytes) is never copied.
    digest = sha256(
        EVENT_TAG
        + _ID_FIELD
        + originator_id.bytes
        + _VERSION_FIELD
        + originator_version.to_bytes(8, "big")
        + len(topic_bytes).to_bytes(8, "big")
        + topic_bytes
        + len(state).to_bytes(8, "big")
    )
    digest.update(state)
    return digest.digest()


def chain_hash(previous: bytes, digest: bytes) -> bytes:
    """SHA-256(b"caseledger-chain/v1" || previous || digest); both inputs are 32 bytes."""
    if len(previous) != 32 or len(digest) != 32:
        raise ValueError("previous and digest must be 32 bytes each")
    return sha256(CHAIN_TAG + previous + digest).digest()


def stored_event_digest(event: StoredEventLike) -> bytes:
    """The digest of one of the library's stored events."""
    return event_digest(as_uuid(event.originator_id), event.originator_version, event.topic, event.state)


def predecessors(events: Iterable[StoredEventLike]) -> set[tuple[UUID, int]]:
    """The (aggregate, version) whose hash a batch of new events needs from the store.

    One per aggregate in the batch: the version before its lowest new version, unless
    that lowest version is the first (whose predecessor is ``GENESIS``).
    """
    lowest: dict[UUID, int] = {}
    for event in events:
        key = as_uuid(event.originator_id)
        lowest[key] = min(lowest.get(key, event.originator_version), event.originator_version)
    return {(key, version - 1) for key, version in lowest.items() if version > FIRST_VERSION}


@dataclass(frozen=True)
class Link:
    """A new event's place in its aggregate's chain, before the store has numbered it."""

    originator_id: UUID
    originator_version: int
    digest: bytes
    hash: bytes


def links(events: Sequence[StoredEventLike], stored: Mapping[tuple[UUID, int], bytes]) -> list[Link]:
    """The digests and chain hashes of a batch of new events, in the order of ``events``.

    ``stored`` holds the hashes the store already has for ``predecessors(events)``. Events
    of one aggregate chain onto each other inside the batch (whatever their order in it).
    Raises ``ChainGapError`` when a predecessor is neither in the batch nor in ``stored``.
    """
    order = sorted(range(len(events)), key=lambda i: (events[i].originator_version, i))
    hashes = dict(stored)
    found: dict[int, Link] = {}
    for i in order:
        event = events[i]
        key = as_uuid(event.originator_id)
        version = event.originator_version
        if version == FIRST_VERSION:
            previous = GENESIS
        else:
            before = hashes.get((key, version - 1))
            if before is None:
                raise ChainGapError(f"no chain row for version {version - 1} of {key}: cannot chain version {version}")
            previous = before
        digest = stored_event_digest(event)
        hashes[(key, version)] = chain_hash(previous, digest)
        found[i] = Link(key, version, digest, hashes[(key, version)])
    return [found[i] for i in range(len(events))]


def link(
    events: Sequence[StoredEventLike],
    notification_ids: Sequence[int],
    stored: Mapping[tuple[UUID, int], bytes],
) -> list[ChainRow]:
    """Chain rows for a batch of new events once the store has numbered them (see ``links``)."""
    if len(notification_ids) != len(events):
        raise ValueError(f"{len(events)} events but {len(notification_ids)} notification ids")
    return [
        ChainRow(x.originator_id, x.originator_version, int(n), x.digest, x.hash)
        for x, n in zip(links(events, stored), notification_ids, strict=True)
    ]


def verify_chain(
    events: Iterable[EventRow],
    chain: Iterable[ChainPair],
    *,
    originator_id: UUID | None = None,
) -> int | None:
    """The first version of one aggregate whose recomputed hash does not match, or ``None``.

    ``events`` are the aggregate's stored events as (id, version, topic, state) and
    ``chain`` its chain rows as (version, hash), both in any order. Versions must run
    1, 2, …, n in both, each exactly once. The first version that is missing from either
    side, duplicated, out of range, carries another aggregate's id (when ``originator_id``
    is given), or whose hash differs from the one recomputed from GENESIS, is returned.
    A deleted event, an extra chain row, swapped states and an event transplanted from
    another case (its digest covers the id it was written under) are all caught.

    Not caught: a chain recomputed after an edit (every later hash rewritten to match),
    and the latest events deleted with their chain rows. Only a comparison with external,
    signed checkpoints detects those; the chain is made from the very rows it checks.
    """
    event_rows: dict[int, EventRow] = {}
    bad: set[int] = set()
    for row in events:
        version = row[1]
        if version in event_rows:
            bad.add(version)
        event_rows[version] = row
        if originator_id is not None and _parse_id(row[0]) != originator_id:
            bad.add(version)
    stored: dict[int, bytes] = {}
    for version, hash_ in chain:
        if version in stored:
            bad.add(version)
        stored[version] = bytes(hash_)
    versions = set(event_rows) | set(stored)
    if not versions:
        return None
    out_of_range = [v for v in versions if v < FIRST_VERSION]
    if out_of_range:
        return min(out_of_range)
    previous = GENESIS
    for version in range(FIRST_VERSION, max(versions) + 1):
        found = event_rows.get(version)
        expected = stored.get(version)
        if version in bad or found is None or expected is None:
            return version
        event_id = _parse_id(found[0])
        if event_id is None or not isinstance(found[2], str):  # nothing a writer could have stored
            return version
        digest = event_digest(event_id, version, found[2], bytes(found[3]))
        recomputed = chain_hash(previous, digest)
        if recomputed != expected:
            return version
        previous = recomputed
    return None
