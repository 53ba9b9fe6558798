"""Pure ASGI middleware: request id, one access-log line, and the body size limit.

Written against ASGI directly rather than ``BaseHTTPMiddleware`` because it sits on the hot
path of every command.
"""

from __future__ import annotations

import itertools
import secrets
import time

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("caseledger.http")

# Request ids need to be unique, not secret: a per-process random prefix and a counter are
# as unique as a UUID and far cheaper than reading the system's randomness per request.
_PREFIX = secrets.token_hex(8)
_SEQUENCE = itertools.count(1)


def _problem_413(request_id: str, path: str, limit: int) -> bytes:
    return orjson.dumps(
        {
            "type": "/problems/payload-too-large",
            "title": "请求体过大",
            "status": 413,
            "detail": f"the request body exceeds {limit} bytes",
            "code": "payload-too-large",
            "instance": path,
            "request_id": request_id,
        }
    )


class RequestContextMiddleware:
    """Binds a request id (from ``X-Request-ID`` or new), logs the outcome, limits bodies."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = raw_id if raw_id.replace("-", "").isalnum() else f"{_PREFIX}{next(_SEQUENCE):08x}"
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._reject(send, request_id, scope["path"])
            status = 413
            self._log(scope, status, started)
            return

        if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
            # No Content-Length (a chunked body): read it here, within the limit, and hand
            # the app the whole body; raising from inside the app's receive would be
            # swallowed by the framework's body parsing as a 400.
            body = await self._read_limited(receive)
            if body is None:
                await self._reject(send, request_id, scope["path"])
                self._log(scope, 413, started)
                return
            receive = _replay(body)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._log(scope, status, started)
            structlog.contextvars.unbind_contextvars("request_id")

    async def _read_limited(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _reject(self, send: Send, request_id: str, path: str) -> None:
        body = _problem_413(request_id, path, self.max_body_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        # Paths carry only ids, never personal data; query strings are not logged.
        log.info(
            "http_request",
            method=scope["method"],
            path=scope["path"],
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
