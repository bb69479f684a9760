"""Connectors by name. Built per runtime so tests can run several runtimes side by side."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.connectors.base import Capabilities, Connector
from siyu.kit.errors import NotFound


class ConnectorRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, Connector] = {}

    def register(self, connector: Connector) -> None:
        self._by_name[connector.name] = connector

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


def capabilities_for(session: Session, platform: str, workspace_id: int) -> Capabilities | None:
    """Capabilities of the connector behind a platform, from the registry the runtime put on the session."""
    reg: ConnectorRegistry | None = session.info.get("connectors")
    if reg is None:
        reg = default_registry()
    if platform not in reg.names():
        return None
    return reg.get(platform).capabilities(session, workspace_id)
