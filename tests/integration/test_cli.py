"""The ``caseledger`` command line: tokens and calendar loading (issue: command line)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.security import TokenService
from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings

EXAMPLE_2027 = Path(__file__).resolve().parents[2] / "infrastructure" / "data" / "calendar-2027.example.json"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASELEDGER_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CASELEDGER_BACKEND", "sqlite")
    monkeypatch.delenv("CASELEDGER_JWT_SECRET", raising=False)
    return tmp_path / "var"


def test_token_prints_a_verifiable_token_on_its_last_line(data_dir: Path) -> None:
    """`caseledger token` signs with the key kept in the data directory."""
    result = CliRunner().invoke(
        app,
        [
            "token",
            "--user",
            "u1",
            "--role",
            "unit",
            "--unit",
            "chengguan-dongguan",
            "--jurisdiction",
            "qingxi/chengguan/dongguan",
        ],
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    actor = TokenService(Settings()).verify(token)
    assert (actor.user_id, actor.role, actor.unit, actor.jurisdiction) == (
        "u1",
        "unit",
        "chengguan-dongguan",
        "qingxi/chengguan/dongguan",
    )
    assert (data_dir / "jwt-signing-key").stat().st_mode & 0o077 == 0


def test_token_with_an_unknown_role_is_refused(data_dir: Path) -> None:
    """Only SPEC §9 roles can be put in a token."""
    result = CliRunner().invoke(
        app, ["token", "--user", "u1", "--role", "mayor", "--unit", "x", "--jurisdiction", "qingxi"]
    )
    assert result.exit_code == 2
    assert "mayor" in result.output


def test_calendar_load_makes_2027_deadlines_final(data_dir: Path) -> None:
    """SPEC §4: loading a year's schedule is recorded and the calendar then covers it."""
    before = build_ledger(Settings())
    try:
        assert not before.calendar().covers(2027)
    finally:
        before.close()
    result = CliRunner().invoke(app, ["calendar", "load", str(EXAMPLE_2027), "--operator", "ops-1"])
    assert result.exit_code == 0, result.output
    assert "loaded 2027" in result.stdout
    ledger = build_ledger(Settings())
    try:
        assert ledger.calendar().covers(2027)
        events = list(ledger.notification_log.select(start=1, limit=10))
        assert any("CalendarBook.YearLoaded" in n.topic for n in events)
    finally:
        ledger.close()


def test_calendar_load_of_a_malformed_file_records_nothing(data_dir: Path, tmp_path: Path) -> None:
    """A bad schedule file is refused with a clear message and nothing is recorded."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"year": 2027, "holidays": ["2027-13-01"], "workdays": []}', "utf-8")
    result = CliRunner().invoke(app, ["calendar", "load", str(bad)])
    assert result.exit_code == 2
    assert "2027-13-01" in result.output
    ledger = build_ledger(Settings())
    try:
        assert not ledger.calendar().covers(2027)
        assert ledger.recorder.max_notification_id() in (None, 0)
    finally:
        ledger.close()
