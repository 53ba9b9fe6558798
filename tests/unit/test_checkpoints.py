"""Signed checkpoints of the Merkle log (SPEC §10: "the service publishes signed checkpoints")."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from infrastructure.checkpoints import (
    DEFAULT_KEY_FILENAME,
    FORMAT,
    Checkpoint,
    CheckpointSigner,
    UnsupportedAlgorithmError,
    key_id_for,
    verify_checkpoint,
)

ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
WHEN = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC)
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def signer(tmp_path: Path) -> CheckpointSigner:
    return CheckpointSigner.load_or_create(tmp_path / "keys")


@pytest.fixture
def checkpoint(signer: CheckpointSigner) -> Checkpoint:
    return signer.sign("caseledger", 8, ROOT, WHEN)


def _flip(value: bytes, position: int) -> bytes:
    return value[:position] + bytes([value[position] ^ 0x01]) + value[position + 1 :]


def test_a_signed_checkpoint_verifies_with_the_public_key(signer: CheckpointSigner, checkpoint: Checkpoint) -> None:
    """The signer's public key, raw or PEM, verifies what it signed."""
    assert checkpoint.algorithm == "Ed25519"
    assert checkpoint.key_id == signer.key_id
    assert len(checkpoint.signature) == 64
    assert checkpoint.verify(signer.public_key_bytes())
    assert verify_checkpoint(checkpoint, signer.public_key_bytes())
    assert verify_checkpoint(checkpoint, signer.public_key_pem())
    assert verify_checkpoint(checkpoint, signer.public_key_pem().encode("ascii"))


def test_the_key_id_is_the_start_of_the_public_keys_sha256(signer: CheckpointSigner) -> None:
    """key_id = hex of the first 8 bytes of SHA-256 of the raw public key."""
    raw = signer.public_key_bytes()
    assert len(raw) == 32
    assert signer.key_id == key_id_for(raw) == hashlib.sha256(raw).hexdigest()[:16]


def test_the_signed_message_is_the_documented_lines(checkpoint: Checkpoint) -> None:
    """Seven LF-terminated lines: format, log, size, base64 root, UTC timestamp, algorithm, key id."""
    expected = (
        "caseledger-checkpoint/v1\n"
        "caseledger\n"
        "8\n"
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
        "2026-11-02T09:30:15.123456Z\n"
        "Ed25519\n"
        f"{checkpoint.key_id}\n"
    )
    assert checkpoint.message() == expected.encode("ascii")


def test_the_json_form_round_trips(signer: CheckpointSigner, checkpoint: Checkpoint) -> None:
    """to_json/from_json give back an equal checkpoint that still verifies; bytes travel as base64."""
    text = checkpoint.to_json()
    document = json.loads(text)
    assert document["format"] == FORMAT
    assert document["root_hash"] == "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
    assert document["timestamp"] == "2026-11-02T09:30:15.123456Z"
    restored = Checkpoint.from_json(text)
    assert restored == checkpoint
    assert restored.timestamp.tzinfo is UTC
    assert restored.verify(signer.public_key_bytes())
    assert Checkpoint.from_json(text.encode("utf-8")) == checkpoint


def _single_field_changes(checkpoint: Checkpoint) -> list[Checkpoint]:
    other_key_id = "0" * 16 if checkpoint.key_id != "0" * 16 else "1" * 16
    changes = [
        replace(checkpoint, log="caseledgex"),
        replace(checkpoint, tree_size=checkpoint.tree_size + 1),
        replace(checkpoint, tree_size=checkpoint.tree_size - 1),
        replace(checkpoint, timestamp=checkpoint.timestamp + timedelta(microseconds=1)),
        replace(checkpoint, key_id=other_key_id),
        replace(checkpoint, signature=checkpoint.signature[:-1]),
        replace(checkpoint, signature=checkpoint.signature + b"\x00"),
        replace(checkpoint, signature=b""),
    ]
    changes += [replace(checkpoint, root_hash=_flip(checkpoint.root_hash, i)) for i in range(32)]
    changes += [replace(checkpoint, signature=_flip(checkpoint.signature, i)) for i in range(64)]
    return changes


def test_any_single_field_changed_fails(signer: CheckpointSigner, checkpoint: Checkpoint) -> None:
    """Log, size, root, time, key id or signature: one change and the checkpoint no longer verifies."""
    for changed in _single_field_changes(checkpoint):
        assert changed != checkpoint
        assert not changed.verify(signer.public_key_bytes()), changed
        assert not verify_checkpoint(changed, signer.public_key_pem()), changed


def test_a_changed_algorithm_is_refused(signer: CheckpointSigner, checkpoint: Checkpoint) -> None:
    """Renaming the algorithm does not pass as Ed25519 under another spelling."""
    for algorithm in ("SM2", "ed25519", "Ed448", "ECDSA-P256"):
        with pytest.raises(UnsupportedAlgorithmError) as refused:
            verify_checkpoint(replace(checkpoint, algorithm=algorithm), signer.public_key_bytes())
        assert refused.value.algorithm == algorithm


