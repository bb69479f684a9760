"""Who is who: platform identities to contacts, in bulk, and merges when two identities prove one person.

A merge never rewrites history: the absorbed contact keeps its events and points at the survivor, and every read
(timeline, tags, memberships) follows that pointer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from siyu.contacts import identity_cache
from siyu.kit.db import allocate_ids, insert_ignore, select_in
from siyu.kit.errors import Conflict, NotFound
from siyu.models import Contact, ContactNote, ContactRelationship, ContactTag, Identity, Membership

CHUNK = 500
IDENTITIES = Identity.__table__
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]


def _lookup(session: Session, ws: int, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Known identities, through the process's cache of committed ones (identity_cache)."""
    return identity_cache.lookup(session, ws, keys, lambda missing: _fetch(session, ws, missing))


def _fetch(session: Session, ws: int, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """One indexed `platform = ? AND external_id IN (…)` query per platform and chunk."""
    by_platform: dict[str, list[str]] = {}
    for p, e in keys:
        by_platform.setdefault(p, []).append(e)
    out: dict[tuple[str, str], int] = {}
    for platform, ext_ids in by_platform.items():
        for e, cid in select_in(
            session,
            "SELECT external_id, contact_id FROM identities WHERE workspace_id = {ph} AND platform = {ph} "
            "AND external_id IN ({in})",
            (ws, platform), ext_ids, CHUNK,
        ):
            out[(platform, e)] = cid
    return out


def resolve_or_create(
    session: Session, ws: int, refs: dict[tuple[str, str], str | None], *, now: datetime
) -> dict[tuple[str, str], int]:
    """Contact id per identity; unknown identities get a new contact. Returns survivors, never merged ids."""
    keys = list(refs)
    found = _lookup(session, ws, keys)
    # One global order for new identities: two batches that name the same new people in different orders then
    # wait for each other at the first shared key instead of each holding a key the other needs (a deadlock on
    # PostgreSQL's unique index).
    missing = sorted(k for k in keys if k not in found)
    if missing:
        new_ids = allocate_ids(session, CONTACTS, len(missing))
        session.execute(CONTACTS.insert(), [
            {"id": cid, "workspace_id": ws, "display_name": (refs[k] or "")[:200], "attributes": {},
             "blacklisted": False, "created_at": now, "updated_at": now}
            for k, cid in zip(missing, new_ids, strict=True)])
        session.execute(
            insert_ignore(session, IDENTITIES, ["workspace_id", "platform", "external_id"]),
            [{"workspace_id": ws, "contact_id": cid, "platform": p, "external_id": e, "created_at": now}
             for (p, e), cid in zip(missing, new_ids, strict=True)],
        )
        # Another writer may have won a race for some identity: theirs stands, our spare contact goes.
        winners = _lookup(session, ws, missing)
        lost = [cid for k, cid in zip(missing, new_ids, strict=True) if winners[k] != cid]
        if lost:
            session.execute(delete(Contact).where(Contact.id.in_(lost)))
        found.update(winners)
    # A merge moves identities to the surviving contact, so an identity never points at an absorbed one.
    return found


def survivors(session: Session, ws: int, contact_ids: Iterable[int]) -> dict[int, int]:
    """Map each existing contact id to the contact that absorbed it (itself if not merged)."""
    out: dict[int, int] = {}
    ids = list(contact_ids)
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(Contact.id, Contact.merged_into_id).where(
                Contact.workspace_id == ws, Contact.id.in_(ids[start:start + CHUNK])
            )
        ).all()
        for cid, merged in rows:
            out[cid] = merged if merged is not None else cid
    return out


def merged_family(session: Session, ws: int, contact_id: int) -> list[int]:
    """The contact and every contact merged into it."""
    ids = [contact_id]
    ids.extend(session.scalars(
        select(Contact.id).where(Contact.workspace_id == ws, Contact.merged_into_id == contact_id)
    ))
    return ids


