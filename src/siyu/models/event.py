from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text, true
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, BigId, JsonType, UTCDateTime


def _present(column: str) -> dict[str, Any]:
    # Partial: most integrator events name no group (and some no contact); they cost these indexes nothing.
    cond = text(f"{column} IS NOT NULL")
    return {"sqlite_where": cond, "postgresql_where": cond}


class Event(Base):
    """The append-only log. Nothing updates or deletes a row; the source key makes a replay a no-op.

    Every secondary index costs each batch a write of the pages it touches, so the log keeps few and small ones
    (docs/events.md): dedupe runs on `source_hash` (siyu.events.keys), not on the text key; contact and group ids
    are unique across workspaces, so their indexes lead with the id (queries still filter on the workspace).
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source_hash"),
        Index("ix_events_contact_time", "contact_id", "occurred_at", **_present("contact_id")),
        Index("ix_events_group_time", "group_id", "occurred_at", **_present("group_id")),
        # By id, not by time: the log is appended in id order, so new rows land at the end of each type's run
        # instead of at random places (occurred_at of imported history is random); this index serves "latest of
        # a type" and "everything of a type since id N" (cursors). Time windows go through contact or group.
        Index("ix_events_type_id", "workspace_id", "type", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    type: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    group_id: Mapped[int | None] = mapped_column(nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source_key: Mapped[str] = mapped_column(String(200))
    source_hash: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: Live events act (welcome, replies, moderation); history (imports, syncs, late events) only counts.
    live: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class EventHour(Base):
    """How many events occurred in each UTC hour, kept by ingest, so day charts never scan the log.

    Several rows per hour (`shard`): concurrent writers on PostgreSQL add to different rows instead of queueing on
    one hot row; readers sum the shards.
    """

    __tablename__ = "event_hours"

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger)


class AutomationFailure(Base):
    """An automation that raised on an event. The event stays stored and acknowledged; this row is what the
    retry job works through (with backoff) and what the console's Alerts page shows and can run again."""

    __tablename__ = "automation_failures"
    __table_args__ = (
        UniqueConstraint("event_id", "automation"),
        Index("ix_automation_failures_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    event_id: Mapped[int] = mapped_column(BigId)
    event_type: Mapped[str] = mapped_column(String(64))
    automation: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    #: pending (will be retried) | resolved (a retry succeeded) | abandoned (out of retries; re-run by hand)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
