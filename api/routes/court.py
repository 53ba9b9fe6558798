"""The court's side: posting a judicial-confirmation ruling."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import ActorDep, CallerDep, LedgerDep, MinPositionDep, ReadLogged, ServicesDep
from api.privacy import reveal
from api.problems import PROBLEM_RESPONSES
from api.routes.replies import reply
from api.schemas.case_view import party_out
from api.schemas.cases import RulingIn
from api.schemas.common import CommandReply
from api.schemas.reads import CourtPage, CourtRecordOut, local
from application.access import list_scope
from application.ledger import CaseLedger
from application.privacy import render_all, shown_values
from domain.errors import InvalidCommand, NotFound
from domain.values import Actor, Party, Role, jurisdiction_contains
from infrastructure.views.queries import Scope

router = APIRouter(prefix="/api/v1/court", tags=["court 法院"], responses=PROBLEM_RESPONSES)


@router.post("/confirmations/{confirmation_id}/ruling", response_model=CommandReply)
def rule(confirmation_id: str, body: RulingIn, ledger: LedgerDep, caller: CallerDep) -> Response:
    """The addressed court posts its ruling: confirmed or rejected, with the ruling number."""
    result = ledger.rule_on_confirmation(confirmation_id, caller, **body.model_dump())
    return reply(result)


def _court_scope(actor: Actor) -> tuple[str | None, Scope]:
    """A court reads what is addressed to it; others read within their jurisdiction."""
    if actor.role == Role.COURT:
        return actor.unit, Scope(None)
    return None, Scope(list_scope(actor))


def _record(row: dict[str, Any], actor: Actor, ledger: CaseLedger) -> CourtRecordOut:
    # The view holds the parties sealed, as recorded; they are decrypted for this response only.
    sees_parties = actor.role == Role.COURT
    revealed = reveal(ledger, row["case_id"], [Party.from_dict(p) for p in row["parties"]])
    parties = [party_out(p, actor, full=sees_parties or None) for p in revealed]
    return CourtRecordOut(
        confirmation_id=row["confirmation_id"],
        case_id=row["case_id"],
        court=row["court"],
        status=row["status"],
        applied_at=local(row["applied_at"]),
        window_due_at=local(row["window_due_at"]),
        ruled_at=local(row["ruled_at"]),
        ruling_number=row["ruling_number"],
        # The terms refer to the parties: they read as this reader sees the parties.
        agreement=render_all(
            {**row["agreement"], "effective_at": local(row["agreement"]["effective_at"])}, shown_values(parties)
        ),
        parties=parties,
        mediator=row["mediator"],
        jurisdiction=row["jurisdiction"],
    )


@router.get("/confirmations", response_model=CourtPage, dependencies=[ReadLogged])
def list_confirmations(
    services: ServicesDep,
    actor: ActorDep,
    at: MinPositionDep,
    status: Annotated[Literal["pending", "confirmed", "rejected"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CourtPage:
    """司法确认 records: agreement terms, parties, mediator, dates, the 30-day window, ruling."""
    court, scope = _court_scope(actor)
    services.await_views(at, ("court",))
    try:
        page = services.queries.court_records(court=court, scope=scope, status=status, limit=limit, cursor=cursor)
    except ValueError as exc:
        raise InvalidCommand(str(exc), field="cursor") from None
    return CourtPage(
        items=[_record(row, actor, services.ledger) for row in page.items],
        next_cursor=page.next_cursor,
        views_position=services.views.positions().get("court", 0),
    )


@router.get("/confirmations/{confirmation_id}", response_model=CourtRecordOut, dependencies=[ReadLogged])
def read_confirmation(
    confirmation_id: str, services: ServicesDep, actor: ActorDep, at: MinPositionDep
) -> CourtRecordOut:
    """One judicial-confirmation record."""
    court, scope = _court_scope(actor)
    services.await_views(at, ("court",))
    row = services.queries.court_record(confirmation_id)
    visible = row is not None and (
        row["court"] == court
        if court is not None
        else scope.jurisdiction is None or jurisdiction_contains(scope.jurisdiction, row["jurisdiction"])
    )
    if row is None or not visible:
        raise NotFound(f"no judicial confirmation {confirmation_id}", confirmation_id=confirmation_id)
    return _record(row, actor, services.ledger)
