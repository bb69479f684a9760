"""The shapes of the SOP calendar (C2–C5): items, their content, timing, gates and chains, settings, broadcasts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from dateutil.rrule import rrulestr
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from siyu.kit.params import Id, Id64, Moment
from siyu.kit.patch import PatchModel

Timing = Literal["rrule", "after_join", "after_group_created", "once"]
TIMINGS: tuple[str, ...] = ("rrule", "after_join", "after_group_created", "once")
ChainStep = Literal["preview", "poster", "course", "article", "audio", "series"]
CHAIN_STEPS: tuple[str, ...] = ("preview", "poster", "course", "article", "audio", "series")
ACTIVITY_STEPS: tuple[ChainStep, ...] = ("preview", "poster", "course")
MissedPolicy = Literal["late", "skip"]
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
URL = r"^https?://\S+$"
ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
CAP_MIN, CAP_MAX, CAP_DEFAULT = 1, 5, 3
MAX_TEXT = 4000  # WeCom mass message text limit is 4,000 bytes; we count characters and stay within it


def check_hhmm(v: str) -> str:
    v = v.strip()
    if not HHMM.match(v):
        raise ValueError("time of day must be HH:MM (00:00–23:59)")
    return v


def check_rrule(v: str) -> str:
    """An iCalendar RRULE (with or without the `RRULE:` prefix); DTSTART comes from the item, not the rule."""
    v = v.strip()
    if v.upper().startswith("RRULE:"):
        v = v[6:]
    if not v:
        raise ValueError("an rrule item needs a rule, e.g. FREQ=WEEKLY;BYDAY=TU")
    if "DTSTART" in v.upper() or "\n" in v:
        raise ValueError("give only the RRULE part (no DTSTART): the start comes from the item")
    freq = dict(p.split("=", 1) for p in v.upper().split(";") if "=" in p).get("FREQ")
    if freq not in ALLOWED_FREQ:
        raise ValueError(f"FREQ must be one of {', '.join(ALLOWED_FREQ)}")
    try:
        rrulestr(v, dtstart=datetime(2026, 1, 1, 8, 0))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a valid RRULE: {exc}") from None
    return v


class LinkAttachment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["link"] = "link"
    title: str = Field(min_length=1, max_length=200)
    url: str = Field(pattern=URL, max_length=2000)
    desc: str = Field(default="", max_length=500)


class ImageAttachment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["image"] = "image"
    url: str = Field(pattern=URL, max_length=2000)


class FileAttachment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["file"] = "file"
    url: str = Field(pattern=URL, max_length=2000)
    name: str = Field(min_length=1, max_length=200)


class MiniprogramAttachment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["miniprogram"] = "miniprogram"
    title: str = Field(min_length=1, max_length=200)
    appid: str = Field(min_length=1, max_length=64)
    page: str = Field(min_length=1, max_length=500)


Attachment = Annotated[LinkAttachment | ImageAttachment | FileAttachment | MiniprogramAttachment,
                       Field(discriminator="type")]


class Variant(BaseModel):
    """An A/B variant: each group gets one, chosen by a hash of (item, group), recorded on the occurrence."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    attachments: list[Attachment] = Field(default_factory=list, max_length=9)


class Gate(BaseModel):
    """C4: free in the home groups; elsewhere members share to unlock (the post carries the instructions)."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["share_to_unlock"] = "share_to_unlock"
    home_group_ids: list[Id] = Field(default_factory=list, max_length=500)


class Chain(BaseModel):
    """C5: one step of a course's reuse chain (preview → poster → course → article → audio → series)."""

    model_config = ConfigDict(extra="forbid")
    series: str = Field(min_length=1, max_length=100)
    step: ChainStep


