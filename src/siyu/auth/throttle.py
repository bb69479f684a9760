"""Login throttling: after too many failed attempts for one username (or from one address) in a window, further
attempts are refused until the window has passed, so a password cannot be guessed at network speed.

Kept in memory per process: a restart forgets it, several `siyu serve` processes each count on their own; argon2's
deliberate slowness remains the second line. The memory is bounded: at most `max_keys` usernames / addresses are
tracked (a flood of made-up usernames cannot grow it without limit); when full, keys whose failures have all
expired go first, then the least recently failed ones.

The address is the peer of the connection, or — only when that peer is one of `SIYU_TRUSTED_PROXIES` — the
client named in X-Forwarded-For (`auth/web.client_address`); otherwise anyone could pick their own address.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)
MAX_KEYS = 10_000


class LoginThrottle:
    def __init__(self, max_failures: int = MAX_FAILURES, window: timedelta = WINDOW,
                 max_keys: int = MAX_KEYS) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        # key → failure times, oldest first; the dict is ordered by the key's last failure (least recent first).
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def blocked_until(self, keys: list[str], now: datetime) -> datetime | None:
        with self._lock:
            until = []
            for k in keys:
                q = self._recent(k, now)
                if len(q) >= self.max_failures:
                    until.append(q[0] + self.window)
        return max(until) if until else None

    def failed(self, keys: list[str], now: datetime) -> None:
        with self._lock:
            for k in keys:
                q = self._recent(k, now)
                if k not in self._failures:
                    self._make_room(now)
                    self._failures[k] = q
                q.append(now)
                if len(q) > self.max_failures:  # more than the threshold tells nothing new
                    q.popleft()
                self._failures.move_to_end(k)

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)

    def _make_room(self, now: datetime) -> None:
        if len(self._failures) < self.max_keys:
            return
        cutoff = now - self.window
        for key in [k for k, q in self._failures.items() if not q or q[-1] <= cutoff]:
            del self._failures[key]
        while len(self._failures) >= self.max_keys:
            self._failures.popitem(last=False)
