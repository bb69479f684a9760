"""All tables, imported here so Alembic and `Base.metadata` see every one."""

from siyu.models.acquisition import ChannelCode
from siyu.models.auth import ApiToken, AuditEntry, User
from siyu.models.community import Community, CommunityRole, Group, Membership
from siyu.models.contact import Contact, ContactTag, Identity, Tag, TagGroup
from siyu.models.delivery import Action
from siyu.models.engagement import (
    Alert,
    FaqEntry,
    Interaction,
    InteractionEntry,
    ModerationDecision,
    ModerationExemption,
    PlaybookRun,
    PlaybookStep,
    QuickReply,
    ShareLink,
    SopItem,
    SopOccurrence,
    Unlock,
    WordList,
)
from siyu.models.event import Event, EventHour
from siyu.models.sandbox import SandboxMember, SandboxMessage
from siyu.models.workspace import Workspace

__all__ = [
    "Action",
    "Alert",
    "ApiToken",
    "AuditEntry",
    "ChannelCode",
    "Community",
    "CommunityRole",
    "Contact",
    "ContactTag",
    "Event",
    "EventHour",
    "FaqEntry",
    "Group",
    "Identity",
    "Interaction",
    "InteractionEntry",
    "Membership",
    "ModerationDecision",
    "ModerationExemption",
    "PlaybookRun",
    "PlaybookStep",
    "QuickReply",
    "SandboxMember",
    "SandboxMessage",
    "ShareLink",
    "SopItem",
    "SopOccurrence",
    "Tag",
    "TagGroup",
    "Unlock",
    "User",
    "WordList",
    "Workspace",
]