class _ItemFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("time_of_day", check_fields=False)
    @classmethod
    def _hhmm(cls, v: str | None) -> str | None:
        return None if v is None else check_hhmm(v)

    @field_validator("rrule", check_fields=False)
    @classmethod
    def _rule(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return "" if v is not None else None
        return check_rrule(v)


class SopItemIn(_ItemFields):
    """One row of the SOP table. Exactly one target: a community (all its groups) or one group.

    `once_at` without a time zone is read in the workspace's time zone.
    """

    title: str = Field(min_length=1, max_length=200)
    text: str = Field(default="", max_length=MAX_TEXT)
    attachments: list[Attachment] = Field(default_factory=list, max_length=9)
    variants: list[Variant] = Field(default_factory=list, max_length=5)
    community_id: Id | None = None
    group_id: Id | None = None
    owner: str = Field(default="", max_length=100)
    notes: str = Field(default="", max_length=2000)
    timing: Timing = "rrule"
    rrule: str = Field(default="", max_length=500)
    time_of_day: str = "08:00"
    offset_days: int = Field(default=0, ge=0, le=365)
    once_at: Moment | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    kind: str = Field(default="content", min_length=1, max_length=32)
    activity: bool = False
    gate: Gate | None = None
    chain: Chain | None = None
    missed_policy: MissedPolicy = "late"
    playbook: str | None = Field(default=None, max_length=100)
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> SopItemIn:
        if (self.community_id is None) == (self.group_id is None):
            raise ValueError("give exactly one target: community_id (all its groups) or group_id")
        if self.timing == "rrule" and not self.rrule:
            raise ValueError("timing 'rrule' needs an rrule, e.g. FREQ=DAILY")
        if self.timing == "once" and self.once_at is None:
            raise ValueError("timing 'once' needs once_at")
        if not self.text.strip() and not self.variants and not self.attachments:
            raise ValueError("an item needs text, attachments or variants")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        for a, b in ((self.starts_at, self.ends_at),):
            if a is not None and b is not None and _aware(a) >= _aware(b):
                raise ValueError("starts_at must be before ends_at")
        return self


def _aware(v: datetime) -> datetime:
    return v if v.tzinfo is not None else v.replace(tzinfo=UTC)


class SopItemPatch(_ItemFields, PatchModel):
    """A partial update; the merged item is validated like a new one. Null clears the optional parts (switch the
    target, drop the end date, the gate or the chain); other fields are only left out."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"community_id", "group_id", "once_at", "starts_at", "ends_at",
                                                    "gate", "chain", "playbook"})

    title: str | None = Field(default=None, min_length=1, max_length=200)
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    attachments: list[Attachment] | None = Field(default=None, max_length=9)
    variants: list[Variant] | None = Field(default=None, max_length=5)
    community_id: Id | None = None
    group_id: Id | None = None
    owner: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=2000)
    timing: Timing | None = None
    rrule: str | None = Field(default=None, max_length=500)
    time_of_day: str | None = None
    offset_days: int | None = Field(default=None, ge=0, le=365)
    once_at: Moment | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    kind: str | None = Field(default=None, min_length=1, max_length=32)
    activity: bool | None = None
    gate: Gate | None = None
    chain: Chain | None = None
    missed_policy: MissedPolicy | None = None
    playbook: str | None = Field(default=None, max_length=100)
    active: bool | None = None


class SopItemOut(BaseModel):
    id: int
    title: str
    text: str
    attachments: list[dict[str, Any]]
    variants: list[dict[str, Any]]
    community_id: int | None
    group_id: int | None
    owner: str
    notes: str
    timing: str
    rrule: str
    time_of_day: str
    offset_days: int
    once_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    kind: str
    activity: bool
    gate: dict[str, Any]
    chain: dict[str, Any]
    missed_policy: str
    playbook: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class ScheduleSettings(BaseModel):
    """Per community (a group may override): at most `daily_cap` SOP posts per group and local day, none inside
    the quiet hours [start, end) (wrapping midnight when start > end)."""

    model_config = ConfigDict(extra="forbid")
    daily_cap: int | None = None
    quiet_hours: list[str] | None = None

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: list[str] | None) -> list[str] | None:
        if v is None or v == []:
            return v
        if len(v) != 2:
            raise ValueError('quiet_hours is ["HH:MM", "HH:MM"] (start, end) or []')
        a, b = check_hhmm(v[0]), check_hhmm(v[1])
        if a == b:
            raise ValueError("quiet hours need a start different from the end")
        return [a, b]


class ScheduleSettingsOut(BaseModel):
    daily_cap: int
    quiet_hours: list[str]
    inherited: dict[str, bool]


class BroadcastIn(BaseModel):
    """One-click send of an item (or ad-hoc text) to communities, groups and / or members with tags (DMs)."""

    model_config = ConfigDict(extra="forbid")
    item_id: Id | None = None
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    community_ids: list[Id] = Field(default_factory=list, max_length=1000)
    group_ids: list[Id] = Field(default_factory=list, max_length=10_000)
    tag_ids: list[Id] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _what_and_where(self) -> BroadcastIn:
        if (self.item_id is None) == (not (self.text or "").strip()):
            raise ValueError("give item_id or text (not both)")
        if not (self.community_ids or self.group_ids or self.tag_ids):
            raise ValueError("choose at least one community, group or tag")
        return self


class BroadcastOut(BaseModel):
    broadcast_id: str
    groups: int
    contacts: int
    created: int
    existing: int
    unreachable: int
    states: dict[str, int]


class ShareLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: Id
    contact_id: Id64
    url: str | None = Field(default=None, pattern=URL, max_length=2000)


class ShareLinkOut(BaseModel):
    token: str
    url: str
    item_id: int
    contact_id: int


class ChainIn(BaseModel):
    """C5 helper: the whole reuse chain of one course, anchored at the course's start."""

    model_config = ConfigDict(extra="forbid")
    series: str = Field(min_length=1, max_length=100)
    course_at: Moment
    community_id: Id | None = None
    group_id: Id | None = None
    owner: str = Field(default="", max_length=100)
    texts: dict[ChainStep, str] = Field(default_factory=dict)
    activity_steps: list[ChainStep] = Field(default_factory=lambda: list(ACTIVITY_STEPS))

    @model_validator(mode="after")
    def _one_target(self) -> ChainIn:
        if (self.community_id is None) == (self.group_id is None):
            raise ValueError("give exactly one target: community_id or group_id")
        return self


class OccurrenceOut(BaseModel):
    id: int
    item_id: int
    title: str
    group_id: int | None
    contact_id: int | None
    key: str
    due_at: datetime
    status: str
    display_status: str
    reason: str
    variant: str
    action_id: int | None


class CheckOut(BaseModel):
    community_id: int
    community: str
    type: str
    week_start: str
    posts: int
    activity_posts: int
    share: float | None
    required: float
    ok: bool
    message: str


class RowError(BaseModel):
    row: int
    column: str
    message: str
