"""The sandbox: an in-process chat platform persisted in siyu's own database.

It can behave like WeCom (`sandbox_mode = "wecom"`: group posts and removals become owner tasks, a welcome only
within 20 s of the join, direct messages outside the welcome are staff tasks) or like a bot platform (`"bot"`:
everything automatic), so both paths of every automation run and are tested from day one.

It is a connector like any other: it gets a snapshot of each action, keeps what appeared on the platform in its
own table in its own short transaction, and reports what happened there (a member removed) as events, which the
engine projects exactly as it projects the events API or a WeCom callback.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from siyu.connectors.base import ActionSnapshot, Capabilities, Outcome, PlatformLink
from siyu.kit.db import insert_ignore, transaction
from siyu.models import SandboxMessage

BOT = Capabilities()
WECOM_LIKE = Capabilities(
    post_to_group="staff_task",
    direct_message="welcome_only",
    receive_messages="delayed",
    remove_member="staff_task",
    create_group=True,
    welcome_window_s=20,
    group_capacity=200,
)
SIYU_SENDER = "siyu"
PLATFORM = "sandbox"


class SandboxConnector:
    name = PLATFORM

    def __init__(self) -> None:
        self._link: PlatformLink | None = None

    def bind(self, link: PlatformLink) -> None:
        self._link = link

    @property
    def link(self) -> PlatformLink:
        if self._link is None:
            raise RuntimeError("the sandbox connector is not bound to a runtime")
        return self._link

    # -- capabilities --------------------------------------------------------------------------------------

    def capabilities(self, config: dict[str, Any]) -> Capabilities:
        return WECOM_LIKE if config.get("mode") == "wecom" else BOT

    # -- the outbox's calls ----------------------------------------------------------------------------------

    def perform(self, action: ActionSnapshot, now: datetime) -> Outcome:
        caps = self.capabilities(action.config)
        if action.kind == "welcome":
            return self._welcome(action, caps, now)
        if action.kind == "post_to_group":
            if caps.post_to_group == "staff_task":
                return Outcome("task_open", {"task": "owner must send this post"})
            return self._deliver(action, caps, now)
        if action.kind == "direct_message":
            if caps.direct_message in ("staff_task", "welcome_only"):
                return Outcome("task_open", {"task": "staff must send this message"})
            return self._deliver(action, caps, now)
        if action.kind == "remove_member":
            if caps.remove_member == "staff_task":
                return Outcome("task_open", {"task": "owner must remove this member"})
            return self._remove(action, now)
        return Outcome("failed", error=f"sandbox cannot do {action.kind!r}")

    def reconcile(self, action: ActionSnapshot) -> Outcome | None:
        with transaction(self.link.read_sessions) as s:
            msg = s.scalar(select(SandboxMessage.id).where(
                SandboxMessage.workspace_id == action.workspace_id,
                SandboxMessage.idempotency_key == action.idempotency_key,
            ))
        if msg is not None:
            return Outcome("sent", {"message_id": msg, "reconciled": True})
        if action.kind == "remove_member" and action.result.get("removed"):
            return Outcome("sent", {"reconciled": True})
        return None

    def complete_task(self, action: ActionSnapshot, now: datetime) -> Outcome:
        if action.kind == "remove_member":
            out = self._remove(action, now)
        else:
            out = self._deliver(action, self.capabilities(action.config), now)
        out.state = "task_done" if out.state == "sent" else out.state
        return out

    # -- platform side ---------------------------------------------------------------------------------------

    def _welcome(self, action: ActionSnapshot, caps: Capabilities, now: datetime) -> Outcome:
        joined_at = action.payload.get("joined_at")
        if caps.welcome_window_s is not None and joined_at:
            deadline = datetime.fromisoformat(joined_at) + timedelta(seconds=caps.welcome_window_s)
            if now > deadline:
                return Outcome("expired", error=f"welcome window of {caps.welcome_window_s} s after the join passed")
        return self._deliver(action, caps, now)

    def _deliver(self, action: ActionSnapshot, caps: Capabilities, now: datetime) -> Outcome:
        """Put the message on the platform once: the idempotency key is the platform's memory of it."""
        private = action.kind == "direct_message" or (
            action.kind == "welcome" and caps.direct_message == "welcome_only")
        group_ext = recipient = None
        if action.group_id is not None and not private:
            if action.group_external_id is None:
                return Outcome("failed", error="group no longer exists")
            group_ext = action.group_external_id
        if private:
            recipient = action.recipient_external_id
            if recipient is None:
                return Outcome("failed", error="contact has no sandbox identity")
        text = str(action.payload.get("text", ""))
        with transaction(self.link.sessions) as s:
            stmt = insert_ignore(s, SandboxMessage.__table__, ["workspace_id", "idempotency_key"]).returning(
                SandboxMessage.__table__.c.id)
            row = s.execute(stmt, [{
                "workspace_id": action.workspace_id, "group_external_id": group_ext,
                "recipient_external_id": recipient, "sender": SIYU_SENDER, "text": text,
                "kind": action.kind, "idempotency_key": action.idempotency_key, "created_at": now,
            }]).first()
        if row is None:  # the platform already has it: a redelivery is a no-op
            return self.reconcile(action) or Outcome("sent")
        return Outcome("sent", {"message_id": row[0]})

    def _remove(self, action: ActionSnapshot, now: datetime) -> Outcome:
        """The member leaves the group on the platform; siyu learns it the way it learns any leave: an event."""
        if action.group_id is None or action.recipient_external_id is None:
            return Outcome("failed", error="removal needs a group and a member on the sandbox")
        self.link.report(action.workspace_id, [{
            "type": "group.member_left", "source_key": f"sandbox-removed:{action.idempotency_key}",
            "occurred_at": now.isoformat(), "group_id": action.group_id,
            "contact": {"platform": PLATFORM, "external_id": action.recipient_external_id},
            "payload": {"quit_scene": "removed"},
        }])
        return Outcome("sent", {"removed": True})
