"""The webhook connector: its settings, its capabilities, and outbound delivery.

Outbound, an action (a group post, a direct message, a welcome) is one signed JSON POST to the instance's
outbound URL with the action's idempotency key in `Idempotency-Key`. A 2xx is "sent"; a timeout, a connection
error, 408 / 425 / 429 or a 5xx is "retry" (the outbox backs off and tries again with the same key); any other
answer is "failed" (the receiver refused the action itself). After a crash mid-send siyu cannot know whether the
receiver got the call, so `reconcile` answers "unknown" and the outbox sends it again with the same key: the
receiver must treat a repeated key as done (answer 2xx again), which makes the resend harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx
import orjson
from pydantic import Field, HttpUrl, SecretStr

from siyu.connectors import health
from siyu.connectors.base import ActionSnapshot, Capabilities, Check, Outcome, PlatformLink
from siyu.connectors.kinds import ConnectorConfig
from siyu.connectors.webhook import signing
from siyu.kit.db import transaction

log = logging.getLogger("siyu.connectors.webhook")
KINDS = ("post_to_group", "direct_message", "welcome")
RETRY_STATUSES = frozenset({408, 425, 429})


class WebhookConfig(ConnectorConfig):
    secret: SecretStr = Field(min_length=16, max_length=200, title="Signing secret",
                              description="Shared key the sender signs its callbacks with (HMAC-SHA256); at least "
                                          "16 characters")
    outbound_url: HttpUrl | None = Field(default=None, title="Outbound URL",
                                         description="Where siyu posts group posts and direct messages, signed; "
                                                     "empty for a bridge that only sends events in")
    outbound_secret: SecretStr | None = Field(default=None, min_length=16, max_length=200,
                                              title="Outbound signing secret",
                                              description="Key siyu signs its outbound calls with; empty: the "
                                                          "signing secret")
    tolerance_seconds: int = Field(default=300, ge=30, le=3600, title="Tolerance window (seconds)",
                                   description="How far a callback's timestamp may be from the server's clock")
    timeout_seconds: float = Field(default=10.0, gt=0, le=60, title="Outbound timeout (seconds)",
                                   description="How long siyu waits for the outbound URL to answer")


INBOUND_ONLY = Capabilities(post_to_group="none", direct_message="none", receive_messages="realtime",
                            remove_member="none", create_group=False)
TWO_WAY = Capabilities(post_to_group="auto", direct_message="auto", receive_messages="realtime",
                       remove_member="none", create_group=False)


class WebhookConnector:
    kind = "webhook"

    def __init__(self, name: str, config: WebhookConfig) -> None:
        self.name = name
        self.config = config
        self._link: PlatformLink | None = None

    def bind(self, link: PlatformLink) -> None:
        self._link = link

    # -- what it can do ----------------------------------------------------------------------------------------

    def capabilities(self, config: dict[str, Any]) -> Capabilities:
        """Two-way with an outbound URL, inbound only without (no posts are planned through it then)."""
        return TWO_WAY if config.get("outbound_url") else INBOUND_ONLY

    def inbound_secrets(self) -> list[str]:
        return [self.config.secret.get_secret_value()]

    def _outbound_secret(self) -> str:
        chosen = self.config.outbound_secret or self.config.secret
        return chosen.get_secret_value()

    # -- outbound ----------------------------------------------------------------------------------------------

    def perform(self, action: ActionSnapshot, now: datetime) -> Outcome:
        if self.config.outbound_url is None:
            return Outcome("failed", error=f"webhook connector {self.name!r} has no outbound URL")
        if action.kind not in KINDS:
            return Outcome("failed", error=f"a webhook connector cannot do {action.kind!r}")
        private = action.kind == "direct_message"
        if private and action.recipient_external_id is None:
            return Outcome("failed", error=f"the contact has no identity on {self.name!r}")
        if not private and action.group_external_id is None:
            if action.kind == "welcome" and action.recipient_external_id is not None:
                private = True  # a welcome to someone who is not in a group of this platform: to them
            else:
                return Outcome("failed", error="the group has no id on this platform")
        body = {
            "type": "action", "connector": self.name, "id": action.idempotency_key, "action_id": action.id,
            "kind": action.kind, "attempt": action.attempts, "sent_at": now.isoformat(),
            "text": str(action.payload.get("text", "")),
            "group": None if private else {"external_id": action.group_external_id},
            "recipient": {"external_id": action.recipient_external_id} if action.recipient_external_id else None,
            "payload": action.payload,
        }
        try:
            answer = self._post(body, now, idempotency_key=action.idempotency_key)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._record(now, ok=False, error=f"outbound call failed: {error}")
            return Outcome("retry", error=f"outbound call failed: {error}")
        status = answer.status_code
        if 200 <= status < 300:
            self._record(now, ok=True)
            result: dict[str, Any] = {"status": status}
            receipt = _receipt(answer)
            if receipt:
                result["receiver_id"] = receipt
            return Outcome("sent", result)
        error = f"outbound URL answered {status}: {answer.text[:200]}"
        self._record(now, ok=False, error=error)
        if status in RETRY_STATUSES or status >= 500:
            return Outcome("retry", {"status": status}, error)
        return Outcome("failed", {"status": status}, error)

    def reconcile(self, action: ActionSnapshot) -> Outcome | None:
        """Unknown: the receiver's answer was lost with the crash. None = send again, with the same key."""
        return None

    def complete_task(self, action: ActionSnapshot, now: datetime) -> Outcome:
        return Outcome("failed", error="a webhook connector has no owner tasks")

    def self_test(self, now: datetime) -> Check:
        """A signed `ping` to the outbound URL; an inbound-only bridge has nothing to call."""
        if self.config.outbound_url is None:
            return Check(True, "inbound_only", "inbound only: no outbound URL to call")
        try:
            answer = self._post({"type": "ping", "connector": self.name, "sent_at": now.isoformat()}, now,
                                event="ping")
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._record(now, ok=False, error=f"test call failed: {error}")
            return Check(False, "unreachable", f"the outbound URL cannot be reached: {error}",
                         {"url": str(self.config.outbound_url)})
        ok = 200 <= answer.status_code < 300
        self._record(now, ok=ok, error="" if ok else f"test call answered {answer.status_code}")
        if ok:
            return Check(True, "reachable", f"the outbound URL answered {answer.status_code}",
                         {"status": answer.status_code})
        return Check(False, "refused", f"the outbound URL answered {answer.status_code}",
                     {"status": answer.status_code})

    def _post(self, body: dict[str, Any], now: datetime, *, idempotency_key: str | None = None,
              event: str = "action") -> httpx.Response:
        raw = orjson.dumps(body)
        headers = {"Content-Type": "application/json", "User-Agent": "siyu-webhook/1",
                   "X-Siyu-Connector": self.name, "X-Siyu-Event": event,
                   **signing.sign(self._outbound_secret(), int(now.timestamp()), raw)}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return httpx.post(str(self.config.outbound_url), content=raw, headers=headers,
                          timeout=self.config.timeout_seconds, follow_redirects=False)

    def _record(self, now: datetime, *, ok: bool, error: str = "") -> None:
        """The call's outcome on the health page, in a short transaction of its own; never fails the delivery."""
        if self._link is None:
            return
        try:
            with transaction(self._link.sessions) as s:
                health.record(s, self.name, now, ok=ok, direction="out", error=error)
        except Exception:
            log.exception("could not record the health of connector %s", self.name)


def _receipt(answer: httpx.Response) -> str | None:
    """The receiver's own id for what it posted, when it answers `{"id": …}`."""
    try:
        data = answer.json()
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str | int):
        return str(data["id"])[:200]
    return None
