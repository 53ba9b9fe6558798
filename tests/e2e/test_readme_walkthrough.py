"""The README's walk-through works exactly as written, against a real server process."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _walkthrough() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("## Walk-through", 1)[1].split("A refused command", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert blocks, "the README has no walk-through"
    return "\n".join(blocks)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    env = {**os.environ, "CASELEDGER_DATA_DIR": str(tmp_path / "var"), "CASELEDGER_BACKEND": "sqlite"}
    cli = Path(sys.executable).parent / "caseledger"
    process = subprocess.Popen(
        [str(cli), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(base + "/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not become ready")
        yield base, env
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_readme_walkthrough_runs_to_a_confirmed_ruling(server: tuple[str, dict[str, str]]) -> None:
    """README: registration → dispatch → mediation → 办结 → 评单 → 销项 → 司法确认 ruling."""
    base, env = server
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _walkthrough()],
        cwd=ROOT,
        env={**env, "API": base + "/api/v1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    documents = [json.loads(chunk) for chunk in re.findall(r"^[\[{]\n.*?^[\]}]$", result.stdout, flags=re.S | re.M)]
    case, events = documents[-2], documents[-1]
    assert case["status"] == "closed"
    assert case["confirmations"][0]["status"] == "confirmed"
    assert {d["status"] for d in case["deadlines"]} <= {"met", "open"}
    assert [e["type"] for e in events][:3] == ["CaseRegistered", "CaseDispatched", "CaseAccepted"]
    assert events[-1]["type"] == "JudicialConfirmationRuled"
