"""The planner: expand SOP items into occurrences per group (or member), enforce the daily cap and quiet hours.

Times of day are wall-clock times in the workspace's time zone: an RRULE is expanded on naive local datetimes and
each one is then placed in the zone with zoneinfo, so 08:00 stays 08:00 across a DST change (a time that does not
exist on the day clocks jump forward is read with the offset before the jump).

Cap and quiet hours, per group and local day, decided at planning time:
  1. an occurrence inside the group's quiet hours [start, end) is `skipped_quiet`;
  2. of the rest, occurrences already handed to the outbox (`queued`) keep their slots; the remaining slots go by
     priority — **activity items first, then the earlier time of day, then the older item (lower id)** — and the
     others become `skipped_cap`, with a reason naming what was kept.
Direct messages (after_join) are not group posts: quiet hours of the member's group apply, the cap does not.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.engagement.sop import content, fastinsert
from siyu.engagement.sop.schemas import SopItemIn
from siyu.engagement.sop.service import columns, schedule_of, zone
from siyu.models import Community, Group, Membership, SopItem, SopOccurrence

OCC = SopOccurrence.__table__
LIVE_GROUP = ("active", "full")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HORIZON = timedelta(days=14)
RULE = "activity posts first, then the earlier time, then the older item"


@dataclass(slots=True)
class Candidate:
    item: SopItem
    group_id: int | None
    contact_id: int | None
    due_at: datetime
    key: str
    variant: str
    day: date
    minute: int
    status: str = "planned"
    reason: str = ""
    id: int | None = None  # set for rows already in the database
    prio: tuple[int, int] = (1, 0)  # (0 for activity items else 1, item id)

    @property
    def is_post(self) -> bool:
        return self.contact_id is None

    def rank(self) -> tuple[int, datetime, int]:
        return (self.prio[0], self.due_at, self.prio[1])


class Preview(NamedTuple):
    due_at: datetime
    group: Group | None
    text: str


@dataclass
class Targets:
    groups: dict[int, Group] = field(default_factory=dict)
    communities: dict[int, Community] = field(default_factory=dict)
    by_community: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))

    def settings(self, gid: int) -> tuple[int, tuple[int, int] | None]:
        g = self.groups[gid]
        c = self.communities.get(g.community_id) if g.community_id is not None else None
        cap, hours = schedule_of(c, g)
        return cap, ((_minutes(hours[0]), _minutes(hours[1])) if len(hours) == 2 else None)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _in_quiet(minute: int, quiet: tuple[int, int] | None) -> bool:
    if quiet is None:
        return False
    a, b = quiet
    return a <= minute < b if a < b else (minute >= a or minute < b)


def occurrence_key(item_id: int, due_at: datetime, group_id: int | None, contact_id: int | None) -> str:
    who = f"c{contact_id}" if contact_id is not None else f"g{group_id}"
    return f"sop:{item_id}:{due_at.astimezone(UTC):%Y%m%dT%H%M}:{who}"


def local_at(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    h, m = hhmm.split(":")
    return datetime.combine(day, time(int(h), int(m)), tzinfo=tz).astimezone(UTC)


def _load_targets(session: Session, ws: int) -> Targets:
    t = Targets()
    for c in session.scalars(select(Community).where(Community.workspace_id == ws)):
        t.communities[c.id] = c
    for g in session.scalars(select(Group).where(Group.workspace_id == ws, Group.status.in_(LIVE_GROUP))
                             .order_by(Group.id)):
        t.groups[g.id] = g
        if g.community_id is not None:
            t.by_community[g.community_id].append(g.id)
    return t


def _item_groups(item: SopItem, t: Targets) -> list[int]:
    if item.group_id is not None:
        return [item.group_id] if item.group_id in t.groups else []
    return t.by_community.get(item.community_id or -1, [])


def _bounded(item: SopItem, due: datetime, start: datetime, end: datetime) -> bool:
    if not start <= due < end:
        return False
    if item.starts_at is not None and due < item.starts_at:
        return False
    return not (item.ends_at is not None and due >= item.ends_at)


def rrule_times(item: SopItem, tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """UTC instants of an rrule item in [start, end), expanded in local wall-clock time."""
    anchor = (item.starts_at or item.created_at).astimezone(tz)
    h, m = item.time_of_day.split(":")
    dtstart = datetime.combine(anchor.date(), time(int(h), int(m)))
    rule = rrulestr(item.rrule, dtstart=dtstart)
    lo = start.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    hi = end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    out = []
    for naive in rule.between(lo, hi, inc=True):
        due = naive.replace(tzinfo=tz).astimezone(UTC)
        if _bounded(item, due, start, end):
            out.append(due)
    return out


def expand(session: Session, ws: int, items: Sequence[SopItem], start: datetime, end: datetime,
           *, targets: Targets | None = None) -> list[Candidate]:
    """Every occurrence of `items` due in [start, end), before cap and quiet hours."""
    tz = zone(session, ws)
    t = targets or _load_targets(session, ws)
    out: list[Candidate] = []
    local_cache: dict[datetime, tuple[date, int]] = {}
    prefix_cache: dict[tuple[int, datetime], str] = {}
    prio_cache: dict[int, tuple[int, int]] = {}

    def add(item: SopItem, due: datetime, gid: int | None, cid: int | None) -> None:
        loc = local_cache.get(due)
        if loc is None:
            ld = due.astimezone(tz)
            loc = local_cache[due] = (ld.date(), ld.hour * 60 + ld.minute)
        prio = prio_cache.get(id(item))
        if prio is None:
            prio = prio_cache[id(item)] = (0 if item.activity else 1, item.id)
        prefix = prefix_cache.get((prio[1], due))
        if prefix is None:
            prefix = prefix_cache[(prio[1], due)] = occurrence_key(prio[1], due, 0, None)[:-2]
        key = f"{prefix}c{cid}" if cid is not None else f"{prefix}g{gid}"
        variant = content.pick_variant(item, gid) if item.variants else ""
        out.append(Candidate(item, gid, cid, due, key, variant, loc[0], loc[1], prio=prio))

    joiners = [i for i in items if i.timing == "after_join"]
    members: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    if joiners:
        longest = max(i.offset_days for i in joiners)
        gids = sorted({g for i in joiners for g in _item_groups(i, t)})
        if gids:
            q = select(Membership.group_id, Membership.contact_id, Membership.joined_at).where(
                Membership.left_at.is_(None), Membership.joined_at >= start - timedelta(days=longest + 2),
                Membership.joined_at < end)
            if len(gids) <= 500:
                q = q.where(Membership.group_id.in_(gids))
            wanted = set(gids)
            for gid, cid, joined in session.execute(q):
                if gid in wanted:
                    members[gid].append((cid, joined))

    for item in items:
        if not item.active:
            continue
        gids = _item_groups(item, t)
        if item.timing == "rrule":  # the hot path (every group, every time): no per-candidate call
            prio = (0 if item.activity else 1, item.id)
            for due in rrule_times(item, tz, start, end):
                ld = due.astimezone(tz)
                day, minute = ld.date(), ld.hour * 60 + ld.minute
                prefix = occurrence_key(item.id, due, 0, None)[:-2]
                if item.variants:
                    out.extend(Candidate(item, gid, None, due, f"{prefix}g{gid}", content.pick_variant(item, gid),
                                         day, minute, prio=prio) for gid in gids)
                else:
                    out.extend(Candidate(item, gid, None, due, f"{prefix}g{gid}", "", day, minute, prio=prio)
                               for gid in gids)
        elif item.timing == "once":
            if item.once_at is not None and _bounded(item, item.once_at, start, end):
                for gid in gids:
                    add(item, item.once_at, gid, None)
        elif item.timing == "after_group_created":
            for gid in gids:
                created = t.groups[gid].created_at
                due = local_at(created.astimezone(tz).date() + timedelta(days=item.offset_days),
                               item.time_of_day, tz)
                if due >= created and _bounded(item, due, start, end):
                    add(item, due, gid, None)
        elif item.timing == "after_join":
            for gid in gids:
                for cid, joined in members.get(gid, ()):
                    due = local_at(joined.astimezone(tz).date() + timedelta(days=item.offset_days),
                                   item.time_of_day, tz)
                    if due >= joined and _bounded(item, due, start, end):
                        add(item, due, gid, cid)
    return out


def _fmt_kept(c: Candidate) -> str:
    return f"#{c.item.id} {c.item.title} {c.minute // 60:02d}:{c.minute % 60:02d}"


def decide(candidates: list[Candidate], existing: Iterable[Candidate], t: Targets) -> list[Candidate]:
    """Apply quiet hours and the daily cap. Returns existing planned rows that lost their slot (now skipped)."""
    settings: dict[int, tuple[int, tuple[int, int] | None]] = {}
    by_day: dict[tuple[int, date], list[Candidate]] = defaultdict(list)
    for c in candidates:
        gid = c.group_id
        if gid is None:
            continue
        s = settings.get(gid)
        if s is None:
            if gid not in t.groups:
                continue
            s = settings[gid] = t.settings(gid)
        q = s[1]
        if q is not None and _in_quiet(c.minute, q):
            c.status = "skipped_quiet"
            c.reason = (f"in the quiet hours {q[0] // 60:02d}:{q[0] % 60:02d}–{q[1] // 60:02d}:{q[1] % 60:02d} "
                        f"of {t.groups[gid].name}")
            continue
        if c.contact_id is None:
            by_day[(gid, c.day)].append(c)
    if not by_day:
        return []
    old: dict[tuple[int, date], list[Candidate]] = defaultdict(list)
    for e in existing:
        if e.group_id is not None and (e.group_id, e.day) in by_day:
            old[(e.group_id, e.day)].append(e)
    displaced: list[Candidate] = []
    for (gid, day), new in by_day.items():
        cap = settings[gid][0]
        prior = old.get((gid, day), [])
        if len(prior) + len(new) <= cap:
            continue
        fixed = [e for e in prior if e.status == "queued"]
        pool = sorted([e for e in prior if e.status == "planned"] + new, key=Candidate.rank)
        slots = max(0, cap - len(fixed))
        if len(pool) <= slots:
            continue
        kept = sorted(fixed + pool[:slots], key=lambda c: c.due_at)
        reason = (f"daily cap of {cap} posts reached in {t.groups[gid].name} on {day.isoformat()} "
                  f"({WEEKDAYS[day.weekday()]}); kept {', '.join(_fmt_kept(k) for k in kept) or 'nothing'}; "
                  f"rule: {RULE}")
        for c in pool[slots:]:
            c.status, c.reason = "skipped_cap", reason
            if c.id is not None:
                displaced.append(c)
    return displaced


def _day_bounds(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    lo = datetime.combine(start.astimezone(tz).date(), time(0), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(end.astimezone(tz).date() + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return lo, hi


def _existing(session: Session, ws: int, lo: datetime, hi: datetime, tz: ZoneInfo,
              items: dict[int, SopItem]) -> tuple[set[str], list[Candidate]]:
    """Keys already planned in [lo, hi) and the rows that count against the cap (planned / queued posts)."""
    keys: set[str] = set()
    rows: list[Candidate] = []
    q = select(SopOccurrence.id, SopOccurrence.key, SopOccurrence.item_id, SopOccurrence.group_id,
               SopOccurrence.contact_id, SopOccurrence.due_at, SopOccurrence.status, SopOccurrence.variant
               ).where(SopOccurrence.workspace_id == ws, SopOccurrence.due_at >= lo, SopOccurrence.due_at < hi)
    missing: set[int] = set()
    raw = session.execute(q).all()
    for r in raw:
        keys.add(r.key)
        if r.contact_id is None and r.status in ("planned", "queued") and r.item_id not in items:
            missing.add(r.item_id)
    if missing:
        for it in session.scalars(select(SopItem).where(SopItem.id.in_(missing))):
            items[it.id] = it
    for r in raw:
        if r.contact_id is not None or r.status not in ("planned", "queued") or r.item_id not in items:
            continue
        ld = r.due_at.astimezone(tz)
        it = items[r.item_id]
        rows.append(Candidate(it, r.group_id, None, r.due_at, r.key, r.variant, ld.date(),
                              ld.hour * 60 + ld.minute, status=r.status, id=r.id,
                              prio=(0 if it.activity else 1, it.id)))
    return keys, rows


def _active_items(session: Session, ws: int, item_ids: Iterable[int] | None = None) -> list[SopItem]:
    q = select(SopItem).where(SopItem.workspace_id == ws, SopItem.active.is_(True))
    if item_ids is not None:
        q = q.where(SopItem.id.in_(list(item_ids)))
    return list(session.scalars(q.order_by(SopItem.id)))


def plan_window(session: Session, ws: int, start: datetime, end: datetime, now: datetime,
                *, item_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Write the occurrences of [start, end) (all active items, or `item_ids`) with INSERT … ON CONFLICT DO
    NOTHING on (workspace, key): running it twice, or in two processes at once, plans each occurrence once."""
    tz = zone(session, ws)
    items = _active_items(session, ws, item_ids)
    if not items:
        return {"candidates": 0, "inserted": 0, "skipped_cap": 0, "skipped_quiet": 0, "displaced": 0}
    t = _load_targets(session, ws)
    candidates = expand(session, ws, items, start, end, targets=t)
    if not candidates:
        return {"candidates": 0, "inserted": 0, "skipped_cap": 0, "skipped_quiet": 0, "displaced": 0}
    by_id = {i.id: i for i in items}
    lo, hi = _day_bounds(start, end, tz)
    keys, existing = _existing(session, ws, lo, hi, tz, by_id)
    fresh = [c for c in candidates if c.key not in keys]
    displaced = decide(fresh, existing, t)
    for d in displaced:
        session.execute(update(SopOccurrence).where(SopOccurrence.id == d.id, SopOccurrence.status == "planned")
                        .values(status=d.status, reason=d.reason).execution_options(synchronize_session=False))
    inserted = fastinsert.insert_occurrences(session, ws, fresh, now)
    return {"candidates": len(candidates), "inserted": inserted,
            "skipped_cap": sum(1 for c in fresh if c.status == "skipped_cap"),
            "skipped_quiet": sum(1 for c in fresh if c.status == "skipped_quiet"), "displaced": len(displaced)}


