"""Interaction (C6): solitaire (接龙) with a live count and stock countdown, lucky draws with an extra chance for a
verified share, quizzes, polls and dice — each running in one group, announced through the outbox.

The Python API (also what playbooks use):

    create(session, ws, InteractionIn, now, key=None) -> Interaction      # announces it in the group
    close(session, ws, interaction_id, now=..., reason="manual")          # idempotent; a draw is drawn
    draw(session, ws, interaction_id, now=..., seed=None)                # idempotent
    announce_live(session, ws, interaction_id, now=...)                  # post the live list / countdown now
    create_share_link(...), verify_share(session, token, clicker, now=...)
    on_message(session, event)                                           # the `message.posted` handler

Members' messages are handled in the ingest transaction. Per group there is at most one open interaction per
*slot* (solitaire, draw, quiz-or-poll, dice), so a message like "1" or "接龙" is never ambiguous. Each change
locks the interaction row (PostgreSQL `FOR UPDATE`; SQLite writers are serialized anyway), so the count, the
stock and closing cannot race. Results are events (`interaction.*`) that feed lead scoring.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from siyu.communities.schemas import NOT_COUNTED
from siyu.delivery import service as outbox
from siyu.engagement import activity
from siyu.engagement.interaction import texts, triggers
from siyu.engagement.interaction.schemas import InteractionIn
from siyu.events import service as events
from siyu.events.hooks import StoredEvent
from siyu.kit.errors import Conflict, Invalid, NotFound
from siyu.kit.pagination import Page, keyset
from siyu.models import CommunityRole, Contact, Group, Interaction, InteractionEntry, ShareLink

SLOTS = {"solitaire": "solitaire", "draw": "draw", "quiz": "answer", "poll": "answer", "dice": "dice"}
DEFAULT_KEYWORD = "抽奖"
ALGORITHM = ("python random.Random('siyu-draw:' + seed); pool = entrants in entry order with their tickets; "
             "per winner: r = randrange(total tickets), walk the pool, remove the winner's tickets")
KIND_FIELDS = {
    "options": ("quiz", "poll"), "correct": ("quiz",), "stock": ("solitaire",), "keyword": ("draw",),
    "winners": ("draw",), "rolls_per_member": ("dice",), "seed": ("draw", "dice"),
}


# -- creating -------------------------------------------------------------------------------------------------


def validate(data: InteractionIn, now: datetime) -> None:
    """What the schema cannot say alone: which fields belong to which kind, and times in the future."""
    for name, kinds in KIND_FIELDS.items():
        if name in data.model_fields_set and getattr(data, name) not in (None, []) and data.kind not in kinds:
            raise Invalid(f"{name} does not apply to a {data.kind}", code="field_not_for_kind",
                          detail={"field": name, "kind": data.kind})
    if data.kind in ("quiz", "poll") and len(data.options) < 2:
        raise Invalid(f"a {data.kind} needs at least 2 options", code="options_required")
    if data.kind == "quiz":
        if data.correct is None:
            raise Invalid("a quiz needs the correct option (1-based)", code="correct_required")
        if data.correct > len(data.options):
            raise Invalid(f"correct must be between 1 and {len(data.options)}", code="correct_out_of_range")
    if data.closes_at is not None and data.closes_at <= now:
        raise Invalid("closes_at is in the past", code="closes_at_past")


def _config(data: InteractionIn) -> dict[str, Any]:
    cfg: dict[str, Any] = {"intro": data.intro}
    if data.kind == "solitaire":
        cfg.update(stock=data.stock, announce_every=data.announce_every,
                   announce_interval_s=data.announce_interval_s, announced_count=0)
    elif data.kind == "draw":
        cfg.update(keyword=triggers.normalize(data.keyword or DEFAULT_KEYWORD), winners=data.winners or 1)
        if data.seed:
            cfg["seed"] = data.seed
    elif data.kind == "quiz":
        cfg["correct"] = data.correct
    elif data.kind == "dice":
        cfg.update(rolls_per_member=data.rolls_per_member or 1, seed=data.seed or secrets.token_hex(8))
    return cfg


def create(session: Session, ws: int, data: InteractionIn, now: datetime, *, key: str | None = None,
           announce: bool = True) -> Interaction:
    """Start an interaction in a group and announce it there. With `key`, creating again returns the first one
    (a playbook step re-run never starts a second solitaire)."""
    validate(data, now)
    group = session.get(Group, data.group_id, with_for_update=True)
    if group is None or group.workspace_id != ws:
        raise NotFound(f"no group {data.group_id}", code="group_not_found")
    if key is not None:
        for ia in session.scalars(select(Interaction).where(Interaction.group_id == group.id)):
            if ia.config.get("key") == key:
                return ia
    if group.status not in ("active", "full"):
        raise Conflict(f"group {group.name!r} is {group.status}", code="group_not_active")
    slot = SLOTS[data.kind]
    for other in open_in_group(session, group.id):
        if SLOTS[other.kind] == slot:
            raise Conflict(f"interaction {other.id} ({other.kind}) is still open in this group; close it first",
                           code="interaction_already_open", detail={"interaction_id": other.id})
    cfg = _config(data)
    if key is not None:
        cfg["key"] = key
    ia = Interaction(workspace_id=ws, group_id=group.id, kind=data.kind, title=data.title.strip(),
                     options=list(data.options), config=cfg, status="open", result={}, created_at=now,
                     closes_at=data.closes_at, closed_at=None)
    session.add(ia)
    session.flush()
    cfg = dict(ia.config)
    cfg["announced_at"] = now.isoformat()
    ia.config = cfg
    events.record(session, ws, "interaction.created", now=now, source_key=f"interaction:{ia.id}:created",
                  group_id=group.id, payload={"interaction_id": ia.id, "kind": ia.kind})
    if announce:
        _post(session, ia, group, "open", texts.opening(ia), now)
    return ia


# -- reading --------------------------------------------------------------------------------------------------


def get(session: Session, ws: int, interaction_id: int) -> Interaction:
    ia = session.get(Interaction, interaction_id)
    if ia is None or ia.workspace_id != ws:
        raise NotFound(f"no interaction {interaction_id}", code="interaction_not_found")
    return ia


def _listed(ws: int, group_id: int | None, status: str | None) -> Select[Interaction]:
    q = select(Interaction).where(Interaction.workspace_id == ws)
    if group_id is not None:
        q = q.where(Interaction.group_id == group_id)
    if status is not None:
        q = q.where(Interaction.status == status)
    return q


def list_all(session: Session, ws: int, *, group_id: int | None = None, status: str | None = None,
             limit: int = 100) -> list[Interaction]:
    q = _listed(ws, group_id, status)
    return list(session.scalars(q.order_by(Interaction.id.desc()).limit(max(1, min(limit, 500)))))


def page(session: Session, ws: int, *, group_id: int | None = None, status: str | None = None,
         cursor: str | None = None, limit: int = 100) -> Page[Interaction]:
    """Newest first."""
    return keyset(session, _listed(ws, group_id, status), [Interaction.id], cursor=cursor, limit=limit,
                  key=lambda ia: [ia.id])


def open_in_group(session: Session, group_id: int) -> list[Interaction]:
    return list(session.scalars(select(Interaction).where(Interaction.group_id == group_id,
                                                          Interaction.status == "open").order_by(Interaction.id)))


def entries(session: Session, ia: Interaction) -> list[tuple[InteractionEntry, str]]:
    """Entries in the order they came, with the member's display name."""
    rows = session.execute(
        select(InteractionEntry, Contact.display_name).join(Contact, Contact.id == InteractionEntry.contact_id)
        .where(InteractionEntry.interaction_id == ia.id).order_by(InteractionEntry.id)).all()
    return [(e, name or f"#{e.contact_id}") for e, name in rows]


