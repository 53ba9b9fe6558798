"""Scenario (c): one server process (``caseledger serve``), loaded from a second process.

The server gets a fresh database and its own signing secret through ``CASELEDGER_*``
variables; the load generator (``benchmarks.load``) gets a token issued with that secret.
Both bind and connect to 127.0.0.1 only. The server is always stopped, even on errors.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.security import TokenService
from benchmarks.common import ACTOR, EVENTS_PER_CASE, RunResult
from benchmarks.load import TOKEN_VARIABLE
from infrastructure.settings import Settings

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[1]
READY_TIMEOUT_SECONDS = 60.0


class BenchError(RuntimeError):
    """The benchmark itself could not run (not a missed goal)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(port: int) -> list[str]:
    """``caseledger serve`` from this interpreter's environment, else uvicorn the same way."""
    script = Path(sys.executable).with_name("caseledger")
    if script.exists():
        return [str(script), "serve", "--host", HOST, "--port", str(port)]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "api.main:create_app",
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def server_env(database_url: str, secret: str, data_dir: str) -> dict[str, str]:
    """This environment without any ``CASELEDGER_*`` setting of the caller's, plus the bench's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASELEDGER_")}
    env.update(
        {
            "CASELEDGER_BACKEND": "postgres",
            "CASELEDGER_DATABASE_URL": database_url,
            "CASELEDGER_JWT_SECRET": secret,
            "CASELEDGER_LOG_LEVEL": "WARNING",
            "CASELEDGER_DATA_DIR": data_dir,
            "CASELEDGER_HOST": HOST,
        }
    )
    return env


def _get_status(port: int, path: str) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


def wait_ready(server: subprocess.Popen[bytes], port: int, log: Path) -> float:
    """Seconds until ``/ready`` answers 200; raises if the server exits or never gets ready."""
    began = time.perf_counter()
    while time.perf_counter() - began < READY_TIMEOUT_SECONDS:
        if server.poll() is not None:
            raise BenchError(f"the server exited with {server.returncode}:\n{_tail(log)}")
        if _get_status(port, "/ready") == 200:
            return time.perf_counter() - began
        time.sleep(0.1)
    raise BenchError(f"the server was not ready within {READY_TIMEOUT_SECONDS:.0f} s:\n{_tail(log)}")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _load(
    port: int, token: str, cases: int, first: int, concurrency: int, server_pid: int, dbname: str, dispatch: bool
) -> dict[str, Any]:
    """Run the load generator as a separate process; its summary."""
    env = {**os.environ, TOKEN_VARIABLE: token}
    command = [
        sys.executable,
        "-m",
        "benchmarks.load",
        "--url",
        f"http://{HOST}:{port}",
        "--cases",
        str(cases),
        "--first",
        str(first),
        "--concurrency",
        str(concurrency),
        "--server-pid",
        str(server_pid),
        "--dbname",
        dbname,
        *(() if dispatch else ("--register-only",)),
    ]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise BenchError(f"the load generator failed ({done.returncode}):\n{done.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def run_http(
    database_url: str,
    cases: int,
    warmup: int,
    concurrency: int,
    *,
    dispatch: bool = True,
    server_for: Callable[[int], list[str]] = server_command,
) -> RunResult:
    """(c) ``cases`` registrations (and dispatches) over HTTP; counts only what succeeded.

    ``server_for(port)`` is the server's command line (``caseledger serve`` by default).
    """
    secret = secrets.token_urlsafe(32)
    # Defaults only, not this process's environment: the server's settings are the bench's.
    token = TokenService(Settings.model_construct(jwt_secret=secret)).issue(
        user_id=ACTOR.user_id, role=ACTOR.role, unit=ACTOR.unit, jurisdiction=ACTOR.jurisdiction
    )
    port = free_port()
    dbname = Settings(backend="postgres", database_url=database_url).postgres_params()["dbname"]
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-") as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as log_file:
            server = subprocess.Popen(
                server_for(port),
                env=server_env(database_url, secret, tmp),
                cwd=REPO,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            try:
                startup = wait_ready(server, port, log)
                if warmup:
                    _load(port, token, warmup, -warmup, concurrency, server.pid, dbname, dispatch)
                summary = _load(port, token, cases, 0, concurrency, server.pid, dbname, dispatch)
            finally:
                stop(server)
    registered, dispatched = int(summary["registered"]), int(summary["dispatched"])
    elapsed = float(summary["elapsed"])
    failures = sum(int(v) for v in summary["failures"].values())
    spent: dict[str, float] = summary["cpu"]
    return RunResult(
        cases=registered,
        elapsed=elapsed,
        cpu=spent.get("server", 0.0),
        failures=failures,
        extra={
            "events": registered + dispatched,
            "events_per_second": (registered + dispatched) / elapsed if elapsed > 0 else 0.0,
            "expected_events": cases * (EVENTS_PER_CASE if dispatch else 1),
            "startup_seconds": startup,
            "cpu_split": spent,
            "register_ms": summary["register_ms"],
            "dispatch_ms": summary["dispatch_ms"],
            "failures": summary["failures"],
            "failure_samples": summary["failure_samples"],
        },
    )
