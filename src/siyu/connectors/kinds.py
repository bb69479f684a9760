"""Kinds of connector an operator can add (`webhook` now; `wecom`, `matrix`, `email`, `sms` to come): each is a
pydantic config model and a factory that builds the connector object from one validated instance.

The config model is the single source of a kind's settings: the CLI's options map onto it, the console renders
its form from `model_json_schema()`, the API validates with it, and its `SecretStr` fields are what gets sealed
(`connectors/secrets.py`) and is never shown again. Public fields are what `capabilities` reads, with no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, SecretStr

from siyu.connectors.base import Connector


class ConnectorConfig(BaseModel):
    """A kind's settings. Mark secrets `SecretStr` (optional ones `SecretStr | None`): they are sealed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def secret_fields(cls) -> list[str]:
        return [name for name, f in cls.model_fields.items()
                if f.annotation is SecretStr or SecretStr in get_args(f.annotation)]

    def public(self) -> dict[str, Any]:
        """The settings that may be shown and that the engine reads (JSON-ready), secrets left out."""
        return self.model_dump(mode="json", exclude=set(self.secret_fields()))

    def secrets(self) -> dict[str, str]:
        """The secret values in the clear, to be sealed (unset optional secrets left out)."""
        out: dict[str, str] = {}
        for name in self.secret_fields():
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = value.get_secret_value()
        return out


@dataclass(frozen=True)
class Kind:
    name: str
    config: type[ConnectorConfig]
    #: (instance name, validated settings) → the connector object the outbox delivers through.
    build: Callable[[str, Any], Connector]
    #: One line for `siyu connector add --help` and the console's kind picker (English; translated there).
    summary: str


def _webhook() -> Kind:
    from siyu.connectors.webhook.connector import WebhookConfig, WebhookConnector

    return Kind("webhook", WebhookConfig, WebhookConnector,
                "Signed HTTP bridge: any platform posts events in, siyu posts actions out")


_FACTORIES: dict[str, Callable[[], Kind]] = {"webhook": _webhook}
_KINDS: dict[str, Kind] = {}


def names() -> list[str]:
    return sorted(_FACTORIES)


def get(name: str) -> Kind | None:
    """The kind of this name, or None (the caller raises its own error: a CLI message, a 422)."""
    kind = _KINDS.get(name)
    if kind is None and name in _FACTORIES:
        kind = _KINDS[name] = _FACTORIES[name]()
    return kind
