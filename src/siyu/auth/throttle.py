"""Login throttling: after too many failed attempts for one username (or from one address) in a window, further
attempts are refused until the window has passed, so a password cannot be guessed at network speed.

Kept in memory per process: a restart forgets it, several `siyu serve` processes each count on their own; argon2's
deliberate slowness remains the second line.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)


class LoginThrottle:
    def __init__(self, max_failures: int = MAX_FAILURES, window: timedelta = WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked_until(self, keys: list[str], now: datetime) -> datetime | None:
        with self._lock:
            until = [self._recent(k, now)[0] + self.window for k in keys
                     if len(self._recent(k, now)) >= self.max_failures]
        return max(until) if until else None

    def failed(self, keys: list[str], now: datetime) -> None:
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)
