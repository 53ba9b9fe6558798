"""Case lifecycle endpoints (SPEC §2, §8): 制单 派单 接单 做单 评单 考单, and reading a case."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from api.deps import ActorDep, CallerDep, LedgerDep, MinPositionDep, ReadLogged, ServicesDep
from api.privacy import lookup_tokens, reveal
from api.problems import PROBLEM_RESPONSES
from api.routes.replies import reply
from api.schemas import cases as s
from api.schemas.case_view import CaseOut, EventOut, case_out, event_out
from api.schemas.common import CommandReply
from api.schemas.reads import CasePage, EvaluationOut, case_page, evaluation_out
from application.access import list_scope
from application.projections.rows import audit_data
from domain.case import Status
from domain.errors import InvalidCommand, InvalidTransition, NotFound
from domain.policy_book import policy_named
from domain.scoring import evaluate
from domain.values import Category, Channel, Party, RiskColor
from infrastructure.views.queries import CaseFilter, Scope

router = APIRouter(prefix="/api/v1/cases", tags=["cases 案件"], responses=PROBLEM_RESPONSES)


@router.post("", status_code=201, response_model=CommandReply)
def register(body: s.RegisterCase, ledger: LedgerDep, caller: CallerDep) -> Response:
    """制单: register a dispute case."""
    parties = [
        Party(
            party_id=p.party_id or f"p{i}",
            name=p.name,
            kind=p.kind,
            phone=p.phone,
            id_number=p.id_number.upper(),
            address=p.address,
        )
        for i, p in enumerate(body.parties, start=1)
    ]
    result = ledger.register_case(
        caller,
        channel=body.channel,
        category=body.category,
        summary=body.summary,
        jurisdiction=body.jurisdiction,
        parties=parties,
        risk_color=body.risk_color,
        difficulty=body.difficulty,
        external_ref=body.external_ref,
        occurred_at=body.occurred_at,
    )
    return reply(result, status=201)


@router.get("", response_model=CasePage, dependencies=[ReadLogged])
def list_cases(
    services: ServicesDep,
    actor: ActorDep,
    at: MinPositionDep,
    status: Annotated[
        list[str] | None, Query(description="registered, dispatched, accepted, handling, concluded, closed")
    ] = None,
    risk_color: Annotated[list[RiskColor] | None, Query()] = None,
    category: Annotated[list[Category] | None, Query()] = None,
    channel: Annotated[list[Channel] | None, Query()] = None,
    township: Annotated[str | None, Query(description="path, e.g. qingxi/chengguan", max_length=300)] = None,
    village: Annotated[str | None, Query(max_length=300)] = None,
    grid: Annotated[str | None, Query(max_length=300)] = None,
    handler: Annotated[str | None, Query(max_length=100)] = None,
    unit: Annotated[str | None, Query(max_length=100)] = None,
    overdue: Annotated[bool | None, Query(description="only cases overdue now (true) or not (false)")] = None,
    registered_from: Annotated[AwareDatetime | None, Query()] = None,
    registered_to: Annotated[AwareDatetime | None, Query()] = None,
    concluded_from: Annotated[AwareDatetime | None, Query()] = None,
    concluded_to: Annotated[AwareDatetime | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=100, description="text in the summary")] = None,
    id_number: Annotated[
        str | None,
        Query(
            max_length=18,
            pattern=r"^[0-9]{17}[0-9Xx]$",
            description="cases with a party of this ID number (matched by keyed HMAC; never stored or logged)",
        ),
    ] = None,
    phone: Annotated[
        str | None,
        Query(
            max_length=20,
            pattern=r"^[0-9+\- ]+$",
            description="cases with a party of this phone number (matched by keyed HMAC; never stored or logged)",
        ),
    ] = None,
    sort: Annotated[Literal["registered_desc", "registered_asc", "due_asc"], Query()] = "registered_desc",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CasePage:
    """The case list from its view: filters, stable cursor pages, sorted by registration or deadline."""
    scope = Scope(list_scope(actor))
    services.await_views(at, ("cases",))
    if status and not set(status) <= set(Status.LABELS):
        raise InvalidCommand(f"status must be among: {', '.join(Status.LABELS)}", field="status")
    filters = CaseFilter(
        status=status or (),
        risk_color=risk_color or (),
        category=category or (),
        channel=channel or (),
        township=township,
        village=village,
        grid=grid,
        handler=handler,
        unit=unit,
        overdue=overdue,
        registered_from=registered_from,
        registered_to=registered_to,
        concluded_from=concluded_from,
        concluded_to=concluded_to,
        text=q,
        party_tokens=lookup_tokens(services.ledger, id_number=id_number, phone=phone),
    )
    position = services.views.positions().get("cases", 0)
    try:
        page = services.queries.list_cases(
            scope, filters, now=services.ledger.clock(), sort=sort, limit=limit, cursor=cursor
        )
    except ValueError as exc:
        raise InvalidCommand(str(exc), field="cursor") from None
    return case_page(page.items, page.next_cursor, position)


@router.get("/{case_id}", response_model=CaseOut, dependencies=[ReadLogged])
def read_case(
    case_id: UUID,
    ledger: LedgerDep,
    actor: ActorDep,
    as_of: Annotated[AwareDatetime | None, Query(description="the case as it stood at this time")] = None,
) -> CaseOut:
    """The case's current state and every deadline, derived from its events (or as of a past time)."""
    view = ledger.view_case(case_id, actor, as_of)
    parties = reveal(ledger, case_id, view.case.parties.values(), view.erased_parties)
    return case_out(view, actor, ledger.organisation, parties)


