"""How a case and its audit trail are shown: state, deadlines, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from application.ledger import CaseView
from application.privacy import RevealedParty, render_all, shown_values
from domain.calendar import CHINA_TZ
from domain.case import Status
from domain.case_deadlines import CaseDeadline, is_overdue
from domain.org import Organisation
from domain.values import CATEGORY_LABELS, CHANNEL_LABELS, Actor, Category, Channel, Role

# Roles that work the case with the parties and so see their contact data in full.
FULL_CONTACT_ROLES = frozenset({Role.GRID_WORKER, Role.UNIT, Role.MEDIATOR, Role.TOWNSHIP_CENTER, Role.IMPORTER})


def cst(moment: datetime) -> str:
    """Times are shown in China Standard Time, the clock the deadlines are counted on."""
    return moment.astimezone(CHINA_TZ).isoformat()


def mask_digits(value: str, keep_start: int, keep_end: int) -> str:
    """``13800138000`` → ``138****8000``; short values are masked whole."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    tail = value[len(value) - keep_end :]
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + tail


class PartyOut(BaseModel):
    """A party as the reader may see it: decrypted, then masked by role."""

    party_id: str
    name: str
    kind: str
    phone: str
    id_number: str
    address: str
    masked: bool
    erased: bool = Field(False, description="The party's data was erased (its key destroyed): fields read [已删除]")
    damaged: list[str] = Field(
        default_factory=list,
        description="Fields whose stored ciphertext fails authentication (altered, swapped or moved): read [已损坏]",
    )


class PeriodOut(BaseModel):
    days: int
    clock: str = Field(description="working_days or calendar_days")
    label: str = Field(examples=["1个工作日"])


class DeadlineOut(BaseModel):
    kind: str = Field(examples=["dispatch"])
    label: str = Field(examples=["派单时限"])
    ref: str = ""
    round: int
    period: PeriodOut
    started_at: str
    due_at: str = Field(description="24:00 China Standard Time of the last day, as the next day's 00:00+08:00")
    original_due_at: str | None = Field(None, description="Before an approved extension")
    provisional: bool = Field(description="True while the due day lies in a year whose schedule is not loaded")
    done_at: str | None
    done_position: int | None
    status: str = Field(description="met, missed, open, or lapsed (an optional window left unused)")


class HandlerOut(BaseModel):
    id: str
    kind: str
    name: str


class CaseOut(BaseModel):
    """The current state of a case, derived from its events."""

    case_id: str
    version: int
    status: str
    status_label: str
    channel: str
    channel_label: str
    category: str
    category_label: str
    summary: str = Field(description="Free text here and below shows each party as the parties block does")
    external_ref: str
    jurisdiction: str
    jurisdiction_names: list[str]
    parties: list[PartyOut]
    risk_color: str
    difficulty: str
    county_flagged: bool
    unit: str
    accepted_unit: str
    handler: HandlerOut | None
    mediator_id: str
    round: int
    registered_at: str
    registered_by: dict[str, str]
    imported: bool
    mediation: dict[str, Any]
    escalations: list[dict[str, str]]
    transfers: list[dict[str, str]]
    conclusion: dict[str, Any] | None
    ratings: list[dict[str, Any]]
    review: dict[str, Any] | None
    reopenings: list[dict[str, Any]]
    performance: str | None
    follow_ups: int
    confirmations: list[dict[str, Any]]
    payment_orders: int
    corrections: list[int]
    erasures: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Erasures of parties' data: pending (requested, awaiting a second official) or done",
    )
    overdue: bool
    deadlines: list[DeadlineOut]
    calendar_years: list[int] = Field(description="Years whose official schedule is loaded")


class EventOut(BaseModel):
    """One entry of the audit trail."""

    position: int = Field(description="The entry's position in the ledger (global, gapless order of recording)")
    version: int = Field(description="The entry's version within the case (the position a correction names)")
    type: str = Field(examples=["CaseRegistered"])
    actor: dict[str, str]
    occurred_at: str
    recorded_at: str
    request_id: str
    imported: bool
    data: dict[str, Any]


def party_out(party: RevealedParty, reader: Actor, *, full: bool | None = None) -> PartyOut:
    """A decrypted party as ``reader`` may see it: in full for the roles that work with the parties.

    Others see the surname, the first 3 and last 4 digits of a phone, the first 4 and last
    4 characters of an ID number, and no address. Markers (erased, damaged) show as they are.
    """
    full = reader.role in FULL_CONTACT_ROLES if full is None else full

    def shown(field: str, value: str, keep_start: int, keep_end: int) -> str:
        if full or party.is_marker(field):
            return value
        return mask_digits(value, keep_start, keep_end)

    return PartyOut(
        party_id=party.party_id,
        name=shown("name", party.name, 1, 0),
        kind=party.kind,
        phone=shown("phone", party.phone, 3, 4),
        id_number=shown("id_number", party.id_number, 4, 4),
        address=party.address if full or party.is_marker("address") else "",
        masked=not full,
        erased=party.erased,
        damaged=list(party.damaged),
    )


