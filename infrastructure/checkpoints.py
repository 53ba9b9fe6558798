"""Signed checkpoints of the ledger's Merkle log (SPEC §10).

A checkpoint states "the log ``log`` had ``tree_size`` entries and Merkle root
``root_hash`` at ``timestamp``", signed by the service. Anyone holding one can later
ask for a consistency proof and check that the ledger only grew since; witnesses who
keep checkpoints stop the operator from showing two different histories.

**The signed message** is exactly seven lines, each ended by ``\\n`` (LF), UTF-8
(in practice ASCII)::

    caseledger-checkpoint/v1
    <log>                 name of the log, printable ASCII without spaces, e.g. caseledger
    <tree_size>           decimal, no sign, no leading zeros
    <root_hash>           standard base64 (with padding) of the 32-byte root
    <timestamp>           UTC, always YYYY-MM-DDTHH:MM:SS.ffffffZ (microseconds, Z)
    <algorithm>           e.g. Ed25519
    <key_id>              16 lowercase hex digits: the first 8 bytes of SHA-256(raw public key)

No field may contain a line break or a space and each has one spelling, so one
checkpoint has exactly one message and no two checkpoints share one. The first line
versions the format; the algorithm is named in the message so that SM2 (with SM3
roots) can follow without a checkpoint ever being read with the wrong scheme.

The signing key is a PEM file in a directory of the operator's choosing, outside the
database: whoever can write the database must not be able to sign for it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "caseledger-checkpoint/v1"
"""First line of every signed message, and the ``format`` of the JSON form."""

ED25519 = "Ed25519"
SUPPORTED_ALGORITHMS = frozenset({ED25519})
DEFAULT_LOG = "caseledger"
DEFAULT_KEY_FILENAME = "checkpoint-ed25519.pem"

_ROOT_SIZE = 32
_TOKEN = re.compile(r"[\x21-\x7e]{1,255}")  # one line of the message: printable ASCII, no space
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_JSON_FIELDS = frozenset({"format", "log", "tree_size", "root_hash", "timestamp", "algorithm", "key_id", "signature"})


class UnsupportedAlgorithmError(ValueError):
    """A checkpoint signed with an algorithm this verifier cannot check.

    Raised rather than answered ``False``: "I cannot check this" is not "this is forged",
    and a verifier must never report either as the other.
    """

    def __init__(self, algorithm: str) -> None:
        super().__init__(
            f"checkpoint algorithm {algorithm!r} is not supported (supported: {sorted(SUPPORTED_ALGORITHMS)})"
        )
        self.algorithm = algorithm


def key_id_for(public_key_bytes: bytes) -> str:
    """Key id of a raw public key: hex of the first 8 bytes of its SHA-256."""
    return hashlib.sha256(public_key_bytes).digest()[:8].hex()


def _format_timestamp(timestamp: datetime) -> str:
    # isoformat on a naive UTC time pads the year to four digits and, with a fixed
    # timespec, always prints microseconds: one instant, one spelling.
    return timestamp.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _parse_timestamp(text: str) -> datetime:
    if not text.endswith("Z"):
        raise ValueError(f"checkpoint timestamp must be UTC ending in Z: {text!r}")
    parsed = datetime.fromisoformat(text[:-1])
    if parsed.tzinfo is not None:
        raise ValueError(f"checkpoint timestamp has an offset besides Z: {text!r}")
    parsed = parsed.replace(tzinfo=UTC)
    if _format_timestamp(parsed) != text:
        raise ValueError(f"checkpoint timestamp is not in canonical form: {text!r}")
    return parsed


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, field: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError(f"checkpoint {field} is not base64: {error}") from None
    # Base64 has several spellings of the same bytes (stray padding bits); only one is accepted.
    if _b64(data) != text:
        raise ValueError(f"checkpoint {field} is not canonical base64")
    return data


def signed_message(
    log: str, tree_size: int, root_hash: bytes, timestamp: datetime, algorithm: str, key_id: str
) -> bytes:
    """The bytes a checkpoint's signature covers (format in the module docstring)."""
    lines = [FORMAT, log, str(tree_size), _b64(root_hash), _format_timestamp(timestamp), algorithm, key_id]
    return "".join(line + "\n" for line in lines).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement of the log's size and Merkle root at one moment.

    ``timestamp`` must be timezone-aware; it is kept in UTC. Construction validates
    every field, so a checkpoint that exists always has a well-defined message;
    whether its signature is good is :meth:`verify`'s question.
    """

    log: str
    tree_size: int
    root_hash: bytes
    timestamp: datetime
    algorithm: str
    key_id: str
    signature: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.log, str) or not _TOKEN.fullmatch(self.log):
            raise ValueError(f"checkpoint log must be printable ASCII without spaces: {self.log!r}")
        if isinstance(self.tree_size, bool) or not isinstance(self.tree_size, int) or self.tree_size < 0:
            raise ValueError(f"checkpoint tree size must be an integer ≥ 0: {self.tree_size!r}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != _ROOT_SIZE:
            raise ValueError(f"checkpoint root hash must be {_ROOT_SIZE} bytes")
        if not isinstance(self.timestamp, datetime) or self.timestamp.utcoffset() is None:
            raise ValueError(f"checkpoint timestamp must be timezone-aware: {self.timestamp!r}")
        if not isinstance(self.algorithm, str) or not _TOKEN.fullmatch(self.algorithm):
            raise ValueError(f"checkpoint algorithm must be printable ASCII without spaces: {self.algorithm!r}")
        if not isinstance(self.key_id, str) or not _KEY_ID.fullmatch(self.key_id):
            raise ValueError(f"checkpoint key id must be 16 lowercase hex digits: {self.key_id!r}")
        if not isinstance(self.signature, bytes):
            raise ValueError("checkpoint signature must be bytes")
        object.__setattr__(self, "timestamp", self.timestamp.astimezone(UTC))

    def message(self) -> bytes:
        """The bytes the signature covers."""
        return signed_message(self.log, self.tree_size, self.root_hash, self.timestamp, self.algorithm, self.key_id)

    def to_json(self) -> str:
        """JSON for publishing: bytes in base64, the timestamp as in the signed message."""
        document = {
            "format": FORMAT,
            "log": self.log,
            "tree_size": self.tree_size,
            "root_hash": _b64(self.root_hash),
            "timestamp": _format_timestamp(self.timestamp),
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "signature": _b64(self.signature),
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        """Read :meth:`to_json`'s output; anything else (missing, extra or mistyped fields) is a ``ValueError``."""
        document: Any = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError("a checkpoint is a JSON object")
        if document.keys() != _JSON_FIELDS:
            raise ValueError(f"checkpoint fields must be exactly {sorted(_JSON_FIELDS)}, got {sorted(document)}")
        if document["format"] != FORMAT:
            raise ValueError(f"unknown checkpoint format {document['format']!r}")
        for field in ("log", "root_hash", "timestamp", "algorithm", "key_id", "signature"):
            if not isinstance(document[field], str):
                raise ValueError(f"checkpoint {field} must be a string")
        return cls(
            log=document["log"],
            tree_size=document["tree_size"],
            root_hash=_unb64(document["root_hash"], "root_hash"),
            timestamp=_parse_timestamp(document["timestamp"]),
            algorithm=document["algorithm"],
            key_id=document["key_id"],
            signature=_unb64(document["signature"], "signature"),
        )

    def verify(self, public_key_bytes: bytes) -> bool:
        """Whether this checkpoint is signed by the raw public key given (see :func:`verify_checkpoint`)."""
        return verify_checkpoint(self, public_key_bytes)


