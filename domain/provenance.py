"""Who did a step, when, from which request: carried by every event (SPEC §6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.values import Actor


@dataclass(frozen=True, slots=True)
class Provenance:
    """The facts every event records besides its own data.

    ``occurred_at`` is when it happened in the world; the event's own ``timestamp`` is
    when the server recorded it. ``imported`` marks historical paper records brought in
    by the importer role, whose ``occurred_at`` may be long past.
    """

    actor: Actor
    occurred_at: datetime
    request_id: str = ""
    imported: bool = False
    # Applied to the command's free text before it is recorded (``Case.FREE_TEXT``): the
    # application's replacement of the parties' personal data by references. Not recorded.
    redact: Callable[[str], str] | None = field(default=None, compare=False)

    def redacted(self, text: str) -> str:
        return text if self.redact is None or not text else self.redact(text)

    def event_fields(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "occurred_at": self.occurred_at,
            "request_id": self.request_id,
            "imported": self.imported,
        }
