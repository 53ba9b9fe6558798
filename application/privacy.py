"""Parties' personal data at rest (SPEC §6, §10; REFERENCES "Privacy"): sealed, looked up, erased.

Every party of a case gets a random data key of its own when the case is registered. Its
personal fields (name, phone, ID number, address) are encrypted with that key before the
event is made, so the events, the hash chain, the Merkle log and every view only ever hold
ciphertext. Data keys are kept wrapped under a key-encryption key (KEK) that lives outside
the database, in a store kept apart from the events (a ``PartyKeyStore``). Erasing a party
destroys its data key (crypto-shredding): the stored events stay byte for byte as they
were, so the chain and the proofs still verify, and the fields read as ``[已删除]``.

Formats, version 1. ``|`` is the byte ``0x7C``; ids are their canonical text (a case id is
the hyphenated lower-case UUID); AES-256-GCM uses a 12-byte random nonce and a 16-byte tag::

    data key      32 random bytes; key id = 16 random hex digits
    wrapped key   nonce || AES-256-GCM(KEK, data key,
                  aad = "caseledger/party-key/v1|<case id>|<party id>|<key id>")
    sealed field  "enc:v1:<key id>:" + base64(nonce || ciphertext || tag), standard alphabet
                  AES-256-GCM(data key, the value's UTF-8 bytes,
                  aad = "caseledger/v1|<case id>|<party id>|<field>|<key id>")
    lookup token  hex(HMAC-SHA256(lookup key, "caseledger/lookup/v1|<field>|" + normalised value))
    reference     "⟦<party id>.<field>⟧" in free text, where the party's value was written

The associated data binds every ciphertext to its case, party and field (and the key id
it names): a value swapped with another party's, moved to another field or copied into
another case fails authentication and reads as ``[已损坏]``, never as someone else's data.
An empty field stays empty: there is nothing in it to protect.

Lookup tokens are keyed (a plain hash of an ID number or phone is brute-forced in
minutes), so only a holder of the lookup key can link a value to a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.values import PERSONAL_FIELDS, REFERENCE_BRACKETS, Party

SEALED_PREFIX = "enc:v1:"
FIELD_AAD = "caseledger/v1"
KEY_AAD = "caseledger/party-key/v1"
LOOKUP_TAG = "caseledger/lookup/v1"
LOOKUP_FIELDS = ("id_number", "phone")
NONCE_BYTES = 12
KEY_BYTES = 32
# Per party sealed: its key id, data key, the key's wrapping nonce and one nonce per field.
_KEY_ID_BYTES = 8
_NONCES_AT = _KEY_ID_BYTES + KEY_BYTES
_RANDOM_PER_PARTY = _NONCES_AT + NONCE_BYTES * (1 + len(PERSONAL_FIELDS))
_NOT_DIGITS = re.compile(r"\D")

# What a reader sees in place of a value whose key was destroyed, or that fails authentication.
ERASED = "[已删除]"
DAMAGED = "[已损坏]"


@dataclass(frozen=True)
class WrappedKey:
    """A party's data key as stored: wrapped under the KEK, never in clear."""

    party_id: str
    key_id: str
    wrapped: bytes


@dataclass(frozen=True)
class Tombstone:
    """What is left of a destroyed key: which key, when and by whom; no key material."""

    party_id: str
    key_id: str
    destroyed_at: str
    destroyed_by: str
    requested_by: str


class PartyKeyStore(Protocol):
    """Where wrapped data keys live, apart from the events (a table of the same database)."""

    def stage(self, case_id: str, keys: Sequence[WrappedKey]) -> None:
        """Hold the keys of a case being registered, to be stored with its events, atomically."""
        ...

    def unstage(self, case_id: str) -> None:
        """Forget what was staged for the case (its events were saved, or will not be)."""
        ...

    def keys(self, case_id: str) -> dict[str, WrappedKey]:
        """The case's wrapped keys by party id (destroyed ones are gone)."""
        ...

    def destroy(self, case_id: str, party_id: str, *, destroyed_by: str, requested_by: str, at: datetime) -> bool:
        """Delete the party's key and leave a tombstone, in one transaction; whether a key was there."""
        ...

    def tombstones(self, case_id: str) -> dict[str, Tombstone]:
        """The case's destroyed keys by party id."""
        ...


