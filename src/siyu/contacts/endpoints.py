"""REST endpoints of contacts: list / search with the console's filters, create, get, change (name, owner),
identities, merge, tags (one contact or many), follow-up notes.

A sales caller sees only the contacts assigned to them: the list is filtered, any other contact is a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from siyu.auth.roles import Perm
from siyu.contacts import commands, notes, service
from siyu.contacts.schemas import (
    BulkOut,
    BulkTagIn,
    BulkUntagIn,
    ContactIn,
    ContactOut,
    ContactPatch,
    IdentityIn,
    IdentityOut,
    MergeIn,
    NoteIn,
    NoteOut,
    TagIn,
    TagOut,
)
from siyu.contacts.service import MAX_DAYS, Filters
from siyu.edge.work import Work, edge_router, work
from siyu.kit.pagination import Cursor, Limit, PageOut, window
from siyu.kit.params import Id, Id64
from siyu.models import Contact, ContactNote

router = edge_router(prefix="/api/v1", tags=["contacts"])
Days = Annotated[int | None, Query(ge=1, le=MAX_DAYS)]


def contact_out(s: Session, c: Contact) -> ContactOut:
    return ContactOut(
        id=c.id, display_name=c.display_name, blacklisted=c.blacklisted, created_at=c.created_at,
        attributes=c.attributes, owner_user_id=c.owner_user_id,
        identities=[IdentityOut(platform=i.platform, external_id=i.external_id)
                    for i in service.identities_of(s, c.id)],
        tags=[f"{g.name}:{t.name}" for g, t in service.tags_of(s, c.id)],
    )


def note_out(n: ContactNote) -> NoteOut:
    return NoteOut(id=n.id, contact_id=n.contact_id, author=n.author, author_user_id=n.author_user_id, text=n.text,
                   created_at=n.created_at)


@router.get("/contacts")
def list_contacts(q: str = Query(default="", max_length=100), tag_id: Id | None = None,
                  channel_code_id: Id | None = None, community_id: Id | None = None, group_id: Id | None = None,
                  owner_user_id: Id | None = None, unassigned: bool = False, active_within_days: Days = None,
                  inactive_for_days: Days = None, cursor: Cursor = None, limit: Limit = 50,
                  w: Work = Depends(work(Perm.READ_CONTACTS))) -> PageOut[ContactOut]:
    """Newest first; `q` matches a name or platform id anywhere, whatever the case, or a contact id. The filters
    combine: `tag_id`; `channel_code_id` (came in through that code); `community_id`, `group_id` (in it now);
    `owner_user_id` or `unassigned=true`; `active_within_days` (did something themselves — posted, clicked,
    filled in a form, paid — in the last N days) or `inactive_for_days` (nothing for N days)."""
    where = Filters(q=q, tag_id=tag_id, channel_code_id=channel_code_id, community_id=community_id,
                    group_id=group_id, owner_user_id=owner_user_id, unassigned=unassigned,
                    active_within_days=active_within_days, inactive_for_days=inactive_for_days)
    page = service.search(w.s, w.ws, where=where, cursor=cursor, limit=limit, owner=w.who.contact_owner, now=w.now)
    return PageOut.of(page, lambda c: contact_out(w.s, c))


@router.post("/contacts/bulk-tag")
def bulk_tag(body: BulkTagIn, w: Work = Depends(work(Perm.WRITE))) -> BulkOut:
    """Tag up to 200 contacts at once (the tag is created when missing); all or none: an unknown contact id is a
    404 and nobody is tagged."""
    t, changed = commands.bulk_tag(w, body)
    return BulkOut(tag_id=t.id, changed=changed)


@router.post("/contacts/bulk-untag")
def bulk_untag(body: BulkUntagIn, w: Work = Depends(work(Perm.WRITE))) -> BulkOut:
    """Remove a tag from up to 200 contacts at once (those without it are left as they are)."""
    return BulkOut(tag_id=body.tag_id, changed=commands.bulk_untag(w, body))


@router.post("/contacts", status_code=201)
def create_contact(body: ContactIn, w: Work = Depends(work(Perm.WRITE))) -> ContactOut:
    return contact_out(w.s, commands.create(w, body))


@router.get("/contacts/{contact_id}")
def get_contact(contact_id: Id64, w: Work = Depends(work(Perm.READ_CONTACTS))) -> ContactOut:
    return contact_out(w.s, service.get(w.s, w.ws, contact_id))


@router.patch("/contacts/{contact_id}")
def patch_contact(contact_id: Id64, body: ContactPatch, w: Work = Depends(work(Perm.WRITE))) -> ContactOut:
    """Rename a contact or assign it to a user (`owner_user_id`, null for nobody)."""
    return contact_out(w.s, commands.change(w, contact_id, body))


@router.post("/contacts/{contact_id}/identities")
def add_identity(contact_id: Id64, body: IdentityIn, w: Work = Depends(work(Perm.WRITE))) -> ContactOut:
    """Attach an identity. If another contact already has it, both are the same person and are merged."""
    return contact_out(w.s, commands.add_identity(w, contact_id, body.platform, body.external_id))


@router.post("/contacts/{contact_id}/merge")
def merge(contact_id: Id64, body: MergeIn, w: Work = Depends(work(Perm.WRITE))) -> ContactOut:
    return contact_out(w.s, commands.merge(w, contact_id, body.absorb_contact_id))


@router.get("/tags")
def list_tags(cursor: Cursor = None, limit: Limit = 200,
              w: Work = Depends(work(Perm.READ, Perm.READ_CONTACTS))) -> PageOut[TagOut]:
    """By group and name."""
    page = window(service.all_tags(w.s, w.ws), cursor=cursor, limit=limit)
    return PageOut.of(page, lambda gt: TagOut(id=gt[1].id, group=gt[0].name, name=gt[1].name))


@router.post("/tags", status_code=201)
def create_tag(body: TagIn, w: Work = Depends(work(Perm.WRITE))) -> TagOut:
    t = commands.create_tag(w, body)
    return TagOut(id=t.id, group=body.group.strip(), name=t.name)


@router.post("/contacts/{contact_id}/tags")
def tag_contact(contact_id: Id64, body: TagIn, w: Work = Depends(work(Perm.WRITE))) -> ContactOut:
    return contact_out(w.s, commands.tag(w, contact_id, body))


@router.delete("/contacts/{contact_id}/tags/{tag_id}")
def untag_contact(contact_id: Id64, tag_id: Id, w: Work = Depends(work(Perm.WRITE))) -> ContactOut:
    return contact_out(w.s, commands.untag(w, contact_id, tag_id))


@router.get("/contacts/{contact_id}/notes")
def list_notes(contact_id: Id64, cursor: Cursor = None, limit: Limit = 50,
               w: Work = Depends(work(Perm.READ_CONTACTS))) -> PageOut[NoteOut]:
    """Follow-up notes, newest first."""
    return PageOut.of(notes.page(w.s, w.ws, contact_id, cursor=cursor, limit=limit), note_out)


@router.post("/contacts/{contact_id}/notes", status_code=201)
def add_note(contact_id: Id64, body: NoteIn, w: Work = Depends(work(Perm.WRITE, Perm.READ_CONTACTS))) -> NoteOut:
    """Write a follow-up note (operators and admins on any contact, sales on their own)."""
    return note_out(commands.add_note(w, contact_id, body))