# ---------------------------------------------------------------------------------------------- preview (no writes)


def _transient(session: Session, ws: int, data: SopItemIn, n: int, now: datetime) -> SopItem:
    item = SopItem(workspace_id=ws, created_at=now, updated_at=now, **columns(session, ws, data))
    item.id = -n  # never stored: negative ids keep previewed items apart from real ones
    return item


def preview_detail(session: Session, ws: int, items_or_ids: Sequence[SopItem | SopItemIn | int] | None,
                   start: datetime, end: datetime, *, now: datetime | None = None) -> list[Candidate]:
    """What planning would lay out in [start, end), cap and quiet hours applied, without writing anything.

    The requested items compete for the cap with every other active item of the workspace, as they will.
    Returns the requested items' candidates (all active items when `items_or_ids` is None), skipped ones included.
    """
    now = now or datetime.now(UTC)
    active = _active_items(session, ws)
    if items_or_ids is None:
        wanted = active
    else:
        ids = [x for x in items_or_ids if isinstance(x, int)]
        by_id = {i.id: i for i in active}
        extra = [i for i in session.scalars(select(SopItem).where(SopItem.id.in_(ids), SopItem.workspace_id == ws))
                 if i.id not in by_id] if ids else []
        wanted = [by_id[i] for i in ids if i in by_id] + extra
        wanted += [x for x in items_or_ids if isinstance(x, SopItem)]
        wanted += [_transient(session, ws, x, n + 1, now)
                   for n, x in enumerate(y for y in items_or_ids if isinstance(y, SopItemIn))]
    pool = {id(i): i for i in wanted}
    for i in active:
        if all(w.id != i.id for w in wanted):
            pool[id(i)] = i
    t = _load_targets(session, ws)
    candidates = expand(session, ws, list(pool.values()), start, end, targets=t)
    decide(candidates, [], t)
    keep = {id(i) for i in wanted}
    out = [c for c in candidates if id(c.item) in keep]
    out.sort(key=lambda c: (c.due_at, c.group_id or 0, c.item.id))
    return out


