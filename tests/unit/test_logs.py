"""Log redaction (STYLE "personal data never logged in clear"; SPEC §10)."""

from __future__ import annotations

from infrastructure.logs import REDACTED, _redact


def test_personal_keys_are_redacted_at_any_depth() -> None:
    """A name, phone, ID number or address is redacted whether logged on its own or inside other data."""
    event = {
        "event": "case_registered",
        "name": "欧阳春花",
        "case": {"parties": [{"name": "司马秋实"}], "summary": "漏水"},
        "changes": [{"party_id": "p1", "phone": "13912345678", "id_number": "11010519491231002X"}],
        "position": 7,
    }

    redacted = _redact(None, "info", event)

    assert redacted["name"] == REDACTED
    assert redacted["case"] == {"parties": REDACTED, "summary": "漏水"}
    assert redacted["changes"] == [{"party_id": "p1", "phone": REDACTED, "id_number": REDACTED}]
    assert redacted["position"] == 7
    assert "13912345678" not in repr(redacted) and "司马秋实" not in repr(redacted)
