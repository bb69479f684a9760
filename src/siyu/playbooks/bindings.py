"""Where playbooks meet the calendar and the interaction engine (kept in one place so the runner stays readable)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.models import Group
from siyu.playbooks.schema import CalendarSpec, StepSpec


def calendar_times(spec: CalendarSpec, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    raise NotImplementedError


def create_calendar_item(session: Session, ws: int, spec: CalendarSpec, *, tag: str, now: datetime,
                         community_id: int | None = None, group_id: int | None = None) -> int:
    raise NotImplementedError


def start_interaction(session: Session, ws: int, group: Group, spec: StepSpec, *, now: datetime, key: str) -> int:
    """Open the step's solitaire / draw / quiz / poll in the group (announced there); `key` makes a re-run a no-op."""
    from siyu.engagement.interaction import service
    from siyu.engagement.interaction.schemas import InteractionIn

    data: dict[str, Any] = {"group_id": group.id, "kind": spec.do, "title": spec.title or spec.ref or spec.do,
                            "intro": spec.text}
    if spec.do == "solitaire":
        data["stock"] = spec.stock
    elif spec.do == "draw":
        data["winners"] = spec.winners
    else:
        data["options"] = spec.options
        if spec.do == "quiz" and spec.answer is not None:
            data["correct"] = spec.options.index(spec.answer) + 1 if spec.answer in spec.options else None
    return service.create(session, ws, InteractionIn.model_validate(data), now, key=key).id


def remaining_stock(session: Session, ws: int, interaction_id: int) -> int | None:
    from siyu.engagement.interaction import service

    remaining = service.live(session, service.get(session, ws, interaction_id)).get("remaining")
    return None if remaining is None else int(remaining)


def draw(session: Session, ws: int, interaction_id: int, *, now: datetime) -> list[int]:
    from siyu.engagement.interaction import service

    return [int(c) for c in service.draw(session, ws, interaction_id, now=now).result.get("winners", [])]


def close_interaction(session: Session, ws: int, interaction_id: int, *, now: datetime) -> None:
    from siyu.engagement.interaction import service

    service.close(session, ws, interaction_id, now=now, reason="playbook")
