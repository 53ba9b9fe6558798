"""structlog, configured once: JSON off a terminal (Chinese kept readable), console on one."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

# Keys whose values may carry parties' personal data; never written in clear, at any depth.
_PERSONAL_KEYS = frozenset({"name", "phone", "id_number", "address", "parties", "attendees", "authorization"})
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    """A copy of nested data with every personal key's value redacted."""
    if isinstance(value, Mapping):
        return {k: REDACTED if k in _PERSONAL_KEYS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if key in _PERSONAL_KEYS:
            event[key] = REDACTED
        elif isinstance(value, Mapping | list | tuple):
            # A party handed over inside a dict or a list is redacted too.
            event[key] = _scrub(value)
    return event


def configure_logging(level: str = "INFO") -> None:
    """Set up structlog for the whole process."""
    renderer: Any
    if sys.stderr.isatty():
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer(
            serializer=lambda obj, **kw: json.dumps(obj, ensure_ascii=False, **kw)
        )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
