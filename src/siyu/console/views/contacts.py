"""Contacts: search and tag filter, and one contact's identities, tags, owner, memberships and timeline.

Sales see only the contacts assigned to them (list and picker filtered here, any other contact page is a 404 at
the edge, `auth/web`); admins and operators assign a contact to a user on its page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth import service as auth
from siyu.auth.roles import Perm, allowed
from siyu.auth.service import Principal
from siyu.auth.web import require, require_any, runtime
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, integer, parse, text
from siyu.contacts import owners, service
from siyu.contacts.schemas import TagIn
from siyu.events import service as events

router = APIRouter()
PAGE = 50


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


@router.get("/contacts", response_class=HTMLResponse)
def list_contacts(request: Request, who: Principal = Depends(require_any(Perm.READ_CONTACTS))) -> HTMLResponse:
    q = request.query_params.get("q", "")[:100]
    tag_id = _int(request.query_params.get("tag_id"))
    offset = max(0, _int(request.query_params.get("offset")) or 0)
    with runtime(request).tx() as s:
        page = service.search(s, who.workspace_id, q=q, tag_id=tag_id, offset=offset, limit=PAGE,
                              owner=who.contact_owner)
        tags = {c.id: [f"{g.name}:{t.name}" for g, t in service.tags_of(s, c.id)] for c in page.items}
        all_tags = service.all_tags(s, who.workspace_id)
        owner_names = owners.owner_names(s, {c.owner_user_id for c in page.items if c.owner_user_id})
        return render(request, "contacts/list.html", nav="contacts", page=page, q=q, tag_id=tag_id,
                      tags=tags, all_tags=all_tags, owner_names=owner_names,
                      own_only=who.contact_owner is not None)


@router.get("/contacts/pick", response_class=HTMLResponse)
def pick_contact(request: Request, who: Principal = Depends(require_any(Perm.READ_CONTACTS))) -> HTMLResponse:
    """A form's contact field: up to 8 matches of a name, platform id or contact id, as radio buttons named
    `contact_id`, so choosing one needs no script and the id is what the form posts."""
    q = request.query_params.get("q", "").strip()[:100]
    items = []
    if q:
        with runtime(request).tx() as s:
            items = service.search(s, who.workspace_id, q=q, limit=8, owner=who.contact_owner).items
    return render(request, "contacts/_pick.html", items=items, q=q)


@router.get("/contacts/{contact_id:int}", response_class=HTMLResponse)
def contact_detail(request: Request, contact_id: int,
                   who: Principal = Depends(require_any(Perm.READ_CONTACTS))) -> HTMLResponse:
    with runtime(request).tx() as s:
        c = service.get(s, who.workspace_id, contact_id)
        identities = service.identities_of(s, c.id)
        tags = service.tags_of(s, c.id)
        memberships = communities.memberships_of(s, c.id)
        timeline = events.timeline(s, who.workspace_id, c.id, limit=200)
        group_ids = {e.group_id for e in timeline if e.group_id} | {g.id for _, g in memberships}
        names: dict[str, Any] = {
            "groups": queries.group_names(s, group_ids),
            "codes": queries.code_names(s, who.workspace_id),
            "communities": queries.community_names(s, who.workspace_id),
        }
        merged_into = service.get(s, who.workspace_id, c.merged_into_id) if c.merged_into_id else None
        owner_name = owners.owner_names(s, {c.owner_user_id}).get(c.owner_user_id) if c.owner_user_id else None
        users = owners.assignable_users(s, who.workspace_id) if allowed(who.role, Perm.WRITE) else []
        return render(request, "contacts/detail.html", nav="contacts", contact=c, identities=identities,
                      tags=tags, memberships=memberships, timeline=timeline, names=names,
                      merged_into=merged_into, owner_name=owner_name, users=users)


@router.post("/contacts/{contact_id:int}/owner")
def assign_owner(request: Request, contact_id: int, form: FormData = Depends(form_data),
                 who: Principal = Depends(require(Perm.WRITE))) -> Response:
    """Assign the contact to a user (empty: to nobody)."""
    owner = integer(form, "owner_user_id")
    rt = runtime(request)
    with rt.tx() as s:
        c = owners.set_owner(s, who.workspace_id, contact_id, owner)
        auth.audit(s, who, "contact.update", "contact", c.id, {"owner_user_id": owner}, now=rt.clock.now())
    flash(request, N_("Owner saved.") if owner else N_("Owner removed."))
    return done(request, f"/contacts/{contact_id}")


@router.post("/contacts/{contact_id:int}/tags")
def add_tag(request: Request, contact_id: int, form: FormData = Depends(form_data),
            who: Principal = Depends(require(Perm.WRITE))) -> Response:
    label = text(form, "tag").replace("：", ":")
    group, _, name = label.partition(":")
    if not name:
        group, name = text(form, "group"), text(form, "name")
    body = parse(TagIn, {"group": group.strip(), "name": name.strip()})
    rt = runtime(request)
    with rt.tx() as s:
        c = service.get(s, who.workspace_id, contact_id)
        t = service.ensure_tag(s, who.workspace_id, body.group, body.name)
        service.apply_tags(s, who.workspace_id, c.id, [t.id], source=who.actor, now=rt.clock.now())
        auth.audit(s, who, "contact.tag", "contact", c.id, {"tag": t.id}, now=rt.clock.now())
    flash(request, N_("Tag added."))
    return done(request, f"/contacts/{contact_id}")


@router.post("/contacts/{contact_id:int}/tags/{tag_id:int}/delete")
def remove_tag(request: Request, contact_id: int, tag_id: int,
               who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        c = service.get(s, who.workspace_id, contact_id)
        service.remove_tag(s, who.workspace_id, c.id, tag_id, now=rt.clock.now())
        auth.audit(s, who, "contact.untag", "contact", c.id, {"tag": tag_id}, now=rt.clock.now())
    flash(request, N_("Tag removed."))
    return done(request, f"/contacts/{contact_id}")