def test_another_key_fails(tmp_path: Path, signer: CheckpointSigner, checkpoint: Checkpoint) -> None:
    """A checkpoint does not verify under another key, even when it claims that key's id."""
    other = CheckpointSigner.load_or_create(tmp_path / "other-keys")
    assert other.public_key_bytes() != signer.public_key_bytes()
    assert not checkpoint.verify(other.public_key_bytes())
    assert not verify_checkpoint(checkpoint, other.public_key_pem())
    claiming = replace(checkpoint, key_id=other.key_id)
    assert not verify_checkpoint(claiming, other.public_key_bytes())
    forged = replace(other.sign("caseledger", 8, ROOT, WHEN), key_id=signer.key_id)
    assert not verify_checkpoint(forged, signer.public_key_bytes())


def test_an_unknown_algorithm_is_refused_before_any_key_is_read(checkpoint: Checkpoint) -> None:
    """A checkpoint naming SM2 is neither accepted nor called forged: the verifier says it cannot check it."""
    sm2 = Checkpoint.from_json(checkpoint.to_json().replace('"Ed25519"', '"SM2"'))
    assert sm2.algorithm == "SM2"
    with pytest.raises(UnsupportedAlgorithmError):
        verify_checkpoint(sm2, b"not even a key")
    with pytest.raises(UnsupportedAlgorithmError):
        sm2.verify(b"\x00" * 32)


def test_a_public_key_of_another_kind_is_refused(checkpoint: Checkpoint) -> None:
    """Only Ed25519 keys: an EC PEM or a key of the wrong length is an error, not a verdict."""
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError):
        verify_checkpoint(checkpoint, ec_pem)
    with pytest.raises(ValueError):
        verify_checkpoint(checkpoint, b"\x00" * 31)


@posix_only
def test_the_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    """First use writes a private key file readable by its owner only; later uses load the same key."""
    key_dir = tmp_path / "secrets" / "checkpoints"
    first = CheckpointSigner.load_or_create(key_dir)
    key_file = key_dir / DEFAULT_KEY_FILENAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in key_dir.iterdir()] == [DEFAULT_KEY_FILENAME]  # no temporary file left
    before = key_file.read_bytes()

    again = CheckpointSigner.load_or_create(key_dir)
    assert again.public_key_bytes() == first.public_key_bytes()
    assert key_file.read_bytes() == before
    assert CheckpointSigner.from_pem_file(key_file).key_id == first.key_id
    assert again.sign("caseledger", 1, ROOT, WHEN).verify(first.public_key_bytes())


@posix_only
def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    """A signing key left group- or world-readable is not used."""
    CheckpointSigner.load_or_create(tmp_path)
    key_file = tmp_path / DEFAULT_KEY_FILENAME
    key_file.chmod(0o640)
    with pytest.raises(PermissionError, match="chmod 600"):
        CheckpointSigner.load_or_create(tmp_path)


def test_a_key_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    """The signer takes an Ed25519 key only."""
    key_file = tmp_path / "ec.pem"
    key_file.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    with pytest.raises(ValueError, match="Ed25519"):
        CheckpointSigner.from_pem_file(key_file)


def test_timestamps_are_aware_and_kept_in_utc(signer: CheckpointSigner, checkpoint: Checkpoint) -> None:
    """A naive time is refused; the same instant in Beijing time signs the same message."""
    with pytest.raises(ValueError, match="timezone-aware"):
        signer.sign("caseledger", 8, ROOT, WHEN.replace(tzinfo=None))
    beijing = WHEN.astimezone(timezone(timedelta(hours=8)))
    same = signer.sign("caseledger", 8, ROOT, beijing)
    assert same.timestamp.utcoffset() == timedelta(0)
    assert same.message() == checkpoint.message()


@pytest.mark.parametrize(
    "fields",
    [
        {"log": "case\nledger"},
        {"log": "case ledger"},
        {"log": ""},
        {"log": "台账"},
        {"tree_size": -1},
        {"tree_size": True},
        {"root_hash": ROOT[:31]},
        {"algorithm": "Ed25519\ncaseledger"},
        {"key_id": "ABCDEF0123456789"},
        {"key_id": "abc"},
    ],
)
def test_a_field_that_would_make_the_message_ambiguous_is_refused(
    checkpoint: Checkpoint, fields: dict[str, object]
) -> None:
    """No field can smuggle a line break or a second spelling into the signed message."""
    with pytest.raises(ValueError):
        replace(checkpoint, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.pop("signature"),
        lambda d: d.update(extra=1),
        lambda d: d.update(format="caseledger-checkpoint/v2"),
        lambda d: d.update(tree_size="8"),
        lambda d: d.update(tree_size=8.0),
        lambda d: d.update(root_hash="not base64!"),
        lambda d: d.update(root_hash=d["root_hash"].rstrip("=")),
        lambda d: d.update(signature=d["signature"][:-3] + "B=="),
        lambda d: d.update(timestamp="2026-11-02T09:30:15.123456+00:00"),
        lambda d: d.update(timestamp="2026-11-02T09:30:15Z"),
        lambda d: d.update(timestamp="2026-11-02T17:30:15.123456+08:00Z"),
        lambda d: d.update(log=8),
    ],
)
def test_malformed_json_is_refused(checkpoint: Checkpoint, edit: object) -> None:
    """from_json reads only the canonical form: missing, extra, mistyped or respelled fields are errors."""
    document = json.loads(checkpoint.to_json())
    edit(document)  # type: ignore[operator]
    with pytest.raises(ValueError):
        Checkpoint.from_json(json.dumps(document))


def test_json_that_is_not_an_object_is_refused() -> None:
    """A list or a number is not a checkpoint."""
    for text in ("[]", "8", "not json"):
        with pytest.raises(ValueError):
            Checkpoint.from_json(text)
