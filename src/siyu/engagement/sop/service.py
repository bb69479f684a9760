"""SOP items (C2): create, change, list, delete; cap and quiet-hours settings; the C5 chain helper.

Services take a session and never commit. Changing an item (or the cap / quiet hours) drops its future occurrences
that have not gone out yet, so the next planning run (the scheduler tick, or `planner.plan_window`) lays them out
again under the new rules; occurrences already queued keep their keys, so nothing is ever posted twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from siyu.communities import service as communities
from siyu.engagement.sop.schemas import (
    CAP_DEFAULT,
    CAP_MAX,
    CAP_MIN,
    ChainIn,
    ScheduleSettings,
    ScheduleSettingsOut,
    SopItemIn,
    SopItemOut,
    SopItemPatch,
)
from siyu.kit.errors import Invalid, NotFound
from siyu.kit.pagination import Page, keyset
from siyu.models import Community, Group, SopItem, SopOccurrence, Workspace

#: Occurrence states that have not gone out and may be re-planned.
REPLANNABLE = ("planned", "skipped_cap", "skipped_quiet")


def zone(session: Session, ws: int) -> ZoneInfo:
    w = session.get(Workspace, ws)
    try:
        return ZoneInfo(w.timezone if w is not None and w.timezone else "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def _localize(v: datetime | None, tz: ZoneInfo) -> datetime | None:
    if v is None:
        return None
    if v.tzinfo is None:
        v = v.replace(tzinfo=tz)
    return v.astimezone(UTC)


def _check_targets(session: Session, ws: int, data: SopItemIn) -> None:
    if data.community_id is not None:
        communities.get(session, ws, data.community_id)
    if data.group_id is not None:
        communities.get_group(session, ws, data.group_id)
    if data.gate is not None:
        known = set(session.scalars(select(Group.id).where(Group.workspace_id == ws,
                                                           Group.id.in_(data.gate.home_group_ids))))
        missing = [g for g in data.gate.home_group_ids if g not in known]
        if missing:
            raise Invalid(f"gate.home_group_ids: no groups {missing}", code="group_not_found")


def columns(session: Session, ws: int, data: SopItemIn) -> dict[str, Any]:
    """The item's column values as stored (times in UTC, a local time of day for `once`): what an import
    compares with an item to tell a changed row from an unchanged one."""
    tz = zone(session, ws)
    values = data.model_dump(mode="json")
    values["gate"] = data.gate.model_dump() if data.gate else {}
    values["chain"] = data.chain.model_dump() if data.chain else {}
    for k in ("once_at", "starts_at", "ends_at"):
        values[k] = _localize(getattr(data, k), tz)
    if data.timing == "once" and values["once_at"] is not None:  # the time of day shown is the local time
        values["time_of_day"] = values["once_at"].astimezone(tz).strftime("%H:%M")
    return values



def create_item(session: Session, ws: int, data: SopItemIn, *, now: datetime | None = None) -> SopItem:
    """Add an SOP item (the function playbooks call). Occurrences are laid out by the next planning run."""
    _check_targets(session, ws, data)
    now = now or datetime.now(UTC)
    item = SopItem(workspace_id=ws, created_at=now, updated_at=now, **columns(session, ws, data))
    session.add(item)
    session.flush()
    return item


def get_item(session: Session, ws: int, item_id: int) -> SopItem:
    item = session.get(SopItem, item_id)
    if item is None or item.workspace_id != ws:
        raise NotFound(f"no SOP item {item_id}", code="sop_item_not_found")
    return item


def titles(session: Session, ws: int, item_ids: set[int]) -> dict[int, str]:
    """Item titles by id (an item deleted since is left out)."""
    if not item_ids:
        return {}
    return dict(session.execute(select(SopItem.id, SopItem.title).where(
        SopItem.workspace_id == ws, SopItem.id.in_(item_ids))).all())


def _items(session: Session, ws: int, *, community_id: int | None, group_id: int | None,
           active_only: bool = False) -> Select[SopItem]:
    q = select(SopItem).where(SopItem.workspace_id == ws)
    if community_id is not None:
        in_community = select(Group.id).where(Group.community_id == community_id)
        q = q.where((SopItem.community_id == community_id) | SopItem.group_id.in_(in_community))
    if group_id is not None:
        g = communities.get_group(session, ws, group_id)
        q = q.where((SopItem.group_id == group_id) | (SopItem.community_id == g.community_id))
    if active_only:
        q = q.where(SopItem.active.is_(True))
    return q


def list_items(session: Session, ws: int, *, community_id: int | None = None, group_id: int | None = None,
               active_only: bool = False) -> list[SopItem]:
    """By time of day, then id."""
    q = _items(session, ws, community_id=community_id, group_id=group_id, active_only=active_only)
    return list(session.scalars(q.order_by(SopItem.time_of_day, SopItem.id)))


def page_items(session: Session, ws: int, *, community_id: int | None = None, group_id: int | None = None,
               cursor: str | None = None, limit: int = 200) -> Page[SopItem]:
    """A page of `list_items` (same order)."""
    q = _items(session, ws, community_id=community_id, group_id=group_id)
    return keyset(session, q, [SopItem.time_of_day, SopItem.id], cursor=cursor, limit=limit,
                  key=lambda i: [i.time_of_day, i.id], desc=False)


def item_in(item: SopItem) -> dict[str, Any]:
    """The item as SopItemIn input (JSON-ready): what export writes and a patch merges into."""
    return {
        "title": item.title, "text": item.text, "attachments": item.attachments, "variants": item.variants,
        "community_id": item.community_id, "group_id": item.group_id, "owner": item.owner, "notes": item.notes,
        "timing": item.timing, "rrule": item.rrule, "time_of_day": item.time_of_day,
        "offset_days": item.offset_days, "once_at": item.once_at, "starts_at": item.starts_at,
        "ends_at": item.ends_at, "kind": item.kind, "activity": item.activity, "gate": item.gate or None,
        "chain": item.chain or None, "missed_policy": item.missed_policy, "playbook": item.playbook,
        "active": item.active,
    }


def item_out(item: SopItem) -> SopItemOut:
    return SopItemOut(id=item.id, created_at=item.created_at, updated_at=item.updated_at,
                      **{**item_in(item), "gate": item.gate or {}, "chain": item.chain or {}})


def update_item(session: Session, ws: int, item_id: int, patch: SopItemPatch, *, now: datetime) -> SopItem:
    item = get_item(session, ws, item_id)
    changes = patch.model_dump(exclude_unset=True)
    merged = {**item_in(item), **changes}
    if "community_id" in changes and changes["community_id"] is not None and "group_id" not in changes:
        merged["group_id"] = None
    if "group_id" in changes and changes["group_id"] is not None and "community_id" not in changes:
        merged["community_id"] = None
    try:
        data = SopItemIn.model_validate(merged)
    except ValidationError as exc:
        raise Invalid(_first_error(exc), code="invalid_sop_item") from None
    return replace_item(session, ws, item, data, now=now)


def replace_item(session: Session, ws: int, item: SopItem, data: SopItemIn, *, now: datetime) -> SopItem:
    """Give an item all of `data` (a patch merged into it, an imported row); its future occurrences that have not
    gone out are dropped, so the next planning lays them out under the new values."""
    _check_targets(session, ws, data)
    for k, v in columns(session, ws, data).items():
        setattr(item, k, v)
    item.updated_at = now
    drop_future(session, ws, now=now, item_ids=[item.id])
    session.flush()
    return item


def delete_item(session: Session, ws: int, item_id: int, *, now: datetime) -> None:
    """Deactivate when something already went out (history stays), delete otherwise."""
    item = get_item(session, ws, item_id)
    drop_future(session, ws, now=now, item_ids=[item.id])
    sent = session.scalar(select(SopOccurrence.id).where(SopOccurrence.item_id == item.id).limit(1))
    if sent is None:
        session.delete(item)
    else:
        item.active = False
        item.updated_at = now
    session.flush()


def drop_future(session: Session, ws: int, *, now: datetime, item_ids: list[int] | None = None,
                group_ids: list[int] | None = None) -> int:
    """Forget future occurrences that have not gone out, so planning lays them out again."""
    q = delete(SopOccurrence).where(SopOccurrence.workspace_id == ws, SopOccurrence.due_at >= now,
                                    SopOccurrence.status.in_(REPLANNABLE))
    if item_ids is not None:
        q = q.where(SopOccurrence.item_id.in_(item_ids))
    if group_ids is not None:
        q = q.where(SopOccurrence.group_id.in_(group_ids))
    res = session.execute(q.execution_options(synchronize_session=False))
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------- cap, quiet hours


def _validate_settings(data: ScheduleSettings) -> None:
    if data.daily_cap is not None and not CAP_MIN <= data.daily_cap <= CAP_MAX:
        raise Invalid(f"daily_cap must be between {CAP_MIN} and {CAP_MAX} posts a day, got {data.daily_cap}",
                      code="invalid_daily_cap")


def schedule_of(community: Community | None, group: Group | None) -> tuple[int, list[str]]:
    """(daily cap, quiet hours) in force for a group: its own value, else the community's, else the default."""
    g = (group.settings or {}) if group is not None else {}
    c = (community.settings or {}) if community is not None else {}
    cap = g.get("daily_cap") or c.get("daily_cap") or CAP_DEFAULT
    quiet = g.get("quiet_hours") if g.get("quiet_hours") is not None else c.get("quiet_hours")
    return int(cap), list(quiet or [])


