"""Bodies shared by every area: the command reply and the problem document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Command(BaseModel):
    """Base of every command body: unknown fields are refused rather than ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    occurred_at: AwareDatetime | None = Field(
        None,
        description="When it happened (ISO 8601 with offset). At most 10 minutes ago, never in the future; "
        "the importer role may back-date. Defaults to the server's time.",
        examples=["2026-11-20T09:30:00+08:00"],
    )


class CommandReply(BaseModel):
    """What every command returns."""

    id: str = Field(description="The case (or mediator) the command changed", examples=["3f2b..."])
    version: int = Field(description="Its new version; send it back as If-Match", examples=[2])
    position: int | None = Field(None, description="Ledger position reached (null on an idempotent replay)")
    case_id: str | None = None
    mediator_id: str | None = None
    confirmation_id: str | None = None
    complaint_id: str | None = None
    year: int | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["/problems/invalid-transition"])
    title: str = Field(examples=["当前状态不允许此操作"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=["cannot rate a case that is handling"])
    code: str = Field(examples=["invalid-transition"])
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None


def when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
