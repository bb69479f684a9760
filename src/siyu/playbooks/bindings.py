"""Where playbooks meet the calendar and the interaction engine (kept in one place so the runner stays readable)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from siyu.engagement.sop.schemas import SopItemIn

from siyu.models import Community, Group
from siyu.playbooks.schema import CalendarSpec, StepSpec


def _item_in(spec: CalendarSpec, *, tag: str, community_id: int | None, group_id: int | None) -> SopItemIn:
    from siyu.engagement.sop.schemas import SopItemIn

    return SopItemIn.model_validate({
        "title": spec.title, "text": spec.text, "kind": spec.kind, "activity": spec.activity,
        "timing": "rrule", "rrule": spec.rrule, "time_of_day": spec.time, "owner": spec.owner, "notes": spec.notes,
        "attachments": spec.attachments, "variants": spec.variants, "playbook": tag,
        "community_id": community_id, "group_id": group_id,
    })


def calendar_preview(session: Session, ws: int, specs: list[CalendarSpec], *, tag: str, community_id: int | None,
                     group_ids: list[int], start: datetime, end: datetime,
                     now: datetime) -> list[tuple[datetime, int, str, str]]:
    """(when, group id, kind, text) of the calendar's posts, planned the way the calendar will plan them: caps and
    quiet hours applied, competing with the calendar items already there. Writes nothing."""
    from siyu.engagement.sop import planner

    items = ([_item_in(s, tag=tag, community_id=community_id, group_id=None) for s in specs] if community_id
             else [_item_in(s, tag=tag, community_id=None, group_id=g) for s in specs for g in group_ids])
    out = []
    for c in planner.preview_detail(session, ws, items, start, end, now=now):
        if c.status == "planned" and c.group_id is not None:
            out.append((c.due_at, c.group_id, c.item.kind, c.item.text))
    return out


def create_calendar_item(session: Session, ws: int, spec: CalendarSpec, *, tag: str, now: datetime,
                         community_id: int | None = None, group_id: int | None = None) -> int:
    from siyu.engagement.sop import service

    return service.create_item(session, ws, _item_in(spec, tag=tag, community_id=community_id, group_id=group_id),
                               now=now).id


def apply_settings(session: Session, ws: int, settings: dict[str, Any], *, community_id: int | None,
                   group_ids: list[int], now: datetime) -> None:
    """Cap and quiet hours through the calendar's own settings (so planned posts are re-planned); the rest as is."""
    from siyu.engagement.sop import service
    from siyu.engagement.sop.schemas import ScheduleSettings

    schedule = {k: settings[k] for k in ("daily_cap", "quiet_hours") if k in settings}
    other = {k: v for k, v in settings.items() if k not in schedule}
    holders: list[Community | Group] = []
    if community_id is not None:
        if schedule:
            service.set_community_settings(session, ws, community_id, ScheduleSettings(**schedule), now=now)
        holders.append(session.get(Community, community_id))  # type: ignore[arg-type]
    else:
        for gid in group_ids:
            if schedule:
                service.set_group_settings(session, ws, gid, ScheduleSettings(**schedule), now=now)
            holders.append(session.get(Group, gid))  # type: ignore[arg-type]
    if other:
        for h in holders:
            h.settings = {**(h.settings or {}), **other}


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
