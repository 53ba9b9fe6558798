"""Bearer tokens: HS256 only (the algorithm is pinned), with issuer, audience and expiry checked."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from api.problems import AuthenticationError
from domain.values import Actor, Role
from infrastructure.settings import Settings

ALGORITHM = "HS256"
_CACHE_SIZE = 10_000
KEY_FILE = "jwt-signing-key"


def signing_key(settings: Settings) -> str:
    """The configured key, or one generated on first use and kept in the data directory."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def key_id(key: str) -> str:
    """A short, non-secret fingerprint of the key, sent as ``kid``."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class TokenService:
    """Issues and checks the service's bearer tokens."""

    def __init__(self, settings: Settings) -> None:
        self._key = signing_key(settings)
        self._kid = key_id(self._key)
        # Rotation: new tokens are signed with the current key; tokens signed with a
        # retired key stay valid until they expire, each found by its ``kid``.
        retired = [k.strip() for k in settings.jwt_retired_secrets.split(",") if k.strip()]
        self._keys = {key_id(k): k for k in retired} | {self._kid: self._key}
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._lifetime = timedelta(hours=settings.token_hours)
        self._verified: dict[str, tuple[Actor, float]] = {}

    def issue(self, *, user_id: str, role: str, unit: str, jurisdiction: str, now: datetime | None = None) -> str:
        """A signed token for one user."""
        if role not in {r.value for r in Role}:
            raise ValueError(f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}")
        now = now or datetime.now(UTC)
        claims = {
            "sub": user_id,
            "role": role,
            "unit": unit,
            "jurisdiction": jurisdiction,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": int(now.timestamp()),
            "exp": int((now + self._lifetime).timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid})

    def verify(self, token: str) -> Actor:
        """The actor a token names, or ``AuthenticationError``.

        A token verified once is remembered (by its exact text) until it expires, since a
        client sends the same token with every request and verifying costs more than the
        rest of a small command.
        """
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None and cached[1] > now:
            return cached[0]
        actor, expires = self._verify(token)
        if len(self._verified) >= _CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (actor, expires)
        return actor

    def _verify(self, token: str) -> tuple[Actor, float]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise AuthenticationError("the token is not signed with the accepted algorithm")
            key = self._keys.get(header.get("kid") or self._kid)
            if key is None:
                raise AuthenticationError("the token names an unknown signing key")
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the token has expired") from None
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"the token is not valid: {exc}") from None
        role = claims.get("role")
        jurisdiction = claims.get("jurisdiction")
        if role not in {r.value for r in Role}:
            raise AuthenticationError("the token names no known role")
        if not isinstance(jurisdiction, str) or not jurisdiction:
            raise AuthenticationError("the token names no jurisdiction")
        actor = Actor(
            user_id=str(claims["sub"]), role=role, unit=str(claims.get("unit", "")), jurisdiction=jurisdiction
        )
        return actor, float(claims["exp"])
