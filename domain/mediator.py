"""The ``Mediator`` aggregate: registration, qualification, complaints and findings.

Three valid complaints within twelve months end the qualification (a local rule on top of
People's Mediation Law Art. 15, so the numbers are policy data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidCommand, InvalidTransition
from domain.provenance import Provenance
from domain.values import Actor, ComplaintGround


@dataclass(frozen=True)
class ComplaintPolicy:
    """How many valid complaints, within how long, end a qualification."""

    valid_complaints_limit: int = 3
    window: timedelta = timedelta(days=365)


DEFAULT_COMPLAINT_POLICY = ComplaintPolicy()

ORGANISATION_KINDS = {
    "people_mediation_committee": "人民调解委员会",
    "traffic_mediation_committee": "交通事故纠纷人民调解委员会",
    "environment_mediation_committee": "环境纠纷人民调解委员会",
    "medical_mediation_committee": "医疗纠纷人民调解委员会",
    "labour_mediation_committee": "劳动争议调解委员会",
    "other": "其他调解组织",
}


class Mediator(Aggregate):
    """A people's mediator (人民调解员)."""

    class Event(Aggregate.Event):
        actor: Actor
        occurred_at: datetime
        request_id: str
        imported: bool

        def apply(self, aggregate: Any) -> None:
            self.evolve(aggregate)

        def evolve(self, mediator: Mediator) -> None:
            """What this event changes (overridden per event)."""

    class Registered(Event, Aggregate.Created):
        name: str
        user_id: str
        organisation: str
        organisation_kind: str
        specialties: list[str]
        jurisdiction: str

        def evolve(self, mediator: Mediator) -> None:
            mediator.name = self.name
            mediator.user_id = self.user_id
            mediator.organisation = self.organisation
            mediator.organisation_kind = self.organisation_kind
            mediator.specialties = list(self.specialties)
            mediator.jurisdiction = self.jurisdiction
            mediator.qualified = False
            mediator.complaints = {}

    class Qualified(Event):
        examination: str
        certificate_no: str

        def evolve(self, mediator: Mediator) -> None:
            mediator.qualified = True

    class ComplaintLodged(Event):
        complaint_id: str
        ground: str
        description: str
        case_id: str

        def evolve(self, mediator: Mediator) -> None:
            mediator.complaints[self.complaint_id] = {
                "lodged_at": self.occurred_at,
                "ground": self.ground,
                "valid": None,
            }

    class ComplaintFound(Event):
        complaint_id: str
        valid: bool
        finding: str

        def evolve(self, mediator: Mediator) -> None:
            mediator.complaints[self.complaint_id]["valid"] = self.valid

    class QualificationEnded(Event):
        reason: str
        complaint_ids: list[str]

        def evolve(self, mediator: Mediator) -> None:
            mediator.qualified = False

    name: str
    user_id: str
    organisation: str
    organisation_kind: str
    specialties: list[str]
    jurisdiction: str
    qualified: bool
    complaints: dict[str, dict[str, Any]]

    def __init__(self) -> None:
        """State is set by the events' ``apply`` methods, so replay and commands agree."""

    @classmethod
    def register(
        cls,
        mediator_id: UUID,
        p: Provenance,
        *,
        name: str,
        user_id: str,
        organisation: str,
        organisation_kind: str,
        specialties: list[str],
        jurisdiction: str,
    ) -> Mediator:
        """Register a mediator with their organisation (人民调解委员会, 交调委, 环调委 …)."""
        if not name.strip() or not user_id.strip() or not organisation.strip():
            raise InvalidCommand("name, user_id and organisation are required", field="name")
        if organisation_kind not in ORGANISATION_KINDS:
            raise InvalidCommand(
                f"organisation_kind must be one of: {', '.join(ORGANISATION_KINDS)}",
                field="organisation_kind",
            )
        return cls._create(
            cls.Registered,
            id=mediator_id,
            **p.event_fields(),
            name=name.strip(),
            user_id=user_id.strip(),
            organisation=organisation.strip(),
            organisation_kind=organisation_kind,
            specialties=[s.strip() for s in specialties if s.strip()],
            jurisdiction=jurisdiction,
        )

    def qualify(self, p: Provenance, *, examination: str, certificate_no: str) -> None:
        """Qualified after the joint examination (联合考核)."""
        if self.qualified:
            raise InvalidTransition("qualify", "qualified", "the mediator is already qualified")
        if not examination.strip():
            raise InvalidCommand("examination must name the joint examination", field="examination")
        self.trigger_event(
            self.Qualified, **p.event_fields(), examination=examination.strip(), certificate_no=certificate_no.strip()
        )

    def lodge_complaint(
        self, p: Provenance, *, complaint_id: str, ground: str, description: str, case_id: str = ""
    ) -> None:
        """A complaint against the mediator, on a statutory ground."""
        if complaint_id in self.complaints:
            raise InvalidCommand("complaint_id already used", field="complaint_id")
        try:
            ground = ComplaintGround(ground).value
        except ValueError:
            raise InvalidCommand(
                f"ground must be one of: {', '.join(g.value for g in ComplaintGround)}", field="ground"
            ) from None
        if not description.strip():
            raise InvalidCommand("description must not be empty", field="description")
        self.trigger_event(
            self.ComplaintLodged,
            **p.event_fields(),
            complaint_id=complaint_id,
            ground=ground,
            description=description.strip(),
            case_id=case_id,
        )

    def find_complaint(
        self,
        p: Provenance,
        *,
        complaint_id: str,
        valid: bool,
        finding: str,
        policy: ComplaintPolicy = DEFAULT_COMPLAINT_POLICY,
    ) -> None:
        """Find a complaint valid or invalid; the limit of valid ones ends the qualification."""
        complaint = self.complaints.get(complaint_id)
        if complaint is None:
            raise InvalidCommand("unknown complaint", field="complaint_id")
        if complaint["valid"] is not None:
            raise InvalidTransition("find", "found", "this complaint already has a finding")
        if not finding.strip():
            raise InvalidCommand("finding must give the reasons", field="finding")
        self.trigger_event(
            self.ComplaintFound, **p.event_fields(), complaint_id=complaint_id, valid=valid, finding=finding.strip()
        )
        cluster = self.valid_complaints_cluster(policy)
        if self.qualified and cluster:
            self.trigger_event(
                self.QualificationEnded,
                **p.event_fields(),
                reason=f"{len(cluster)} valid complaints lodged within {policy.window.days} days",
                complaint_ids=cluster,
            )

    def valid_complaints_cluster(self, policy: ComplaintPolicy) -> list[str]:
        """The first run of ``limit`` valid complaints lodged within one window, if any.

        "Three within twelve months" is any twelve months, not the twelve before the
        finding: findings take time, and a late finding must not excuse the complaints.
        """
        valid = sorted((c["lodged_at"], cid) for cid, c in self.complaints.items() if c["valid"])
        n = policy.valid_complaints_limit
        for i in range(len(valid) - n + 1):
            if valid[i + n - 1][0] - valid[i][0] < policy.window:
                return [cid for _, cid in valid[i : i + n]]
        return []
