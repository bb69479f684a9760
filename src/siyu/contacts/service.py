"""Contacts, tags and the timeline as operators see them: search and the list filters (tag, channel code,
community, group, owner, last active), and tagging one contact or many."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    union,
)
from sqlalchemy.orm import Session

from siyu.events import service as events
from siyu.kit.db import dialect_name, insert_ignore
from siyu.kit.errors import Invalid, NotFound
from siyu.kit.pagination import Page, keyset
from siyu.kit.params import INT64_MAX
from siyu.kit.search_index import indexable_on_sqlite, like_pattern
from siyu.models import (
    ChannelCode,
    Contact,
    ContactRelationship,
    ContactTag,
    Event,
    Group,
    Identity,
    Membership,
    Tag,
    TagGroup,
)


def get(session: Session, ws: int, contact_id: int) -> Contact:
    c = session.get(Contact, contact_id)
    if c is None or c.workspace_id != ws:
        raise NotFound(f"no contact {contact_id}", code="contact_not_found")
    return c


#: What a member does themselves; the latest of these is when they were last active. Platform bookkeeping (joins
#: by invitation, tags, siyu's own actions) is not activity.
ACTIVE_TYPES = ("message.posted", "link.clicked", "page.viewed", "form.submitted", "order.paid",
                "contact.questionnaire_answered")
MAX_DAYS = 3650


@dataclass(frozen=True)
class Filters:
    """The contact list's filters, as operators of a WeCom SCRM expect them (all optional, all combined with AND).

    `channel_code_id`: came in through this channel code (a group stay it started, or a staff relationship added
    with its state); `community_id` / `group_id`: in it now; `owner_user_id` / `unassigned`: assigned to that user,
    or to nobody; `active_within_days` / `inactive_for_days`: did something themselves (`ACTIVE_TYPES`) in the
    last N days, or nothing for N days (never-active contacts count as inactive)."""

    q: str = ""
    tag_id: int | None = None
    channel_code_id: int | None = None
    community_id: int | None = None
    group_id: int | None = None
    owner_user_id: int | None = None
    unassigned: bool = False
    active_within_days: int | None = None
    inactive_for_days: int | None = None

    def any(self) -> bool:
        return any((self.q.strip(), self.tag_id, self.channel_code_id, self.community_id, self.group_id,
                    self.owner_user_id, self.unassigned, self.active_within_days, self.inactive_for_days))


def search(session: Session, ws: int, *, q: str = "", tag_id: int | None = None, cursor: str | None = None,
           limit: int = 50, owner: int | None = None, where: Filters | None = None,
           now: datetime | None = None) -> Page[Contact]:
    """Live contacts, newest first, by a fragment of the name or a platform id (any case; indexed, see
    `kit/search_index`), or the id, and by tag; `where` adds the list filters (`Filters`; its `q` and `tag_id`
    replace the arguments; `now` anchors its day windows). `owner` (a user id) keeps only the contacts assigned
    to that user — what a sales principal sees (`Principal.contact_owner`)."""
    query = filtered(session, ws, where or Filters(q=q, tag_id=tag_id), owner=owner, now=now)
    return keyset(session, query, [Contact.id], cursor=cursor, limit=limit, key=lambda c: [c.id])


def filtered(session: Session, ws: int, f: Filters, *, owner: int | None = None,
             now: datetime | None = None) -> Select[Any]:
    """The live contacts that pass `f` (unordered; `search` pages it, `count` counts it, the export reads it)."""
    query = select(Contact).where(Contact.workspace_id == ws, Contact.merged_into_id.is_(None))
    if owner is not None:
        query = query.where(Contact.owner_user_id == owner)
    fragment = f.q.strip()
    if fragment:
        query = query.where(Contact.id.in_(matching_ids(session, ws, fragment)))
    if f.tag_id is not None:
        query = query.where(Contact.id.in_(select(ContactTag.contact_id).where(ContactTag.tag_id == f.tag_id)))
    if f.channel_code_id is not None:
        state = select(ChannelCode.state).where(ChannelCode.id == f.channel_code_id,
                                                ChannelCode.workspace_id == ws).scalar_subquery()
        query = query.where(or_(
            Contact.id.in_(select(Membership.contact_id).where(Membership.channel_code_id == f.channel_code_id)),
            Contact.id.in_(select(ContactRelationship.contact_id).where(ContactRelationship.workspace_id == ws,
                                                                        ContactRelationship.channel_state == state)),
        ))
    if f.group_id is not None:
        query = query.where(Contact.id.in_(select(Membership.contact_id).where(
            Membership.group_id == f.group_id, Membership.left_at.is_(None))))
    if f.community_id is not None:
        query = query.where(Contact.id.in_(
            select(Membership.contact_id).join(Group, Group.id == Membership.group_id)
            .where(Group.workspace_id == ws, Group.community_id == f.community_id, Membership.left_at.is_(None))))
    if f.unassigned:
        query = query.where(Contact.owner_user_id.is_(None))
    elif f.owner_user_id is not None:
        query = query.where(Contact.owner_user_id == f.owner_user_id)
    if f.active_within_days or f.inactive_for_days:
        if now is None:
            raise ValueError("the last-active filters need `now`")
        if f.active_within_days:
            query = query.where(_active_since(now - timedelta(days=min(f.active_within_days, MAX_DAYS))))
        if f.inactive_for_days:
            query = query.where(~_active_since(now - timedelta(days=min(f.inactive_for_days, MAX_DAYS))))
    return query


def _active_since(since: datetime) -> ColumnElement[bool]:
    """The contact did something themselves since `since`. Correlated on the contact, so each candidate row costs
    one range probe of the (contact_id, occurred_at) index of the log, however big the log is."""
    return exists().where(Event.contact_id == Contact.id, Event.occurred_at >= since,
                          Event.type.in_(ACTIVE_TYPES))


def last_active(session: Session, contact_ids: list[int]) -> dict[int, datetime]:
    """When each contact last did something themselves (`ACTIVE_TYPES`); contacts never active are left out."""
    if not contact_ids:
        return {}
    rows = session.execute(select(Event.contact_id, func.max(Event.occurred_at)).where(
        Event.contact_id.in_(contact_ids), Event.type.in_(ACTIVE_TYPES)).group_by(Event.contact_id)).all()
    return {int(cid): at for cid, at in rows if cid is not None and at is not None}


#: Beyond this many hits a fragment is too common to list ids for (a scan is as good): the query nests instead.
MAX_LISTED_HITS = 5000


def matching_ids(session: Session, ws: int, fragment: str) -> CompoundSelect[Any] | list[int]:
    """Contacts whose name or a platform id contains `fragment`, or whose id it is. The hits come from the
    trigram index first and are listed, so the contacts are then fetched by primary key: a query that combined
    both lookups with OR made both backends scan every contact of the workspace (88 ms at 200,000 contacts)."""
    names, ids = matching_names(session, ws, fragment), matching_identities(session, ws, fragment)
    extra = [int(fragment)] if fragment.isdigit() and int(fragment) <= INT64_MAX else []  # longer: no id
    cap = MAX_LISTED_HITS + 1
    hits = set(session.scalars(names.limit(cap))) | set(session.scalars(ids.limit(cap)))
    if len(hits) > MAX_LISTED_HITS:
        return union(names, ids, *([select(literal(extra[0]))] if extra else []))
    return sorted(hits | set(extra))


def count(session: Session, ws: int, *, owner: int | None = None, where: Filters | None = None,
          now: datetime | None = None) -> int:
    """How many live contacts (pass `where`: how many the filtered list holds, its "N of M")."""
    if where is not None and where.any():
        inner = filtered(session, ws, where, owner=owner, now=now).with_only_columns(Contact.id).subquery()
        return int(session.scalar(select(func.count()).select_from(inner)) or 0)
    query = select(func.count()).select_from(Contact).where(Contact.workspace_id == ws,
                                                            Contact.merged_into_id.is_(None))
    if owner is not None:
        query = query.where(Contact.owner_user_id == owner)
    return int(session.scalar(query) or 0)


def matching_names(session: Session, ws: int, fragment: str) -> Select[Any]:
    """Ids of contacts whose display name contains `fragment` (the caller keeps to its workspace)."""
    if dialect_name(session) == "sqlite" and indexable_on_sqlite(fragment):
        return select(literal_column("rowid")).select_from(table("contacts_search")).where(
            literal_column("display_name").like(f"%{fragment}%"))
    return select(Contact.id).where(Contact.workspace_id == ws,
                                    Contact.display_name.ilike(like_pattern(fragment), escape="\\"))


def matching_identities(session: Session, ws: int, fragment: str) -> Select[Any]:
    """Ids of contacts with a platform id containing `fragment` (the caller keeps to its workspace)."""
    if dialect_name(session) == "sqlite" and indexable_on_sqlite(fragment):
        hits: Select[Any] = select(literal_column("rowid")).select_from(table("identities_search")).where(
            literal_column("external_id").like(f"%{fragment}%"))
        return select(Identity.contact_id).where(Identity.id.in_(hits))
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


#: Contacts one bulk act may change: a page of the list at most, so one request stays one short transaction.
MAX_BULK = 200


def check_live(session: Session, ws: int, contact_ids: list[int], *, owner: int | None = None) -> list[int]:
    """The ids, deduplicated, if every one is a live (unmerged) contact of the workspace the caller may see;
    otherwise nothing is changed and the missing ones are named."""
    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        raise Invalid("choose at least one contact", code="no_contacts")
    if len(ids) > MAX_BULK:
        raise Invalid(f"at most {MAX_BULK} contacts at once", code="too_many_contacts")
    q = select(Contact.id).where(Contact.workspace_id == ws, Contact.id.in_(ids), Contact.merged_into_id.is_(None))
    if owner is not None:
        q = q.where(Contact.owner_user_id == owner)
    found = set(session.scalars(q))
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"no contacts {missing[:20]}", code="contact_not_found", detail={"contact_ids": missing})
    return ids


def bulk_tag(session: Session, ws: int, contact_ids: list[int], tag_id: int, *, source: str,
             now: datetime) -> list[int]:
    """Tag every listed contact that does not have the tag yet (one `contact.tagged` fact each, applied by the
    tag projection like any other source); returns the contacts that were newly tagged."""
    if session.scalar(select(Tag.id).where(Tag.workspace_id == ws, Tag.id == tag_id)) is None:
        raise NotFound(f"no tag {tag_id}", code="unknown_tag")
    have = set(session.scalars(select(ContactTag.contact_id).where(ContactTag.tag_id == tag_id,
                                                                    ContactTag.contact_id.in_(contact_ids))))
    label = tag_label(session, tag_id)
    new = [c for c in contact_ids if c not in have]
    for cid in new:
        events.record(session, ws, "contact.tagged", now=now, contact_id=cid,
                      payload={"tags": [label], "source": source})
    return new


def bulk_untag(session: Session, ws: int, contact_ids: list[int], tag_id: int, *, now: datetime) -> list[int]:
    """Remove the tag from every listed contact that has it; returns those it was removed from."""
    if session.scalar(select(Tag.id).where(Tag.workspace_id == ws, Tag.id == tag_id)) is None:
        raise NotFound(f"no tag {tag_id}", code="unknown_tag")
    have = set(session.scalars(select(ContactTag.contact_id).where(ContactTag.tag_id == tag_id,
                                                                    ContactTag.contact_id.in_(contact_ids))))
    label = tag_label(session, tag_id)
    gone = [c for c in contact_ids if c in have]
    for cid in gone:
        events.record(session, ws, "contact.untagged", now=now, contact_id=cid,
                      payload={"tags": [label], "source": "manual"})
    return gone


def tags_by_contact(session: Session, contact_ids: list[int]) -> dict[int, list[str]]:
    """`group:name` labels of many contacts in one query (the list page and the export)."""
    out: dict[int, list[str]] = {c: [] for c in contact_ids}
    if not contact_ids:
        return out
    rows = session.execute(
        select(ContactTag.contact_id, TagGroup.name, Tag.name).join(Tag, Tag.id == ContactTag.tag_id)
        .join(TagGroup, TagGroup.id == Tag.group_id).where(ContactTag.contact_id.in_(contact_ids))
        .order_by(TagGroup.name, Tag.name)).all()
    for cid, g, t in rows:
        out[int(cid)].append(f"{g}:{t}")
    return out


def groups_by_contact(session: Session, contact_ids: list[int]) -> dict[int, list[str]]:
    """Names of the groups each contact is in now, in one query."""
    out: dict[int, list[str]] = {c: [] for c in contact_ids}
    if not contact_ids:
        return out
    # by the contact index: "left_at IS NULL" in SQL made SQLite walk every open stay of the workspace instead
    rows = session.execute(select(Membership.contact_id, Membership.left_at, Group.name)
                           .join(Group, Group.id == Membership.group_id)
                           .where(Membership.contact_id.in_(contact_ids)).order_by(Group.id)).all()
    for cid, left_at, name in rows:
        if left_at is None:
            out[int(cid)].append(name)
    return out


def identities_by_contact(session: Session, contact_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {c: [] for c in contact_ids}
    if not contact_ids:
        return out
    rows = session.execute(select(Identity.contact_id, Identity.platform, Identity.external_id)
                           .where(Identity.contact_id.in_(contact_ids)).order_by(Identity.id)).all()
    for cid, platform, ext in rows:
        out[int(cid)].append(f"{platform}:{ext}")
    return out
