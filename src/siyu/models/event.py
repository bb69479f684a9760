from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, BigId, JsonType, UTCDateTime


class Event(Base):
    """The append-only log. Nothing updates or deletes a row; the source key makes a replay a no-op."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source_key"),
        Index("ix_events_contact_time", "workspace_id", "contact_id", "occurred_at"),
        Index("ix_events_group_time", "workspace_id", "group_id", "occurred_at"),
        Index("ix_events_type_time", "workspace_id", "type", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    type: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    group_id: Mapped[int | None] = mapped_column(nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
