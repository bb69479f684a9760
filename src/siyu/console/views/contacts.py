"""Contacts: the list with the filters operators expect of a WeCom SCRM (tag, channel code, community, group,
owner, last active), bulk tag / untag of the rows ticked, the .xlsx export of what is listed; and one contact's
identities, tags, owner, follow-up notes, memberships and timeline.

Sales see only the contacts assigned to them (list, export and picker filtered here, any other contact page is a
404 at the edge, `auth/web`); admins and operators assign a contact to a user on its page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.acquisition import service as acquisition
from siyu.auth.roles import Perm, allowed, own_contacts_only
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, gettext, render, zone
from siyu.console.views.common import form_data, integer, parse, safe_next, text
from siyu.contacts import commands, export, notes, owners, service
from siyu.contacts import projection as relationships
from siyu.contacts.schemas import BulkTagIn, BulkUntagIn, ContactPatch, NoteIn, TagIn
from siyu.contacts.service import Filters
from siyu.edge.work import Work, edge_router, work
from siyu.events import service as events
from siyu.kit.errors import Invalid

router = edge_router()
PAGE = 50
#: The last-active choices of the list: (value, label). "within:N" = did something in the last N days,
#: "silent:N" = nothing for N days.
ACTIVITY = (("within:1", N_("Active in the last 24 hours")), ("within:7", N_("Active in the last 7 days")),
            ("within:30", N_("Active in the last 30 days")), ("silent:7", N_("Not active for 7 days")),
            ("silent:30", N_("Not active for 30 days")), ("silent:90", N_("Not active for 90 days")))
#: The export's headers (translated into the reader's language).
HEADERS = {"id": N_("Contact ID"), "name": N_("Name"), "identities": N_("Identities"), "tags": N_("Tags"),
           "groups": N_("Groups now"), "owner": N_("Assigned to"), "last_active": N_("Last active"),
           "created_at": N_("First seen"), "blacklisted": N_("On the blacklist")}


def _int(raw: str | None) -> int | None:
    try:
        value = int(raw) if raw else None
    except ValueError:
        return None
    return value if value is None or 0 < value < 2**63 else None


def _filters(request: Request, w: Work) -> tuple[Filters, dict[str, str]]:
    """The list's filters from the query string (a value that is not one of the choices is ignored, as a bookmark
    from an older version would be), and the query string that reproduces them (for the pager and the export)."""
    qp = request.query_params
    activity = qp.get("activity", "")
    within = silent = None
    kind, _, days = activity.partition(":")
    if kind in ("within", "silent") and days.isdigit() and 0 < int(days) <= service.MAX_DAYS:
        within, silent = (int(days), None) if kind == "within" else (None, int(days))
    else:
        activity = ""
    owner = qp.get("owner", "")
    scoped = w.who.contact_owner is not None   # sales: their own contacts only, no owner filter
    setup = allowed(w.who.role, Perm.READ)     # community, group and channel filters name the operation's set-up
    f = Filters(q=qp.get("q", "")[:100], tag_id=_int(qp.get("tag_id")),
                channel_code_id=_int(qp.get("code_id")) if setup else None,
                community_id=_int(qp.get("community_id")) if setup else None,
                group_id=_int(qp.get("group_id")) if setup else None,
                owner_user_id=None if scoped or owner == "none" else _int(owner),
                unassigned=not scoped and owner == "none", active_within_days=within, inactive_for_days=silent)
    kept = {"q": f.q, "tag_id": str(f.tag_id or ""), "code_id": str(f.channel_code_id or ""),
            "community_id": str(f.community_id or ""), "group_id": str(f.group_id or ""),
            "owner": "none" if f.unassigned else str(f.owner_user_id or ""), "activity": activity}
    return f, {k: v for k, v in kept.items() if v}


@router.get("/contacts", response_class=HTMLResponse)
def list_contacts(request: Request, w: Work = Depends(work(Perm.READ_CONTACTS))) -> HTMLResponse:
    f, kept = _filters(request, w)
    cursor = request.query_params.get("cursor") or None
    s, ws, owner = w.s, w.ws, w.who.contact_owner
    page = service.search(s, ws, where=f, cursor=cursor, limit=PAGE, owner=owner, now=w.now)
    ids = [c.id for c in page.items]
    setup = allowed(w.who.role, Perm.READ)
    return render(request, "contacts/list.html", nav="contacts", page=page, f=f, kept=kept, qs=urlencode(kept),
                  cursor=cursor, tags=service.tags_by_contact(s, ids), last_active=service.last_active(s, ids),
                  all_tags=service.all_tags(s, ws), total=service.count(s, ws, owner=owner, where=f, now=w.now),
                  owner_names=owners.owner_names(s, {c.owner_user_id for c in page.items if c.owner_user_id}),
                  own_only=owner is not None, activity_choices=ACTIVITY,
                  users=owners.assignable_users(s, ws) if owner is None else [],
                  codes=acquisition.list_all(s, ws) if setup else [],
                  communities=communities.list_all(s, ws) if setup else [],
                  groups=communities.groups(s, ws) if setup else [],
                  here_list=request.url.path + (f"?{request.url.query}" if request.url.query else ""))


@router.get("/contacts/export.xlsx")
def export_contacts(request: Request, w: Work = Depends(work(Perm.READ_CONTACTS))) -> Response:
    """What the list shows with the same filters, every page of it, headers in the reader's language."""
    f, _ = _filters(request, w)
    headers = {k: gettext(request, v) for k, v in HEADERS.items()}
    records = export.rows(w.s, w.ws, f, owner=w.who.contact_owner, now=w.now, tz=zone(request),
                          yes=gettext(request, N_("yes")))
    data = export.xlsx(records, headers, sheet_title=gettext(request, N_("Contacts")))
    stamp = datetime.now(zone(request)).strftime("%Y%m%d-%H%M")
    name = f"contacts-{stamp}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.post("/contacts/bulk")
