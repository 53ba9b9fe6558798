"""How a command's result becomes an HTTP reply (one place for ETag and replay headers)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from application.ledger import CommandResult


def reply(result: CommandResult, *, status: int = 200, id_field: str = "case_id") -> Response:
    """JSON with the new version, also as ``ETag`` for the next ``If-Match``."""
    body: dict[str, Any] = {**result.as_dict(), id_field: result.id}
    headers = {"ETag": f'"{result.version}"'}
    if result.replayed:
        headers["Idempotency-Replayed"] = "true"
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)