def _count(session: Session, ia: Interaction) -> int:
    return int(session.scalar(select(func.count()).select_from(InteractionEntry)
                              .where(InteractionEntry.interaction_id == ia.id)) or 0)


def _option_counts(ia: Interaction, rows: list[InteractionEntry]) -> list[int]:
    counts = [0] * len(ia.options)
    for e in rows:
        i = e.value.get("option")
        if isinstance(i, int) and 0 <= i < len(counts):
            counts[i] += 1
    return counts


def verified_sharers(session: Session, ia: Interaction) -> set[int]:
    return set(session.scalars(select(ShareLink.sharer_contact_id).where(
        ShareLink.interaction_id == ia.id, ShareLink.verified_at.is_not(None))))


def live(session: Session, ia: Interaction) -> dict[str, Any]:
    """The figures the console polls: count and remaining stock, entries and shares, votes, rolls."""
    rows = [e for e, _ in entries(session, ia)]
    if ia.kind == "solitaire":
        stock = ia.config.get("stock")
        return {"count": len(rows), "stock": stock, "remaining": max(0, stock - len(rows)) if stock else None}
    if ia.kind == "draw":
        return {"entries": len(rows), "verified_shares": len(verified_sharers(session, ia)),
                "winners": ia.config.get("winners", 1)}
    if ia.kind in ("quiz", "poll"):
        return {"entries": len(rows), "counts": _option_counts(ia, rows)}
    best = max((int(e.value.get("roll", 0)) for e in rows), default=None)
    return {"rolls": len(rows), "players": len({e.contact_id for e in rows}), "max": best}


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {i: n or f"#{i}" for i, n in session.execute(select(Contact.id, Contact.display_name)
                                                         .where(Contact.id.in_(ids)))}