def bulk(request: Request, form: FormData = Depends(form_data), w: Work = Depends(work(Perm.WRITE))) -> Response:
    """Tag or untag the ticked rows: an existing tag from the list, or a new one typed as group:name."""
    back = safe_next(text(form, "next"), "/contacts")
    ids = [i for i in (_int(v) for v in form.getlist("contact_id") if isinstance(v, str)) if i is not None]
    if not ids:
        raise Invalid("tick at least one contact", code="no_contacts")
    op = text(form, "op")
    tag_id = integer(form, "tag_id")
    typed = text(form, "new_tag").replace("：", ":")
    if op == "untag":
        if tag_id is None:
            raise Invalid("choose the tag to remove", code="no_tag")
        changed = commands.bulk_untag(w, BulkUntagIn(contact_ids=ids, tag_id=tag_id))
        _flash_count(request, N_("Tag removed from %(n)s contacts.") if changed else N_("None of them had this tag."),
                     len(changed))
        return done(request, back)
    if typed:
        group, _, name = typed.partition(":")
        if not name.strip():
            raise Invalid("type the new tag as group:name", code="invalid_tag_name")
    elif tag_id is not None:
        label = service.tag_label(w.s, tag_id)
        group, _, name = label.partition(":")
        if not name:
            raise Invalid("choose a tag or type a new one", code="no_tag")
    else:
        raise Invalid("choose a tag or type a new one", code="no_tag")
    _, changed = commands.bulk_tag(w, parse(BulkTagIn, {"contact_ids": ids, "group": group.strip(),
                                                        "name": name.strip()}))
    _flash_count(request, N_("Tag added to %(n)s contacts.") if changed else N_("They all had this tag already."),
                 len(changed))
    return done(request, back)


def _flash_count(request: Request, msgid: str, n: int) -> None:
    """A flash message with a number in it: translated now (the page shows it as it is, `_()` of a string that
    is no msgid is the string itself)."""
    flash(request, gettext(request, msgid) % {"n": n} if "%(n)s" in msgid else msgid)


@router.get("/contacts/pick", response_class=HTMLResponse)
def pick_contact(request: Request, w: Work = Depends(work(Perm.READ_CONTACTS))) -> HTMLResponse:
    """A form's contact field: up to 8 matches of a name, platform id or contact id, as radio buttons named
    `contact_id`, so choosing one needs no script and the id is what the form posts."""
    q = request.query_params.get("q", "").strip()[:100]
    items = service.search(w.s, w.ws, q=q, limit=8, owner=w.who.contact_owner).items if q else []
    return render(request, "contacts/_pick.html", items=items, q=q)


