"""Connectors by name. Built per runtime so tests can run several runtimes side by side.

Two sources: built-in connectors registered in code (the sandbox), and the instances an operator added
(`connectors/instances.py`), whose objects are built from their stored settings on first use and rebuilt when
their `version` moves on — so a connector added or changed by `siyu connector add` in another process is used by
a running `siyu serve` on its next delivery, with no restart. Instance lookups read the `connectors` table with
the caller's session when there is one, else in a short read transaction of the registry's own.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.connectors import instances
from siyu.connectors.base import ActionSnapshot, Capabilities, Check, Connector, Outcome, PlatformLink
from siyu.kit.db import transaction
from siyu.kit.errors import NotFound
from siyu.models import ConnectorInstance, Workspace

log = logging.getLogger("siyu.connectors")


class ConnectorRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, Connector] = {}
        self._built: dict[str, tuple[int, int, Connector]] = {}  # name → (instance id, version, connector)
        self._lock = threading.Lock()
        self._link: PlatformLink | None = None
        self._secret_key = ""

    def register(self, connector: Connector) -> None:
        self._by_name[connector.name] = connector
        if self._link is not None:
            connector.bind(self._link)

    def bind(self, link: PlatformLink, *, secret_key: str = "") -> None:
        """The runtime lends every connector (and any registered later) its transactions and report sink, and
        the registry the installation's key, which opens the instances' sealed secrets."""
        self._link = link
        self._secret_key = secret_key
        for connector in self._by_name.values():
            connector.bind(link)
        with self._lock:
            self._built.clear()

    def get(self, name: str, session: Session | None = None) -> Connector:
        builtin = self._by_name.get(name)
        if builtin is not None:
            return builtin
        inst = self._instance(name, session)
        if inst is None:
            raise NotFound(f"no connector named {name!r}", code="unknown_connector")
        return self.of(inst)

    def of(self, inst: ConnectorInstance) -> Connector:
        """The connector object of an instance row, built once per version of its settings."""
        with self._lock:
            cached = self._built.get(inst.name)
            if cached is not None and cached[:2] == (inst.id, inst.version):
                return cached[2]
            connector = self._build(inst)
            self._built[inst.name] = (inst.id, inst.version, connector)
            return connector

    def _build(self, inst: ConnectorInstance) -> Connector:
        try:
            kind = instances.kind_named(inst.kind)
            connector = kind.build(inst.name, instances.config_of(inst, self._secret_key))
        except ValidationError as exc:  # settings an older siyu wrote; never echo the input (it may be a secret)
            fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
            log.error("connector %s cannot be built: invalid settings (%s)", inst.name, fields)
            connector = Unusable(inst.name, f"its stored settings are not valid any more ({fields})")
        except Exception as exc:  # unreadable secrets (another key): say so on every use
            log.error("connector %s cannot be built: %s", inst.name, exc)
            connector = Unusable(inst.name, f"{type(exc).__name__}: {exc}")
        if self._link is not None:
            connector.bind(self._link)
        return connector

    def _instance(self, name: str, session: Session | None) -> ConnectorInstance | None:
        if session is not None:
            return instances.by_name(session, name)
        if self._link is None:
            return None
        with transaction(self._link.read_sessions) as s:
            inst = instances.by_name(s, name)
            if inst is not None:
                s.expunge(inst)
            return inst

    def names(self, session: Session | None = None) -> list[str]:
        """Every connector that can deliver: built-in ones and the instances."""
        found = set(self._by_name)
        if session is not None:
            found.update(instances.names(session))
        elif self._link is not None:
            with transaction(self._link.read_sessions) as s:
                found.update(instances.names(s))
        return sorted(found)

    def built_in(self) -> list[str]:
        return sorted(self._by_name)


class Unusable:
    """An instance whose connector cannot be built (its secrets were sealed under another key): every action
    through it waits for a retry with the reason as its error, instead of failing the worker."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def bind(self, link: PlatformLink) -> None:
        return None

    def capabilities(self, config: dict[str, Any]) -> Capabilities:
        return Capabilities(post_to_group="none", direct_message="none", receive_messages="none",
                            remove_member="none", create_group=False)

    def perform(self, action: ActionSnapshot, now: datetime) -> Outcome:
        return Outcome("retry", error=f"connector {self.name!r} is unusable: {self.reason}")

    def reconcile(self, action: ActionSnapshot) -> Outcome | None:
        return None

    def complete_task(self, action: ActionSnapshot, now: datetime) -> Outcome:
        return self.perform(action, now)

    def self_test(self, now: datetime) -> Check:
        return Check(False, "unusable", f"the connector cannot be used: {self.reason}")


def default_registry() -> ConnectorRegistry:
    from siyu.connectors.sandbox.connector import SandboxConnector

    reg = ConnectorRegistry()
    reg.register(SandboxConnector())
    return reg


def config_for(session: Session, name: str, workspace_id: int) -> dict[str, Any]:
    """A connector's settings for a workspace, as the engine stores them: an instance's public settings (never
    its secrets), the sandbox's mode."""
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        return {}
    config = dict(((ws.settings or {}).get("connectors") or {}).get(name) or {})
    if name == "sandbox":
        config["mode"] = ws.sandbox_mode
        return config
    settings = session.scalar(select(ConnectorInstance.settings).where(
        ConnectorInstance.name == name, ConnectorInstance.workspace_id == workspace_id))
    if settings:
        config.update(settings)
    return config


def capabilities_for(session: Session, platform: str, workspace_id: int) -> Capabilities | None:
    """Capabilities of the connector behind a platform, from the registry the runtime put on the session."""
    reg: ConnectorRegistry | None = session.info.get("connectors")
    if reg is None:
        return None
    try:
        connector = reg.get(platform, session)
    except NotFound:
        return None
    return connector.capabilities(config_for(session, platform, workspace_id))
