"""Shapes of moderation: word lists, exemptions, decisions and the rule settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from siyu.kit.params import Id64
from siyu.kit.patch import PatchModel

Step = Literal["warn", "remove", "blacklist"]
Purpose = Literal["moderation", "complaint"]
STEPS: tuple[str, ...] = ("warn", "remove", "blacklist")
DEFAULT_LADDER: tuple[Step, ...] = ("warn", "remove", "blacklist")
#: Roles never moderated: staff, opinion leaders and siyu's own accounts.
STAFF_ROLES = frozenset({"owner", "admin", "customer_service"})
EXEMPT_ROLES = STAFF_ROLES | {"kol", "koc", "robot", "vest"}
MAX_WORDS_TEXT = 2_000_000
WARN_TEXT = "@{nickname} 请遵守群规：{rule}。再次违规将被移出群聊。"


class Rules(BaseModel):
    """Workspace-wide rule settings (kept in the workspace's settings under `moderation`)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    links: bool = True
    link_step: Step = "warn"
    flood_messages: int = Field(default=8, ge=2, le=1000)
    flood_seconds: int = Field(default=60, ge=5, le=86_400)
    flood_step: Step = "warn"
    wave_groups: int = Field(default=3, ge=2, le=1000)
    wave_seconds: int = Field(default=600, ge=10, le=7 * 86_400)
    wave_min_chars: int = Field(default=6, ge=1, le=1000)
    wave_step: Step = "remove"
    newcomer_hours: int = Field(default=24, ge=0, le=24 * 90)
    newcomer_flood_messages: int = Field(default=4, ge=2, le=1000)
    newcomer_wave_groups: int = Field(default=2, ge=2, le=1000)
    #: The first step for a newcomer's link. Default `warn`: the ladder (warn → remove → blacklist) holds for
    #: newcomers too; they get stricter flooding and spam-wave thresholds, not a skipped warning.
    newcomer_link_step: Step = "warn"
    #: The contact-number rule: phone numbers (in any digits: 138…, ①③⑧…, 一三八…) and WeChat / QQ ids after their cue.
    contacts: bool = True
    contact_step: Step = "warn"
    ladder: list[Step] = Field(default_factory=lambda: list(DEFAULT_LADDER), min_length=1, max_length=10)
    ladder_days: int = Field(default=90, ge=1, le=3650)
    warn_text: str = Field(default=WARN_TEXT, min_length=1, max_length=500)
    complaint_alerts: bool = True

    @field_validator("warn_text")
    @classmethod
    def _placeholders(cls, v: str) -> str:
        try:
            v.format(nickname="x", rule="y")
        except (KeyError, IndexError, ValueError):
            raise ValueError("only {nickname} and {rule} may appear in braces") from None
        return v


MAX_ALLOWED_TERMS = 2000


def _clean_terms(v: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in v if t and t.strip()))


class AllowedTermsIn(BaseModel):
    """Terms that are fine in this scope: a listed word, link or number that starts or ends inside one of them, or
    lies wholly in one, is not a violation (参加 for 参加微信支付, 税务局代开 in an accounting community)."""

    model_config = ConfigDict(extra="forbid")
    terms: list[Annotated[str, StringConstraints(max_length=100)]] = Field(default_factory=list,
                                                                           max_length=MAX_ALLOWED_TERMS)

    @field_validator("terms")
    @classmethod
    def _terms(cls, v: list[str]) -> list[str]:
        return _clean_terms(v)


class AllowedTermsOut(BaseModel):
    #: null: the workspace-wide list (it applies in every community, beside the community's own)
    community_id: int | None
    terms: list[str]


class WordListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    words: str = Field(default="", max_length=MAX_WORDS_TEXT, description="one word per line")
    severity: Step = "warn"
    purpose: Purpose = "moderation"
    active: bool = True


class WordListPatch(PatchModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    words: str | None = Field(default=None, max_length=MAX_WORDS_TEXT)
    severity: Step | None = None
    purpose: Purpose | None = None
    active: bool | None = None


class WordsUpload(BaseModel):
    """Bulk upload: words as text, one a line (commas and 、 separate too)."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_WORDS_TEXT)
    mode: Literal["append", "replace"] = "append"


class WordListOut(BaseModel):
    id: int
    name: str
    severity: str
    purpose: str
    active: bool
    word_count: int
    words: list[str] | None = None
    created_at: datetime


class ExemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: Id64
    note: str = Field(default="", max_length=200)


class ExemptionOut(BaseModel):
    id: int
    contact_id: int
    display_name: str
    note: str
    created_at: datetime


class DecisionOut(BaseModel):
    id: int
    group_id: int | None
    contact_id: int
    display_name: str
    event_id: int | None
    rule: str
    decision: str
    excerpt: str
    detail: dict[str, Any]
    status: str
    action_ids: list[int]
    created_at: datetime
    undone_at: datetime | None
    undone_by: str


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)
    #: check as in this community (its allowed terms apply)
    community_id: Id64 | None = None


class CheckOut(BaseModel):
    """What the rules that look at one message's text would find (flooding and waves need history)."""

    normalized: str
    words: list[dict[str, Any]]
    complaint_words: list[str]
    links: list[dict[str, str]]
    #: phone numbers and WeChat / QQ ids (`what`: phone | contact_id)
    contacts: list[dict[str, str]] = Field(default_factory=list)
    #: listed words, links and numbers found but not counted because an allowed term covers them
    allowed: list[str] = Field(default_factory=list)
