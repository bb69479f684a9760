"""Frequency and concurrency limits (45009 / 45033) and injected faults, the way WeCom answers them.

Windows run on the fake's clock: a test that trips the minute limit advances the clock 60 s instead of waiting.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from siyu.wecom_fake import errors as E
from siyu.wecom_fake.config import FakeConfig

MINUTE = 60.0
HOUR = 3600.0


@dataclass
class _Window:
    start: float = 0.0
    count: int = 0


class RateLimiter:
    """Per corp per API and per IP per API, minute and hour windows; a tripped window blocks for its length."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str, float], _Window] = defaultdict(_Window)
        self._blocked: dict[tuple[str, str], float] = {}
        self._inflight: dict[str, int] = defaultdict(int)
        self._gettoken_errors: list[float] = []

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._blocked.clear()
            self._gettoken_errors.clear()

    def check(self, config: FakeConfig, api: str, ip: str, now: float) -> None:
        """Count one call; raise 45009 when a limit is over (and keep the caller blocked for the window)."""
        limits = ((f"corp:{api}", MINUTE, config.per_corp_per_minute), (f"corp:{api}", HOUR, config.per_corp_per_hour),
                  (f"ip:{ip}:{api}", MINUTE, config.per_ip_per_minute),
                  (f"ip:{ip}:{api}", HOUR, config.per_ip_per_hour))
        with self._lock:
            for scope, _, _ in limits:
                until = self._blocked.get((scope, api))
                if until is not None and now < until:
                    raise E.ApiError(E.FREQUENCY_LIMIT, f"blocked for {int(until - now) + 1} s")
            for scope, length, limit in limits:
                window = self._windows[(scope, api, length)]
                if now - window.start >= length:
                    window.start, window.count = now, 0
                window.count += 1
                if window.count > limit:
                    self._blocked[(scope, api)] = now + length
                    raise E.ApiError(E.FREQUENCY_LIMIT, f"over {limit} per {int(length)} s")

    def gettoken_blocked(self, config: FakeConfig, now: float) -> bool:
        with self._lock:
            self._gettoken_errors = [t for t in self._gettoken_errors if now - t < HOUR]
            return len(self._gettoken_errors) >= config.gettoken_error_limit

    def gettoken_failed(self, now: float) -> None:
        with self._lock:
            self._gettoken_errors.append(now)

    def enter(self, config: FakeConfig, api: str) -> None:
        with self._lock:
            limit = config.concurrent_per_api
            if limit is not None and self._inflight[api] >= limit:
                raise E.ApiError(E.CONCURRENCY_LIMIT, f"over {limit} at once")
            self._inflight[api] += 1

    def leave(self, api: str) -> None:
        with self._lock:
            self._inflight[api] -= 1


@dataclass
class Fault:
    errcode: int
    api: str | None = None  # None: any API but gettoken
    times: int = 1
    errmsg: str | None = None


@dataclass
class Faults:
    """Failures a test asks for: the next N calls (of one API or any) answer errcode X; or X now and then."""

    queue: list[Fault] = field(default_factory=list)
    flaky_rate: float = 0.0
    flaky_errcode: int = E.SYSTEM_BUSY
    flaky_apis: list[str] | None = None
    rng: random.Random = field(default_factory=random.Random)
    injected: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, api: str) -> Fault | None:
        with self._lock:
            for fault in self.queue:
                if fault.api == api or (fault.api is None and api != "gettoken"):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.queue.remove(fault)
                    self.injected += 1
                    return fault
            if self.flaky_rate > 0 and (self.flaky_apis is None or api in self.flaky_apis) \
                    and api != "gettoken" and self.rng.random() < self.flaky_rate:
                self.injected += 1
                return Fault(errcode=self.flaky_errcode, api=api)
        return None

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"queued": [{"errcode": f.errcode, "api": f.api, "times": f.times} for f in self.queue],
                    "flaky_rate": self.flaky_rate, "flaky_errcode": self.flaky_errcode,
                    "flaky_apis": self.flaky_apis, "injected": self.injected}

    def clear(self) -> None:
        with self._lock:
            self.queue.clear()
            self.flaky_rate = 0.0
            self.flaky_apis = None
