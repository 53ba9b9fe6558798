"""Errors the domain raises when it refuses a command.

Each carries a stable English ``code`` (the slug behind the problem type) and a Chinese
``title`` for people; the API maps the class to an HTTP status in one place.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal. Nothing is recorded when one is raised."""

    code = "domain-error"
    title = "请求被拒绝"

    def __init__(self, detail: str, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context


class InvalidTransition(DomainError):
    """The command does not fit the aggregate's current state (e.g. rating before conclusion)."""

    code = "invalid-transition"
    title = "当前状态不允许此操作"

    def __init__(self, command: str, state: str, detail: str, **context: Any) -> None:
        super().__init__(detail, command=command, state=state, **context)


class InvalidCommand(DomainError):
    """The command's values are wrong in themselves (unknown party, missing reason...)."""

    code = "invalid-command"
    title = "请求内容不符合规则"


class NotPermitted(DomainError):
    """The actor may not do this: wrong role, outside jurisdiction, or a conflict of interest."""

    code = "forbidden"
    title = "无权执行此操作"


class NotFound(DomainError):
    """The case, mediator or record does not exist (or is not visible to the caller)."""

    code = "not-found"
    title = "记录不存在"


class CaseNotFoundError(NotFound):
    """No case with this id."""

    code = "case-not-found"
    title = "案件不存在"


class MediatorNotFoundError(NotFound):
    """No mediator with this id."""

    code = "mediator-not-found"
    title = "调解员不存在"


class ConcurrentUpdateError(DomainError):
    """Another writer saved first; the client should re-read and retry."""

    code = "concurrent-update"
    title = "案件已被他人更新"


class VersionMismatchError(DomainError):
    """``If-Match`` named a version that is no longer current."""

    code = "version-mismatch"
    title = "版本已过期"