@router.get("/contacts/{contact_id:int}", response_class=HTMLResponse)
def contact_detail(request: Request, contact_id: int, w: Work = Depends(work(Perm.READ_CONTACTS))) -> HTMLResponse:
    s, ws = w.s, w.ws
    c = service.get(s, ws, contact_id)
    memberships = communities.memberships_of(s, c.id)
    timeline = events.timeline(s, ws, c.id, limit=200)
    group_ids = {e.group_id for e in timeline if e.group_id} | {g.id for _, g in memberships}
    names: dict[str, Any] = {
        "groups": queries.group_names(s, group_ids),
        "codes": queries.code_names(s, ws),
        "communities": queries.community_names(s, ws),
        # which FAQ entry answered, which interaction: the timeline names them (console/labels.py)
        "faq": queries.faq_questions(s, ws, {int(e.payload["entry_id"]) for e in timeline
                                             if e.type.startswith("faq.") and "entry_id" in e.payload}),
        "interactions": queries.interaction_titles(s, ws, {int(e.payload["interaction_id"]) for e in timeline
                                                           if e.type.startswith("interaction.")}),
    }
    merged_into = service.get(s, ws, c.merged_into_id) if c.merged_into_id else None
    owner_name = owners.owner_names(s, {c.owner_user_id}).get(c.owner_user_id) if c.owner_user_id else None
    users = owners.assignable_users(s, ws) if allowed(w.who.role, Perm.WRITE) else []
    return render(request, "contacts/detail.html", nav="contacts", contact=c, identities=service.identities_of(s, c.id),
                  tags=service.tags_of(s, c.id), memberships=memberships, timeline=timeline, names=names,
                  relationships=relationships.of_contact(s, c.id),
                  merged_into=merged_into, owner_name=owner_name, users=users,
                  notes=notes.page(s, ws, c.id, limit=NOTES).items, can_note=_can_note(w.who.role))


@router.post("/contacts/{contact_id:int}/owner")
def assign_owner(request: Request, contact_id: int, form: FormData = Depends(form_data),
                 w: Work = Depends(work(Perm.WRITE))) -> Response:
    """Assign the contact to a user (empty: to nobody)."""
    owner = integer(form, "owner_user_id")
    commands.change(w, contact_id, ContactPatch(owner_user_id=owner))
    flash(request, N_("Owner saved.") if owner else N_("Owner removed."))
    return done(request, f"/contacts/{contact_id}")


@router.post("/contacts/{contact_id:int}/tags")
def add_tag(request: Request, contact_id: int, form: FormData = Depends(form_data),
            w: Work = Depends(work(Perm.WRITE))) -> Response:
    label = text(form, "tag").replace("：", ":")
    group, _, name = label.partition(":")
    if not name:
        group, name = text(form, "group"), text(form, "name")
    commands.tag(w, contact_id, parse(TagIn, {"group": group.strip(), "name": name.strip()}))
    flash(request, N_("Tag added."))
    return done(request, f"/contacts/{contact_id}")


@router.post("/contacts/{contact_id:int}/tags/{tag_id:int}/delete")
def remove_tag(request: Request, contact_id: int, tag_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.untag(w, contact_id, tag_id)
    flash(request, N_("Tag removed."))
    return done(request, f"/contacts/{contact_id}")


NOTES = 50


def _can_note(role: str) -> bool:
    return allowed(role, Perm.WRITE) or own_contacts_only(role)


@router.post("/contacts/{contact_id:int}/notes")
def add_note(request: Request, contact_id: int, form: FormData = Depends(form_data),
             w: Work = Depends(work(Perm.WRITE, Perm.READ_CONTACTS))) -> Response:
    """A follow-up note (sales on their own contacts too: the edge answers 404 for anyone else's)."""
    body = text(form, "text")
    if not body:
        raise Invalid("a note needs some text", code="empty_note")
    if len(body) > notes.MAX_NOTE:
        raise Invalid(f"a note has at most {notes.MAX_NOTE} characters", code="note_too_long")
    commands.add_note(w, contact_id, NoteIn(text=body))
    flash(request, N_("Note saved."))
    return done(request, f"/contacts/{contact_id}#notes")