def preview(session: Session, ws: int, items_or_ids: Sequence[SopItem | SopItemIn | int] | None,
            start: datetime, end: datetime, *, now: datetime | None = None) -> list[Preview]:
    """(due_at, group, text) of every post / message that would go out in [start, end). Writes nothing."""
    t = _load_targets(session, ws)
    out = []
    for c in preview_detail(session, ws, items_or_ids, start, end, now=now):
        if c.status != "planned":
            continue
        out.append(Preview(c.due_at, t.groups.get(c.group_id) if c.group_id is not None else None,
                           content.render(c.item, c.variant, c.group_id)["text"]))
    return out


# ---------------------------------------------------------------------------------------------- the rolling horizon


@dataclass
class PlannerMemo:
    """What one scheduler process planned last: a full re-plan only when items, groups or settings change."""

    main: str = ""
    members: str = ""
    until: datetime | None = None
    full_at: datetime | None = None


def _fingerprints(session: Session, ws: int) -> tuple[str, str]:
    items = session.execute(select(func.count(), func.max(SopItem.updated_at))
                            .where(SopItem.workspace_id == ws)).one()
    groups = session.execute(select(func.count(), func.max(Group.id)).where(
        Group.workspace_id == ws, Group.status.in_(LIVE_GROUP))).one()
    settings = [(i, s) for i, s in session.execute(select(Group.id, Group.settings).where(
        Group.workspace_id == ws)) if s]
    settings += [(-i, s) for i, s in session.execute(select(Community.id, Community.settings).where(
        Community.workspace_id == ws)) if s]
    main = f"{tuple(items)}|{tuple(groups)}|{zlib.crc32(repr(sorted(settings, key=lambda x: x[0])).encode())}"
    has_joiners = session.scalar(select(SopItem.id).where(SopItem.workspace_id == ws, SopItem.active.is_(True),
                                                          SopItem.timing == "after_join").limit(1))
    members = ""
    if has_joiners is not None:
        m = session.execute(select(func.count(), func.max(Membership.id), func.count(Membership.left_at))
                            .join(Group, Group.id == Membership.group_id).where(Group.workspace_id == ws)).one()
        members = repr(tuple(m))
    return main, members


