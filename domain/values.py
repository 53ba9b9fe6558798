"""Value objects of the dispute-resolution domain.

Enumerations are ``StrEnum`` so that events store their plain codes (``"hotline_12345"``)
and stay readable in the ledger; the Chinese labels are for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """来源: how a dispute reached the center."""

    GRID_PATROL = "grid_patrol"
    VISIT = "visit"
    LETTER = "letter"
    HOTLINE_12345 = "hotline_12345"
    PETITION_REFERRAL = "petition_referral"
    DEPARTMENT_TRANSFER = "department_transfer"
    ONLINE = "online"
    POLICE_REFERRAL = "police_referral"
    COURT_REFERRAL = "court_referral"


CHANNEL_LABELS = {
    Channel.GRID_PATROL: "网格排查",
    Channel.VISIT: "来访",
    Channel.LETTER: "来信",
    Channel.HOTLINE_12345: "12345热线",
    Channel.PETITION_REFERRAL: "信访交办",
    Channel.DEPARTMENT_TRANSFER: "部门移交",
    Channel.ONLINE: "网上申请",
    Channel.POLICE_REFERRAL: "警民联调",
    Channel.COURT_REFERRAL: "诉前委派",
}


class Category(StrEnum):
    """纠纷类别."""

    MARRIAGE_FAMILY = "marriage_family"
    NEIGHBOUR = "neighbour"
    LAND = "land"
    LABOUR_WAGE = "labour_wage"
    PROPERTY_MANAGEMENT = "property_management"
    TRAFFIC = "traffic"
    MEDICAL = "medical"
    ENVIRONMENT = "environment"
    CONSUMER = "consumer"
    CONTRACT_DEBT = "contract_debt"
    OTHER = "other"


CATEGORY_LABELS = {
    Category.MARRIAGE_FAMILY: "婚姻家庭",
    Category.NEIGHBOUR: "邻里",
    Category.LAND: "土地山林",
    Category.LABOUR_WAGE: "劳动欠薪",
    Category.PROPERTY_MANAGEMENT: "物业",
    Category.TRAFFIC: "交通事故",
    Category.MEDICAL: "医疗",
    Category.ENVIRONMENT: "环境",
    Category.CONSUMER: "消费",
    Category.CONTRACT_DEBT: "合同债务",
    Category.OTHER: "其他",
}


class RiskColor(StrEnum):
    """红黄绿三色 risk grading."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


class Difficulty(StrEnum):
    """Difficulty decides the resolution period (简易/一般/复杂)."""

    SIMPLE = "simple"
    ORDINARY = "ordinary"
    COMPLEX = "complex"


class Role(StrEnum):
    """Roles of SPEC §9."""

    GRID_WORKER = "grid_worker"
    UNIT = "unit"
    MEDIATOR = "mediator"
    TOWNSHIP_CENTER = "township_center"
    COUNTY_CENTER = "county_center"
    COURT = "court"
    OVERSIGHT = "oversight"
    IMPORTER = "importer"
    ADMIN = "admin"


class Outcome(StrEnum):
    """办结 outcome."""

    RESOLVED = "resolved"
    PARTIALLY_RESOLVED = "partially_resolved"
    UNRESOLVED_REFERRED = "unresolved_referred"


class Satisfaction(StrEnum):
    """评单: 满意 / 一般 / 不满意."""

    SATISFIED = "satisfied"
    NEUTRAL = "neutral"
    DISSATISFIED = "dissatisfied"


class RatingMethod(StrEnum):
    """How a satisfaction rating was collected."""

    PHONE = "phone"
    VISIT = "visit"
    ONLINE = "online"


class ReviewResult(StrEnum):
    """复核 result: verified and closed (销项) or rectification ordered (督促整改)."""

    VERIFIED = "verified"
    RECTIFICATION = "rectification"


class Performance(StrEnum):
    """履行情况 of an agreement."""

    PERFORMED = "performed"
    PARTLY = "partly"
    NOT_PERFORMED = "not_performed"


class EscalationKind(StrEnum):
    """吹哨 (whistle to departments), 联席会 (joint meeting) or a mediation committee discussion."""

    WHISTLE = "whistle"
    JOINT_MEETING = "joint_meeting"
    MEDIATION_COMMITTEE = "mediation_committee"


class FailureAdvice(StrEnum):
    """The route advised when mediation fails (People's Mediation Law Art. 26)."""

    LITIGATION = "litigation"
    ARBITRATION = "arbitration"
    ADMINISTRATIVE = "administrative"


class ChoiceMethod(StrEnum):
    """How the parties applied to choose their mediator (书面/现场/网络)."""

    WRITTEN = "written"
    ON_SITE = "on_site"
    ONLINE = "online"


class ProposalResponse(StrEnum):
    """A party's answer to a mediation proposal."""

    ACCEPTED = "accepted"
    OBJECTED = "objected"


class Ruling(StrEnum):
    """A court's judicial-confirmation ruling."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class ComplaintGround(StrEnum):
    """Statutory grounds of mediator misconduct (People's Mediation Law Art. 15)."""

    PARTIALITY = "partiality"
    INSULT = "insult"
    BRIBERY = "bribery"
    LEAKING_SECRETS = "leaking_secrets"
    OTHER = "other"


def jurisdiction_contains(outer: str, inner: str) -> bool:
    """Whether jurisdiction path ``inner`` lies within ``outer`` (paths are ``/``-joined codes)."""
    return inner == outer or inner.startswith(outer + "/")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: user id, role and unit, plus the jurisdiction they act in."""

    user_id: str
    role: str
    unit: str
    jurisdiction: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "user_id": self.user_id,
            "role": self.role,
            "unit": self.unit,
            "jurisdiction": self.jurisdiction,
        }


# The personal fields of a party: sealed at rest, masked by role on display (SPEC §6, §10).
PERSONAL_FIELDS = ("name", "phone", "id_number", "address")
# Free text names a party's personal data only by reference, "⟦p1.name⟧": the application
# puts the references in when a command is recorded and shows each reader what it may see.
# The two brackets are therefore refused in any text a command brings.
REFERENCE_BRACKETS = ("⟦", "⟧")


@dataclass(frozen=True, slots=True)
class Party:
    """A party to a dispute. Personal fields are held so they can be masked and encrypted.

    Inside recorded events the personal fields are sealed (opaque text the application
    layer made) and ``id_number_hmac`` / ``phone_hmac`` are keyed lookup tokens; the
    domain only checks them before sealing and compares party ids after.
    """

    party_id: str
    name: str
    kind: str = "applicant"
    phone: str = ""
    id_number: str = ""
    address: str = ""
    id_number_hmac: str = ""
    phone_hmac: str = ""

    def as_dict(self) -> dict[str, str]:
        data = {
            "party_id": self.party_id,
            "name": self.name,
            "kind": self.kind,
            "phone": self.phone,
            "id_number": self.id_number,
            "address": self.address,
        }
        # Only when present: a party without tokens encodes exactly as before they existed.
        if self.id_number_hmac:
            data["id_number_hmac"] = self.id_number_hmac
        if self.phone_hmac:
            data["phone_hmac"] = self.phone_hmac
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Party:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """人民调解协议: terms, money owed (in yuan, as a string decimal) and performance deadline."""

    terms: str
    amount: str = "0"
    debtor_party_id: str = ""
    creditor_party_id: str = ""
    performance_due: str = ""
    effective_on: str = ""
    signatories: tuple[str, ...] = field(default_factory=tuple)
