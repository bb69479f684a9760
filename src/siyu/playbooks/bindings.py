"""Where playbooks meet the calendar and the interaction engine (kept in one place so the runner stays readable)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.models import Group
from siyu.playbooks.schema import CalendarSpec, StepSpec


def calendar_times(spec: CalendarSpec, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    raise NotImplementedError


def create_calendar_item(session: Session, ws: int, spec: CalendarSpec, *, tag: str, now: datetime,
                         community_id: int | None = None, group_id: int | None = None) -> int:
    raise NotImplementedError


def start_interaction(session: Session, ws: int, group: Group, spec: StepSpec, *, now: datetime) -> int:
    raise NotImplementedError


def remaining_stock(session: Session, interaction_id: int) -> int:
    raise NotImplementedError


def draw(session: Session, ws: int, interaction_id: int, *, now: datetime) -> list[int]:
    raise NotImplementedError


def close_interaction(session: Session, ws: int, interaction_id: int, *, now: datetime) -> None:
    raise NotImplementedError
