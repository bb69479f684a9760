"""The sandbox: an in-process chat platform persisted in siyu's own database.

It can behave like WeCom (`sandbox_mode = "wecom"`: group posts and removals become owner tasks, a welcome only
within 20 s of the join, direct messages outside the welcome are staff tasks) or like a bot platform (`"bot"`:
everything automatic), so both paths of every automation run and are tested from day one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.connectors.base import Capabilities, Outcome
from siyu.kit.db import insert_ignore
from siyu.models import Action, Group, Identity, SandboxMessage, Workspace

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


class SandboxConnector:
    name = "sandbox"

    def capabilities(self, session: Session, workspace_id: int) -> Capabilities:
        ws = session.get(Workspace, workspace_id)
        return WECOM_LIKE if ws is not None and ws.sandbox_mode == "wecom" else BOT

    def perform(self, session: Session, action: Action, now: datetime) -> Outcome:
        caps = self.capabilities(session, action.workspace_id)
        if action.kind == "welcome":
            return self._welcome(session, action, caps, now)
        if action.kind == "post_to_group":
            if caps.post_to_group == "staff_task":
                return Outcome("task_open", {"task": "owner must send this post"})
            return self._deliver(session, action, now)
        if action.kind == "direct_message":
            if caps.direct_message in ("staff_task", "welcome_only"):
                return Outcome("task_open", {"task": "staff must send this message"})
            return self._deliver(session, action, now)
        if action.kind == "remove_member":
            if caps.remove_member == "staff_task":
                return Outcome("task_open", {"task": "owner must remove this member"})
            return self._remove(session, action, now)
        return Outcome("failed", error=f"sandbox cannot do {action.kind!r}")

    def reconcile(self, session: Session, action: Action) -> Outcome | None:
        msg = session.scalar(select(SandboxMessage.id).where(
            SandboxMessage.workspace_id == action.workspace_id,
            SandboxMessage.idempotency_key == action.idempotency_key,
        ))
        if msg is not None:
            return Outcome("sent", {"message_id": msg, "reconciled": True})
        if action.kind == "remove_member" and action.result.get("removed"):
            return Outcome("sent", {"reconciled": True})
        return None

    def complete_task(self, session: Session, action: Action, now: datetime) -> Outcome:
        if action.kind == "remove_member":
            out = self._remove(session, action, now)
        else:
            out = self._deliver(session, action, now)
        out.state = "task_done" if out.state == "sent" else out.state
        return out

    # -- platform side ---------------------------------------------------------------------------------------

    def _welcome(self, session: Session, action: Action, caps: Capabilities, now: datetime) -> Outcome:
        joined_at = action.payload.get("joined_at")
        if caps.welcome_window_s is not None and joined_at:
            deadline = datetime.fromisoformat(joined_at) + timedelta(seconds=caps.welcome_window_s)
            if now > deadline:
                return Outcome("expired", error=f"welcome window of {caps.welcome_window_s} s after the join passed")
        return self._deliver(session, action, now)

    def _deliver(self, session: Session, action: Action, now: datetime) -> Outcome:
        """Put the message on the platform once: the idempotency key is the platform's memory of it."""
        caps = self.capabilities(session, action.workspace_id)
        private = action.kind == "direct_message" or (
            action.kind == "welcome" and caps.direct_message == "welcome_only")
        group_ext = recipient = None
        if action.group_id is not None and not private:
            group = session.get(Group, action.group_id)
            if group is None:
                return Outcome("failed", error="group no longer exists")
            group_ext = group.external_id
        if private:
            recipient = session.scalar(select(Identity.external_id).where(
                Identity.contact_id == action.contact_id, Identity.platform == self.name))
            if recipient is None:
                return Outcome("failed", error="contact has no sandbox identity")
        text = str(action.payload.get("text", ""))
        stmt = insert_ignore(session, SandboxMessage.__table__, ["workspace_id", "idempotency_key"]).returning(
            SandboxMessage.__table__.c.id)
        row = session.execute(stmt, [{
            "workspace_id": action.workspace_id, "group_external_id": group_ext,
            "recipient_external_id": recipient, "sender": SIYU_SENDER, "text": text,
            "kind": action.kind, "idempotency_key": action.idempotency_key, "created_at": now,
        }]).first()
        if row is None:  # the platform already has it: a redelivery is a no-op
            return self.reconcile(session, action) or Outcome("sent")
        return Outcome("sent", {"message_id": row[0]})

    def _remove(self, session: Session, action: Action, now: datetime) -> Outcome:
        from siyu.communities import service as communities
        from siyu.kit.errors import NotFound

        group = session.get(Group, action.group_id) if action.group_id is not None else None
        if group is None or action.contact_id is None:
            return Outcome("failed", error="removal needs a group and a contact")
        try:
            communities.leave(session, action.workspace_id, group, action.contact_id, now=now, scene="removed")
        except NotFound:
            return Outcome("sent", {"removed": True, "note": "was no longer in the group"})
        return Outcome("sent", {"removed": True})
