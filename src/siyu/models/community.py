from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.clock import utcnow
from siyu.kit.db import Base, BigId, JsonType, UTCDateTime


class Community(Base):
    """A positioned community (A1 profile, A2 type, A3 rules) that owns one or more chat groups."""

    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(32), default="content")
    profile: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    rules: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    welcome_text: Mapped[str] = mapped_column(Text, default="")
    activities: Mapped[str] = mapped_column(Text, default="")
    questionnaire: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    default_capacity: Mapped[int] = mapped_column(Integer, default=200)
    # engagement settings (daily post cap, quiet hours, FAQ / moderation switches); groups may override
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict, server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CommunityRole(Base):
    """A4 roles. Vest accounts and robots are members on the platform but never counted as members."""

    __tablename__ = "community_roles"
    __table_args__ = (UniqueConstraint("community_id", "contact_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("workspace_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), nullable=True, index=True)
    platform: Mapped[str] = mapped_column(String(32), default="sandbox")
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(100))
    owner: Mapped[str] = mapped_column(String(100), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=200)
    status: Mapped[str] = mapped_column(String(16), default="active")
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict, server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Membership(Base):
    """One stay of a contact in a group: the raw facts group funnels need (scene, inviter, channel, quit)."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index("ix_memberships_group_active", "group_id", "left_at"),
        # One open stay per member and group, whoever writes it and however many processes race.
        Index("uq_memberships_open", "group_id", "contact_id", unique=True,
              sqlite_where=text("left_at IS NULL"), postgresql_where=text("left_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    join_scene: Mapped[str] = mapped_column(String(16), default="qr")
    inviter_contact_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    channel_code_id: Mapped[int | None] = mapped_column(ForeignKey("channel_codes.id"), nullable=True)
    state: Mapped[str | None] = mapped_column(String(30), nullable=True)
    quit_scene: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: The events this stay was projected from (None for a leave seen before its join, or rows from before).
    join_event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    leave_event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
