from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.clock import utcnow
from siyu.kit.db import Base, JsonType, UTCDateTime


class Workspace(Base):
    """A tenant. The embedded install has one (id 1); every row belongs to a workspace."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # sandbox_mode: "bot" (everything automatic) or "wecom" (group posts become owner tasks, 20 s welcome window)
    sandbox_mode: Mapped[str] = mapped_column(String(16), default="bot")
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Bumped whenever an identity changes owner (a merge): tells every process its identity cache is stale.
    identity_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
