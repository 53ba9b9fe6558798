"""Which roles may issue which command (SPEC §2 "who" column, SPEC §9).

Deny by default: a command missing from this table is allowed to no one. The importer
may replay any case step from paper records (its events are marked imported); oversight
and admin write no case data.
"""

from __future__ import annotations

from domain.errors import NotPermitted
from domain.values import Actor, Role, jurisdiction_contains

R = Role
_HANDLING = frozenset({R.GRID_WORKER, R.MEDIATOR, R.UNIT, R.TOWNSHIP_CENTER})
_MEDIATION = frozenset({R.MEDIATOR, R.UNIT, R.TOWNSHIP_CENTER})

COMMAND_ROLES: dict[str, frozenset[str]] = {
    "register": frozenset({R.GRID_WORKER, R.UNIT, R.TOWNSHIP_CENTER, R.COUNTY_CENTER}),
    "grade": frozenset({R.TOWNSHIP_CENTER, R.COUNTY_CENTER}),
    "dispatch": frozenset({R.TOWNSHIP_CENTER, R.UNIT}),
    "accept": frozenset({R.UNIT, R.TOWNSHIP_CENTER}),
    "return": frozenset({R.UNIT, R.TOWNSHIP_CENTER}),
    "assign": frozenset({R.UNIT, R.TOWNSHIP_CENTER}),
    "progress": _HANDLING,
    "escalate": _HANDLING,
    "transfer": frozenset({R.UNIT, R.TOWNSHIP_CENTER}),
    "extend": frozenset({R.TOWNSHIP_CENTER}),
    "choose_mediator": _MEDIATION,
    "notify_rights": _MEDIATION,
    "appraisal": _MEDIATION,
    "session": _MEDIATION,
    "undisputed_facts": _MEDIATION,
    "proposal": _MEDIATION,
    "proposal_response": _MEDIATION,
    "agreement": _MEDIATION,
    "failure": _MEDIATION,
    "conclude": frozenset({R.GRID_WORKER, R.MEDIATOR, R.UNIT, R.TOWNSHIP_CENTER}),
    "rate": frozenset({R.TOWNSHIP_CENTER, R.UNIT}),
    "review": frozenset({R.TOWNSHIP_CENTER}),
    "reopen": frozenset({R.TOWNSHIP_CENTER}),
    "performance": _MEDIATION,
    "follow_up": frozenset({R.TOWNSHIP_CENTER, R.UNIT}),
    "correct": frozenset({R.TOWNSHIP_CENTER, R.COUNTY_CENTER}),
    "judicial_confirmation": _MEDIATION,
    "payment_order": _MEDIATION,
    "ruling": frozenset({R.COURT}),
    "register_mediator": frozenset({R.TOWNSHIP_CENTER, R.COUNTY_CENTER}),
    "qualify_mediator": frozenset({R.COUNTY_CENTER}),
    "lodge_complaint": frozenset({R.UNIT, R.TOWNSHIP_CENTER, R.COUNTY_CENTER}),
    "find_complaint": frozenset({R.COUNTY_CENTER}),
    "load_calendar": frozenset({R.ADMIN}),
    "adopt_policy": frozenset({R.COUNTY_CENTER}),
    # Erasure of a party's personal data: requested by one official, approved by another.
    "request_erasure": frozenset({R.TOWNSHIP_CENTER, R.COUNTY_CENTER}),
    "approve_erasure": frozenset({R.TOWNSHIP_CENTER, R.COUNTY_CENTER}),
}

# Steps of a case that an importer may bring in from paper records (an erasure is none).
IMPORTABLE = frozenset(COMMAND_ROLES) - {"load_calendar", "adopt_policy", "request_erasure", "approve_erasure"}

# Roles that read case data; everyone else gets 403 on case reads.
CASE_READERS = frozenset(
    {R.GRID_WORKER, R.UNIT, R.MEDIATOR, R.TOWNSHIP_CENTER, R.COUNTY_CENTER, R.COURT, R.OVERSIGHT, R.IMPORTER}
)


def authorize(actor: Actor, command: str) -> None:
    """Refuse a command the actor's role may not issue."""
    allowed = COMMAND_ROLES.get(command, frozenset())
    if actor.role in allowed or (actor.role == R.IMPORTER and command in IMPORTABLE):
        return
    raise NotPermitted(f"role '{actor.role}' may not {command.replace('_', ' ')}", command=command)


def authorize_place(actor: Actor, jurisdiction: str) -> None:
    """Refuse acting on a case outside the actor's jurisdiction."""
    if actor.role == R.OVERSIGHT:
        return
    if not jurisdiction_contains(actor.jurisdiction, jurisdiction):
        raise NotPermitted("the case lies outside your jurisdiction", jurisdiction=jurisdiction)


def authorize_read(actor: Actor, jurisdiction: str) -> None:
    """Refuse reading a case outside the reader's role or jurisdiction."""
    if actor.role not in CASE_READERS:
        raise NotPermitted(f"role '{actor.role}' may not read case data")
    authorize_place(actor, jurisdiction)


def list_scope(actor: Actor) -> str | None:
    """The jurisdiction a reader's lists and figures are limited to (``None``: everything).

    Courts read only the confirmation records addressed to them, never case lists.
    """
    if actor.role not in CASE_READERS or actor.role == R.COURT:
        raise NotPermitted(f"role '{actor.role}' may not read case lists or figures")
    if actor.role == R.OVERSIGHT:
        return None
    return actor.jurisdiction
