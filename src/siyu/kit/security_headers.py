"""Security headers on every answer: a strict Content-Security-Policy, no framing, no MIME sniffing, no referrer
leaks to other sites.

The console loads its scripts only from /static (htmx, echarts, console.js) and has no inline script or event
handler attribute, so scripts are `'self'` only: an injected `<script>` or `onerror=` does not run. Inline styles
stay allowed (the occupancy bars set a width). Swagger UI at /api/docs loads from a CDN with an inline bootstrap
script, so those two pages get their own, looser policy — they render no user data. Framing is refused twice
(`frame-ancestors 'none'` and `X-Frame-Options: DENY`, for old browsers), which stops click-jacking the console.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
DOCS_PATHS = ("/api/docs", "/api/redoc")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        common = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                  (b"referrer-policy", b"same-origin"), (b"cross-origin-opener-policy", b"same-origin")]
        if hsts:  # only when the console is served over https (base_url), never on plain http
            common.append((b"strict-transport-security", b"max-age=31536000"))
        self._headers = [*common, (b"content-security-policy", CSP.encode())]
        self._docs_headers = [*common, (b"content-security-policy", DOCS_CSP.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        extra = self._docs_headers if path.startswith(DOCS_PATHS) else self._headers

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