class MemoryPartyKeys:
    """A ``PartyKeyStore`` in this process's memory (the in-memory backend, and tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, dict[str, WrappedKey]] = {}
        self._tombstones: dict[str, dict[str, Tombstone]] = {}

    def stage(self, case_id: str, keys: Sequence[WrappedKey]) -> None:
        # Nothing here outlives the process, so the keys are stored at once; a key already
        # held (the case exists, so these events will not save) is never replaced.
        with self._lock:
            held = self._keys.setdefault(case_id, {})
            for key in keys:
                held.setdefault(key.party_id, key)

    def unstage(self, case_id: str) -> None:
        """Nothing is staged apart from what is stored."""

    def keys(self, case_id: str) -> dict[str, WrappedKey]:
        with self._lock:
            return dict(self._keys.get(case_id, {}))

    def destroy(self, case_id: str, party_id: str, *, destroyed_by: str, requested_by: str, at: datetime) -> bool:
        with self._lock:
            key = self._keys.get(case_id, {}).pop(party_id, None)
            if key is None:
                return False
            self._tombstones.setdefault(case_id, {})[party_id] = Tombstone(
                party_id, key.key_id, at.isoformat(), destroyed_by, requested_by
            )
            return True

    def tombstones(self, case_id: str) -> dict[str, Tombstone]:
        with self._lock:
            return dict(self._tombstones.get(case_id, {}))


@dataclass(frozen=True)
class RevealedParty:
    """A party's fields as decrypted for one read: values, or ``[已删除]`` / ``[已损坏]`` markers."""

    party_id: str
    kind: str
    name: str
    phone: str
    id_number: str
    address: str
    erased: bool = False
    damaged: tuple[str, ...] = ()

    def is_marker(self, field: str) -> bool:
        """Whether ``field`` shows a marker rather than the party's data."""
        return self.erased or field in self.damaged


def normalise(field: str, value: str) -> str:
    """The form a lookup token is made of: ID numbers upper-case, phones their digits only."""
    value = value.strip()
    if field == "id_number":
        return value.upper()
    if field == "phone":
        digits = _NOT_DIGITS.sub("", value)
        # "+86 138 0013 8000" and "13800138000" are the same number.
        return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    return value


def is_sealed(party: Party) -> bool:
    """Whether the party was recorded sealed (every party registered since sealing began)."""
    return bool(party.id_number_hmac or party.phone_hmac) or any(
        getattr(party, field).startswith(SEALED_PREFIX) for field in PERSONAL_FIELDS
    )


