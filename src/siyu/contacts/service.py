"""Contacts, tags and the timeline as operators see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from siyu.events import service as events
from siyu.kit.db import dialect_name, insert_ignore
from siyu.kit.errors import Invalid, NotFound
from siyu.kit.pagination import Page, keyset
from siyu.kit.params import INT64_MAX
from siyu.kit.search_index import indexable_on_sqlite, like_pattern
from siyu.models import Contact, ContactTag, Identity, Tag, TagGroup


def get(session: Session, ws: int, contact_id: int) -> Contact:
    c = session.get(Contact, contact_id)
    if c is None or c.workspace_id != ws:
        raise NotFound(f"no contact {contact_id}", code="contact_not_found")
    return c


def search(session: Session, ws: int, *, q: str = "", tag_id: int | None = None, cursor: str | None = None,
           limit: int = 50, owner: int | None = None) -> Page[Contact]:
    """Live contacts, newest first, by a fragment of the name or a platform id (any case; indexed, see
    `kit/search_index`), or the id, and by tag; `owner` (a user id) keeps only the contacts assigned to that
    user — what a sales principal sees (`Principal.contact_owner`)."""
    query = select(Contact).where(Contact.workspace_id == ws, Contact.merged_into_id.is_(None))
    if owner is not None:
        query = query.where(Contact.owner_user_id == owner)
    fragment = q.strip()
    if fragment:
        cond: list[ColumnElement[bool]] = [Contact.id.in_(matching_names(session, ws, fragment)),
                                           Contact.id.in_(matching_identities(session, ws, fragment))]
        if fragment.isdigit() and int(fragment) <= INT64_MAX:  # a longer number is no id (and overflows SQL)
            cond.append(Contact.id == int(fragment))
        query = query.where(or_(*cond))
    if tag_id is not None:
        query = query.where(Contact.id.in_(select(ContactTag.contact_id).where(ContactTag.tag_id == tag_id)))
    return keyset(session, query, [Contact.id], cursor=cursor, limit=limit, key=lambda c: [c.id])


def count(session: Session, ws: int, *, owner: int | None = None) -> int:
    query = select(func.count()).select_from(Contact).where(Contact.workspace_id == ws,
                                                            Contact.merged_into_id.is_(None))
    if owner is not None:
        query = query.where(Contact.owner_user_id == owner)
    return int(session.scalar(query) or 0)


def matching_names(session: Session, ws: int, fragment: str) -> Select[int]:
    """Ids of contacts whose display name contains `fragment`."""
    if dialect_name(session) == "sqlite" and indexable_on_sqlite(fragment):
        hits: Select[Any] = select(literal_column("rowid")).select_from(table("contacts_search")).where(
            literal_column("display_name").like(f"%{fragment}%"))
        return select(Contact.id).where(Contact.id.in_(hits))
    return select(Contact.id).where(Contact.workspace_id == ws,
                                    Contact.display_name.ilike(like_pattern(fragment), escape="\\"))


def matching_identities(session: Session, ws: int, fragment: str) -> Select[int]:
    """Ids of contacts with a platform id containing `fragment`."""
    if dialect_name(session) == "sqlite" and indexable_on_sqlite(fragment):
        hits: Select[Any] = select(literal_column("rowid")).select_from(table("identities_search")).where(
            literal_column("external_id").like(f"%{fragment}%"))
        return select(Identity.contact_id).where(Identity.id.in_(hits), Identity.workspace_id == ws)
    return select(Identity.contact_id).where(Identity.workspace_id == ws,
                                             Identity.external_id.ilike(like_pattern(fragment), escape="\\"))


def identities_of(session: Session, contact_id: int) -> list[Identity]:
    return list(session.scalars(select(Identity).where(Identity.contact_id == contact_id).order_by(Identity.id)))


def tags_of(session: Session, contact_id: int) -> list[tuple[TagGroup, Tag]]:
    rows = session.execute(
        select(TagGroup, Tag).join(Tag, Tag.group_id == TagGroup.id)
        .join(ContactTag, ContactTag.tag_id == Tag.id).where(ContactTag.contact_id == contact_id)
        .order_by(TagGroup.name, Tag.name)
    ).all()
    return [(g, t) for g, t in rows]


def ensure_tag(session: Session, ws: int, group_name: str, name: str) -> Tag:
    """The tag `group_name:name`, created (with its group) when missing.

    Race-free across processes: several `siyu serve` on PostgreSQL may create the same tag at the same moment
    (a code's tags, a questionnaire answer, the API). A look-up followed by a plain INSERT let all but one of
    them fail on the unique constraint; INSERT … ON CONFLICT DO NOTHING waits for the other transaction and
    then does nothing, and the look-up after it sees the row the winner committed.
    """
    group_name, name = group_name.strip(), name.strip()
    if not group_name or not name or len(group_name) > 30 or len(name) > 30:
        raise Invalid("tag group and tag names need 1 to 30 characters", code="invalid_tag_name")
    group_id = ensure_tag_group(session, ws, group_name)
    find = select(Tag).where(Tag.workspace_id == ws, Tag.group_id == group_id, Tag.name == name)
    tag = session.scalar(find)
    if tag is None:
        session.execute(insert_ignore(session, Tag.__table__, ["workspace_id", "group_id", "name"]),
                        [{"workspace_id": ws, "group_id": group_id, "name": name}])
        tag = session.scalar(find)
    assert tag is not None, "the insert or the concurrent one that beat it made the tag"
    return tag


def ensure_tag_group(session: Session, ws: int, name: str) -> int:
    """The id of the tag group `name`, created when missing; race-free like `ensure_tag`."""
    find = select(TagGroup.id).where(TagGroup.workspace_id == ws, TagGroup.name == name)
    group_id = session.scalar(find)
    if group_id is None:
        session.execute(insert_ignore(session, TagGroup.__table__, ["workspace_id", "name"]),
                        [{"workspace_id": ws, "name": name}])
        group_id = session.scalar(find)
    assert group_id is not None, "the insert or the concurrent one that beat it made the group"
    return int(group_id)


def all_tags(session: Session, ws: int) -> list[tuple[TagGroup, Tag]]:
    rows = session.execute(
        select(TagGroup, Tag).join(Tag, Tag.group_id == TagGroup.id).where(TagGroup.workspace_id == ws)
        .order_by(TagGroup.name, Tag.name)
    ).all()
    return [(g, t) for g, t in rows]


def tag_label(session: Session, tag_id: int) -> str:
    row = session.execute(select(TagGroup.name, Tag.name).join(Tag, Tag.group_id == TagGroup.id)
                          .where(Tag.id == tag_id)).first()
    return f"{row[0]}:{row[1]}" if row else str(tag_id)


def apply_tags(session: Session, ws: int, contact_id: int, tag_ids: list[int], *, source: str,
               now: datetime) -> list[str]:
    """Tag a contact; returns the labels that were new. Unknown tag ids are an error, not a silent skip."""
    if not tag_ids:
        return []
    known = set(session.scalars(select(Tag.id).where(Tag.workspace_id == ws, Tag.id.in_(tag_ids))))
    unknown = [t for t in tag_ids if t not in known]
    if unknown:
        raise Invalid(f"unknown tag ids {unknown}", code="unknown_tag")
    have = set(session.scalars(select(ContactTag.tag_id).where(ContactTag.contact_id == contact_id)))
    new = [t for t in dict.fromkeys(tag_ids) if t not in have]
    if not new:
        return []
    labels = [tag_label(session, t) for t in new]
    # The rows come from the event, through the tag projection (`contacts/projection.py`): one path for every source.
    events.record(session, ws, "contact.tagged", now=now, contact_id=contact_id,
                  payload={"tags": labels, "source": source})
    return labels


def remove_tag(session: Session, ws: int, contact_id: int, tag_id: int, *, now: datetime) -> None:
    row = session.get(ContactTag, (contact_id, tag_id))
    if row is None:
        raise NotFound("contact does not have this tag", code="tag_not_on_contact")
    label = tag_label(session, tag_id)
    events.record(session, ws, "contact.untagged", now=now, contact_id=contact_id,
                  payload={"tags": [label], "source": "manual"})
