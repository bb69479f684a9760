"""Typed event schemas. Each event type names the payload model it must satisfy.

`custom.*` types accept any JSON object payload, so integrators can record their own behaviour (E2) without a
code change; every other type must be registered here, so a typo never becomes a silent new event type.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    join_scene: str = "qr"
    channel_code_id: int | None = None
    inviter_contact_id: int | None = None
    membership_id: int | None = None


class MemberLeft(Payload):
    quit_scene: str = "left"
    membership_id: int | None = None


class MessagePosted(Payload):
    text: str = Field(max_length=10_000)
    message_id: int | None = None


class Tagged(Payload):
    tags: list[str]
    source: str = "manual"


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


class IdentityRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str = Field(min_length=1, max_length=32)
    external_id: str = Field(min_length=1, max_length=200)
    display_name: str | None = Field(default=None, max_length=200)


class EventIn(BaseModel):
    """One event as clients send it. `contact` is an id or an identity (created on first sight)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=64)
    source_key: str | None = Field(default=None, min_length=1, max_length=MAX_KEY)
    occurred_at: datetime | None = None
    contact_id: int | None = None
    contact: IdentityRef | None = None
    group_id: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("occurred_at needs a time zone offset (e.g. 2026-01-01T08:00:00+08:00)")
        return v


class EventResult(BaseModel):
    index: int
    status: str  # stored | duplicate | rejected
    source_key: str | None = None
    id: int | None = None
    code: str | None = None
    reason: str | None = None


class EventOut(BaseModel):
    id: int
    type: str
    contact_id: int | None
    group_id: int | None
    occurred_at: datetime
    received_at: datetime
    source_key: str
    payload: dict[str, Any]