class PersonalData:
    """Seals parties before their events are made, reveals them for a read, destroys their keys."""

    def __init__(self, keys: PartyKeyStore, kek: bytes, lookup_key: bytes) -> None:
        if len(kek) != KEY_BYTES:
            raise ValueError("the key-encryption key must be 32 bytes (AES-256)")
        if len(lookup_key) < KEY_BYTES:
            raise ValueError("the lookup key must be at least 32 bytes")
        self.keys = keys
        self._kek = AESGCM(kek)
        # Keyed once; each token copies the keyed state (the library's HMAC, without re-keying).
        self._lookup = hmac.new(lookup_key, digestmod=hashlib.sha256)

    @classmethod
    def ephemeral(cls) -> PersonalData:
        """Keys in memory under a random KEK: what a ledger has until its storage gives it more."""
        return cls(MemoryPartyKeys(), AESGCM.generate_key(bit_length=256), os.urandom(KEY_BYTES))

    # ------------------------------------------------------------------ lookup

    def lookup_token(self, field: str, value: str) -> str:
        """The keyed token of an ID number or phone ("" for an empty value)."""
        if field not in LOOKUP_FIELDS:
            raise ValueError(f"no lookup by {field}")
        normalised = normalise(field, value)
        if not normalised:
            return ""
        message = f"{LOOKUP_TAG}|{field}|{normalised}".encode()
        mac = self._lookup.copy()
        mac.update(message)
        return mac.hexdigest()

    # ------------------------------------------------------------------ sealing

    def seal(self, case_id: UUID, parties: Sequence[Party]) -> list[Party]:
        """The parties as their registration event records them: fields sealed, tokens added.

        Each party gets a new data key, staged in the key store: it is stored in the same
        transaction as the registration's events (so there is never a key without its events,
        nor events without their keys). Call ``release`` once the events are saved or not.
        """
        case = str(case_id)
        staged: list[WrappedKey] = []
        sealed: list[Party] = []
        # All the registration's random bytes in one call: each call gives up the interpreter
        # lock for the system call, and a busy server's other threads may keep it meanwhile.
        entropy = memoryview(os.urandom(_RANDOM_PER_PARTY * len(parties)))
        for i, party in enumerate(parties):
            fresh = entropy[i * _RANDOM_PER_PARTY : (i + 1) * _RANDOM_PER_PARTY]
            key_id, data_key = fresh[:_KEY_ID_BYTES].hex(), bytes(fresh[_KEY_ID_BYTES:_NONCES_AT])
            wrap_nonce, nonces = bytes(fresh[_NONCES_AT : _NONCES_AT + NONCE_BYTES]), fresh[_NONCES_AT + NONCE_BYTES :]
            wrapped = self._wrap(case, party.party_id, key_id, data_key, wrap_nonce)
            staged.append(WrappedKey(party.party_id, key_id, wrapped))
            sealed.append(self._seal_party(case, party, key_id, data_key, nonces))
        self.keys.stage(case, staged)
        return sealed

    def release(self, case_id: UUID) -> None:
        """The registration of ``case_id`` is over (saved or refused): drop its staged keys."""
        self.keys.unstage(str(case_id))

    def _seal_party(self, case: str, party: Party, key_id: str, data_key: bytes, nonces: memoryview) -> Party:
        encrypt = AESGCM(data_key).encrypt
        prefix = f"{SEALED_PREFIX}{key_id}:"
        values: dict[str, str] = {}
        for i, field in enumerate(PERSONAL_FIELDS):
            value: str = getattr(party, field)
            if not value:
                values[field] = ""
                continue
            nonce = bytes(nonces[i * NONCE_BYTES : (i + 1) * NONCE_BYTES])
            body = encrypt(nonce, value.encode(), _field_aad(case, party.party_id, field, key_id))
            values[field] = prefix + base64.b64encode(nonce + body).decode("ascii")
        return Party(
            party_id=party.party_id,
            kind=party.kind,
            id_number_hmac=self.lookup_token("id_number", party.id_number),
            phone_hmac=self.lookup_token("phone", party.phone),
            **values,
        )

    def _wrap(self, case: str, party_id: str, key_id: str, data_key: bytes, nonce: bytes) -> bytes:
        return nonce + self._kek.encrypt(nonce, data_key, _key_aad(case, party_id, key_id))

    def _unwrap(self, case: str, key: WrappedKey) -> bytes:
        nonce, body = key.wrapped[:NONCE_BYTES], key.wrapped[NONCE_BYTES:]
        return self._kek.decrypt(nonce, body, _key_aad(case, key.party_id, key.key_id))

    # ------------------------------------------------------------------ revealing

    def reveal(self, case_id: UUID, parties: Sequence[Party], erased: Collection[str] = ()) -> list[RevealedParty]:
        """The parties' fields in clear for one read; markers where erased or damaged.

        ``erased`` names parties the case records as erased: shown erased whatever the key
        store holds. A party recorded before sealing began is shown as recorded.
        """
        case = str(case_id)
        held = self.keys.keys(case) if any(is_sealed(p) for p in parties) else {}
        tombstones: dict[str, Tombstone] | None = None
        revealed = []
        for party in parties:
            if party.party_id in erased:
                revealed.append(_marked(party, erased=True))
            elif not is_sealed(party):
                revealed.append(_as_recorded(party))
            elif party.party_id in held:
                revealed.append(self._open_party(case, party, held[party.party_id]))
            else:
                if tombstones is None:
                    tombstones = self.keys.tombstones(case)
                revealed.append(_marked(party, erased=party.party_id in tombstones))
        return revealed

    def _open_party(self, case: str, party: Party, key: WrappedKey) -> RevealedParty:
        try:
            cipher = AESGCM(self._unwrap(case, key))
        except (InvalidTag, ValueError):
            return _marked(party, erased=False)
        values: dict[str, str] = {}
        damaged: list[str] = []
        for field in PERSONAL_FIELDS:
            value = getattr(party, field)
            opened = _decrypt(cipher, case, party.party_id, field, key.key_id, value) if value else ""
            if opened is None:
                damaged.append(field)
            values[field] = DAMAGED if opened is None else opened
        return _revealed(party, values, damaged=tuple(damaged))

    # ------------------------------------------------------------------ erasure

    def destroy(self, case_id: UUID, party_id: str, *, destroyed_by: str, requested_by: str, at: datetime) -> bool:
        """Destroy the party's data key (its ciphertexts become unreadable for good)."""
        return self.keys.destroy(str(case_id), party_id, destroyed_by=destroyed_by, requested_by=requested_by, at=at)