# -- posting --------------------------------------------------------------------------------------------------


def _post(session: Session, ia: Interaction, group: Group, suffix: str, text: str, now: datetime) -> int | None:
    return outbox.plan(session, ia.workspace_id, key=f"interaction:{ia.id}:{suffix}", kind="post_to_group",
                       connector=group.platform, now=now, group_id=group.id,
                       payload={"text": text, "interaction_id": ia.id})


def _lock(session: Session, ws: int, interaction_id: int) -> Interaction:
    ia = session.get(Interaction, interaction_id, with_for_update=True, populate_existing=True)
    if ia is None or ia.workspace_id != ws:
        raise NotFound(f"no interaction {interaction_id}", code="interaction_not_found")
    return ia


def _set(ia: Interaction, **values: Any) -> None:
    ia.config = {**ia.config, **values}  # a new dict, so the JSON column is written


def _roster(session: Session, ia: Interaction) -> list[tuple[str, str]]:
    return [(name, str(e.value.get("note", ""))) for e, name in entries(session, ia)]


def _maybe_announce(session: Session, ia: Interaction, count: int, now: datetime, *, force: bool = False) -> bool:
    """Post the live list when `announce_every` entries came since the last post, or `announce_interval_s`
    passed (and something changed); the count is in the outbox key, so a post per count happens once."""
    cfg = ia.config
    last_n = int(cfg.get("announced_count", 0))
    if count <= last_n and not force:
        return False
    last_at = datetime.fromisoformat(cfg["announced_at"]) if cfg.get("announced_at") else ia.created_at
    due = (force or count - last_n >= int(cfg.get("announce_every", 5))
           or (now - last_at).total_seconds() >= int(cfg.get("announce_interval_s", 60)))
    if not due:
        return False
    group = session.get(Group, ia.group_id)
    assert group is not None
    _post(session, ia, group, f"live:{count}", texts.live(ia, _roster(session, ia)), now)
    _set(ia, announced_count=count, announced_at=now.isoformat())
    return True


