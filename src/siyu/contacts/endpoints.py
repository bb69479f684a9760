"""REST endpoints of contacts: list / search, create, get, change (name, owner), identities, merge, tags.

A sales caller sees only the contacts assigned to them: the list is filtered, any other contact is a 404.
"""

from __future__ import annotations

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from siyu.auth.roles import Perm
from siyu.contacts import commands, service
from siyu.contacts.schemas import ContactIn, ContactOut, ContactPatch, IdentityIn, IdentityOut, MergeIn, TagIn, TagOut
from siyu.edge.work import Work, edge_router, work
from siyu.kit.pagination import Cursor, Limit, PageOut, window
from siyu.kit.params import Id, Id64
from siyu.models import Contact

router = edge_router(prefix="/api/v1", tags=["contacts"])


def contact_out(s: Session, c: Contact) -> ContactOut:
    return ContactOut(
        id=c.id, display_name=c.display_name, blacklisted=c.blacklisted, created_at=c.created_at,
        attributes=c.attributes, owner_user_id=c.owner_user_id,
        identities=[IdentityOut(platform=i.platform, external_id=i.external_id)
                    for i in service.identities_of(s, c.id)],
        tags=[f"{g.name}:{t.name}" for g, t in service.tags_of(s, c.id)],
    )


@router.get("/contacts")
def list_contacts(q: str = Query(default="", max_length=100), tag_id: Id | None = None, cursor: Cursor = None,
                  limit: Limit = 50, w: Work = Depends(work(Perm.READ_CONTACTS))) -> PageOut[ContactOut]:
    """Newest first; `q` matches a name or platform id anywhere, whatever the case, or a contact id."""
    page = service.search(w.s, w.ws, q=q, tag_id=tag_id, cursor=cursor, limit=limit, owner=w.who.contact_owner)
    return PageOut.of(page, lambda c: contact_out(w.s, c))


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
