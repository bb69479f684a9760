"""All tables, imported here so Alembic and `Base.metadata` see every one."""

from siyu.models.acquisition import ChannelCode
from siyu.models.auth import ApiToken, AuditEntry, ConsoleSession, FormSubmission, User
from siyu.models.community import Community, CommunityRole, Group, Membership
from siyu.models.connector import ConnectorInstance, ConnectorStat, WebhookSignature
from siyu.models.contact import Contact, ContactNote, ContactTag, Identity, Tag, TagGroup
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
from siyu.models.event import AutomationFailure, Event, EventHour
from siyu.models.relationship import ContactRelationship
from siyu.models.sandbox import SandboxMember, SandboxMessage
from siyu.models.workspace import Workspace

__all__ = [
    "Action",
    "Alert",
    "ApiToken",
    "AuditEntry",
    "AutomationFailure",
    "ChannelCode",
    "Community",
    "CommunityRole",
    "ConnectorInstance",
    "ConnectorStat",
    "ConsoleSession",
    "Contact",
    "ContactNote",
    "ContactRelationship",
    "ContactTag",
    "Event",
    "EventHour",
    "FaqEntry",
    "FormSubmission",
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
    "WebhookSignature",
    "WordList",
    "Workspace",
]