def announce_live(session: Session, ws: int, interaction_id: int, *, now: datetime) -> bool:
    """Post the solitaire's live list and remaining stock now (unless this count was already posted)."""
    ia = _lock(session, ws, interaction_id)
    if ia.kind != "solitaire":
        raise Conflict("only a solitaire has a live list", code="not_a_solitaire")
    if ia.status != "open":
        return False
    count = _count(session, ia)
    if count == int(ia.config.get("announced_count", 0)):
        return False
    return _maybe_announce(session, ia, count, now, force=True)


# -- closing --------------------------------------------------------------------------------------------------


def close(session: Session, ws: int, interaction_id: int, *, now: datetime, reason: str = "manual") -> Interaction:
    """Close and post the results; closing twice changes nothing. Closing a lucky draw draws it."""
    ia = _lock(session, ws, interaction_id)
    if ia.status != "open":
        return ia
    if ia.kind == "draw":
        return _draw(session, ia, now, seed=None, reason=reason)
    return _close(session, ia, now, reason)


def _close(session: Session, ia: Interaction, now: datetime, reason: str,
           extra: dict[str, Any] | None = None) -> Interaction:
    rows = [e for e, _ in entries(session, ia)]
    result: dict[str, Any] = {"reason": reason, "entries": len({e.contact_id for e in rows}), **(extra or {})}
    names_for: set[int] = set()
    if ia.kind == "solitaire":
        result["roster"] = [[e.contact_id, str(e.value.get("note", ""))] for e in rows]
        stock = ia.config.get("stock")
        if stock:
            result.update(stock=stock, remaining=max(0, stock - len(rows)))
        names_for = {e.contact_id for e in rows}
    elif ia.kind in ("quiz", "poll"):
        result["counts"] = _option_counts(ia, rows)
        if ia.kind == "quiz":
            right = int(ia.config["correct"]) - 1
            result["correct"] = right + 1
            result["correct_contacts"] = [e.contact_id for e in rows if e.value.get("option") == right]
            names_for = set(result["correct_contacts"])
    elif ia.kind == "dice":
        best: dict[int, int] = {}
        for e in rows:
            best[e.contact_id] = max(best.get(e.contact_id, 0), int(e.value.get("roll", 0)))
        top = max(best.values(), default=None)
        board = sorted(best.items(), key=lambda kv: -kv[1])
        result.update(rolls=len(rows), max=top, top_contacts=[c for c, r in board if r == top],
                      leaderboard=[[c, r] for c, r in board[:50]])
        names_for = set(result["top_contacts"])
    elif ia.kind == "draw":
        names_for = set(result.get("winners", []))
    ia.status = "closed"
    ia.closed_at = now
    ia.result = result
    group = session.get(Group, ia.group_id)
    assert group is not None
    _post(session, ia, group, "closed", texts.closed(ia, result, _names(session, names_for)), now)
    events.record(session, ia.workspace_id, "interaction.closed", now=now,
                  source_key=f"interaction:{ia.id}:closed", group_id=ia.group_id,
                  payload={"interaction_id": ia.id, "kind": ia.kind, "reason": reason,
                           "entries": result["entries"]})
    return ia


# -- lucky draw -----------------------------------------------------------------------------------------------


def pick_winners(pool: list[tuple[int, int]], seed: str, k: int) -> list[int]:
    """Weighted draw without replacement, reproducible from the seed: `pool` is (contact, tickets) in entry
    order. Anyone can re-run it from the stored result (`seed`, `tickets`) and get the same winners."""
    rng = random.Random(f"siyu-draw:{seed}")
    remaining = [(c, n) for c, n in pool if n > 0]
    winners: list[int] = []
    while remaining and len(winners) < k:
        r = rng.randrange(sum(n for _, n in remaining))
        for i, (c, n) in enumerate(remaining):
            if r < n:
                winners.append(c)
                del remaining[i]
                break
            r -= n
    return winners


