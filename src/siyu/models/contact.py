from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.clock import utcnow
from siyu.kit.db import Base, BigId, JsonType, UTCDateTime


class Contact(Base):
    """A person, however many platform identities they have. A merged contact points at its survivor."""

    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_ws_name", "workspace_id", "display_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    blacklisted: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"), nullable=True)
    # The console user (sales) this contact is assigned to; sales principals see only their own contacts.
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Identity(Base):
    """One platform id of a contact (wecom external_userid, unionid, email, phone, matrix id, sandbox id)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("workspace_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TagGroup(Base):
    __tablename__ = "tag_groups"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(30))


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("workspace_id", "group_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("tag_groups.id"))
    name: Mapped[str] = mapped_column(String(30))


class ContactTag(Base):
    __tablename__ = "contact_tags"

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True, index=True)
    source: Mapped[str] = mapped_column(String(64), default="manual")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContactNote(Base):
    """A follow-up note staff wrote on a contact (跟进记录): who wrote it, when, and what. Notes are the staff's own
    words, not platform facts, so they live here and not in the event log."""

    __tablename__ = "contact_notes"
    __table_args__ = (Index("ix_contact_notes_contact", "contact_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    #: The console user who wrote it (None for an API token); `author` keeps the name as it was shown then.
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
