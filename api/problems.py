"""Every failure as RFC 9457 problem details, mapped in this one place.

``type`` is a stable slug, ``title`` is Chinese, ``detail`` says what went wrong; no
stack trace or internal name ever leaves the service.
"""

from __future__ import annotations

from typing import Any

import structlog
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from application.errors import IdempotencyKeyReused
from domain.calendar import CalendarError
from domain.errors import (
    ConcurrentUpdateError,
    DomainError,
    InvalidCommand,
    InvalidTransition,
    NotFound,
    NotPermitted,
    VersionMismatchError,
)

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("caseledger.api")


class AuthenticationError(Exception):
    """Missing, malformed, expired or wrongly signed bearer token."""

    code = "unauthenticated"
    title = "身份认证失败"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ReadNotLoggedError(DomainError):
    """A read of case data whose access record could not be written is refused."""

    code = "read-not-logged"
    title = "访问记录无法写入，拒绝读取"


class ViewsBehindError(DomainError):
    """A read asked for a position the views have not reached within the wait bound."""

    code = "views-behind"
    title = "查询视图尚未更新到所需位置"


STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (ViewsBehindError, 503),
    (ReadNotLoggedError, 503),
    (NotFound, 404),
    (VersionMismatchError, 412),
    (ConcurrentUpdateError, 409),
    (InvalidTransition, 409),
    (NotPermitted, 403),
    (IdempotencyKeyReused, 422),
    (InvalidCommand, 422),
]

HTTP_TITLES = {
    400: ("bad-request", "请求格式错误"),
    401: ("unauthenticated", "身份认证失败"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not-found", "资源不存在"),
    405: ("method-not-allowed", "不支持的请求方法"),
    406: ("not-acceptable", "无法提供所需格式"),
    409: ("conflict", "请求与当前状态冲突"),
    412: ("precondition-failed", "前置条件不满足"),
    413: ("payload-too-large", "请求体过大"),
    415: ("unsupported-media-type", "不支持的内容类型"),
    422: ("validation-error", "请求参数校验失败"),
    500: ("internal-error", "服务器内部错误"),
    503: ("unavailable", "服务暂不可用"),
}


def problem(
    request: Request | None,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem-details response with the request id attached."""
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(error: DomainError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 409


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = status_of(exc)
    context = {k: v for k, v in exc.context.items() if isinstance(v, str | int | bool)}
    log.info("command_refused", code=exc.code, status=status)
    headers = None
    if isinstance(exc, VersionMismatchError | ConcurrentUpdateError) and "current_version" in context:
        headers = {"ETag": f'"{context["current_version"]}"'}
    return problem(request, status, exc.code, exc.title, exc.detail, headers=headers, **context)


def _authentication(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthenticationError)
    return problem(
        request, 401, exc.code, exc.title, exc.detail, headers={"WWW-Authenticate": 'Bearer realm="caseledger"'}
    )


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": [str(p) for p in err.get("loc", ())], "message": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"location": [], "message": "invalid request"}
    detail = f"{'.'.join(first['location'])}: {first['message']}" if first["location"] else str(first["message"])
    return problem(request, 422, "validation-error", "请求参数校验失败", detail, errors=errors)


def _calendar(request: Request, exc: Exception) -> JSONResponse:
    return problem(request, 422, "invalid-calendar", "节假日安排文件无效", str(exc))


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = HTTP_TITLES.get(exc.status_code, ("error", "请求失败"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(request, exc.status_code, code, title, detail, headers=getattr(exc, "headers", None))


def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The write may or may not have committed: a retry with the same Idempotency-Key is safe.
    log.warning("event_store_unavailable", error_type=type(exc).__name__)
    return problem(
        request,
        503,
        "store-unavailable",
        "存储暂不可用",
        "the event store did not answer; retry with the same Idempotency-Key",
        headers={"Retry-After": "1"},
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
    return problem(
        request, 500, "internal-error", "服务器内部错误", "an unexpected error occurred; quote the request id"
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register every mapping on the app."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(AuthenticationError, _authentication)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(CalendarError, _calendar)
    app.add_exception_handler(OperationalError, _store_unavailable)
    app.add_exception_handler(InterfaceError, _store_unavailable)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": title,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, (_, title) in HTTP_TITLES.items()
    if status in (400, 401, 403, 404, 409, 412, 413, 422, 503)
}
