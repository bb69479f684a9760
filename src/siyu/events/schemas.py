"""Typed event schemas. Each event type names the payload model it must satisfy.

`custom.*` types accept any JSON object payload, so integrators can record their own behaviour (E2) without a
code change; every other type must be registered here, so a typo never becomes a silent new event type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs this one, not typing's, before Python 3.12

MAX_KEY = 200


class Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class Empty(Payload):
    pass


class ChannelJoin(Payload):
    channel_code_id: int
    state: str = Field(max_length=30)
    community_id: int | None = None


class MemberJoined(Payload):
    join_scene: str = Field(default="qr", max_length=16)
    channel_code_id: int | None = None
    inviter_contact_id: int | None = None
    #: The channel code's state the member came through (WeCom's `State`).
    state: str | None = Field(default=None, max_length=30)
    membership_id: int | None = None  # written by siyu before memberships followed from events; ignored


class MemberLeft(Payload):
    quit_scene: str = Field(default="left", max_length=16)
    membership_id: int | None = None


class GroupCreated(Payload):
    platform: str = Field(min_length=1, max_length=32)
    external_id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=100)
    owner: str = Field(default="", max_length=100)
    community_id: int | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)


class GroupRenamed(Payload):
    name: str = Field(min_length=1, max_length=100)


class ContactAdded(Payload):
    """A contact became a friend of a staff account (WeCom: add_external_contact, with the contact way's state)."""

    staff: str = Field(min_length=1, max_length=64)
    state: str | None = Field(default=None, max_length=30)


class ContactRemoved(Payload):
    staff: str = Field(min_length=1, max_length=64)
    #: contact: the customer deleted the staff member (del_follow_user); staff: the staff deleted the customer.
    by: Literal["contact", "staff"] = "contact"


class MessagePosted(Payload):
    text: str = Field(max_length=10_000)
    message_id: int | None = None


def _tag_label(label: str) -> str:
    group, _, name = label.replace("：", ":").partition(":")
    group, name = group.strip(), name.strip()
    if not (1 <= len(group) <= 30 and 1 <= len(name) <= 30):
        raise ValueError("a tag is 'group:name', each part 1 to 30 characters")
    return f"{group}:{name}"


class Tagged(Payload):
    """Tags given or taken, as 'group:name' labels (a tag that does not exist yet is created)."""

    tags: list[Annotated[str, AfterValidator(_tag_label)]] = Field(min_length=1, max_length=100)
    source: str = Field(default="manual", max_length=64)


class Merged(Payload):
    merged_contact_id: int
    into_contact_id: int


class QuestionnaireAnswered(Payload):
    community_id: int
    answers: dict[str, str]


class ActionOutcome(Payload):
    action_id: int
    kind: str
    idempotency_key: str


class LinkClicked(Payload):
    url: str = Field(max_length=2000)
    campaign: str | None = None


class FormSubmitted(Payload):
    form: str = Field(max_length=200)
    fields: dict[str, Any] = Field(default_factory=dict)


class OrderPaid(Payload):
    order_id: str = Field(max_length=100)
    amount: float = Field(ge=0)
    currency: str = "CNY"


REGISTRY: dict[str, type[Payload]] = {
    "contact.created": Empty,
    "contact.identified": Empty,
    "contact.merged": Merged,
    "contact.tagged": Tagged,
    "contact.untagged": Tagged,
    "contact.joined_via_channel": ChannelJoin,
    "contact.questionnaire_answered": QuestionnaireAnswered,
    "group.member_joined": MemberJoined,
    "group.member_left": MemberLeft,
    "group.created": GroupCreated,
    "group.renamed": GroupRenamed,
    "group.dismissed": Empty,
    "contact.added": ContactAdded,
    "contact.removed": ContactRemoved,
    "message.posted": MessagePosted,
    "action.sent": ActionOutcome,
    "action.failed": ActionOutcome,
    "action.task_open": ActionOutcome,
    "action.task_done": ActionOutcome,
    "action.expired": ActionOutcome,
    "link.clicked": LinkClicked,
    "page.viewed": LinkClicked,
    "form.submitted": FormSubmitted,
    "order.paid": OrderPaid,
}


def register(event_type: str, model: type[Payload]) -> None:
    """Domains register their own event types (at import) so the log validates them like the built-in ones."""
    existing = REGISTRY.get(event_type)
    if existing is not None and existing is not model:
        raise ValueError(f"event type {event_type!r} is already registered to {existing.__name__}")
    REGISTRY[event_type] = model


def payload_model(event_type: str) -> type[Payload] | None:
    if event_type.startswith("custom.") and len(event_type) > 7:
        return Payload
    return REGISTRY.get(event_type)


@with_config(ConfigDict(extra="forbid"))
class IdentityRef(TypedDict):
    platform: Annotated[str, Field(min_length=1, max_length=32)]
    external_id: Annotated[str, Field(min_length=1, max_length=200)]
    display_name: NotRequired[Annotated[str | None, Field(max_length=200)]]


@with_config(ConfigDict(extra="forbid"))
class GroupRef(TypedDict):
    """A group by its platform id (created on first sight, `communities/refs.py`)."""

    platform: Annotated[str, Field(min_length=1, max_length=32)]
    external_id: Annotated[str, Field(min_length=1, max_length=128)]


@with_config(ConfigDict(extra="forbid"))
class EventIn(TypedDict):
    """One event as clients send it. `contact` is an id or an identity (created on first sight).

    TypedDicts, not models: pydantic-core validates a 1,000-event batch into plain dicts in less than half the
    time it takes to build models (docs/bench.md), and ingest only reads the fields once.
    """

    type: Annotated[str, Field(min_length=1, max_length=64)]
    source_key: NotRequired[Annotated[str | None, Field(min_length=1, max_length=MAX_KEY)]]
    # Checked in pydantic-core (no Python validator per event); the message comes from ERROR_TEXT.
    occurred_at: NotRequired[AwareDatetime | None]
    contact_id: NotRequired[int | None]
    contact: NotRequired[IdentityRef | None]
    group_id: NotRequired[int | None]
    group: NotRequired[GroupRef | None]
    payload: NotRequired[dict[str, Any]]
    #: live (default: automations react) or history (imports, syncs: state and counts only).
    mode: NotRequired[Literal["live", "history"] | None]


#: Friendlier messages for pydantic error types an integrator meets most.
ERROR_TEXT = {"timezone_aware": "needs a time zone offset (e.g. 2026-01-01T08:00:00+08:00)"}


@dataclass(slots=True)
class EventResult:
    """Per-event answer of an ingest call. A plain dataclass: a batch builds a thousand of them."""

    index: int
    status: str  # stored | duplicate | rejected
    source_key: str | None = None
    id: int | None = None
    code: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: fields that are None are left out."""
        return {k: v for k in _RESULT_FIELDS if (v := getattr(self, k)) is not None}


_RESULT_FIELDS = ("index", "status", "source_key", "id", "code", "reason")


class EventOut(BaseModel):
    id: int
    type: str
    contact_id: int | None
    group_id: int | None
    occurred_at: datetime
    received_at: datetime
    source_key: str
    payload: dict[str, Any]
    live: bool = True
