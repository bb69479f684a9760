"""Connector instances an operator added (a webhook bridge named `tg`, later a WeCom corp, a Matrix bot), their
health counters, and the signatures of webhook callbacks already accepted.

An instance's `name` is what the rest of the engine calls its platform: groups and identities on it carry
`platform = name`, and the outbox delivers an action through the connector of that name. Names are unique across
the installation because the callback URL (`/callbacks/<kind>/<name>`) names no workspace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.clock import utcnow
from siyu.kit.db import Base, BigId, JsonType, UTCDateTime


class ConnectorInstance(Base):
    """A named connector of a kind. `settings` holds the kind's public settings (what `capabilities` reads);
    the fields its config model marks secret live only in `sealed`, encrypted with a key derived from the
    installation's secret key (`connectors/secrets.py`), and are never shown again."""

    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    sealed: Mapped[str] = mapped_column(Text, default="")
    #: Bumped by every change, so each process rebuilds its connector object when the settings moved on.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_outbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConnectorStat(Base):
    """Calls to and from a connector per minute, and how many of them failed: the health page's error rate over
    the last hour, without a row per call. Kept two days."""

    __tablename__ = "connector_stats"

    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)


class WebhookSignature(Base):
    """A webhook callback's signature, kept while its timestamp is inside the tolerance window: the unique
    constraint turns a replay — even two copies racing in at once — into a conflict, so the events it carries
    are stored once. Older signatures can go: their timestamp alone gets a replay refused."""

    __tablename__ = "webhook_signatures"
    __table_args__ = (
        UniqueConstraint("connector_id", "signature"),
        Index("ix_webhook_signatures_connector_signed", "connector_id", "signed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    signature: Mapped[str] = mapped_column(String(64))
    #: The sender's timestamp (what the signature covers), by which old rows are pruned.
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
