"""Mediator bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import Command
from domain.values import ComplaintGround


class RegisterMediator(Command):
    """Register a mediator with their organisation."""

    name: str = Field(min_length=1, max_length=100, examples=["王调解"])
    user_id: str = Field(min_length=1, max_length=100, examples=["med-001"])
    organisation: str = Field(min_length=1, max_length=200, examples=["城关镇人民调解委员会"])
    organisation_kind: str = Field(examples=["people_mediation_committee"])
    specialties: list[str] = Field(default_factory=list, max_length=20)
    jurisdiction: str = Field(min_length=1, max_length=300, examples=["qingxi/chengguan"])


class Qualify(Command):
    """Qualified after joint examination."""

    examination: str = Field(min_length=1, max_length=200, examples=["2026年度人民调解员联合考核"])
    certificate_no: str = Field("", max_length=100)


class Complaint(Command):
    """A complaint against a mediator."""

    ground: ComplaintGround
    description: str = Field(min_length=1, max_length=4000)
    case_id: str = Field("", max_length=64)


class Finding(Command):
    """Finding on a complaint."""

    valid: bool
    finding: str = Field(min_length=1, max_length=4000)


class MediatorOut(BaseModel):
    mediator_id: str
    version: int
    name: str
    user_id: str
    organisation: str
    organisation_kind: str
    specialties: list[str]
    jurisdiction: str
    qualified: bool
    complaints: list[dict[str, Any]]
