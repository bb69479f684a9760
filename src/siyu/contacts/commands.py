"""What a person does to contacts and tags, from the REST API or the console: one function per act, each
auditing itself inside the request's unit of work (`edge/work.py`)."""

from __future__ import annotations

from siyu.auth.roles import Perm, allowed, own_contacts_only
from siyu.contacts import identities, notes, owners, service
from siyu.contacts.schemas import BulkTagIn, BulkUntagIn, ContactIn, ContactPatch, NoteIn, TagIn
from siyu.edge.work import Work
from siyu.kit.errors import Conflict, Forbidden
from siyu.models import Contact, ContactNote, Tag


def create(w: Work, body: ContactIn) -> Contact:
    first = body.identities[0]
    cid, created = identities.identify(w.s, w.ws, first.platform, first.external_id, now=w.now,
                                       display_name=body.display_name or None)
    if not created:
        raise Conflict("a contact with this identity exists", code="identity_taken", detail={"contact_id": cid})
    for extra in body.identities[1:]:
        cid = identities.add_identity(w.s, w.ws, cid, extra.platform, extra.external_id, now=w.now)
    w.audit("contact.create", "contact", cid)
    return service.get(w.s, w.ws, cid)


def change(w: Work, contact_id: int, body: ContactPatch) -> Contact:
    """Rename a contact or assign it to a user (`owner_user_id`, None for nobody)."""
    c = service.get(w.s, w.ws, contact_id)
    if "owner_user_id" in body.model_fields_set:
        owners.set_owner(w.s, w.ws, c.id, body.owner_user_id)
    if body.display_name is not None:
        c.display_name = body.display_name.strip()
    w.audit("contact.update", "contact", c.id, body.model_dump(exclude_unset=True))
    return c


def add_identity(w: Work, contact_id: int, platform: str, external_id: str) -> Contact:
    """Attach an identity; if another contact has it, both are the same person and are merged."""
    service.get(w.s, w.ws, contact_id)
    survivor = identities.add_identity(w.s, w.ws, contact_id, platform, external_id, now=w.now)
    w.audit("contact.add_identity", "contact", contact_id, {"platform": platform, "survivor": survivor})
    return service.get(w.s, w.ws, survivor)


def merge(w: Work, keep: int, absorb: int) -> Contact:
    survivor = identities.merge(w.s, w.ws, keep=keep, absorb=absorb, now=w.now)
    w.audit("contact.merge", "contact", survivor, {"absorbed": absorb})
    return service.get(w.s, w.ws, survivor)


def create_tag(w: Work, body: TagIn) -> Tag:
    t = service.ensure_tag(w.s, w.ws, body.group, body.name)
    w.audit("tag.create", "tag", t.id, {"group": body.group, "name": body.name})
    return t


def tag(w: Work, contact_id: int, body: TagIn) -> Contact:
    c = service.get(w.s, w.ws, contact_id)
    t = service.ensure_tag(w.s, w.ws, body.group, body.name)
    service.apply_tags(w.s, w.ws, c.id, [t.id], source=w.who.actor, now=w.now)
    w.audit("contact.tag", "contact", c.id, {"tag": t.id})
    return c


def untag(w: Work, contact_id: int, tag_id: int) -> Contact:
    c = service.get(w.s, w.ws, contact_id)
    service.remove_tag(w.s, w.ws, c.id, tag_id, now=w.now)
    w.audit("contact.untag", "contact", c.id, {"tag": tag_id})
    return c


def bulk_tag(w: Work, body: BulkTagIn) -> tuple[Tag, list[int]]:
    """Tag a selection of contacts (all or nothing: one unknown contact and none is tagged)."""
    ids = service.check_live(w.s, w.ws, body.contact_ids, owner=w.who.contact_owner)
    t = service.ensure_tag(w.s, w.ws, body.group, body.name)
    changed = service.bulk_tag(w.s, w.ws, ids, t.id, source=w.who.actor, now=w.now)
    w.audit("contact.bulk_tag", "tag", t.id, {"contacts": len(ids), "changed": len(changed)})
    return t, changed


def bulk_untag(w: Work, body: BulkUntagIn) -> list[int]:
    ids = service.check_live(w.s, w.ws, body.contact_ids, owner=w.who.contact_owner)
    changed = service.bulk_untag(w.s, w.ws, ids, body.tag_id, now=w.now)
    w.audit("contact.bulk_untag", "tag", body.tag_id, {"contacts": len(ids), "changed": len(changed)})
    return changed


def add_note(w: Work, contact_id: int, body: NoteIn) -> ContactNote:
    """Write a follow-up note. Whoever may change contacts may, and so may sales on their own contacts (following
    up is their job; the edge already answers 404 for anyone else's contact)."""
    if not allowed(w.who.role, Perm.WRITE) and not own_contacts_only(w.who.role):
        raise Forbidden(f"role {w.who.role!r} may not write notes", code="forbidden")
    note = notes.add(w.s, w.ws, contact_id, body.text, author=w.who.name,
                     author_user_id=w.who.id if w.who.kind == "user" else None, now=w.now)
    w.audit("contact.note", "contact", contact_id, {"note_id": note.id})
    return note