def draw(session: Session, ws: int, interaction_id: int, *, now: datetime, seed: str | None = None) -> Interaction:
    """Draw the winners of a lucky draw and close it; drawing again returns the first result."""
    ia = _lock(session, ws, interaction_id)
    if ia.kind != "draw":
        raise Conflict(f"interaction {ia.id} is a {ia.kind}, not a lucky draw", code="not_a_draw")
    if ia.status != "open":
        return ia
    return _draw(session, ia, now, seed=seed, reason="drawn")


def _draw(session: Session, ia: Interaction, now: datetime, *, seed: str | None, reason: str) -> Interaction:
    group = session.get(Group, ia.group_id)
    assert group is not None
    rows = [e for e, _ in entries(session, ia)]
    excluded: set[int] = set()
    if group.community_id is not None:  # vest accounts and robots never win
        excluded = set(session.scalars(select(CommunityRole.contact_id).where(
            CommunityRole.community_id == group.community_id, CommunityRole.role.in_(NOT_COUNTED))))
    sharers = verified_sharers(session, ia)
    pool = [(e.contact_id, 2 if e.contact_id in sharers else 1) for e in rows if e.contact_id not in excluded]
    seed = seed or ia.config.get("seed") or secrets.token_hex(8)
    winners = pick_winners(pool, seed, int(ia.config.get("winners", 1)))
    tickets = dict(pool)
    for rank, cid in enumerate(winners, 1):
        events.record(session, ia.workspace_id, "interaction.won", now=now,
                      source_key=f"interaction:{ia.id}:won:{cid}", contact_id=cid, group_id=ia.group_id,
                      payload={"interaction_id": ia.id, "kind": ia.kind, "rank": rank, "tickets": tickets[cid]})
    return _close(session, ia, now, reason, {"seed": seed, "algorithm": ALGORITHM,
                                             "tickets": [[c, n] for c, n in pool], "winners": winners})


def create_share_link(session: Session, ws: int, interaction_id: int, contact_id: int, *, now: datetime,
                      url: str = "") -> ShareLink:
    """A member's personal link for this interaction (one per member: asking again returns the same link)."""
    ia = get(session, ws, interaction_id)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.workspace_id != ws:
        raise NotFound(f"no contact {contact_id}", code="contact_not_found")
    existing = session.scalar(select(ShareLink).where(ShareLink.interaction_id == ia.id,
                                                      ShareLink.sharer_contact_id == contact_id))
    if existing is not None:
        return existing
    link = ShareLink(workspace_id=ws, token=secrets.token_urlsafe(12), sharer_contact_id=contact_id,
                     interaction_id=ia.id, url=url, verified_at=None, created_at=now)
    session.add(link)
    session.flush()
    return link


def verify_share(session: Session, token: str, clicker_contact_id: int | None, *, now: datetime) -> ShareLink | None:
    """Count a click on an interaction's share link (for the tracking route). The share is verified when someone
    other than the sharer opens it; the link is returned then (also on later clicks), else None."""
    link = session.scalar(select(ShareLink).where(ShareLink.token == token))
    if link is None or link.interaction_id is None or clicker_contact_id is None:
        return None
    clicker = session.get(Contact, clicker_contact_id)
    if clicker is None or clicker.workspace_id != link.workspace_id:
        return None
    if link.sharer_contact_id in (clicker.id, clicker.merged_into_id):
        return None
    if link.verified_at is None:
        link.verified_at = now
        ia = session.get(Interaction, link.interaction_id)
        events.record(session, link.workspace_id, "interaction.share_verified", now=now,
                      source_key=f"interaction-share:{link.id}:verified", contact_id=link.sharer_contact_id,
                      group_id=ia.group_id if ia else None,
                      payload={"interaction_id": link.interaction_id, "kind": ia.kind if ia else "",
                               "share_link_id": link.id, "clicker_contact_id": clicker.id})
    return link


# -- members' messages ----------------------------------------------------------------------------------------


