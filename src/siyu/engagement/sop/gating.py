"""C4 gated distribution: free in the home groups, share-to-unlock elsewhere.

A member of another group gets a personal share link (`POST /api/v1/sop/share-links`, or by replying 「解锁」 in
the group under a gated post; the DM carries the absolute URL under the configured base URL). When someone else
opens it with a signed identity — `GET /s/<token>?u=<platform>:<id>&sig=<signature>`, what the WeChat OAuth
redirect in front of siyu supplies — the share is verified: an `Unlock` row, a `content.unlocked` event and a
direct message with the full content to the sharer. The same link verifies lucky-draw shares. The visitor goes
on to the shared article, or (a share without one) to a member's page that says what the click did
(`open_link` → `Opened.outcome`, `share_page`).

The identity must be signed: `sig` is the unpadded base64url HMAC-SHA256 of `siyu-share-link\n<token>\n<u>` with
the workspace's secret key (`member_signature`, `member_url`). Without a valid signature anyone could unlock
gated content for someone else, add draw tickets, or create a contact per made-up `u`; such a click counts as an
anonymous click, creates no contact and unlocks nothing. Clicks by the sharer unlock nothing either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.connectors.registry import ConnectorRegistry, default_registry
from siyu.contacts import identities
from siyu.delivery import service as outbox
from siyu.engagement.sop import content
from siyu.events import schemas as event_schemas
from siyu.events import service as events
from siyu.kit.db import insert_ignore
from siyu.kit.errors import Invalid, NotFound
from siyu.models import Contact, Identity, Interaction, ShareLink, SopItem, SopOccurrence, Unlock


class ContentUnlocked(event_schemas.Payload):
    item_id: int
    share_link_id: int
    clicker_contact_id: int


event_schemas.register("content.unlocked", ContentUnlocked)


def _item(session: Session, ws: int, item_id: int) -> SopItem:
    item = session.get(SopItem, item_id)
    if item is None or item.workspace_id != ws:
        raise NotFound(f"no SOP item {item_id}", code="sop_item_not_found")
    return item


def create_link(session: Session, ws: int, item_id: int, contact_id: int, *, now: datetime,
                url: str | None = None) -> ShareLink:
    """The member's personal link to the item (one per member and item: asking again returns the same link)."""
    item = _item(session, ws, item_id)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.workspace_id != ws:
        raise NotFound(f"no contact {contact_id}", code="contact_not_found")
    existing = session.scalar(select(ShareLink).where(ShareLink.workspace_id == ws, ShareLink.item_id == item.id,
                                                      ShareLink.sharer_contact_id == contact_id))
    if existing is not None:
        return existing
    target = url or next((a["url"] for a in item.attachments or [] if a.get("type") == "link"), "")
    link = ShareLink(workspace_id=ws, token=secrets.token_urlsafe(12)[:16], sharer_contact_id=contact_id,
                     item_id=item.id, url=target, created_at=now)
    session.add(link)
    session.flush()
    return link


def link_url(base_url: str, link: ShareLink) -> str:
    return f"{base_url.rstrip('/')}/s/{link.token}"