@router.get("/{case_id}/events", response_model=list[EventOut], dependencies=[ReadLogged])
def read_events(case_id: UUID, ledger: LedgerDep, actor: ActorDep, services: ServicesDep) -> list[EventOut]:
    """The audit trail from its view: every event of the case in order, with its ledger position."""
    case = ledger.get_case(case_id)
    ledger.authorize_case_read(actor, case)
    services.await_views(ledger.position_of(case_id, case.version), ("audit",))
    # Decrypted once: the registration lists the parties, and any event's text may refer to them.
    parties = reveal(ledger, case_id, case.parties.values(), case.erased_parties)
    return [
        event_out({**entry, "data": audit_data(ledger.mapper, entry)}, actor, parties)
        for entry in services.queries.audit_trail(str(case_id))
    ]


@router.get("/{case_id}/evaluation", response_model=EvaluationOut, dependencies=[ReadLogged])
def read_evaluation(
    case_id: UUID,
    ledger: LedgerDep,
    actor: ActorDep,
    services: ServicesDep,
    policy: Annotated[str | None, Query(max_length=64, description="re-score under another policy (what if)")] = None,
) -> EvaluationOut:
    """一事一考评: the score with each contribution and the ledger positions behind it."""
    case = ledger.get_case(case_id)
    ledger.authorize_case_read(actor, case)
    services.await_views(ledger.position_of(case_id, case.version), ("cases", "audit"))
    positions = services.queries.positions_of(str(case_id))
    if policy is not None:
        chosen = policy_named(ledger.policy_adoptions(), policy)
        if chosen is None:
            raise NotFound(f"no scoring policy named '{policy}'", field="policy")
        evaluation = evaluate(case, ledger.calendar(), chosen)
        if evaluation is None:
            raise InvalidTransition("evaluate", case.status, "the case is not concluded, so it has no score yet")
        return evaluation_out(str(case_id), evaluation.as_dict(positions), recorded=False)
    row = services.queries.evaluation(str(case_id))
    if row is None:
        raise InvalidTransition("evaluate", case.status, "the case is not concluded, so it has no score yet")
    return evaluation_out(str(case_id), row["evaluation"], recorded=True, positions=positions)


