"""Contacts: search and tag filter, and one contact's identities, tags, owner, memberships and timeline.

Sales see only the contacts assigned to them (list and picker filtered here, any other contact page is a 404 at
the edge, `auth/web`); admins and operators assign a contact to a user on its page.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth.roles import Perm, allowed
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, integer, parse, text
from siyu.contacts import commands, owners, service
from siyu.contacts import projection as relationships
from siyu.contacts.schemas import ContactPatch, TagIn
from siyu.edge.work import Work, edge_router, work
from siyu.events import service as events

router = edge_router()
PAGE = 50


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


@router.get("/contacts", response_class=HTMLResponse)
def list_contacts(request: Request, w: Work = Depends(work(Perm.READ_CONTACTS))) -> HTMLResponse:
    q = request.query_params.get("q", "")[:100]
    tag_id = _int(request.query_params.get("tag_id"))
    cursor = request.query_params.get("cursor") or None
    s = w.s
    page = service.search(s, w.ws, q=q, tag_id=tag_id, cursor=cursor, limit=PAGE, owner=w.who.contact_owner)
    tags = {c.id: [f"{g.name}:{t.name}" for g, t in service.tags_of(s, c.id)] for c in page.items}
    total = service.count(s, w.ws, owner=w.who.contact_owner)
    return render(request, "contacts/list.html", nav="contacts", page=page, q=q, tag_id=tag_id, cursor=cursor,
                  tags=tags, all_tags=service.all_tags(s, w.ws), total=total,
                  owner_names=owners.owner_names(s, {c.owner_user_id for c in page.items if c.owner_user_id}),
                  own_only=w.who.contact_owner is not None)


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
    }
    merged_into = service.get(s, ws, c.merged_into_id) if c.merged_into_id else None
    owner_name = owners.owner_names(s, {c.owner_user_id}).get(c.owner_user_id) if c.owner_user_id else None
    users = owners.assignable_users(s, ws) if allowed(w.who.role, Perm.WRITE) else []
    return render(request, "contacts/detail.html", nav="contacts", contact=c, identities=service.identities_of(s, c.id),
                  tags=service.tags_of(s, c.id), memberships=memberships, timeline=timeline, names=names,
                  relationships=relationships.of_contact(s, c.id),
                  merged_into=merged_into, owner_name=owner_name, users=users)


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
