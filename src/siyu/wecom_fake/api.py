"""The `/cgi-bin/` surface: one pipeline for every call, then the endpoint's handler.

Order of checks, as WeCom answers them: an injected fault (a test asked for it) → the access token (41001 / 40014 /
42001) → frequency (45009) → concurrency (45033) → the handler, under the corp's lock. Every answer is HTTP 200
with an errcode, like the real server; every call is logged for `/_fake/calls`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from siyu.wecom_fake import errors as E
from siyu.wecom_fake.config import App
from siyu.wecom_fake.limits import Faults, RateLimiter
from siyu.wecom_fake.state import Corp, Token


@dataclass
class Call:
    """One API call: the corp, the calling app, and helpers that validate its JSON body as WeCom does."""

    corp: Corp
    app: App
    body: dict[str, Any]
    query: dict[str, str]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.body:
            return self.body[key]
        return self.query.get(key, default)

    def text(self, key: str, max_chars: int | None = None, *, max_bytes: int | None = None,
             required: bool = False, errcode: int = E.INVALID_PARAMETER) -> str:
        value = self.get(key)
        if value is None or value == "":
            if required:
                raise E.ApiError(E.MISSING_PARAMETER, key)
            return ""
        if not isinstance(value, str):
            raise E.ApiError(E.INVALID_PARAMETER, f"{key} must be a string")
        if max_chars is not None and len(value) > max_chars:
            raise E.ApiError(errcode, f"{key} longer than {max_chars} characters")
        if max_bytes is not None and len(value.encode()) > max_bytes:
            raise E.ApiError(errcode, f"{key} longer than {max_bytes} bytes")
        return value

    def integer(self, key: str, *, default: int | None = None, choices: tuple[int, ...] | None = None,
            missing: int = E.MISSING_PARAMETER, invalid: int = E.INVALID_PARAMETER,
            low: int | None = None, high: int | None = None) -> int:
        value = self.get(key)
        if value is None or value == "":
            if default is None:
                raise E.ApiError(missing, key)
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise E.ApiError(invalid, key) from None
        if isinstance(value, bool) or (choices is not None and number not in choices) \
                or (low is not None and number < low) or (high is not None and number > high):
            raise E.ApiError(invalid, f"{key}={value!r}")
        return number

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if value in (0, 1):
            return bool(value)
        raise E.ApiError(E.INVALID_PARAMETER, key)

    def items(self, key: str, *, max_items: int | None = None, item: type = str,
             errcode: int = E.INVALID_PARAMETER) -> list[Any]:
        value = self.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, item) and not isinstance(v, bool) for v in value):
            raise E.ApiError(E.INVALID_PARAMETER, f"{key} must be a list of {item.__name__}")
        if max_items is not None and len(value) > max_items:
            raise E.ApiError(errcode, f"{key} has more than {max_items} items")
        return list(value)

    def limit(self, default: int, high: int) -> int:
        return self.integer("limit", default=default, low=1, high=high)


Handler = Callable[[Call], dict[str, Any]]
REGISTRY: dict[str, Handler] = {}


def endpoint(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for `/cgi-bin/<name>` (GET or POST, like WeCom accepts the documented one)."""

    def wrap(fn: Handler) -> Handler:
        REGISTRY[name] = fn
        return fn

    return wrap


class Api:
    def __init__(self, corp: Corp) -> None:
        self.corp = corp
        self.limiter = RateLimiter()
        self.faults = Faults()
        self.calls: deque[dict[str, Any]] = deque(maxlen=20_000)

    def handle(self, name: str, query: dict[str, str], raw_body: bytes, ip: str) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON body for one call."""
        if name != "gettoken" and name not in REGISTRY:
            return 404, {"errcode": 404, "errmsg": f"/cgi-bin/{name} is not served by the fake"}
        app_secret: str | None = None
        try:
            fault = self.faults.take(name)
            if fault is not None:
                raise E.ApiError(fault.errcode, fault.errmsg or "injected by /_fake/fail")
            if name == "gettoken":
                out = self._gettoken(query)
            else:
                app = self._authenticate(query)
                app_secret = app.secret
                body = _parse(raw_body)
                self.limiter.check(self.corp.config, name, ip, self.corp.now())
                self.limiter.enter(self.corp.config, name)
                try:
                    if self.corp.config.latency:
                        time.sleep(self.corp.config.latency)
                    with self.corp.lock:
                        out = REGISTRY[name](Call(self.corp, app, body, query))
                finally:
                    self.limiter.leave(name)
            answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", **out}
        except E.ApiError as e:
            answer = e.body()
        self.calls.append({"at": self.corp.now(), "api": name, "errcode": answer["errcode"],
                           "app": self._app_name(app_secret or query.get("corpsecret"))})
        return 200, answer

    def _app_name(self, secret: str | None) -> str | None:
        app = self.corp.config.app_for(secret) if secret else None
        return app.name if app else None

    def _gettoken(self, query: dict[str, str]) -> dict[str, Any]:
        corp, now = self.corp, self.corp.now()
        if self.limiter.gettoken_blocked(corp.config, now):
            raise E.ApiError(E.FREQUENCY_LIMIT, "too many failed gettoken calls this hour")
        try:
            corpid, secret = query.get("corpid"), query.get("corpsecret")
            if not corpid:
                raise E.ApiError(E.MISSING_CORPID)
            if corpid != corp.config.corp_id:
                raise E.ApiError(E.INVALID_CORPID, corpid)
            if not secret:
                raise E.ApiError(E.MISSING_SECRET)
            if corp.config.app_for(secret) is None:
                raise E.ApiError(E.INVALID_SECRET)
        except E.ApiError:
            self.limiter.gettoken_failed(now)
            raise
        with corp.lock:
            # Within its validity WeCom hands out the same token again (Doc 91039); a new one after expiry.
            current = next((t for t in corp.tokens.values()
                            if t.secret == secret and not t.revoked and t.expires_at > now), None)
            if current is None:
                current = Token(secrets.token_urlsafe(48), secret, now + corp.config.token_ttl)
                corp.tokens[current.value] = current
            return {"access_token": current.value, "expires_in": max(0, int(current.expires_at - now))}

    def _authenticate(self, query: dict[str, str]) -> App:
        value = query.get("access_token")
        if not value:
            raise E.ApiError(E.MISSING_TOKEN)
        with self.corp.lock:
            token = self.corp.tokens.get(value)
            if token is None or token.revoked:
                raise E.ApiError(E.INVALID_TOKEN)
            if token.expires_at <= self.corp.now():
                raise E.ApiError(E.TOKEN_EXPIRED)
            app = self.corp.config.app_for(token.secret)
        if app is None:  # the app was removed from the config since
            raise E.ApiError(E.INVALID_TOKEN)
        return app


def _parse(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise E.ApiError(E.INVALID_PARAMETER, "Warning: wrong json format.") from None
    if not isinstance(body, dict):
        raise E.ApiError(E.INVALID_PARAMETER, "Warning: wrong json format.")
    return body
