"""Materialize due occurrences into the outbox, once each, whatever runs twice or dies half-way.

Guarantees:
- An occurrence is taken with a conditional UPDATE (planned → queued) that only one transaction can win; the
  action it becomes carries the occurrence's key as its idempotency key (unique in the outbox too), and both
  writes commit together. A second scheduler, a restart or a rolled-back run cannot post it twice.
- An occurrence found more than `grace` after its time (the server was down) follows its item's missed policy:
  `late` sends it now with the reason "sent late by N min", `skip` marks it `skipped_missed`; either way the
  owner gets one `missed_sop` alert per item and time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.delivery import service as outbox
from siyu.engagement.alerts import service as alerts
from siyu.engagement.sop import content
from siyu.models import Action, Group, Membership, SopItem, SopOccurrence

DEFAULT_GRACE = timedelta(minutes=10)
BATCH = 500


def grace_for(settings: dict[str, Any] | None) -> timedelta:
    minutes = (settings or {}).get("sop_grace_minutes")
    return timedelta(minutes=int(minutes)) if isinstance(minutes, int) and minutes >= 0 else DEFAULT_GRACE


def claim_due(session: Session, ws: int, now: datetime, limit: int = BATCH) -> list[int]:
    """Take due occurrences (planned → queued). Rows another scheduler took first are simply not returned."""
    ids = list(session.scalars(select(SopOccurrence.id).where(
        SopOccurrence.workspace_id == ws, SopOccurrence.status == "planned", SopOccurrence.due_at <= now)
        .order_by(SopOccurrence.due_at, SopOccurrence.id).limit(limit)))
    if not ids:
        return []
    res = session.execute(update(SopOccurrence).where(SopOccurrence.id.in_(ids), SopOccurrence.status == "planned")
                          .values(status="queued").returning(SopOccurrence.id)
                          .execution_options(synchronize_session=False))
    return sorted(int(r[0]) for r in res)


def run_due(session: Session, ws: int, now: datetime, *, grace: timedelta = DEFAULT_GRACE,
            limit: int = BATCH) -> dict[str, int]:
    """One batch: claim due occurrences and hand them to the outbox. The caller commits."""
    claimed = claim_due(session, ws, now, limit)
    counts = {"claimed": len(claimed), "queued": 0, "late": 0, "skipped_missed": 0, "cancelled": 0}
    if not claimed:
        return counts
    occs = list(session.scalars(select(SopOccurrence).where(SopOccurrence.id.in_(claimed))
                                .order_by(SopOccurrence.due_at, SopOccurrence.id)))
    items = {i.id: i for i in session.scalars(select(SopItem).where(SopItem.id.in_({o.item_id for o in occs})))}
    gids = {o.group_id for o in occs if o.group_id is not None}
    groups = {g.id: g for g in session.scalars(select(Group).where(Group.id.in_(gids)))} if gids else {}
    dm = [(o.group_id, o.contact_id) for o in occs if o.contact_id is not None]
    still_in: set[tuple[int, int]] = set()
    if dm:
        still_in = {(g, c) for g, c in session.execute(select(Membership.group_id, Membership.contact_id).where(
            Membership.contact_id.in_({c for _, c in dm}), Membership.left_at.is_(None)))}
    missed: dict[tuple[int, datetime], list[SopOccurrence]] = defaultdict(list)

    for occ in occs:
        item = items.get(occ.item_id)
        group = groups.get(occ.group_id) if occ.group_id is not None else None
        why = ""
        if item is None or not item.active:
            why = "the item was switched off"
        elif group is None or group.status not in ("active", "full"):
            why = "the group is gone or archived"
        elif occ.contact_id is not None and (occ.group_id, occ.contact_id) not in still_in:
            why = "the member left the group"
        if why:
            occ.status, occ.reason = "cancelled", why
            counts["cancelled"] += 1
            continue
        assert item is not None and group is not None
        late = now - occ.due_at
        if late > grace:
            missed[(item.id, occ.due_at)].append(occ)
            mins = int(late.total_seconds() // 60)
            if item.missed_policy == "skip":
                occ.status, occ.reason = "skipped_missed", f"missed by {mins} min (scheduler was not running); " \
                                                           "policy: skip"
                counts["skipped_missed"] += 1
                continue
            occ.reason = f"sent late by {mins} min (scheduler was not running); policy: late"
            counts["late"] += 1
        payload = content.render(item, occ.variant, occ.group_id)
        payload["occurrence_id"] = occ.id
        kind = "direct_message" if occ.contact_id is not None else "post_to_group"
        action_id = outbox.plan(session, ws, key=occ.key, kind=kind, connector=group.platform, now=now,
                                group_id=occ.group_id, contact_id=occ.contact_id, payload=payload)
        if action_id is None:  # the outbox already has this key: link it, never plan it again
            action_id = session.scalar(select(Action.id).where(Action.workspace_id == ws,
                                                               Action.idempotency_key == occ.key))
        occ.action_id = action_id
        counts["queued"] += 1

    for (item_id, due), rows in missed.items():
        item = items[item_id]
        tz_free = f"{due:%Y-%m-%d %H:%M} UTC"
        what = "sent late" if item.missed_policy == "late" else "skipped"
        alerts.raise_alert(
            session, ws, kind="missed_sop", key=f"missed_sop:{item_id}:{due:%Y%m%dT%H%M}", now=now,
            group_id=rows[0].group_id if len(rows) == 1 else None,
            message=f"SOP item #{item_id} {item.title!r} due {tz_free} was missed in {len(rows)} "
                    f"group(s)/member(s) and {what} (missed policy: {item.missed_policy})",
            detail={"item_id": item_id, "due_at": due.isoformat(), "count": len(rows),
                    "policy": item.missed_policy, "occurrence_ids": [o.id for o in rows[:100]]})
    session.flush()
    return counts