def effective_settings(community: Community | None, group: Group | None) -> ScheduleSettingsOut:
    """The group's own value, else the community's, else the default (cap 3, no quiet hours)."""
    g = (group.settings or {}) if group is not None else {}
    cap, quiet = schedule_of(community, group)
    return ScheduleSettingsOut(daily_cap=cap, quiet_hours=quiet,
                               inherited={"daily_cap": "daily_cap" not in g,
                                          "quiet_hours": "quiet_hours" not in g})


def _apply(current: dict[str, Any], data: ScheduleSettings) -> dict[str, Any]:
    out = dict(current or {})
    for k in data.model_fields_set:
        v = getattr(data, k)
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def set_community_settings(session: Session, ws: int, community_id: int, data: ScheduleSettings,
                           *, now: datetime) -> ScheduleSettingsOut:
    _validate_settings(data)
    c = communities.get(session, ws, community_id)
    c.settings = _apply(c.settings, data)
    gids = list(session.scalars(select(Group.id).where(Group.community_id == c.id)))
    drop_future(session, ws, now=now, group_ids=gids)
    session.flush()
    return effective_settings(c, None)


def set_group_settings(session: Session, ws: int, group_id: int, data: ScheduleSettings,
                       *, now: datetime) -> ScheduleSettingsOut:
    _validate_settings(data)
    g = communities.get_group(session, ws, group_id)
    g.settings = _apply(g.settings, data)
    drop_future(session, ws, now=now, group_ids=[g.id])
    session.flush()
    c = session.get(Community, g.community_id) if g.community_id is not None else None
    return effective_settings(c, g)


