"""Shapes of the FAQ library (C8): entries, quick replies, settings, dry-run matches and staff suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from siyu.kit.params import Id
from siyu.kit.patch import PatchModel


def _clean(items: list[str]) -> list[str]:
    return list(dict.fromkeys(s.strip() for s in items if s and s.strip()))


class Config(BaseModel):
    """Workspace-wide FAQ settings (the workspace's settings under `faq`); groups / communities switch the FAQ off
    with `faq: false` and may set their own `faq_rate_per_minute`."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    threshold: float = Field(default=0.40, gt=0, le=1, description="similarity at which siyu answers by itself")
    suggest_threshold: float = Field(default=0.25, gt=0, le=1,
                                     description="similarity at which staff get a suggested answer")
    rate_per_minute: int = Field(default=3, ge=0, le=120, description="automatic answers per group per minute")

    @model_validator(mode="after")
    def _order(self) -> Config:
        if self.suggest_threshold > self.threshold:
            raise ValueError("suggest_threshold must not be above threshold")
        return self


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=5000)
    variants: list[str] = Field(default_factory=list, max_length=50)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    community_id: Id | None = None
    active: bool = True

    @field_validator("variants", "keywords")
    @classmethod
    def _items(cls, v: list[str]) -> list[str]:
        if any(len(s) > 500 for s in v):
            raise ValueError("an item has at most 500 characters")
        return _clean(v)

    @field_validator("question", "answer")
    @classmethod
    def _strip(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()


class EntryPatch(PatchModel):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"community_id"})  # null: the entry answers in every community
    question: str | None = Field(default=None, min_length=1, max_length=500)
    answer: str | None = Field(default=None, min_length=1, max_length=5000)
    variants: list[str] | None = Field(default=None, max_length=50)
    keywords: list[str] | None = Field(default=None, max_length=50)
    community_id: Id | None = None
    active: bool | None = None

    @field_validator("variants", "keywords")
    @classmethod
    def _items(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        if any(len(s) > 500 for s in v):
            raise ValueError("an item has at most 500 characters")
        return _clean(v)


class EntryOut(BaseModel):
    id: int
    community_id: int | None
    question: str
    variants: list[str]
    answer: str
    keywords: list[str]
    active: bool
    created_at: datetime


class QuickReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=5000)


class QuickReplyPatch(PatchModel):
    title: str | None = Field(default=None, min_length=1, max_length=100)
    text: str | None = Field(default=None, min_length=1, max_length=5000)


class QuickReplyOut(BaseModel):
    id: int
    title: str
    text: str
    created_at: datetime


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)
    group_id: Id | None = None
    community_id: Id | None = None


class MatchOut(BaseModel):
    """What siyu would do with this text: reply, suggest to staff, or nothing."""

    outcome: Literal["reply", "suggest", "none"]
    entry_id: int | None = None
    question: str | None = None
    answer: str | None = None
    score: float = 0.0
    method: str | None = None
    keyword: str | None = None
    threshold: float
    suggest_threshold: float
    #: false when the text is a statement, not a question or a request for help: never answered
    asks: bool = True


class SuggestionOut(BaseModel):
    event_id: int
    message_event_id: int
    group_id: int | None
    contact_id: int | None
    text: str
    entry_id: int
    question: str
    answer: str
    score: float
    reason: str
    created_at: datetime
    answered: bool


class SentOut(BaseModel):
    action_id: int | None
    message_event_id: int
