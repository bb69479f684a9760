"""REST endpoints of contacts: list / search, create, get, change (name, owner), identities, merge, tags.

A sales caller sees only the contacts assigned to them: the list is filtered, any other contact is a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, require_any, runtime
from siyu.contacts import identities, owners, service
from siyu.contacts.schemas import (
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    IdentityIn,
    IdentityOut,
    MergeIn,
    TagIn,
    TagOut,
)
from siyu.kit.errors import Conflict
from siyu.kit.params import Id, Id64, Offset
from siyu.models import Contact

router = APIRouter(prefix="/api/v1", tags=["contacts"])


def contact_out(s: Session, c: Contact) -> ContactOut:
    return ContactOut(
        id=c.id, display_name=c.display_name, blacklisted=c.blacklisted, created_at=c.created_at,
        attributes=c.attributes, owner_user_id=c.owner_user_id,
        identities=[IdentityOut(platform=i.platform, external_id=i.external_id)
                    for i in service.identities_of(s, c.id)],
        tags=[f"{g.name}:{t.name}" for g, t in service.tags_of(s, c.id)],
    )


@router.get("/contacts", response_model=ContactPage)
def list_contacts(request: Request, q: str = Query(default="", max_length=100), tag_id: Id | None = None,
                  offset: Offset = 0, limit: int = 50,
                  who: Principal = Depends(require_any(Perm.READ_CONTACTS))) -> ContactPage:
    with runtime(request).tx() as s:
        page = service.search(s, who.workspace_id, q=q, tag_id=tag_id, offset=offset, limit=limit,
                              owner=who.contact_owner)
        return ContactPage(items=[contact_out(s, c) for c in page.items], total=page.total,
                           offset=page.offset, limit=page.limit)


@router.post("/contacts", response_model=ContactOut, status_code=201)
def create_contact(request: Request, body: ContactIn, who: Principal = Depends(require(Perm.WRITE))) -> ContactOut:
    rt = runtime(request)
    with rt.tx() as s:
        now = rt.clock.now()
        first = body.identities[0]
        cid, created = identities.identify(s, who.workspace_id, first.platform, first.external_id, now=now,
                                           display_name=body.display_name or None)
        if not created:
            raise Conflict("a contact with this identity exists", code="identity_taken",
                           detail={"contact_id": cid})
        for extra in body.identities[1:]:
            cid = identities.add_identity(s, who.workspace_id, cid, extra.platform, extra.external_id, now=now)
        auth.audit(s, who, "contact.create", "contact", cid, now=now)
        return contact_out(s, service.get(s, who.workspace_id, cid))


@router.get("/contacts/{contact_id}", response_model=ContactOut)
def get_contact(request: Request, contact_id: Id64,
                who: Principal = Depends(require_any(Perm.READ_CONTACTS))) -> ContactOut:
    with runtime(request).tx() as s:
        return contact_out(s, service.get(s, who.workspace_id, contact_id))


@router.patch("/contacts/{contact_id}", response_model=ContactOut)
def patch_contact(request: Request, contact_id: Id64, body: ContactPatch,
                  who: Principal = Depends(require(Perm.WRITE))) -> ContactOut:
    """Rename a contact or assign it to a user (`owner_user_id`, null for nobody)."""
    rt = runtime(request)
    with rt.tx() as s:
        c = service.get(s, who.workspace_id, contact_id)
        if "owner_user_id" in body.model_fields_set:
            owners.set_owner(s, who.workspace_id, c.id, body.owner_user_id)
        if body.display_name is not None:
            c.display_name = body.display_name.strip()
        auth.audit(s, who, "contact.update", "contact", c.id, body.model_dump(exclude_unset=True),
                   now=rt.clock.now())
        return contact_out(s, c)


@router.post("/contacts/{contact_id}/identities", response_model=ContactOut)
def add_identity(request: Request, contact_id: Id64, body: IdentityIn,
                 who: Principal = Depends(require(Perm.WRITE))) -> ContactOut:
    """Attach an identity. If another contact already has it, both are the same person and are merged."""
    rt = runtime(request)
    with rt.tx() as s:
        service.get(s, who.workspace_id, contact_id)
        survivor = identities.add_identity(s, who.workspace_id, contact_id, body.platform, body.external_id,
                                           now=rt.clock.now())
        auth.audit(s, who, "contact.add_identity", "contact", contact_id,
                   {"platform": body.platform, "survivor": survivor}, now=rt.clock.now())
        return contact_out(s, service.get(s, who.workspace_id, survivor))


@router.post("/contacts/{contact_id}/merge", response_model=ContactOut)
def merge(request: Request, contact_id: Id64, body: MergeIn,
          who: Principal = Depends(require(Perm.WRITE))) -> ContactOut:
    rt = runtime(request)
    with rt.tx() as s:
        keep = identities.merge(s, who.workspace_id, keep=contact_id, absorb=body.absorb_contact_id,
                                now=rt.clock.now())
        auth.audit(s, who, "contact.merge", "contact", keep, {"absorbed": body.absorb_contact_id},
                   now=rt.clock.now())
        return contact_out(s, service.get(s, who.workspace_id, keep))


@router.get("/tags", response_model=list[TagOut])
def list_tags(request: Request, who: Principal = Depends(require_any(Perm.READ, Perm.READ_CONTACTS))) -> list[TagOut]:
    with runtime(request).tx() as s:
        return [TagOut(id=t.id, group=g.name, name=t.name) for g, t in service.all_tags(s, who.workspace_id)]


@router.post("/tags", response_model=TagOut, status_code=201)
def create_tag(request: Request, body: TagIn, who: Principal = Depends(require(Perm.WRITE))) -> TagOut:
    rt = runtime(request)
    with rt.tx() as s:
        t = service.ensure_tag(s, who.workspace_id, body.group, body.name)
        auth.audit(s, who, "tag.create", "tag", t.id, {"group": body.group, "name": body.name}, now=rt.clock.now())
        return TagOut(id=t.id, group=body.group.strip(), name=t.name)


@router.post("/contacts/{contact_id}/tags", response_model=ContactOut)
def tag_contact(request: Request, contact_id: Id64, body: TagIn,
                who: Principal = Depends(require(Perm.WRITE))) -> ContactOut:
    rt = runtime(request)
    with rt.tx() as s:
        c = service.get(s, who.workspace_id, contact_id)
        t = service.ensure_tag(s, who.workspace_id, body.group, body.name)
        service.apply_tags(s, who.workspace_id, c.id, [t.id], source=who.actor, now=rt.clock.now())
        auth.audit(s, who, "contact.tag", "contact", c.id, {"tag": t.id}, now=rt.clock.now())
        return contact_out(s, c)


@router.delete("/contacts/{contact_id}/tags/{tag_id}", response_model=ContactOut)
def untag_contact(request: Request, contact_id: Id64, tag_id: Id,
                  who: Principal = Depends(require(Perm.WRITE))) -> ContactOut:
    rt = runtime(request)
    with rt.tx() as s:
        c = service.get(s, who.workspace_id, contact_id)
        service.remove_tag(s, who.workspace_id, c.id, tag_id, now=rt.clock.now())
        auth.audit(s, who, "contact.untag", "contact", c.id, {"tag": tag_id}, now=rt.clock.now())
        return contact_out(s, c)
