"""Engagement: the SOP content calendar (C2–C5), FAQ and quick replies (C8), moderation (C7), interaction (C6),
alerts for dead groups and complaints (C9), playbook runs, and tracked shares that unlock gated content (C4)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.clock import utcnow
from siyu.kit.db import Base, BigId, JsonType, UTCDateTime


def _revision() -> int:
    """A random revision: the sum over a table's rows changes whenever any row is added, changed or removed."""
    return secrets.randbits(31)


class SopItem(Base):
    """One row of the SOP table: what goes out, when (RRULE, relative to a join / a group's creation, or once),
    where (a community's groups or one group), who owns it, and the notes."""

    __tablename__ = "sop_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), nullable=True, index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True, index=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    owner: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # timing: rrule | after_join | after_group_created | once
    timing: Mapped[str] = mapped_column(String(24), default="rrule")
    rrule: Mapped[str] = mapped_column(String(500), default="")
    time_of_day: Mapped[str] = mapped_column(String(5), default="08:00")
    offset_days: Mapped[int] = mapped_column(Integer, default=0)
    once_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    kind: Mapped[str] = mapped_column(String(32), default="content")
    activity: Mapped[bool] = mapped_column(Boolean, default=False)
    gate: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    chain: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    missed_policy: Mapped[str] = mapped_column(String(8), default="late")
    playbook: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SopOccurrence(Base):
    """A planned instance of an item for one group (or one member), unique by `key` so that two schedulers or a
    restart can never plan — and so never post — it twice."""

    __tablename__ = "sop_occurrences"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key"),
        Index("ix_sop_occurrences_due", "workspace_id", "due_at"),
        Index("ix_sop_occurrences_group_due", "group_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("sop_items.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True)
    contact_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    key: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # planned | queued | skipped_cap | skipped_quiet | skipped_missed | skipped_gate | cancelled
    status: Mapped[str] = mapped_column(String(16), default="planned")
    reason: Mapped[str] = mapped_column(Text, default="")
    variant: Mapped[str] = mapped_column(String(32), default="")
    action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("actions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FaqEntry(Base):
    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), nullable=True, index=True)
    question: Mapped[str] = mapped_column(String(500))
    variants: Mapped[list[str]] = mapped_column(JsonType, default=list)
    answer: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JsonType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # random on every insert / update: the matching engine's cache key is (count, sum of revisions)
    revision: Mapped[int] = mapped_column(Integer, default=_revision, onupdate=_revision, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class QuickReply(Base):
    __tablename__ = "quick_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WordList(Base):
    """A sensitive-word list (one word per line; thousands are fine: matching is Aho-Corasick)."""

    __tablename__ = "word_lists"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(100))
    words: Mapped[str] = mapped_column(Text, default="")
    # the first step of the ladder for a hit: warn | remove | blacklist
    severity: Mapped[str] = mapped_column(String(16), default="warn")
    # complaint lists alert the owner (C9) instead of moderating
    purpose: Mapped[str] = mapped_column(String(16), default="moderation")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    revision: Mapped[int] = mapped_column(Integer, default=_revision, onupdate=_revision, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModerationExemption(Base):
    """A whitelisted member (staff and KOL roles are exempt without an entry)."""

    __tablename__ = "moderation_exemptions"
    __table_args__ = (UniqueConstraint("workspace_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModerationDecision(Base):
    """What moderation did, to whom, for which message and rule; undoable from the console."""

    __tablename__ = "moderation_decisions"
    __table_args__ = (Index("ix_moderation_decisions_contact", "workspace_id", "contact_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True)
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    rule: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # warn | remove | blacklist
    excerpt: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="applied")  # applied | undone
    action_ids: Mapped[list[int]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    undone_by: Mapped[str] = mapped_column(String(100), default="")


class Interaction(Base):
    """C6: solitaire (接龙), lucky draw, quiz, poll, dice — one running game in one group."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    options: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    config: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    result: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class InteractionEntry(Base):
    __tablename__ = "interaction_entries"
    __table_args__ = (UniqueConstraint("interaction_id", "contact_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Alert(Base):
    """Something the group owner should look at (dead group, complaint, missed SOP window); `key` dedupes."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PlaybookRun(Base):
    __tablename__ = "playbook_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(32))
    targets: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    anchor_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    actor: Mapped[str] = mapped_column(String(100), default="")
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ShareLink(Base):
    """A member's personal tracked link to a piece of content; a click by someone else is a verified share."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    sharer_contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("sop_items.id"), nullable=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), nullable=True)
    url: Mapped[str] = mapped_column(String(2000), default="")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Unlock(Base):
    __tablename__ = "unlocks"
    __table_args__ = (UniqueConstraint("item_id", "contact_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("sop_items.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    share_link_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("share_links.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlaybookStep(Base):
    """One timeline step of an applied playbook (a post, an interaction, a group action) at its due time.
    Unique per run and index, and taken with a conditional update, so a step runs once however many ticks race."""

    __tablename__ = "playbook_steps"
    __table_args__ = (UniqueConstraint("run_id", "idx"), Index("ix_playbook_steps_due", "status", "due_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="planned")  # planned | running | done | failed
    result: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
