"""The ``caseledger`` command: serve, token, demo, calendar load."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer

from domain.values import Actor, Role
from infrastructure.settings import Settings

app = typer.Typer(help="矛盾纠纷案件台账 caseledger", no_args_is_help=True, add_completion=False)
calendar_app = typer.Typer(help="The working-day calendar", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Serve the HTTP API (SQLite under ./var unless configured otherwise)."""
    import uvicorn

    settings = Settings()
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
        access_log=False,
    )


@app.command()
def token(
    user: Annotated[str, typer.Option("--user", help="User id")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(r.value for r in Role)}")],
    unit: Annotated[str, typer.Option("--unit", help="The user's unit id")],
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", help="Jurisdiction path, e.g. qingxi/chengguan")],
) -> None:
    """Print a signed bearer token (on the last line)."""
    from api.security import TokenService

    try:
        signed = TokenService(Settings()).issue(user_id=user, role=role, unit=unit, jurisdiction=jurisdiction)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from None
    typer.echo(f"# token for {user} ({role}, {unit}, {jurisdiction})", err=True)
    typer.echo(signed)


@app.command()
def demo(
    cases: Annotated[int, typer.Option(help="How many cases to load")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed, for a repeatable county")] = 2026,
) -> None:
    """Load the demo county: mediators and cases in every stage, some deadlines met, some missed."""
    from infrastructure.bootstrap import build_ledger
    from infrastructure.demo import load_demo

    ledger = build_ledger(Settings())
    try:
        summary = load_demo(ledger, cases=cases, seed=seed)
    finally:
        ledger.close()
    for key, value in summary.items():
        typer.echo(f"{key}: {value}")


@app.command()
def project() -> None:
    """Run the projection worker: follow the ledger and keep the read views (until stopped)."""
    import signal

    from infrastructure.bootstrap import build_ledger, build_views
    from infrastructure.logs import configure_logging
    from infrastructure.worker import ProjectionWorker

    settings = Settings()
    configure_logging(settings.log_level)
    ledger = build_ledger(settings)
    store = build_views(settings)
    worker = ProjectionWorker(ledger, store)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    try:
        worker.run_forever()
    finally:
        store.db.close()
        ledger.close()


@app.command()
def rebuild(
    view: Annotated[str, typer.Argument(help="cases, audit or court")],
) -> None:
    """Rebuild a view from position zero into fresh tables and swap it in (the service keeps answering)."""
    from infrastructure.bootstrap import build_ledger, build_views
    from infrastructure.rebuild import rebuild_view
    from infrastructure.views.store import VIEW_TABLES

    if view not in VIEW_TABLES:
        raise typer.BadParameter(f"one of: {', '.join(VIEW_TABLES)}", param_hint="VIEW")
    settings = Settings()
    ledger = build_ledger(settings)
    store = build_views(settings)
    try:
        position = rebuild_view(ledger, store, view)
    finally:
        store.db.close()
        ledger.close()
    typer.echo(f"rebuilt {view} up to ledger position {position}")


@calendar_app.command("load")
def calendar_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Year schedule JSON")],
    operator: Annotated[str, typer.Option(help="Who is loading it (recorded)")] = "operator",
) -> None:
    """Adopt a year's holiday schedule (recorded as an event)."""
    import json

    from application.ledger import Caller
    from domain.calendar import CalendarError
    from infrastructure.bootstrap import build_ledger
    from infrastructure.calendar_data import parse_schedule

    text = file.read_text("utf-8")
    try:
        schedule = parse_schedule(text)
        source = str(json.loads(text).get("source", file.name))
    except CalendarError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    ledger = build_ledger(Settings())
    try:
        caller = Caller(Actor(operator, Role.ADMIN, "operations", ""), request_id="cli")
        result = ledger.load_calendar_year(
            caller, schedule, source=source, digest=hashlib.sha256(text.encode()).hexdigest()
        )
    finally:
        ledger.close()
    typer.echo(
        f"loaded {schedule.year}: {len(schedule.holidays)} rest days, {len(schedule.workdays)} make-up working days "
        f"(calendar version {result.version})"
    )


def main() -> None:
    """Entry point of the ``caseledger`` script."""
    app()