def _field_aad(case: str, party_id: str, field: str, key_id: str) -> bytes:
    return f"{FIELD_AAD}|{case}|{party_id}|{field}|{key_id}".encode()


def _key_aad(case: str, party_id: str, key_id: str) -> bytes:
    return f"{KEY_AAD}|{case}|{party_id}|{key_id}".encode()


def _decrypt(cipher: AESGCM, case: str, party_id: str, field: str, key_id: str, value: str) -> str | None:
    """The clear text of one sealed field, or ``None`` if it is not this party's own."""
    if not value.startswith(SEALED_PREFIX):
        return None
    named_key, _, body = value[len(SEALED_PREFIX) :].partition(":")
    if named_key != key_id:
        return None
    try:
        raw = base64.b64decode(body, validate=True)
        clear = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _field_aad(case, party_id, field, key_id))
        return clear.decode("utf-8")
    except (InvalidTag, ValueError, binascii.Error):
        return None


def _revealed(
    party: Party, values: dict[str, str], *, erased: bool = False, damaged: tuple[str, ...] = ()
) -> RevealedParty:
    return RevealedParty(
        party_id=party.party_id,
        kind=party.kind,
        name=values["name"],
        phone=values["phone"],
        id_number=values["id_number"],
        address=values["address"],
        erased=erased,
        damaged=damaged,
    )


def _marked(party: Party, *, erased: bool) -> RevealedParty:
    """Every non-empty personal field replaced by the marker (erased, or damaged beyond reading)."""
    marker = ERASED if erased else DAMAGED
    values = {field: marker if getattr(party, field) else "" for field in PERSONAL_FIELDS}
    values["name"] = marker
    damaged = () if erased else tuple(field for field in PERSONAL_FIELDS if values[field])
    return _revealed(party, values, erased=erased, damaged=damaged)


def _as_recorded(party: Party) -> RevealedParty:
    return _revealed(party, {field: getattr(party, field) for field in PERSONAL_FIELDS})


# ---------------------------------------------------------------------- free text
#
# What officials write (a summary, a note, agreement terms) often names the parties. Such
# text is recorded with each party's name, phone, ID number and address replaced by a
# reference, "⟦p1.phone⟧", so that no event, view, log or report holds the value in clear,
# and an erasure leaves nothing behind. A response shows each reader what it may see of the
# party (in full, masked, or [已删除]); where the parties are not at hand (a list, a report)
# the reference reads as a label, "[当事人p1电话]".

_OPEN, _CLOSE = REFERENCE_BRACKETS
_REFERENCE = re.compile(f"{_OPEN}([^{_OPEN}{_CLOSE}]+)\\.({'|'.join(PERSONAL_FIELDS)}){_CLOSE}")
_REFERENCE_LABELS = {"name": "", "phone": "电话", "id_number": "身份证号", "address": "住址"}
# A shorter value (a one-character name) would be found inside ordinary words.
_SHORTEST_REFERRED = 2


def reference(party_id: str, field: str) -> str:
    """How free text refers to one personal field of a party."""
    return f"{_OPEN}{party_id}.{field}{_CLOSE}"


