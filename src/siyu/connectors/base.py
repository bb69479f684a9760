"""What a connector can do, declared, so the engine adapts instead of special-casing platforms.

On WeCom a group post is a task the owner confirms and a welcome may only go out within 20 s of the join; on a bot
platform both are automatic. Automations read `Capabilities` and plan actions accordingly; the outbox hands each
action to `perform` and, after a crash, asks `reconcile` whether the platform already has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy.orm import Session

from siyu.models import Action

Mode = Literal["auto", "staff_task", "none"]
DirectMode = Literal["auto", "welcome_only", "staff_task", "none"]
ReceiveMode = Literal["realtime", "delayed", "none"]


@dataclass(frozen=True)
class Capabilities:
    post_to_group: Mode = "auto"
    direct_message: DirectMode = "auto"
    receive_messages: ReceiveMode = "realtime"
    remove_member: Mode = "auto"
    create_group: bool = True
    # Seconds after a join within which a welcome may still be sent (WeCom: 20); None = no limit.
    welcome_window_s: int | None = None
    group_capacity: int = 200
    quotas: dict[str, int] = field(default_factory=dict)


@dataclass
class Outcome:
    """What the platform said. `state` is the action's next state: sent | task_open | retry | failed | expired."""

    state: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""


class Connector(Protocol):
    name: str

    def capabilities(self, session: Session, workspace_id: int) -> Capabilities: ...

    def perform(self, session: Session, action: Action, now: datetime) -> Outcome:
        """Do the action on the platform. Must be idempotent on `action.idempotency_key`."""
        ...

    def reconcile(self, session: Session, action: Action) -> Outcome | None:
        """After a crash mid-send: the outcome if the platform already has this action, else None."""
        ...

    def complete_task(self, session: Session, action: Action, now: datetime) -> Outcome:
        """A staff member confirmed an owner task (e.g. pressed send on a WeCom mass-message task)."""
        ...
