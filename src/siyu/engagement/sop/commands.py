"""What a person does to the SOP calendar, from the REST API or the console: one function per act, each auditing
itself inside the request's unit of work (`edge/work.py`).

Items are planned for the next 14 days as soon as they are created or changed, so the calendar shows them at once.
A broadcast is the one act that runs outside a unit of work: it commits chunk by chunk (`broadcast.send`).
"""

from __future__ import annotations

from siyu.edge.work import Work
from siyu.engagement.sop import broadcast, import_export, planner, service
from siyu.engagement.sop.schemas import (
    BroadcastIn,
    BroadcastOut,
    ChainIn,
    ScheduleSettings,
    ScheduleSettingsOut,
    SopItemIn,
    SopItemPatch,
)
from siyu.models import SopItem


def _plan(w: Work, item_ids: list[int]) -> None:
    planner.plan_window(w.s, w.ws, w.now, w.now + planner.HORIZON, w.now, item_ids=item_ids)


def create_item(w: Work, body: SopItemIn) -> SopItem:
    item = service.create_item(w.s, w.ws, body, now=w.now)
    _plan(w, [item.id])
    w.audit("sop.item.create", "sop_item", item.id, {"title": item.title})
    return item


def change_item(w: Work, item_id: int, patch: SopItemPatch) -> SopItem:
    item = service.update_item(w.s, w.ws, item_id, patch, now=w.now)
    _plan(w, [item.id])
    w.audit("sop.item.update", "sop_item", item.id, {"fields": sorted(patch.model_fields_set)})
    return item


def delete_item(w: Work, item_id: int) -> None:
    """Deleted, or switched off when something already went out (`service.delete_item`)."""
    service.delete_item(w.s, w.ws, item_id, now=w.now)
    w.audit("sop.item.delete", "sop_item", item_id)


def create_chain(w: Work, body: ChainIn) -> list[SopItem]:
    items = service.create_chain(w.s, w.ws, body, now=w.now)
    w.audit("sop.chain.create", "sop_item", items[0].id, {"series": body.series})
    return items


def set_community_settings(w: Work, community_id: int, body: ScheduleSettings) -> ScheduleSettingsOut:
    """Daily cap and quiet hours of a community (a field left out is kept, null drops it)."""
    out = service.set_community_settings(w.s, w.ws, community_id, body, now=w.now)
    w.audit("sop.settings.community", "community", community_id, body.model_dump(exclude_unset=True))
    return out


def set_group_settings(w: Work, group_id: int, body: ScheduleSettings) -> ScheduleSettingsOut:
    out = service.set_group_settings(w.s, w.ws, group_id, body, now=w.now)
    w.audit("sop.settings.group", "group", group_id, body.model_dump(exclude_unset=True))
    return out


def plan_import(w: Work, rows: list[dict[str, str]]) -> import_export.ImportPlan:
    """What importing `rows` would do, row by row (new / changed / unchanged / errors): a preview, so nothing is
    written or audited."""
    return import_export.plan_import(w.s, w.ws, rows)


def import_table(w: Work, plan: import_export.ImportPlan, *, partial: bool) -> tuple[list[SopItem], list[SopItem]]:
    """Apply a plan: rows with an id update their item, the others create one; (created, updated). All rows or
    none (`partial`: the good ones); a rejected table raises Invalid(`import_rejected`) and audits nothing, since
    nothing was stored. What changed is planned at once, so the week shows it before the next scheduler tick."""
    created, updated = import_export.apply_plan(w.s, w.ws, plan, now=w.now, partial=partial)
    changed = [i.id for i in created + updated]
    if changed:
        _plan(w, changed)
    w.audit("sop.import", "sop_item", "", {"created": len(created), "updated": len(updated),
                                           "unchanged": len(plan.of("unchanged")), "errors": len(plan.of("error")),
                                           "partial": partial})
    return created, updated


def send_broadcast(w: Work, body: BroadcastIn, *, broadcast_id: str) -> BroadcastOut:
    """Send an item or a text to communities, groups and tagged members now. Call it outside a unit of work:
    the actions are created chunk by chunk, each chunk committed on its own (so sending the same broadcast id again
    resumes one cut short), and the audit entry gets its own short transaction once they all are."""
    out = broadcast.send(w.rt.sessions, w.ws, body, broadcast_id=broadcast_id, now=w.now)
    with w.unit(write=True):
        w.audit("sop.broadcast", "broadcast", broadcast_id, {"item_id": body.item_id, "groups": out.groups,
                                                             "contacts": out.contacts, "created": out.created})
    return out