def erasures_out(case: Any) -> list[dict[str, Any]]:
    """Pending and completed erasures of the case's parties (who asked, who approved)."""
    pending = [
        {
            "party_id": r["party_id"],
            "status": "pending",
            "requested_by": r["requested_by"],
            "requested_version": r["requested_version"],
            "reason": r["reason"],
        }
        for r in case.erasure_requests.values()
    ]
    done = [{**r, "status": "erased"} for r in case.erased_parties.values()]
    return pending + done


def deadline_out(d: CaseDeadline) -> DeadlineOut:
    return DeadlineOut(
        kind=d.kind,
        label=d.label,
        ref=d.ref,
        round=d.round,
        period=PeriodOut(days=d.period.days, clock=str(d.period.clock), label=d.period.label),
        started_at=cst(d.started_at),
        due_at=cst(d.due_at),
        original_due_at=cst(d.original_due_at) if d.original_due_at else None,
        provisional=d.provisional,
        done_at=cst(d.done_at) if d.done_at else None,
        done_position=d.done_position,
        status=d.status,
    )


def case_out(view: CaseView, reader: Actor, organisation: Organisation, parties: list[RevealedParty]) -> CaseOut:
    """The case document shown to ``reader``, with its ``parties`` as decrypted for this read."""
    case = view.case
    proposals = []
    for proposal_id, proposal in case.proposals.items():
        window = next(d for d in view.deadlines if d.kind == "proposal_objection" and d.ref == proposal_id)
        objected = "objected" in proposal["responses"].values()
        proposals.append(
            {
                "proposal_id": proposal_id,
                "responses": proposal["responses"],
                "objection_due_at": cst(window.due_at),
                "deemed_accepted": not objected and window.status == "lapsed",
            }
        )
    confirmations = [
        {
            "confirmation_id": cid,
            "court": c["court"],
            "status": c["status"],
            "ruling_number": c["ruling_number"],
            "applied_position": c["applied"],
        }
        for cid, c in case.confirmations.items()
    ]
    handler = (
        HandlerOut(id=case.handler_id, kind=case.handler_kind, name=case.handler_name) if case.handler_id else None
    )
    shown = [party_out(p, reader) for p in parties]
    fields = dict(
        case_id=str(case.id),
        version=case.version,
        status=case.status,
        status_label=Status.LABELS[case.status],
        channel=case.channel,
        channel_label=CHANNEL_LABELS[Channel(case.channel)],
        category=case.category,
        category_label=CATEGORY_LABELS[Category(case.category)],
        summary=case.summary,
        external_ref=case.external_ref,
        jurisdiction=case.jurisdiction,
        jurisdiction_names=organisation.place_names(case.jurisdiction),
        parties=shown,
        risk_color=case.risk_color,
        difficulty=case.difficulty,
        county_flagged=case.county_flagged,
        unit=case.unit,
        accepted_unit=case.accepted_unit,
        handler=handler,
        mediator_id=case.mediator_id,
        round=case.round,
        registered_at=cst(case.times[1]),
        registered_by=case.registered_by.as_dict(),
        imported=case.imported,
        mediation={
            "rights_notified": case.rights_notified,
            "sessions": case.sessions,
            "appraisals": case.appraisals,
            "undisputed_facts_positions": case.undisputed_facts,
            "proposals": proposals,
            "agreement": case.agreement,
            "failure": case.mediation_failure,
        },
        escalations=case.escalations,
        transfers=case.transfers,
        conclusion=case.conclusion,
        ratings=[{k: v for k, v in r.items() if k != "rater"} for r in case.ratings],
        review=case.review,
        reopenings=case.reopenings,
        performance=case.performance,
        follow_ups=case.follow_ups,
        confirmations=confirmations,
        payment_orders=len(case.payment_orders),
        corrections=case.corrections,
        erasures=erasures_out(case),
        overdue=is_overdue(view.deadlines),
        deadlines=[deadline_out(d) for d in view.deadlines],
        calendar_years=list(view.calendar_years),
    )
    # Free text refers to the parties: each reference shows what this reader sees of them.
    return CaseOut(**render_all(fields, shown_values(shown)))


def event_out(entry: dict[str, Any], reader: Actor, parties: list[RevealedParty] | None = None) -> EventOut:
    """An audit-trail row as the reader may see it: the case's ``parties`` decrypted for this
    read and masked by role, shown where the data lists them and where its text refers to them.

    The stored data's sealed parties are never shown: without ``parties`` they are left out.
    """
    shown = [party_out(p, reader) for p in parties or []]
    data = render_all(dict(entry["data"]), shown_values(shown))
    if "parties" in data:
        data["parties"] = [party.model_dump() for party in shown]
    return EventOut(
        position=entry["position"],
        version=entry["version"],
        type=entry["type"],
        actor=entry["actor"],
        occurred_at=cst(datetime.fromisoformat(entry["occurred_at"])),
        recorded_at=cst(datetime.fromisoformat(entry["recorded_at"])),
        request_id=entry["request_id"],
        imported=entry["imported"],
        data=data,
    )