def on_message(session: Session, ev: StoredEvent) -> None:
    """Route a member's message to the group's open interactions. siyu's own messages and robots never count."""
    if ev.group_id is None or ev.contact_id is None or activity.is_siyu_message(ev.payload):
        return
    text = str(ev.payload.get("text", ""))
    if len(text) > 400:
        return
    candidates = open_in_group(session, ev.group_id)
    if not candidates:
        return
    matched: list[tuple[Interaction, Any]] = []
    for ia in candidates:
        arg: Any = None
        if ia.kind == "solitaire":
            arg = triggers.solitaire(text)
        elif ia.kind == "draw":
            arg = True if triggers.keyword(text, str(ia.config.get("keyword", DEFAULT_KEYWORD))) else None
        elif ia.kind in ("quiz", "poll"):
            arg = triggers.option(text, len(ia.options))
        elif ia.kind == "dice":
            arg = True if triggers.dice(text) else None
        if arg is not None:
            matched.append((ia, arg))
    if not matched:
        return
    group = session.get(Group, ev.group_id)
    if group is None or activity.not_counted(session, group, ev.contact_id, roles=("robot",)):
        return
    now = ev.clock
    for ia, arg in matched:
        ia = _lock(session, ev.workspace_id, ia.id)
        if ia.status != "open":
            continue
        if ia.closes_at is not None and now >= ia.closes_at:
            close(session, ev.workspace_id, ia.id, now=now, reason="time")
            continue
        if ia.kind == "solitaire":
            _join(session, ia, ev, str(arg), now)
        elif ia.kind == "draw":
            _enter(session, ia, ev, now)
        elif ia.kind in ("quiz", "poll"):
            _answer(session, ia, ev, int(arg), now)
        else:
            _roll(session, ia, ev, group, now)


def _entry(session: Session, ia: Interaction, contact_id: int, seq: int = 0) -> InteractionEntry | None:
    return session.scalar(select(InteractionEntry).where(InteractionEntry.interaction_id == ia.id,
                                                         InteractionEntry.contact_id == contact_id,
                                                         InteractionEntry.seq == seq))


def _add(session: Session, ia: Interaction, contact_id: int, value: dict[str, Any], now: datetime,
         seq: int = 0) -> InteractionEntry:
    e = InteractionEntry(interaction_id=ia.id, contact_id=contact_id, seq=seq, value=value, created_at=now)
    session.add(e)
    session.flush()
    return e


def _join(session: Session, ia: Interaction, ev: StoredEvent, note: str, now: datetime) -> None:
    assert ev.contact_id is not None
    stock = ia.config.get("stock")
    existing = _entry(session, ia, ev.contact_id)
    if existing is not None:  # one entry per member: re-posting only updates the note
        if note and note != existing.value.get("note"):
            existing.value = {**existing.value, "note": note}
            events.record(session, ia.workspace_id, "interaction.joined", now=now,
                          source_key=f"interaction:{ia.id}:joined:{ev.id}", contact_id=ev.contact_id,
                          group_id=ia.group_id,
                          payload={"interaction_id": ia.id, "kind": ia.kind, "count": _count(session, ia),
                                   "note": note, "updated": True})
        return
    count = _count(session, ia)
    if stock and count >= stock:
        _close(session, ia, now, "sold_out")
        return
    _add(session, ia, ev.contact_id, {"note": note}, now)
    count += 1
    remaining = max(0, stock - count) if stock else None
    events.record(session, ia.workspace_id, "interaction.joined", now=now,
                  source_key=f"interaction:{ia.id}:joined:{ev.id}", contact_id=ev.contact_id, group_id=ia.group_id,
                  payload={"interaction_id": ia.id, "kind": ia.kind, "count": count, "note": note,
                           "updated": False, "remaining": remaining})
    if stock and count >= stock:
        _close(session, ia, now, "sold_out")
    else:
        _maybe_announce(session, ia, count, now)