def plan_ahead(session: Session, ws: int, now: datetime, memo: PlannerMemo | None = None,
               horizon: timedelta = HORIZON) -> dict[str, int]:
    """Keep [now, now + horizon) planned. With a memo, only what changed since the last call is planned again:
    everything when items, groups or settings changed (or hourly), after_join items when members changed,
    otherwise just the slice the horizon moved by."""
    memo = memo or PlannerMemo()
    end = now + horizon
    main, members = _fingerprints(session, ws)
    full = (main != memo.main or memo.until is None or memo.full_at is None
            or now - memo.full_at >= timedelta(hours=1))
    if full:
        res = plan_window(session, ws, now, end, now)
        memo.full_at = now
    else:
        res = {"inserted": 0}
        if members != memo.members:
            joiners = list(session.scalars(select(SopItem.id).where(
                SopItem.workspace_id == ws, SopItem.active.is_(True), SopItem.timing == "after_join")))
            res = plan_window(session, ws, now, end, now, item_ids=joiners)
        assert memo.until is not None
        if end > memo.until:
            more = plan_window(session, ws, max(now, memo.until), end, now)
            res["inserted"] = res.get("inserted", 0) + more["inserted"]
    memo.main, memo.members, memo.until = main, members, end
    return res


def weeks_days(start: date) -> list[date]:
    monday = start - timedelta(days=start.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def as_payload(c: Candidate) -> dict[str, Any]:
    return content.render(c.item, c.variant, c.group_id)
