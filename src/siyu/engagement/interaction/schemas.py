"""Shapes of interactions (C6): what staff send to create one, what the API returns, and the result events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from siyu.events import schemas as event_schemas
from siyu.kit.params import Id, Id64, Moment

Kind = Literal["solitaire", "draw", "quiz", "poll", "dice"]
KINDS: tuple[str, ...] = ("solitaire", "draw", "quiz", "poll", "dice")
MAX_OPTIONS = 10


class InteractionIn(BaseModel):
    """One interaction in one group. Fields that do not belong to the kind are refused (`service.validate`)."""

    model_config = ConfigDict(extra="forbid")

    group_id: Id
    kind: Kind
    title: str = Field(min_length=1, max_length=200)
    intro: str = Field(default="", max_length=1000)
    closes_at: Moment | None = None
    # quiz / poll
    options: list[str] = Field(default_factory=list, max_length=MAX_OPTIONS)
    correct: int | None = Field(default=None, ge=1, le=MAX_OPTIONS, description="quiz: the right option, 1-based")
    # solitaire
    stock: int | None = Field(default=None, ge=1, le=100_000)
    announce_every: int = Field(default=5, ge=1, le=1000, description="post the live list every N new entries")
    announce_interval_s: int = Field(default=60, ge=0, le=86_400,
                                     description="…or when this long passed since the last post")
    # lucky draw
    keyword: str | None = Field(default=None, min_length=1, max_length=20)
    winners: int | None = Field(default=None, ge=1, le=100)
    # dice
    rolls_per_member: int | None = Field(default=None, ge=1, le=10)
    # draw / dice: a fixed seed (tests, re-runs); otherwise a random one is chosen and stored
    seed: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("closes_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("closes_at needs a time zone offset (e.g. 2026-12-12T20:00:00+08:00)")
        return v

    @field_validator("options")
    @classmethod
    def _options(cls, v: list[str]) -> list[str]:
        out = [o.strip() for o in v]
        if any(not o or len(o) > 100 for o in out):
            raise ValueError("each option needs 1 to 100 characters")
        if len(set(out)) != len(out):
            raise ValueError("options must differ")
        return out


class DrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: str | None = Field(default=None, min_length=1, max_length=64)


class ShareLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: Id64
    url: str = Field(default="", max_length=2000)


class ShareLinkOut(BaseModel):
    id: int
    token: str
    interaction_id: int
    sharer_contact_id: int
    url: str
    verified_at: datetime | None


class EntryOut(BaseModel):
    contact_id: int
    display_name: str
    seq: int
    value: dict[str, Any]
    created_at: datetime


class InteractionOut(BaseModel):
    id: int
    group_id: int
    kind: str
    title: str
    options: list[Any]
    config: dict[str, Any]
    status: str
    result: dict[str, Any]
    live: dict[str, Any]
    created_at: datetime
    closes_at: datetime | None
    closed_at: datetime | None
    entries: list[EntryOut] | None = None


# -- result events (they feed lead scoring) ------------------------------------------------------------------


class Ref(event_schemas.Payload):
    interaction_id: int
    kind: str


class Joined(Ref):
    count: int
    note: str = ""
    updated: bool = False
    remaining: int | None = None


class Entered(Ref):
    pass


class Answered(Ref):
    option: int
    correct: bool | None = None


class Rolled(Ref):
    roll: int


class Won(Ref):
    rank: int
    tickets: int


class Closed(Ref):
    reason: str
    entries: int


class ShareVerified(Ref):
    share_link_id: int
    clicker_contact_id: int


EVENTS: dict[str, type[event_schemas.Payload]] = {
    "interaction.created": Ref,
    "interaction.joined": Joined,
    "interaction.entered": Entered,
    "interaction.answered": Answered,
    "interaction.rolled": Rolled,
    "interaction.won": Won,
    "interaction.closed": Closed,
    "interaction.share_verified": ShareVerified,
}
for _type, _model in EVENTS.items():
    event_schemas.register(_type, _model)