def _enter(session: Session, ia: Interaction, ev: StoredEvent, now: datetime) -> None:
    assert ev.contact_id is not None
    if _entry(session, ia, ev.contact_id) is not None:
        return
    _add(session, ia, ev.contact_id, {}, now)
    events.record(session, ia.workspace_id, "interaction.entered", now=now,
                  source_key=f"interaction:{ia.id}:entered:{ev.contact_id}", contact_id=ev.contact_id,
                  group_id=ia.group_id, payload={"interaction_id": ia.id, "kind": ia.kind})


def _answer(session: Session, ia: Interaction, ev: StoredEvent, option: int, now: datetime) -> None:
    """A quiz keeps a member's first answer; a poll keeps the last (members may change their vote)."""
    assert ev.contact_id is not None
    existing = _entry(session, ia, ev.contact_id)
    if existing is not None:
        if ia.kind == "quiz" or existing.value.get("option") == option:
            return
        existing.value = {**existing.value, "option": option}
    else:
        _add(session, ia, ev.contact_id, {"option": option}, now)
    correct = option == int(ia.config["correct"]) - 1 if ia.kind == "quiz" else None
    events.record(session, ia.workspace_id, "interaction.answered", now=now,
                  source_key=f"interaction:{ia.id}:answered:{ev.id}", contact_id=ev.contact_id,
                  group_id=ia.group_id,
                  payload={"interaction_id": ia.id, "kind": ia.kind, "option": option + 1, "correct": correct})


def dice_roll(seed: str, key: str | int) -> int:
    """The roll for one message: reproducible from the interaction's seed and the message's id."""
    return random.Random(f"siyu-dice:{seed}:{key}").randint(1, 6)


def _roll(session: Session, ia: Interaction, ev: StoredEvent, group: Group, now: datetime) -> None:
    assert ev.contact_id is not None
    done = int(session.scalar(select(func.count()).select_from(InteractionEntry).where(
        InteractionEntry.interaction_id == ia.id, InteractionEntry.contact_id == ev.contact_id)) or 0)
    if done >= int(ia.config.get("rolls_per_member", 1)):
        return
    key = ev.payload.get("message_id") or f"e{ev.id}"
    roll = dice_roll(str(ia.config.get("seed", "")), key)
    _add(session, ia, ev.contact_id, {"roll": roll, "message": str(key)}, now, seq=done)
    name = _names(session, {ev.contact_id}).get(ev.contact_id, "")
    _post(session, ia, group, f"roll:{ev.id}", texts.rolled(name, roll), now)
    events.record(session, ia.workspace_id, "interaction.rolled", now=now,
                  source_key=f"interaction:{ia.id}:rolled:{ev.id}", contact_id=ev.contact_id, group_id=ia.group_id,
                  payload={"interaction_id": ia.id, "kind": ia.kind, "roll": roll})


# -- periodic -------------------------------------------------------------------------------------------------


def close_due(session: Session, ws: int, now: datetime) -> int:
    """Close what reached `closes_at` (a lucky draw is drawn)."""
    ids = list(session.scalars(select(Interaction.id).where(
        Interaction.workspace_id == ws, Interaction.status == "open", Interaction.closes_at.is_not(None),
        Interaction.closes_at <= now)))
    for iid in ids:
        close(session, ws, iid, now=now, reason="time")
    return len(ids)


def flush_live(session: Session, ws: int, now: datetime) -> int:
    """Post live lists left stale by the throttle once `announce_interval_s` has passed."""
    posted = 0
    ids = list(session.scalars(select(Interaction.id).where(
        Interaction.workspace_id == ws, Interaction.status == "open", Interaction.kind == "solitaire")))
    for iid in ids:
        ia = _lock(session, ws, iid)
        if ia.status == "open" and _maybe_announce(session, ia, _count(session, ia), now):
            posted += 1
    return posted
