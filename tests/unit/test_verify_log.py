"""The offline verifier's fold of the whole ledger, checked against the RFC's own definition."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.merkle import leaf_hash, root
from infrastructure.checkpoints import CheckpointSigner
from infrastructure.integrity.log import event_leaf_hash, leaf_data
from infrastructure.integrity.verify import StoredEntry, verify_log

SIGNER = CheckpointSigner(Ed25519PrivateKey.generate())
CASE = UUID("6f1c7a52-0000-4000-8000-000000000001")


def _entries(count: int) -> list[StoredEntry]:
    return [
        StoredEntry(n + 1, CASE if n % 3 else uuid4(), n + 1, "domain.case:Case.Registered", os.urandom(40 + n % 90))
        for n in range(count)
    ]


def test_the_one_step_leaf_hash_is_the_leaf_hash_of_the_leaf_data() -> None:
    for entry in _entries(5):
        assert event_leaf_hash(*entry) == leaf_hash(leaf_data(*entry))


# Around the verifier's chunk of 4,096 leaves, and across several chunks with a ragged end.
@pytest.mark.parametrize("count", [0, 1, 2, 3, 4095, 4096, 4097, 8192, 8193, 12_289])
def test_the_folded_root_is_the_rfc_root_of_every_leaf(count: int) -> None:
    entries = _entries(count)
    expected = root([leaf_hash(leaf_data(*entry)) for entry in entries])
    signed = SIGNER.sign("caseledger-test", count, expected, datetime.now(UTC))
    report = verify_log(lambda: entries, lambda: [], signed, SIGNER.public_key_pem())
    assert report.ok, report.first_failure
    assert report.checked == count


def test_one_changed_byte_anywhere_fails_and_is_named_from_the_stored_leaves() -> None:
    entries = _entries(4100)
    stored = [leaf_hash(leaf_data(*entry)).hex() for entry in entries]
    signed = SIGNER.sign("caseledger-test", len(entries), root([bytes.fromhex(h) for h in stored]), datetime.now(UTC))
    altered = list(entries)
    victim = altered[4097]
    altered[4097] = victim._replace(state=victim.state[:-1] + bytes([victim.state[-1] ^ 1]))
    report = verify_log(lambda: altered, lambda: stored, signed, SIGNER.public_key_pem())
    assert not report.ok
    assert f"leaf 4097: event {victim.version} of {victim.originator_id}" in (report.first_failure or "")
