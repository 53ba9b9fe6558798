"""Bearer-token key rotation by key id (issue 4: pinned algorithm, iss/aud/exp, key rotation)."""

from __future__ import annotations

import pytest

from api.problems import AuthenticationError
from api.security import TokenService
from infrastructure.settings import Settings

OLD = "old-signing-key-0123456789abcdefghijklmnopqrstuvwxyz"
NEW = "new-signing-key-0123456789abcdefghijklmnopqrstuvwxyz"
WHO = {"user_id": "u1", "role": "township_center", "unit": "chengguan-center", "jurisdiction": "qingxi/chengguan"}


def test_a_token_of_a_retired_key_is_accepted_until_it_expires() -> None:
    """Rotating keys does not log everyone out: the retired key is still found by its kid."""
    old_token = TokenService(Settings(backend="memory", jwt_secret=OLD)).issue(**WHO)
    rotated = TokenService(Settings(backend="memory", jwt_secret=NEW, jwt_retired_secrets=OLD))
    assert rotated.verify(old_token).user_id == "u1"
    assert rotated.verify(rotated.issue(**WHO)).user_id == "u1"


def test_a_token_of_a_key_no_longer_listed_is_refused() -> None:
    """Once a key is dropped from the retired list, its tokens name an unknown key id."""
    old_token = TokenService(Settings(backend="memory", jwt_secret=OLD)).issue(**WHO)
    with pytest.raises(AuthenticationError, match="unknown signing key"):
        TokenService(Settings(backend="memory", jwt_secret=NEW)).verify(old_token)
