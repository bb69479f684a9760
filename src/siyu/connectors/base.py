"""What a connector can do, declared, so the engine adapts instead of special-casing platforms.

On WeCom a group post is a task the owner confirms and a welcome may only go out within 20 s of the join; on a bot
platform both are automatic. Automations read `Capabilities` and plan actions accordingly; the outbox hands a
snapshot of each action to `perform` and, after a crash, asks `reconcile` whether the platform already has it.

A connector never receives one of the engine's sessions: its platform calls take 100 ms to seconds, and nothing
may wait on the network while holding the database (on SQLite that would stop every writer). What it needs to
act is in the `ActionSnapshot` (with the connector's settings for the workspace, which the engine reads, so
`capabilities` needs no I/O either); what it keeps itself (the sandbox's messages, a token cache) it keeps in its
own short transactions through the `PlatformLink` the engine lends it; what happened on the platform (a member
removed, a message posted) it reports as events through the same link, which the engine projects like any other
source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from sqlalchemy.orm import Session, sessionmaker

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


@dataclass(frozen=True)
class ActionSnapshot:
    """An action as the outbox claimed it, with the platform ids it targets resolved in the claim transaction."""

    id: int
    workspace_id: int
    idempotency_key: str
    kind: str
    connector: str
    attempts: int
    payload: dict[str, Any]
    result: dict[str, Any]
    group_id: int | None = None
    contact_id: int | None = None
    #: The group's id on the platform, if the action targets a group.
    group_external_id: str | None = None
    #: The contact's id on the connector's platform, if the action targets a person who has one.
    recipient_external_id: str | None = None
    expires_at: datetime | None = None
    #: The connector's settings for this workspace (what `capabilities` is computed from), read by the engine.
    config: dict[str, Any] = field(default_factory=dict)


#: Platform facts a connector reports: (workspace id, events in the shape of `POST /api/v1/events`).
Report = Callable[[int, list[dict[str, Any]]], None]


@dataclass(frozen=True)
class PlatformLink:
    """What the engine lends a connector: short transactions of its own, and a way to report platform facts."""

    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    report: Report


class Connector(Protocol):
    name: str

    def bind(self, link: PlatformLink) -> None:
        """Called once by the runtime before any other call."""
        ...

    def capabilities(self, config: dict[str, Any]) -> Capabilities:
        """What the platform can do under these settings (the engine reads them: no I/O here)."""
        ...

    def perform(self, action: ActionSnapshot, now: datetime) -> Outcome:
        """Do the action on the platform. Must be idempotent on `action.idempotency_key`."""
        ...

    def reconcile(self, action: ActionSnapshot) -> Outcome | None:
        """After a crash mid-send: the outcome if the platform already has this action, else None."""
        ...

    def complete_task(self, action: ActionSnapshot, now: datetime) -> Outcome:
        """A staff member confirmed an owner task (e.g. pressed send on a WeCom mass-message task)."""
        ...


@dataclass(frozen=True)
class Check:
    """What a connector's self-check found (`siyu connector test`, the console's Test button).

    `outcome` is a stable word the console words in the reader's language (`reachable`, `unreachable`,
    `refused`, `inbound_only`); `message` is the English sentence the CLI and the API show."""

    ok: bool
    outcome: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class SelfTest(Protocol):
    """Optional for a connector: check, with real I/O, that the platform answers under the current settings.
    Called with no transaction open (it may take seconds)."""

    def self_test(self, now: datetime) -> Check: ...


@dataclass(frozen=True)
class JoinRequest:
    """Someone opened a channel code's landing page (`/c/<state>`, what the code's QR encodes) on their phone.

    The page cannot add a person to a real platform's group itself: the platform's own code or link does that
    (a WeCom 「联系我」 / 群活码 URL that carries `state`, so the add-contact callback attributes the join)."""

    workspace_id: int
    state: str
    community_id: int
    community_name: str
    #: The community's active groups on this platform, oldest first (their platform ids).
    group_external_ids: tuple[str, ...]
    #: The connector's settings for the workspace, read by the engine (as for `capabilities`).
    config: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class JoinHandover(Protocol):
    """Optional for a connector: where a member goes to join through the platform itself.

    The landing page shows the community and a join button that opens this URL; None (or a connector without
    the method) means the page can only ask the person to scan the code in the platform's app. No I/O: build the
    URL from `request.config` (a pre-made contact-way URL, a mini-program path)."""

    def join_url(self, request: JoinRequest) -> str | None: ...