def member_signature(secret: str, token: str, identity: str) -> str:
    """The signature that makes `identity` (`<platform>:<external id>`) believed on the share link `token`."""
    mac = hmac.new(secret.encode(), f"siyu-share-link\n{token}\n{identity}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def member_url(base_url: str, secret: str, token: str, identity: str) -> str:
    """The share link as opened by a known member: what an OAuth redirect in front of siyu sends the browser to."""
    query = urlencode({"u": identity, "sig": member_signature(secret, token, identity)})
    return f"{base_url.rstrip('/')}/s/{token}?{query}"


def signed_visitor(secret: str, token: str, visitor: str | None, signature: str | None) -> str | None:
    """`visitor` when its signature is right, else None (the click is anonymous)."""
    if not visitor or not signature or not secret:
        return None
    expected = member_signature(secret, token, visitor)
    return visitor if hmac.compare_digest(expected.encode(), signature.encode()) else None


def _connector_for(session: Session, contact_id: int, reg: ConnectorRegistry) -> str | None:
    return session.scalar(select(Identity.platform).where(Identity.contact_id == contact_id,
                                                          Identity.platform.in_(reg.names()))
                          .order_by(Identity.id).limit(1))


#: What opening a share link did, as the visitor's page tells it: `helped` (another member's click: the sharer's
#: content unlocked or draw share verified), `own` (the sharer opened their own link), `opened` (an anonymous click).
OUTCOMES = ("helped", "own", "opened")


@dataclass(frozen=True)
class Opened:
    """A share link was opened: where the visitor goes next (the shared article, or "" for siyu's own page)."""

    target: str
    outcome: str


@dataclass(frozen=True)
class SharePage:
    """What the visitor's page about a share link shows: what was shared, in which workspace."""

    workspace_id: int
    kind: str  # content | draw
    title: str


def click(session: Session, token: str, *, now: datetime, visitor: str | None, base_url: str,
          signature: str | None = None, secret: str = "") -> str:
    """Record a click on a share link (`open_link`) → the URL to send the browser to."""
    opened = open_link(session, token, now=now, visitor=visitor, signature=signature, secret=secret,
                       base_url=base_url)
    return opened.target or base_url.rstrip("/") + "/"


def open_link(session: Session, token: str, *, now: datetime, visitor: str | None, base_url: str,
              signature: str | None = None, secret: str = "") -> Opened:
    """Record a click on a share link; unlock for the sharer when another contact opened it.

    Only a visitor identity signed with `secret` is looked up (and created); any other click is anonymous."""
    link = session.scalar(select(ShareLink).where(ShareLink.token == token))
    if link is None:
        raise NotFound("this share link does not exist", code="share_link_not_found")
    ws = link.workspace_id
    clicker: int | None = None
    visitor = signed_visitor(secret, token, visitor, signature)
    if visitor:
        platform, _, external = visitor.partition(":")
        if not platform or not external or len(visitor) > 200:
            raise Invalid("u must be <platform>:<external id>", code="invalid_visitor")
        clicker, _ = identities.identify(session, ws, platform, external, now=now)
    events.record(session, ws, "link.clicked", now=now, contact_id=clicker,
                  source_key=f"share:{link.id}:{clicker if clicker is not None else secrets.token_hex(6)}",
                  payload={"url": link_url(base_url, link), "campaign": f"share:{link.item_id}"})
    if clicker is not None and clicker != link.sharer_contact_id and link.item_id is not None:
        if link.verified_at is None:
            link.verified_at = now
        unlock(session, ws, link, clicker, now=now)
    helped = clicker is not None and clicker != link.sharer_contact_id
    if link.interaction_id is not None:  # a lucky-draw share: a verified one is the sharer's extra chance
        from siyu.engagement.interaction import service as interaction

        helped = interaction.verify_share(session, token, clicker, now=now) is not None
    outcome = "helped" if helped else "own" if clicker is not None and clicker == link.sharer_contact_id \
        else "opened"
    return Opened(link.url, outcome)


def share_page(session: Session, token: str) -> SharePage:
    """What the page of a share link without an article of its own shows (the item's or the draw's title)."""
    link = session.scalar(select(ShareLink).where(ShareLink.token == token))
    if link is None:
        raise NotFound("this share link does not exist", code="share_link_not_found")
    if link.interaction_id is not None:
        ia = session.get(Interaction, link.interaction_id)
        return SharePage(link.workspace_id, "draw", ia.title if ia is not None else "")
    item = session.get(SopItem, link.item_id) if link.item_id is not None else None
    return SharePage(link.workspace_id, "content", item.title if item is not None else "")


def unlock(session: Session, ws: int, link: ShareLink, clicker: int, *, now: datetime) -> bool:
    assert link.item_id is not None
    row = session.execute(insert_ignore(session, Unlock.__table__, ["item_id", "contact_id"])
                          .returning(Unlock.__table__.c.id),
                          [{"workspace_id": ws, "item_id": link.item_id, "contact_id": link.sharer_contact_id,
                            "share_link_id": link.id, "created_at": now}]).first()
    if row is None:
        return False
    events.record(session, ws, "content.unlocked", now=now, contact_id=link.sharer_contact_id,
                  source_key=f"unlock:{link.item_id}:{link.sharer_contact_id}",
                  payload={"item_id": link.item_id, "share_link_id": link.id, "clicker_contact_id": clicker})
    item = session.get(SopItem, link.item_id)
    reg: ConnectorRegistry = session.info.get("connectors") or default_registry()
    connector = _connector_for(session, link.sharer_contact_id, reg)
    if item is not None and connector is not None:
        payload = content.render(item, content.pick_variant(item, None), None, full=True)
        outbox.plan(session, ws, key=f"unlock:{item.id}:{link.sharer_contact_id}", kind="direct_message",
                    connector=connector, now=now, contact_id=link.sharer_contact_id, payload=payload)
    return True


def on_keyword(session: Session, ws: int, group_id: int, contact_id: int, *, now: datetime,
               base_url: str = "") -> bool:
    """A member replied 「解锁」 under a gated post: DM them their share link for the latest gated item there.

    The link is absolute: under `base_url` when given, else the process's configured base URL (settings.base_url,
    put in the session's info by the runtime) — a bare `/s/…` is not a link a chat app can open."""
    base_url = base_url or str(session.info.get("base_url") or "")
    occ = session.execute(select(SopOccurrence.item_id).join(SopItem, SopItem.id == SopOccurrence.item_id).where(
        SopOccurrence.workspace_id == ws, SopOccurrence.group_id == group_id, SopOccurrence.contact_id.is_(None),
        SopOccurrence.status == "queued", SopOccurrence.due_at >= now - timedelta(days=7),
        SopOccurrence.due_at <= now).order_by(SopOccurrence.due_at.desc())).all()
    for (item_id,) in occ:
        item = session.get(SopItem, item_id)
        if item is None or not content.is_gated(item, group_id):
            continue
        link = create_link(session, ws, item.id, contact_id, now=now)
        reg: ConnectorRegistry = session.info.get("connectors") or default_registry()
        connector = _connector_for(session, contact_id, reg)
        if connector is None:
            return False
        outbox.plan(session, ws, key=f"sharelink:{link.id}", kind="direct_message", connector=connector, now=now,
                    contact_id=contact_id,
                    payload={"text": f"【{item.title}】转发这个链接给好友，好友打开后全文会私信发给你：\n"
                                     f"{link_url(base_url, link)}", "sop_item_id": item.id})
        return True
    return False