def identify(session: Session, ws: int, platform: str, external_id: str, *, now: datetime,
             display_name: str | None = None) -> tuple[int, bool]:
    """(contact id, created?) for one identity."""
    existed = _lookup(session, ws, [(platform, external_id)])
    cid = resolve_or_create(session, ws, {(platform, external_id): display_name}, now=now)[(platform, external_id)]
    return cid, not existed


def add_identity(session: Session, ws: int, contact_id: int, platform: str, external_id: str,
                 *, now: datetime) -> int:
    """Attach an identity; if it already belongs to someone else, the two contacts are one person: merge."""
    owner = _lookup(session, ws, [(platform, external_id)]).get((platform, external_id))
    if owner is None:
        session.add(Identity(workspace_id=ws, contact_id=contact_id, platform=platform,
                             external_id=external_id, created_at=now))
        session.flush()
        return contact_id
    owner = survivors(session, ws, [owner]).get(owner, owner)
    if owner == contact_id:
        return contact_id
    return merge(session, ws, keep=owner, absorb=contact_id, now=now)


def merge(session: Session, ws: int, *, keep: int, absorb: int, now: datetime) -> int:
    if keep == absorb:
        raise Conflict("a contact cannot be merged into itself", code="merge_self")
    a = session.get(Contact, absorb)
    k = session.get(Contact, keep)
    if a is None or k is None or a.workspace_id != ws or k.workspace_id != ws:
        raise NotFound("contact not found")
    if a.merged_into_id is not None or k.merged_into_id is not None:
        raise Conflict("contact was already merged", code="already_merged")
    session.execute(update(Identity).where(Identity.contact_id == absorb).values(contact_id=keep))
    identity_cache.bump(session, ws)
    session.execute(update(Contact).where(Contact.merged_into_id == absorb).values(merged_into_id=keep))
    # One open stay per member and group (uq_memberships_open): where both were in a group, the kept contact's
    # stay goes on and the absorbed one's ends now.
    kept_groups = select(Membership.group_id).where(Membership.contact_id == keep, Membership.left_at.is_(None))
    session.execute(update(Membership).where(Membership.contact_id == absorb, Membership.left_at.is_(None),
                                             Membership.group_id.in_(kept_groups)).values(left_at=now))
    session.execute(update(Membership).where(Membership.contact_id == absorb).values(contact_id=keep))
    for tag_id, source, since in session.execute(
        select(ContactTag.tag_id, ContactTag.source, ContactTag.created_at).where(ContactTag.contact_id == absorb)
    ).all():
        session.execute(insert_ignore(session, ContactTag.__table__, ["contact_id", "tag_id"]),
                        [{"contact_id": keep, "tag_id": tag_id, "source": source, "created_at": since}])
    session.execute(delete(ContactTag).where(ContactTag.contact_id == absorb))
    # Relationships with staff: the kept contact's stands where both had one with the same staff member.
    kept_staff = select(ContactRelationship.staff).where(ContactRelationship.contact_id == keep)
    session.execute(delete(ContactRelationship).where(ContactRelationship.contact_id == absorb,
                                                      ContactRelationship.staff.in_(kept_staff)))
    session.execute(update(ContactRelationship).where(ContactRelationship.contact_id == absorb)
                    .values(contact_id=keep))
    # Staff's notes are about the person: they follow the person to the kept contact.
    session.execute(update(ContactNote).where(ContactNote.contact_id == absorb).values(contact_id=keep))
    a.merged_into_id = keep
    k.owner_user_id = k.owner_user_id or a.owner_user_id
    k.blacklisted = k.blacklisted or a.blacklisted
    if not k.display_name:
        k.display_name = a.display_name
    k.attributes = {**a.attributes, **k.attributes}
    from siyu.events import service as events  # late: events imports this module

    events.record(session, ws, "contact.merged", now=now, contact_id=keep,
                  payload={"merged_contact_id": absorb, "into_contact_id": keep})
    session.flush()
    return keep
