"""The playbook file format. Validation errors name the item or step and the field, so a typo is found in seconds.

```yaml
name: flash-sale            # slug, unique
version: "1.0"
title: …                    # what operators see
settings: {daily_cap: 3, quiet_hours: ["22:00", "08:00"], faq: true, moderation: true}
calendar:                   # recurring SOP items (RRULE + local time), applied to the target's groups
  - {title: 每日早报, rrule: FREQ=DAILY, time: "08:00", text: …, kind: morning_report, activity: false}
faq:                        # FAQ entries for the target community
  - {question: …, answer: …, keywords: […], variants: […]}
timeline:                   # one-off steps relative to the anchor day D0 (local time)
  - {at: "D-1 20:00", do: post, text: …}
  - {at: "D0 20:00", do: solitaire, ref: order, title: …, stock: 100}
```
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
AT = re.compile(r"^D([+-]?\d{1,3}) ([01]\d|2[0-3]):([0-5]\d)$")
StepKind = Literal["post", "staff_task", "solitaire", "draw", "draw_winners", "quiz", "poll", "countdown",
                   "close_interaction", "close_group"]
INTERACTION_STEPS = ("solitaire", "draw", "quiz", "poll")


class CalendarSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=4000)
    kind: str = Field(default="content", max_length=32)
    activity: bool = False
    rrule: str = Field(min_length=1, max_length=500)
    time: str = "08:00"
    owner: str = Field(default="", max_length=100)
    notes: str = Field(default="", max_length=1000)
    attachments: list[dict[str, Any]] = Field(default_factory=list, max_length=9)
    variants: list[dict[str, str]] = Field(default_factory=list, max_length=5)

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        if not TIME.match(v):
            raise ValueError("time must be HH:MM (24 h)")
        return v

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, v: str) -> str:
        from dateutil.rrule import rrulestr

        try:
            rrulestr(v if v.startswith("RRULE:") else f"RRULE:{v}")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not an iCalendar RRULE: {exc}") from None
        return v


class FaqSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=2000)
    keywords: list[str] = Field(default_factory=list)
    variants: list[str] = Field(default_factory=list)


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: str
    do: StepKind
    text: str = Field(default="", max_length=4000)
    title: str = Field(default="", max_length=200)
    ref: str | None = Field(default=None, max_length=50)
    stock: int | None = Field(default=None, ge=1)
    winners: int = Field(default=1, ge=1, le=100)
    options: list[str] = Field(default_factory=list, max_length=10)
    answer: str | None = None
    mode: Literal["dissolve", "archive"] = "dissolve"

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        if not AT.match(v):
            raise ValueError('at must look like "D0 20:00", "D-3 10:00" or "D+1 12:00"')
        return v

    @model_validator(mode="after")
    def _needs(self) -> StepSpec:
        if self.do in ("post", "staff_task", "countdown") and not self.text:
            raise ValueError(f"a {self.do} step needs text")
        if self.do in (*INTERACTION_STEPS, "draw_winners", "countdown", "close_interaction") and not self.ref:
            raise ValueError(f"a {self.do} step needs ref (the name of its interaction)")
        if self.do in ("quiz", "poll") and len(self.options) < 2:
            raise ValueError(f"a {self.do} step needs at least two options")
        return self

    @property
    def day(self) -> int:
        m = AT.match(self.at)
        assert m
        return int(m.group(1))

    @property
    def clock(self) -> tuple[int, int]:
        m = AT.match(self.at)
        assert m
        return int(m.group(2)), int(m.group(3))


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,60}$")
    version: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=200)
    source: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    calendar: list[CalendarSpec] = Field(default_factory=list)
    faq: list[FaqSpec] = Field(default_factory=list)
    timeline: list[StepSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _refs(self) -> Playbook:
        created: dict[str, str] = {}
        for i, step in enumerate(sorted(self.timeline, key=lambda s: (s.day, s.clock))):
            if step.do in INTERACTION_STEPS:
                if step.ref in created:
                    raise ValueError(f"timeline step {i}: ref {step.ref!r} is created twice")
                created[step.ref or ""] = step.do
            elif step.ref is not None and step.ref not in created:
                raise ValueError(f"timeline step {i} ({step.at} {step.do}): ref {step.ref!r} is used before "
                                 "an earlier step creates it")
            if step.do == "draw_winners" and created.get(step.ref or "") != "draw":
                raise ValueError(f"timeline step {i}: draw_winners needs a draw, {step.ref!r} is not one")
        cap = self.settings.get("daily_cap")
        if cap is not None and (not isinstance(cap, int) or not 1 <= cap <= 5):
            raise ValueError("settings.daily_cap must be a whole number from 1 to 5")
        return self