@router.post("/{case_id}/grading", response_model=CommandReply)
def grade(case_id: UUID, body: s.Grade, ledger: LedgerDep, caller: CallerDep) -> Response:
    """研判: re-grade risk color and difficulty."""
    return reply(ledger.grade(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/dispatch", response_model=CommandReply)
def dispatch(case_id: UUID, body: s.Dispatch, ledger: LedgerDep, caller: CallerDep) -> Response:
    """派单: send the case to a village or department."""
    return reply(ledger.dispatch(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/accept", response_model=CommandReply)
def accept(case_id: UUID, body: s.Accept, ledger: LedgerDep, caller: CallerDep) -> Response:
    """接单: the unit takes the case."""
    return reply(ledger.accept(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/return", response_model=CommandReply)
def return_case(case_id: UUID, body: s.Return, ledger: LedgerDep, caller: CallerDep) -> Response:
    """退单: send the case back to dispatch, with a reason."""
    return reply(ledger.return_case(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/assign", response_model=CommandReply)
def assign(case_id: UUID, body: s.Assign, ledger: LedgerDep, caller: CallerDep) -> Response:
    """Name the handler: a grid worker or a qualified mediator."""
    return reply(ledger.assign(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/progress", response_model=CommandReply)
def progress(case_id: UUID, body: s.Progress, ledger: LedgerDep, caller: CallerDep) -> Response:
    """做单: record handling progress."""
    return reply(ledger.record_progress(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/escalation", response_model=CommandReply)
def escalate(case_id: UUID, body: s.Escalate, ledger: LedgerDep, caller: CallerDep) -> Response:
    """吹哨 / 联席会 / mediation committee."""
    return reply(ledger.escalate(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/transfer", response_model=CommandReply)
def transfer(case_id: UUID, body: s.Transfer, ledger: LedgerDep, caller: CallerDep) -> Response:
    """转办单: hand the case to another unit."""
    return reply(ledger.transfer(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/extension", response_model=CommandReply)
def extend(case_id: UUID, body: s.Extend, ledger: LedgerDep, caller: CallerDep) -> Response:
    """Extend the resolution deadline (township approval)."""
    return reply(ledger.extend_deadline(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/conclusion", response_model=CommandReply)
def conclude(case_id: UUID, body: s.Conclude, ledger: LedgerDep, caller: CallerDep) -> Response:
    """办结: the handler concludes the case."""
    return reply(ledger.conclude(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/ratings", response_model=CommandReply)
def rate(case_id: UUID, body: s.Rate, ledger: LedgerDep, caller: CallerDep) -> Response:
    """评单: a party's satisfaction (never collected by the handler)."""
    return reply(ledger.rate(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/review", response_model=CommandReply)
def review(case_id: UUID, body: s.Review, ledger: LedgerDep, caller: CallerDep) -> Response:
    """复核: close (销项) or order rectification (督促整改)."""
    return reply(ledger.complete_review(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/reopen", response_model=CommandReply)
def reopen(case_id: UUID, body: s.Reopen, ledger: LedgerDep, caller: CallerDep) -> Response:
    """Reopen after a dissatisfied rating."""
    return reply(ledger.reopen(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/performance", response_model=CommandReply)
def performance(case_id: UUID, body: s.PerformanceIn, ledger: LedgerDep, caller: CallerDep) -> Response:
    """履行情况 of the agreement."""
    return reply(ledger.record_performance(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/follow-up", response_model=CommandReply)
def follow_up(case_id: UUID, body: s.FollowUp, ledger: LedgerDep, caller: CallerDep) -> Response:
    """回访."""
    return reply(ledger.follow_up(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/corrections", response_model=CommandReply)
def correct(case_id: UUID, body: s.Correction, ledger: LedgerDep, caller: CallerDep) -> Response:
    """更正: a correcting entry naming the position it corrects."""
    return reply(ledger.correct(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/judicial-confirmation", response_model=CommandReply)
def judicial_confirmation(
    case_id: UUID, body: s.ConfirmationApplication, ledger: LedgerDep, caller: CallerDep
) -> Response:
    """司法确认: joint application within 30 days of the agreement taking effect."""
    return reply(ledger.apply_for_confirmation(case_id, caller, **body.model_dump()))


@router.post("/{case_id}/payment-order", response_model=CommandReply)
def payment_order(case_id: UUID, body: s.PaymentOrder, ledger: LedgerDep, caller: CallerDep) -> Response:
    """支付令: the creditor applies on a monetary agreement."""
    return reply(ledger.apply_for_payment_order(case_id, caller, **body.model_dump()))
