"""What the calendar shows and checks: occurrences with their outbox state, the cap / quiet / missed report, and
the C3 content-mix rule (≥ 50 % activity posts per community and week; ≥ 80 % in traffic communities)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from siyu.engagement.sop import planner
from siyu.engagement.sop.schemas import CheckOut
from siyu.engagement.sop.service import zone
from siyu.kit.pagination import Page, keyset
from siyu.models import Action, Community, Group, SopItem, SopOccurrence

ACTIVITY_SHARE = {"traffic": 0.8}
DEFAULT_SHARE = 0.5
#: outbox state → what the calendar shows for a queued occurrence
FROM_ACTION = {"planned": "queued", "sending": "queued", "retry": "queued", "reconciling": "queued",
               "sent": "sent", "task_open": "task_open", "task_done": "done", "failed": "failed",
               "expired": "expired"}


@dataclass
class Row:
    occ: SopOccurrence
    item: SopItem
    group: Group | None
    action_state: str | None

    @property
    def display(self) -> str:
        if self.occ.status == "queued":
            return FROM_ACTION.get(self.action_state or "planned", self.action_state or "queued")
        return self.occ.status


def _occurrences(ws: int, start: datetime, end: datetime, *, community_id: int | None, group_id: int | None,
                 statuses: tuple[str, ...] | None) -> Select[SopOccurrence, SopItem, Group, str]:
    q = (select(SopOccurrence, SopItem, Group, Action.state)
         .join(SopItem, SopItem.id == SopOccurrence.item_id)
         .outerjoin(Group, Group.id == SopOccurrence.group_id)
         .outerjoin(Action, Action.id == SopOccurrence.action_id)
         .where(SopOccurrence.workspace_id == ws, SopOccurrence.due_at >= start, SopOccurrence.due_at < end))
    if community_id is not None:
        q = q.where(Group.community_id == community_id)
    if group_id is not None:
        q = q.where(SopOccurrence.group_id == group_id)
    if statuses is not None:
        q = q.where(SopOccurrence.status.in_(statuses))
    return q


def occurrences(session: Session, ws: int, start: datetime, end: datetime, *, community_id: int | None = None,
                group_id: int | None = None, statuses: tuple[str, ...] | None = None,
                limit: int = 5000) -> list[Row]:
    """By due time, group, id."""
    q = _occurrences(ws, start, end, community_id=community_id, group_id=group_id, statuses=statuses)
    q = q.order_by(SopOccurrence.due_at, SopOccurrence.group_id, SopOccurrence.id).limit(limit)
    return [Row(o, i, g, st) for o, i, g, st in session.execute(q).all()]


def occurrence_page(session: Session, ws: int, start: datetime, end: datetime, *, community_id: int | None = None,
                    group_id: int | None = None, statuses: tuple[str, ...] | None = None,
                    cursor: str | None = None, limit: int = 200) -> Page[Row]:
    """A page of `occurrences` by due time, then id: the group is left out of the order, since a direct message
    has none and a cursor needs values to compare."""
    q = _occurrences(ws, start, end, community_id=community_id, group_id=group_id, statuses=statuses)
    page = keyset(session, q, [SopOccurrence.due_at, SopOccurrence.id], cursor=cursor, limit=limit,
                  key=lambda r: [r[0].due_at, r[0].id], desc=False, scalars=False)
    return page.map(lambda r: Row(r[0], r[1], r[2], r[3]))


PUSHED_OUT = ("skipped_cap", "skipped_quiet", "skipped_missed", "cancelled")


def report(session: Session, ws: int, start: datetime, end: datetime) -> list[Row]:
    """What was pushed out (cap, quiet hours, missed window) or cancelled, and why."""
    return occurrences(session, ws, start, end, statuses=PUSHED_OUT)


def week_start(session: Session, ws: int, day: date) -> tuple[date, datetime, datetime]:
    tz = zone(session, ws)
    monday = day - timedelta(days=day.weekday())
    lo = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz).astimezone(UTC)
    return monday, lo, hi


def content_mix(session: Session, ws: int, day: date, *, now: datetime | None = None) -> list[CheckOut]:
    """C3 per community for the week containing `day`: the share of activity posts among the group posts that
    go out (as planned now: cap and quiet hours applied), against 50 % (80 % for traffic communities)."""
    monday, lo, hi = week_start(session, ws, day)
    cands = planner.preview_detail(session, ws, None, lo, hi, now=now)
    per: dict[int, list[int]] = {}
    groups = {g.id: g.community_id for g in session.scalars(select(Group).where(Group.workspace_id == ws))}
    for c in cands:
        if c.status != "planned" or c.contact_id is not None or c.group_id is None:
            continue
        cid = groups.get(c.group_id)
        if cid is None:
            continue
        tally = per.setdefault(cid, [0, 0])
        tally[0] += 1
        tally[1] += 1 if c.item.activity else 0
    out = []
    for com in session.scalars(select(Community).where(Community.workspace_id == ws).order_by(Community.id)):
        posts, act = per.get(com.id, [0, 0])
        need = ACTIVITY_SHARE.get(com.type, DEFAULT_SHARE)
        share = act / posts if posts else None
        ok = share is None or share >= need
        if posts == 0:
            msg = "no posts planned this week"
        elif ok:
            msg = f"{act} of {posts} posts are activity-related ({share:.0%} ≥ {need:.0%})"
        else:
            msg = (f"only {act} of {posts} posts are activity-related ({share:.0%}); "
                   f"{'traffic' if com.type == 'traffic' else 'a'} community needs at least {need:.0%}")
        out.append(CheckOut(community_id=com.id, community=com.name, type=com.type, week_start=monday.isoformat(),
                            posts=posts, activity_posts=act, share=round(share, 3) if share is not None else None,
                            required=need, ok=ok, message=msg))
    return out