def _load_public_key(public_key: bytes | str) -> Ed25519PublicKey:
    data = public_key.encode("ascii") if isinstance(public_key, str) else public_key
    if data.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"the public key is not an Ed25519 key but {type(key).__name__}")
        return key
    if len(data) == 32:
        return Ed25519PublicKey.from_public_bytes(data)
    raise ValueError("a public key is a PEM document or 32 raw Ed25519 bytes")


def verify_checkpoint(checkpoint: Checkpoint, public_key: bytes | str) -> bool:
    """Whether ``checkpoint`` carries a good signature by ``public_key`` (PEM, or 32 raw bytes).

    ``False`` for a bad signature or a checkpoint naming another key. Raises
    :class:`UnsupportedAlgorithmError` for an algorithm other than Ed25519, before any
    key is read: such a checkpoint is neither accepted nor called forged.
    """
    if checkpoint.algorithm not in SUPPORTED_ALGORITHMS:
        raise UnsupportedAlgorithmError(checkpoint.algorithm)
    key = _load_public_key(public_key)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if checkpoint.key_id != key_id_for(raw):
        return False
    try:
        key.verify(checkpoint.signature, checkpoint.message())
    except InvalidSignature:
        return False
    return True


def _write_new_key_file(path: Path) -> None:
    """Create ``path`` holding a fresh Ed25519 key, mode 0600, unless it appears meanwhile.

    Written to a private temporary file first, then hard-linked into place: the link
    is atomic and never replaces an existing file, so two processes starting together
    end up sharing whichever key was linked first, never a half-written one.
    """
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, temporary = tempfile.mkstemp(prefix=".checkpoint-key-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            os.chmod(temporary, 0o600)  # mkstemp already does; state it rather than rely on it
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    if os.name == "posix":
        # Make the new directory entry durable: losing the key after publishing
        # checkpoints signed with it would leave them unverifiable by key id.
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class CheckpointSigner:
    """Signs checkpoints with an Ed25519 private key kept in a PEM file outside the database."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self._public_key_bytes = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def from_pem_file(cls, path: str | os.PathLike[str], password: bytes | None = None) -> CheckpointSigner:
        """Load the key from a PEM file (PKCS#8), refusing a file that others may read, as ssh does."""
        key_path = Path(path)
        if os.name == "posix":
            mode = stat.S_IMODE(key_path.stat().st_mode)
            if mode & 0o077:
                raise PermissionError(
                    f"checkpoint signing key {key_path} has mode {mode:04o}; only its owner may read it (chmod 600)"
                )
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=password)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{key_path} does not hold an Ed25519 private key but {type(key).__name__}")
        return cls(key)

    @classmethod
    def load_or_create(cls, key_dir: str | os.PathLike[str], filename: str = DEFAULT_KEY_FILENAME) -> CheckpointSigner:
        """The key in ``key_dir/filename``, generated there on first use (directory 0700, file 0600)."""
        directory = Path(key_dir)
        path = directory / filename
        if not path.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_new_key_file(path)
        return cls.from_pem_file(path)

    @property
    def algorithm(self) -> str:
        """The signature algorithm named in every checkpoint signed here."""
        return ED25519

    @property
    def key_id(self) -> str:
        """Id of this key as checkpoints name it."""
        return key_id_for(self._public_key_bytes)

    def public_key_bytes(self) -> bytes:
        """The 32-byte raw public key."""
        return self._public_key_bytes

    def public_key_pem(self) -> str:
        """The public key as a PEM SubjectPublicKeyInfo document, for publishing."""
        return (
            self._private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def sign(self, log: str, tree_size: int, root_hash: bytes, timestamp: datetime) -> Checkpoint:
        """A checkpoint of ``(log, tree_size, root_hash)`` at ``timestamp`` (aware), signed with this key."""
        unsigned = Checkpoint(
            log=log,
            tree_size=tree_size,
            root_hash=root_hash,
            timestamp=timestamp,
            algorithm=ED25519,
            key_id=self.key_id,
            signature=b"",
        )
        return replace(unsigned, signature=self._private_key.sign(unsigned.message()))
