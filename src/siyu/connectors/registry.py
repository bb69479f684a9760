"""Connectors by name. Built per runtime so tests can run several runtimes side by side."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from siyu.connectors.base import Capabilities, Connector, PlatformLink
from siyu.kit.errors import NotFound
from siyu.models import Workspace


class ConnectorRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, Connector] = {}
        self._link: PlatformLink | None = None

    def register(self, connector: Connector) -> None:
        self._by_name[connector.name] = connector
        if self._link is not None:
            connector.bind(self._link)

    def bind(self, link: PlatformLink) -> None:
        """The runtime lends every connector (and any registered later) its transactions and report sink."""
        self._link = link
        for connector in self._by_name.values():
            connector.bind(link)

    def get(self, name: str) -> Connector:
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFound(f"no connector named {name!r}", code="unknown_connector") from None

    def names(self) -> list[str]:
        return sorted(self._by_name)


def default_registry() -> ConnectorRegistry:
    from siyu.connectors.sandbox.connector import SandboxConnector

    reg = ConnectorRegistry()
    reg.register(SandboxConnector())
    return reg


def config_for(session: Session, name: str, workspace_id: int) -> dict[str, Any]:
    """A connector's settings for a workspace, as the engine stores them (the sandbox's: its mode)."""
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        return {}
    config = dict(((ws.settings or {}).get("connectors") or {}).get(name) or {})
    if name == "sandbox":
        config["mode"] = ws.sandbox_mode
    return config


def capabilities_for(session: Session, platform: str, workspace_id: int) -> Capabilities | None:
    """Capabilities of the connector behind a platform, from the registry the runtime put on the session."""
    reg: ConnectorRegistry | None = session.info.get("connectors")
    if reg is None or platform not in reg.names():
        return None
    return reg.get(platform).capabilities(config_for(session, platform, workspace_id))
