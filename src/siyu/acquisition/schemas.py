from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from siyu.kit.params import Id
from siyu.kit.patch import PatchModel

STATE_PATTERN = r"^[A-Za-z0-9:_\-.]{1,30}$"


class ChannelCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["channel", "store", "salesperson"] = "channel"
    community_id: Id
    state: str | None = Field(default=None, pattern=STATE_PATTERN,
                              description="WeCom `state`: at most 30 characters; generated when omitted")
    tag_ids: list[Id] = Field(default_factory=list, max_length=20)
    tags: list[str] = Field(default_factory=list, max_length=20,
                            description='tags as "group:name", created when missing')
    welcome_override: str = Field(default="", max_length=2000)

    @field_validator("tags")
    @classmethod
    def _tag_form(cls, v: list[str]) -> list[str]:
        for t in v:
            if ":" not in t:
                raise ValueError(f'tag {t!r} must look like "group:name"')
        return v


class ChannelCodePatch(PatchModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    tag_ids: list[Id] | None = Field(default=None, max_length=20)
    welcome_override: str | None = Field(default=None, max_length=2000)
    active: bool | None = None


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: str = Field(default="sandbox", min_length=1, max_length=32)
    external_id: str = Field(min_length=1, max_length=200)
    nickname: str = Field(default="", max_length=100)