# ---------------------------------------------------------------------------------------------- C5 chain helper

#: (days from the course, local time or None for the course's own time) per step.
CHAIN_OFFSETS: dict[str, tuple[int, str | None]] = {
    "preview": (-3, "20:00"),   # interview preview: book the course
    "poster": (-1, "12:00"),    # the poster the day before
    "course": (0, None),        # the course itself
    "article": (1, "20:00"),    # the article the next evening
    "audio": (3, "20:00"),      # the audio version
    "series": (7, "20:00"),     # into the series / e-book a week later
}
CHAIN_TITLES = {"preview": "预告", "poster": "海报", "course": "课程", "article": "文章", "audio": "音频",
                "series": "系列合集"}


def create_chain(session: Session, ws: int, data: ChainIn, *, now: datetime) -> list[SopItem]:
    """Create the whole reuse chain of one course as `once` items at sensible offsets around its start."""
    tz = zone(session, ws)
    course_local = (data.course_at if data.course_at.tzinfo else data.course_at.replace(tzinfo=tz)).astimezone(tz)
    items = []
    for step, (days, hhmm) in CHAIN_OFFSETS.items():
        day = (course_local + timedelta(days=days)).date()
        t = hhmm or course_local.strftime("%H:%M")
        at = datetime.combine(day, datetime.strptime(t, "%H:%M").time(), tzinfo=tz)
        text = data.texts.get(step) or f"【{data.series}·{CHAIN_TITLES[step]}】"  # type: ignore[call-overload]
        try:  # a step may fall outside what an item accepts (a course at the edge of the calendar)
            item = SopItemIn(
                title=f"{data.series} · {CHAIN_TITLES[step]}", text=text, community_id=data.community_id,
                group_id=data.group_id, owner=data.owner, timing="once", once_at=at, time_of_day=t,
                kind=f"chain_{step}", activity=step in data.activity_steps,
                chain={"series": data.series, "step": step},  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            raise Invalid(f"{step}: {_first_error(exc)}", code="invalid_sop_item") from None
        items.append(create_item(session, ws, item, now=now))
    return items