def redactor(parties: Iterable[Party | RevealedParty]) -> Callable[[str], str]:
    """Replaces, in a text, every personal value of these parties (given in clear) by its reference.

    Values are matched as written and, for phones and ID numbers, in their normalised form
    (digits only; an ID number's check letter in either case). Where two overlap, the
    longer wins: an address is replaced whole before a name inside it.
    """
    references: dict[str, str] = {}
    for party in parties:
        for field in PERSONAL_FIELDS:
            if isinstance(party, RevealedParty) and party.is_marker(field):
                continue
            value: str = getattr(party, field).strip()
            forms = {value}
            if field in LOOKUP_FIELDS:
                forms |= {normalise(field, value), normalise(field, value).lower()}
            for form in forms:
                if len(form) >= _SHORTEST_REFERRED:
                    references.setdefault(form, reference(party.party_id, field))
    # Longest first; checked with plain substring searches (a registration's own regular
    # expression would cost more to compile than the rest of its sealing).
    ordered = sorted(references.items(), key=lambda item: len(item[0]), reverse=True)

    def redact(text: str) -> str:
        found = [(form, ref) for form, ref in ordered if form in text]
        if not found:
            return text
        # The references go in last, through placeholders (characters in no value and not in
        # the text): a value is then never found inside a reference put in before it (one
        # party's id may be another's house number).
        unused = (
            chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text and all(chr(c) not in f for f in references)
        )
        placed = []
        for form, ref in found:
            if form in text:
                placeholder = next(unused)
                text = text.replace(form, placeholder)
                placed.append((placeholder, ref))
        for placeholder, ref in placed:
            text = text.replace(placeholder, ref)
        return text

    return redact


class RecentRedactors:
    """The redactors of the cases used lately, by case id, so that a note recorded soon after
    the registration (a dispatch, a first visit) needs no decryption of the parties.

    They hold the parties' values, in this process's memory only. An entry lasts ``seconds``
    and is dropped at once when a party of its case is erased here; an erasure made by
    another process is thus outlived by minutes at most, and only in memory.
    """

    def __init__(self, held: int = 4096, seconds: float = 300.0) -> None:
        self._held, self._seconds = held, seconds
        self._lock = threading.Lock()
        self._entries: OrderedDict[UUID, tuple[float, Callable[[str], str]]] = OrderedDict()

    def get(self, case_id: UUID) -> Callable[[str], str] | None:
        with self._lock:
            found = self._entries.get(case_id)
            if found is None or time.monotonic() - found[0] > self._seconds:
                return None
            self._entries.move_to_end(case_id)
            return found[1]

    def put(self, case_id: UUID, redact: Callable[[str], str]) -> None:
        with self._lock:
            self._entries[case_id] = (time.monotonic(), redact)
            self._entries.move_to_end(case_id)
            while len(self._entries) > self._held:
                self._entries.popitem(last=False)

    def forget(self, case_id: UUID) -> None:
        with self._lock:
            self._entries.pop(case_id, None)


def shown_values(parties: Iterable[Any]) -> dict[str, dict[str, str]]:
    """What a reader sees of each party (objects with ``party_id`` and the personal fields,
    already masked for that reader), by party id: what references in free text show."""
    return {party.party_id: {field: getattr(party, field) for field in PERSONAL_FIELDS} for party in parties}


def render(text: str, shown: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Free text with each reference replaced by what the reader sees of that party's field
    (``shown_values``), or by a label where that is nothing (not at hand, or not for this reader)."""
    if _OPEN not in text:
        return text

    def one(found: re.Match[str]) -> str:
        party_id, field = found.group(1), found.group(2)
        value = (shown or {}).get(party_id, {}).get(field, "")
        return value or f"[当事人{party_id}{_REFERENCE_LABELS[field]}]"

    return _REFERENCE.sub(one, text)


def render_all(value: Any, shown: Mapping[str, Mapping[str, str]] | None = None) -> Any:
    """``render`` applied to every text inside a response's plain data (dicts, lists, text)."""
    if isinstance(value, str):
        return render(value, shown)
    if isinstance(value, dict):
        return {key: render_all(item, shown) for key, item in value.items()}
    if isinstance(value, list):
        return [render_all(item, shown) for item in value]
    return value
