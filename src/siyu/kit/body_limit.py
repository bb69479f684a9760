"""Request bodies are limited while they stream in, not after they were read whole.

A pure ASGI middleware (no BaseHTTPMiddleware, which would buffer): a declared Content-Length over the limit is
answered 413 before a byte of the body is read; otherwise the bytes are counted as they arrive and the request
fails with 413 the moment the count passes the limit, whether the endpoint reads JSON, a form or an upload. The
answer is the API's error shape, `{"code": "body_too_large", "message": …, "detail": {"limit": N}}`.

Routes that take files (SOP import, word lists) or batches (events) get a larger limit than the default; the
table is built by `siyu.app` from settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import orjson
from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CODE = "body_too_large"


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the streamed body passes the limit.

    An HTTPException so that FastAPI's body parsing re-raises it instead of turning it into a 400, and the app's
    HTTP error handler renders it; the middleware answers itself if nothing else did."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body larger than {limit} bytes")
        self.limit = limit
        self.code = CODE


def error_body(limit: int) -> bytes:
    return orjson.dumps({"code": CODE, "message": f"request body larger than {limit} bytes",
                         "detail": {"limit": limit}})


class BodyLimit:
    """`limits`: (path prefix, bytes) pairs, the longest matching prefix wins; `default` for every other path."""

    def __init__(self, app: ASGIApp, *, default: int, limits: Sequence[tuple[str, int]] = ()) -> None:
        self.app = app
        self.default = default
        self.limits = sorted(limits, key=lambda pair: len(pair[0]), reverse=True)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer_413(send, limit)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _answer_413(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer_413(send: Send, limit: int) -> None:
    body = error_body(limit)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


async def read_upload(upload: Any, limit: int, *, what: str = "the file") -> bytes:
    """An uploaded file's bytes, all of them, or a 413 `file_too_large` — never the first `limit` bytes of a
    larger file (a silently truncated CSV imports half a table)."""
    from siyu.kit.errors import SiyuError

    data: bytes = await upload.read(limit + 1)
    if len(data) > limit:
        raise SiyuError(f"{what} is larger than {limit // 1_000_000} MB", code="file_too_large", status=413,
                        detail={"limit": limit})
    return data
