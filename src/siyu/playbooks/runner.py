"""Applying a playbook to a community or to groups, previewing what it will send, and running its timeline.

Calendar items become SOP items (the calendar's scheduler posts them); timeline steps become `PlaybookStep` rows
that `tick` runs when due — each step is taken with a conditional update and every post it makes has an
idempotency key, so two ticks or a restart never run a step twice.

A step's effects (the keyed outbox action, alert or interaction) commit in the same transaction that marks it
`done`, so a process that dies after taking a step leaves it `running` with nothing of it written. `tick` gives
such a step back to `planned` once its lease (`step_lease_seconds`, counted from when it was taken; the taking
time is kept in `done_at` while the step runs) has passed, and runs it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from siyu.communities import service as communities
from siyu.connectors.registry import capabilities_for
from siyu.delivery import service as outbox
from siyu.engagement.alerts import service as alerts
from siyu.kit.db import transaction
from siyu.kit.errors import Conflict, Invalid, NotFound, SiyuError
from siyu.kit.pagination import Page, keyset
from siyu.models import Community, FaqEntry, Group, PlaybookRun, PlaybookStep, Workspace
from siyu.playbooks import bindings
from siyu.playbooks.schema import Playbook, StepSpec

log = logging.getLogger("siyu.playbooks")
#: Seconds a step may stay `running` before `tick` takes it for left behind by a crash (settings override it).
STEP_LEASE_S = 300


@dataclass(frozen=True)
class Line:
    """One message (or action) a playbook will cause: when (UTC), where, what."""

    at: datetime
    group_id: int
    group_name: str
    kind: str
    text: str
    source: str  # calendar | timeline


def workspace_tz(session: Session, ws: int) -> ZoneInfo:
    w = session.get(Workspace, ws)
    return ZoneInfo(w.timezone if w else "Asia/Shanghai")


class NoGroups(Conflict):
    """The community has no active group, and the playbook's timeline runs in groups: the message says what to
    do (add a group, or let a channel code open one) instead of only failing."""

    code = "playbook_no_groups"

    def __init__(self, community: Community, then: str) -> None:
        super().__init__(
            f"community {community.name!r} has no active group yet, and this playbook's timeline runs in its groups: "
            f"add a group to it (POST /api/v1/groups with community_id {community.id}, or in the console on the "
            f"community's page), or let a channel code open one, then {then} again",
            detail={"community_id": community.id, "next": "add_group"})
        self.community = community


def live_groups(session: Session, ws: int, community_id: int) -> list[Group]:
    return [g for g in communities.groups(session, ws, community_id) if g.status in ("active", "full")]


def targets(session: Session, ws: int, community_id: int | None, group_ids: list[int] | None) -> tuple[
        Community | None, list[Group]]:
    """The community (or None) and its live groups — none yet is allowed: calendar items and FAQ entries apply
    to the community and its groups to come; only a timeline needs groups now (`NoGroups`)."""
    if (community_id is None) == (not group_ids):
        raise Invalid("give a community or a list of groups (not both)", code="playbook_target")
    if community_id is not None:
        return communities.get(session, ws, community_id), live_groups(session, ws, community_id)
    return None, [communities.get_group(session, ws, gid) for gid in group_ids or []]


def step_time(step: StepSpec, anchor: date, tz: ZoneInfo) -> datetime:
    hh, mm = step.clock
    local = datetime.combine(anchor + timedelta(days=step.day), time(hh, mm), tzinfo=tz)
    return local.astimezone(ZoneInfo("UTC"))


def _step_text(step: StepSpec) -> str:
    if step.do == "countdown":
        return step.text.replace("{remaining}", "N")
    if step.do in ("solitaire", "draw", "quiz", "poll"):
        return f"[{step.do}] {step.title} {step.text}".strip()
    if step.do == "draw_winners":
        return f"[draw] winners of {step.ref}"
    if step.do == "close_interaction":
        return f"[close] {step.ref}"
    if step.do == "close_group":
        return f"[{step.mode}] group"
    return step.text


def preview(session: Session, ws: int, pb: Playbook, *, community_id: int | None = None,
            group_ids: list[int] | None = None, anchor: date, start: datetime, days: int = 14) -> list[Line]:
    """Every message the playbook would send, in time order, writing nothing: calendar occurrences in
    [start, start + days) and every timeline step (a timeline is finite). A community without a group yet gets
    nothing to show for a calendar-only playbook (its posts start with the first group) and `NoGroups` when the
    playbook has a timeline."""
    community, groups = targets(session, ws, community_id, group_ids)
    if community is not None and not groups and pb.timeline:
        raise NoGroups(community, "preview it")
    tz = workspace_tz(session, ws)
    end = start + timedelta(days=days)
    lines: list[Line] = []
    names = {g.id: g.name for g in groups}
    for at, gid, kind, text in bindings.calendar_preview(
            session, ws, pb.calendar, tag=f"{pb.name}@{pb.version}", community_id=community_id,
            group_ids=[g.id for g in groups], start=start, end=end, now=start):
        lines.append(Line(at, gid, names.get(gid, str(gid)), kind, text, "calendar"))
    for step in pb.timeline:
        at = step_time(step, anchor, tz)
        lines.extend(Line(at, g.id, g.name, step.do, _step_text(step), "timeline") for g in groups)
    lines.sort(key=lambda line: (line.at, line.group_id, line.source))
    return lines


def apply(session: Session, ws: int, pb: Playbook, *, community_id: int | None = None,
          group_ids: list[int] | None = None, anchor: date, now: datetime, actor: str = "") -> PlaybookRun:
    community, groups = targets(session, ws, community_id, group_ids)
    if community is not None and not groups and pb.timeline:
        raise NoGroups(community, "apply it")
    tag = f"{pb.name}@{pb.version}"
    target = {"community_id": community.id} if community else {"group_ids": sorted(g.id for g in groups)}
    for run in session.scalars(select(PlaybookRun).where(PlaybookRun.workspace_id == ws,
                                                         PlaybookRun.name == pb.name)):
        if run.targets == target and run.version == pb.version:
            raise Conflict(f"{tag} is already applied to this target (run {run.id})", code="playbook_applied")
    tz = workspace_tz(session, ws)
    if pb.settings:
        bindings.apply_settings(session, ws, pb.settings, community_id=community.id if community else None,
                                group_ids=[g.id for g in groups], now=now)
    faq_ids = []
    for f in pb.faq:
        scope = community.id if community else groups[0].community_id
        entry = FaqEntry(workspace_id=ws, community_id=scope, question=f.question, variants=f.variants,
                         answer=f.answer, keywords=f.keywords, active=True, created_at=now)
        session.add(entry)
        session.flush()
        faq_ids.append(entry.id)
    item_ids: list[int] = []
    for spec in pb.calendar:
        if community is not None:
            item_ids.append(bindings.create_calendar_item(session, ws, spec, tag=tag, community_id=community.id,
                                                          now=now))
        else:
            item_ids.extend(bindings.create_calendar_item(session, ws, spec, tag=tag, group_id=g.id, now=now)
                            for g in groups)
    run = PlaybookRun(workspace_id=ws, name=pb.name, version=pb.version, targets=target,
                      anchor_at=datetime.combine(anchor, time(0, 0), tzinfo=tz), actor=actor, applied_at=now,
                      created={"items": item_ids, "faq": faq_ids})
    session.add(run)
    session.flush()
    idx = 0
    ordered = sorted(pb.timeline, key=lambda s: (s.day, s.clock))
    for g in groups:
        for step in ordered:
            session.add(PlaybookStep(workspace_id=ws, run_id=run.id, idx=idx, group_id=g.id,
                                     due_at=step_time(step, anchor, tz), kind=step.do,
                                     spec=step.model_dump(mode="json"), status="planned"))
            idx += 1
    run.created = {**run.created, "steps": idx}
    session.flush()
    return run


def due_steps(session: Session, now: datetime, limit: int = 200) -> list[int]:
    return list(session.scalars(select(PlaybookStep.id).where(
        PlaybookStep.status == "planned", PlaybookStep.due_at <= now).order_by(PlaybookStep.due_at,
                                                                              PlaybookStep.idx).limit(limit)))


def run_step(session: Session, step: PlaybookStep, now: datetime) -> dict[str, Any]:
    spec = StepSpec.model_validate(step.spec)
    group = session.get(Group, step.group_id) if step.group_id is not None else None
    if group is None:
        raise Conflict("the step's group no longer exists", code="group_not_found")
    key = f"pb:{step.run_id}:{step.idx}"
    ws = step.workspace_id
    if spec.do == "post":
        aid = outbox.plan(session, ws, key=key, kind="post_to_group", connector=group.platform, now=now,
                          group_id=group.id, payload={"text": spec.text, "playbook_step": step.id})
        return {"action_id": aid}
    if spec.do == "staff_task":
        a = alerts.raise_alert(session, ws, kind="playbook_task", key=key, message=f"{spec.title}: {spec.text}",
                               now=now, group_id=group.id, detail={"step_id": step.id})
        return {"alert_id": a.id if a else None}
    if spec.do in ("solitaire", "draw", "quiz", "poll"):
        return {"interaction_id": bindings.start_interaction(session, ws, group, spec, now=now, key=key)}
    if spec.do == "close_group":
        group.status = "dissolved" if spec.mode == "dissolve" else "archived"
        caps = capabilities_for(session, group.platform, ws)
        if caps is None or caps.remove_member != "auto":  # WeCom: only the owner can dissolve, in the client
            alerts.raise_alert(session, ws, kind="playbook_task", key=key, now=now, group_id=group.id,
                               message=f"{'解散' if spec.mode == 'dissolve' else '归档'}群「{group.name}」",
                               detail={"step_id": step.id})
        return {"group_status": group.status}
    interaction_id = _ref_interaction(session, step, spec)
    if spec.do == "countdown":
        remaining = bindings.remaining_stock(session, ws, interaction_id)
        text = spec.text.replace("{remaining}", "?" if remaining is None else str(remaining))
        aid = outbox.plan(session, ws, key=key, kind="post_to_group", connector=group.platform, now=now,
                          group_id=group.id, payload={"text": text, "playbook_step": step.id})
        return {"action_id": aid, "remaining": remaining}
    if spec.do == "draw_winners":
        return {"winners": bindings.draw(session, ws, interaction_id, now=now)}
    if spec.do == "close_interaction":
        bindings.close_interaction(session, ws, interaction_id, now=now)
        return {"closed": interaction_id}
    raise Invalid(f"unknown step kind {spec.do}", code="playbook_step_kind")


def _ref_interaction(session: Session, step: PlaybookStep, spec: StepSpec) -> int:
    for earlier in session.scalars(select(PlaybookStep).where(
            PlaybookStep.run_id == step.run_id, PlaybookStep.group_id == step.group_id,
            PlaybookStep.idx < step.idx)):
        if earlier.spec.get("ref") == spec.ref and earlier.kind in ("solitaire", "draw", "quiz", "poll"):
            iid = earlier.result.get("interaction_id")
            if iid is None:
                raise Conflict(f"interaction {spec.ref!r} was not started (its step is {earlier.status})",
                               code="playbook_ref_missing")
            return int(iid)
    raise Conflict(f"no interaction {spec.ref!r} in this run", code="playbook_ref_missing")


def recover_stale(factory: Any, now: datetime, lease_s: int = STEP_LEASE_S) -> int:
    """Give steps left `running` by a crash back to `planned`, once their lease has passed.

    Nothing of such a step was committed (its effects commit with `done`), so running it again is its first run.
    A step taken before this lease existed has no taking time; its due time stands in for it."""
    cutoff = now - timedelta(seconds=lease_s)
    with transaction(factory) as s:
        stale = list(s.scalars(select(PlaybookStep.id).where(
            PlaybookStep.status == "running",
            or_(PlaybookStep.done_at < cutoff, and_(PlaybookStep.done_at.is_(None), PlaybookStep.due_at < cutoff)))))
        if not stale:
            return 0
        res = s.execute(update(PlaybookStep).where(
            PlaybookStep.id.in_(stale), PlaybookStep.status == "running",
            or_(PlaybookStep.done_at < cutoff, and_(PlaybookStep.done_at.is_(None), PlaybookStep.due_at < cutoff)))
            .values(status="planned", done_at=None).execution_options(synchronize_session=False))
        recovered = int(res.rowcount or 0)  # type: ignore[attr-defined]
    if recovered:
        log.warning("playbooks: %d step(s) were left running for over %d s (a crashed process?); running them "
                    "again: %s", recovered, lease_s, stale)
    return recovered


def tick(factory: Any, now: datetime, *, lease_s: int = STEP_LEASE_S) -> dict[str, int]:
    """Run every due step once: take it (planned → running), run it, record done / failed.

    The taking time is the step's lease; the run only commits if the step is still the one this tick took
    (a tick that stalled past the lease finds it retaken and writes nothing). Steps recovered from a crash are
    logged and then counted with the others."""
    recover_stale(factory, now, lease_s)
    done = failed = 0
    with transaction(factory) as s:
        ids = due_steps(s, now)
    for step_id in ids:
        with transaction(factory) as s:
            taken = s.execute(update(PlaybookStep).where(PlaybookStep.id == step_id,
                                                         PlaybookStep.status == "planned")
                              .values(status="running", done_at=now)
                              .execution_options(synchronize_session=False))
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue
        try:
            with transaction(factory) as s:
                step = _still_ours(s, step_id, now)
                if step is None:
                    continue
                step.result = run_step(s, step, now)
                step.status, step.done_at = "done", now
            done += 1
        except Exception as exc:  # a failed step is reported on the run, the others go on
            with transaction(factory) as s:
                step = _still_ours(s, step_id, now)
                if step is None:
                    continue
                step.status, step.done_at = "failed", now
                # with its code, when it has one: the console words the failure by it (console/labels.py)
                step.result = {"error": f"{type(exc).__name__}: {exc}",
                               **({"code": exc.code} if isinstance(exc, SiyuError) else {})}
            failed += 1
    return {"done": done, "failed": failed}


def _still_ours(session: Session, step_id: int, taken_at: datetime) -> PlaybookStep | None:
    """The step, locked, if it is still running under the lease taken at `taken_at`."""
    step = session.get(PlaybookStep, step_id, with_for_update=True)
    if step is None or step.status != "running" or step.done_at != taken_at:
        return None
    return step


def runs(session: Session, ws: int) -> list[PlaybookRun]:
    return list(session.scalars(select(PlaybookRun).where(PlaybookRun.workspace_id == ws)
                                .order_by(PlaybookRun.id.desc())))


def run_page(session: Session, ws: int, *, cursor: str | None = None, limit: int = 50) -> Page[PlaybookRun]:
    """Newest first."""
    return keyset(session, select(PlaybookRun).where(PlaybookRun.workspace_id == ws), [PlaybookRun.id],
                  cursor=cursor, limit=limit, key=lambda r: [r.id])


def get_run(session: Session, ws: int, run_id: int) -> PlaybookRun:
    run = session.get(PlaybookRun, run_id)
    if run is None or run.workspace_id != ws:
        raise NotFound("no such playbook run", code="playbook_run_not_found")
    return run


def steps_of(session: Session, run_id: int) -> list[PlaybookStep]:
    return list(session.scalars(select(PlaybookStep).where(PlaybookStep.run_id == run_id)
                                .order_by(PlaybookStep.due_at, PlaybookStep.idx)))
