"""The ``caseledger`` command: serve, token, demo, migrate, project, rebuild, calendar load …"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

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
def migrate() -> None:
    """Create the database and its tables; on PostgreSQL also the service's role, its grants and the guardrails.

    Run it as an administrator (CASELEDGER_MIGRATION_DATABASE_URL, else the normal connection settings),
    before the API and the workers, which then run with CASELEDGER_CREATE_TABLES=false as the service role.
    Running it again changes nothing.
    """
    from infrastructure.migrations import MigrationError
    from infrastructure.migrations import migrate as run_migration

    try:
        lines = run_migration(Settings())
    except MigrationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for line in lines:
        typer.echo(line)


@app.command()
def project() -> None:
    """Run the projection worker: follow the ledger and keep the read views (until stopped)."""
    import signal

    from infrastructure.bootstrap import build_integrity, build_ledger, build_views
    from infrastructure.logs import configure_logging
    from infrastructure.worker import ProjectionWorker

    settings = Settings()
    configure_logging(settings.log_level)
    ledger = build_ledger(settings)
    store = build_views(settings)
    integrity = build_integrity(settings, store)
    worker = ProjectionWorker(
        ledger,
        store,
        log=integrity.log,
        signer=integrity.checkpoint,
        checkpoint_every=settings.checkpoint_interval_seconds,
    )
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


@app.command()
def checkpoint() -> None:
    """Sign a checkpoint of the Merkle log now and print it (JSON, for auditors to keep)."""
    from infrastructure.bootstrap import build_integrity, build_views

    settings = Settings()
    store = build_views(settings)
    try:
        signed = build_integrity(settings, store).checkpoint()
    finally:
        store.db.close()
    typer.echo(signed.to_json())


@app.command()
def export(
    case_id: Annotated[str, typer.Argument(help="The case to export")],
    out: Annotated[Path | None, typer.Option(help="Write the bundle here (default: standard output)")] = None,
    tree_size: Annotated[int | None, typer.Option(help="Prove against the checkpoint of this size")] = None,
) -> None:
    """Write a bundle: the case's stored events, their inclusion proofs, the checkpoint, the key."""
    import base64
    import json

    from infrastructure.bootstrap import build_integrity, build_ledger, build_views
    from infrastructure.integrity.service import checkpoint_document
    from infrastructure.integrity.verify import BUNDLE_FORMAT

    settings = Settings()
    ledger = build_ledger(settings)
    store = build_views(settings)
    try:
        integrity = build_integrity(settings, store)
        try:
            events = ledger.recorder.select_events(UUID(case_id))
        except ValueError:
            raise typer.BadParameter("not a case id", param_hint="CASE_ID") from None
        if not events:
            typer.echo(f"error: no case {case_id}", err=True)
            raise typer.Exit(2)
        signed = integrity.checkpoint_of(tree_size) if tree_size else integrity.checkpoint()
        leaves = {leaf.position: leaf for leaf in integrity.log.leaves_of(str(UUID(case_id)))}
        entries = []
        for event, leaf in zip(events, sorted(leaves.values(), key=lambda item: item.position), strict=False):
            if leaf.leaf_index >= signed.tree_size:
                break
            entries.append(
                {
                    "position": leaf.position,
                    "leaf_index": leaf.leaf_index,
                    "originator_id": str(event.originator_id),
                    "version": event.originator_version,
                    "topic": event.topic,
                    "state": base64.b64encode(event.state).decode(),
                    "proof": [node.hex() for node in integrity.log.inclusion(leaf.leaf_index, signed.tree_size)],
                }
            )
        bundle = {
            "format": BUNDLE_FORMAT,
            "case_id": str(UUID(case_id)),
            "tree_size": signed.tree_size,
            "checkpoint": checkpoint_document(signed),
            "public_key_pem": integrity.signer.public_key_pem(),
            "events": entries,
        }
    finally:
        store.db.close()
        ledger.close()
    text = json.dumps(bundle, ensure_ascii=False, indent=1)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, "utf-8")
        typer.echo(f"wrote {len(entries)} events of {case_id}, proved against checkpoint size {signed.tree_size}")


@app.command()
def verify(
    bundle: Annotated[Path | None, typer.Argument(help="A bundle from `caseledger export`")] = None,
    database: Annotated[bool, typer.Option("--database", help="Verify the whole database instead")] = False,
    checkpoint_file: Annotated[
        Path | None, typer.Option("--checkpoint", help="The checkpoint you hold (default: the bundle's own)")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="The signing key you trust, PEM (default: the bundle's own)")
    ] = None,
) -> None:
    """Check a bundle, or the whole database, against a checkpoint; name the first entry that does not match."""
    import json

    from infrastructure.checkpoints import Checkpoint
    from infrastructure.integrity.verify import Report, read_json, verify_bundle

    if (bundle is None) == (not database):
        raise typer.BadParameter("give a BUNDLE or --database")
    data = read_json(str(bundle)) if bundle is not None else None
    if checkpoint_file is not None:
        held = Checkpoint.from_json(checkpoint_file.read_text("utf-8"))
    elif data is not None:
        held = Checkpoint.from_json(json.dumps(data["checkpoint"]))
        typer.echo("note: using the bundle's own checkpoint; pass --checkpoint to rely on one you hold", err=True)
    else:
        raise typer.BadParameter("--database needs --checkpoint")
    if public_key is not None:
        key: str = public_key.read_text("utf-8")
    elif data is not None:
        key = data["public_key_pem"]
        typer.echo("note: using the bundle's own public key; pass --public-key to rely on one you trust", err=True)
    else:
        raise typer.BadParameter("--database needs --public-key")
    report: Report = verify_bundle(data, held, key) if data is not None else _verify_database(held, key)
    for note in report.notes:
        typer.echo(note)
    if not report.ok:
        typer.echo(f"MISMATCH: {report.first_failure}")
        raise typer.Exit(1)
    typer.echo("OK")


def _verify_database(held: Any, key: str) -> Any:
    from infrastructure.bootstrap import build_ledger, build_views
    from infrastructure.integrity.log import MerkleLog
    from infrastructure.integrity.verify import stored_entries, verify_log

    settings = Settings()
    ledger = build_ledger(settings)
    store = build_views(settings)
    try:
        log = MerkleLog(store.db)
        return verify_log(
            lambda: stored_entries(ledger.recorder), lambda: log.stored_leaf_hashes(held.tree_size), held, key
        )
    finally:
        store.db.close()
        ledger.close()


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
