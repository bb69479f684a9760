"""Moderation set-up and its log: word lists, exemptions, rule settings, decisions and their undo.

The automation that applies the rules to each message is in `automation.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.engagement import matching
from siyu.engagement import normalize as norm
from siyu.engagement.moderation.schemas import (
    AllowedTermsOut,
    CheckOut,
    DecisionOut,
    ExemptionIn,
    ExemptionOut,
    Rules,
    WordListIn,
    WordListOut,
    WordListPatch,
    WordsUpload,
)
from siyu.events import schemas as event_schemas
from siyu.events import service as events
from siyu.kit.errors import Conflict, Invalid, NotFound
from siyu.kit.pagination import Page, keyset
from siyu.models import Action, Community, Contact, ModerationDecision, ModerationExemption, WordList, Workspace

MAX_WORDS = 100_000
SETTINGS_KEY = "moderation"
#: Workspace settings key of the allowed terms: {"workspace": [...], "communities": {"<id>": [...]}}.
ALLOWED_KEY = "moderation_allowed"


class Decided(event_schemas.Payload):
    decision_id: int
    rule: str
    decision: str
    message_event_id: int | None = None


class Undone(event_schemas.Payload):
    decision_id: int
    decision: str
    by: str = ""


event_schemas.register("moderation.decided", Decided)
event_schemas.register("moderation.undone", Undone)


# -------------------------------------------------------------------------------------------------- settings


def rules(session: Session, ws: int) -> Rules:
    w = session.get(Workspace, ws)
    raw = (w.settings or {}).get(SETTINGS_KEY) if w is not None else None
    if not isinstance(raw, dict):
        return Rules()
    try:
        return Rules.model_validate(raw)
    except ValueError:
        return Rules()


def set_rules(session: Session, ws: int, value: Rules) -> Rules:
    w = session.get(Workspace, ws)
    if w is None:
        raise NotFound("no such workspace", code="workspace_not_found")
    w.settings = {**(w.settings or {}), SETTINGS_KEY: value.model_dump(mode="json")}
    return value


# -------------------------------------------------------------------------------------------------- allowed terms


def allowed_terms(workspace: Sequence[str], community: Sequence[str] = ()) -> matching.AllowedTerms:
    """The allowed terms in force in one community: the workspace-wide list and the community's own."""
    return matching.allowed_terms(tuple(sorted({*workspace, *community})))


def _allowed_raw(session: Session, ws: int) -> dict[str, Any]:
    w = session.get(Workspace, ws)
    raw = (w.settings or {}).get(ALLOWED_KEY) if w is not None else None
    return raw if isinstance(raw, dict) else {}


def allowed_lists(session: Session, ws: int) -> tuple[list[str], dict[int, list[str]]]:
    """(the workspace-wide list — the built-in everyday words until someone edits it —, each community's list)."""
    raw = _allowed_raw(session, ws)
    workspace = raw.get("workspace")
    if not isinstance(workspace, list):
        workspace = list(norm.DEFAULT_ALLOWED)
    communities: dict[int, list[str]] = {}
    for k, v in (raw.get("communities") or {}).items():
        if str(k).isdigit() and isinstance(v, list) and v:
            communities[int(k)] = [str(t) for t in v]
    return [str(t) for t in workspace], communities


def allowed_for(session: Session, ws: int, community_id: int | None) -> matching.AllowedTerms:
    workspace, communities = allowed_lists(session, ws)
    return allowed_terms(workspace, communities.get(community_id, []) if community_id is not None else [])


def allowed_out(session: Session, ws: int) -> list[AllowedTermsOut]:
    workspace, communities = allowed_lists(session, ws)
    return [AllowedTermsOut(community_id=None, terms=workspace),
            *(AllowedTermsOut(community_id=cid, terms=t) for cid, t in sorted(communities.items()))]


def set_allowed(session: Session, ws: int, community_id: int | None, terms: list[str]) -> AllowedTermsOut:
    """Replace the workspace-wide list (`community_id` None) or one community's list."""
    w = session.get(Workspace, ws)
    if w is None:
        raise NotFound("no such workspace", code="workspace_not_found")
    if community_id is not None:
        c = session.get(Community, community_id)
        if c is None or c.workspace_id != ws:
            raise NotFound(f"no community {community_id}", code="community_not_found")
    raw = dict(_allowed_raw(session, ws))
    if community_id is None:
        raw["workspace"] = terms
    else:
        raw["communities"] = {**(raw.get("communities") or {}), str(community_id): terms}
    w.settings = {**(w.settings or {}), ALLOWED_KEY: raw}
    return AllowedTermsOut(community_id=community_id, terms=terms)


# -------------------------------------------------------------------------------------------------- word lists


def _check_words(words: str) -> str:
    items = matching.split_words(words)
    if len(items) > MAX_WORDS:
        raise Invalid(f"at most {MAX_WORDS} words per list, got {len(items)}", code="too_many_words")
    if any(len(w) > 100 for w in items):
        raise Invalid("a word has at most 100 characters", code="word_too_long")
    return "\n".join(items)


def word_list_out(wl: WordList, *, with_words: bool = False) -> WordListOut:
    words = matching.split_words(wl.words)
    return WordListOut(id=wl.id, name=wl.name, severity=wl.severity, purpose=wl.purpose, active=wl.active,
                       word_count=len(words), words=words if with_words else None, created_at=wl.created_at)


def word_lists(session: Session, ws: int) -> list[WordList]:
    return list(session.scalars(select(WordList).where(WordList.workspace_id == ws).order_by(WordList.id)))


def word_list_page(session: Session, ws: int, *, cursor: str | None = None, limit: int = 200) -> Page[WordList]:
    """Oldest first, a page at a time."""
    return keyset(session, select(WordList).where(WordList.workspace_id == ws), [WordList.id], cursor=cursor,
                  limit=limit, key=lambda wl: [wl.id], desc=False)


def get_word_list(session: Session, ws: int, list_id: int) -> WordList:
    wl = session.get(WordList, list_id)
    if wl is None or wl.workspace_id != ws:
        raise NotFound(f"no word list {list_id}", code="word_list_not_found")
    return wl


def _name_taken(session: Session, ws: int, name: str, exclude: int | None = None) -> bool:
    q = select(WordList.id).where(WordList.workspace_id == ws, WordList.name == name)
    if exclude is not None:
        q = q.where(WordList.id != exclude)
    return session.scalar(q) is not None


def create_word_list(session: Session, ws: int, data: WordListIn, *, now: datetime) -> WordList:
    name = data.name.strip()
    if not name:
        raise Invalid("a word list needs a name", code="invalid_name")
    if _name_taken(session, ws, name):
        raise Conflict(f"a word list named {name!r} exists", code="word_list_name_taken")
    wl = WordList(workspace_id=ws, name=name, words=_check_words(data.words), severity=data.severity,
                  purpose=data.purpose, active=data.active, created_at=now)
    session.add(wl)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"a word list named {name!r} exists", code="word_list_name_taken") from None
    return wl


def update_word_list(session: Session, ws: int, list_id: int, patch: WordListPatch) -> WordList:
    wl = get_word_list(session, ws, list_id)
    values = patch.model_dump(exclude_unset=True)
    if values.get("name") is not None:
        values["name"] = values["name"].strip()
        if _name_taken(session, ws, values["name"], exclude=wl.id):
            raise Conflict(f"a word list named {values['name']!r} exists", code="word_list_name_taken")
    if values.get("words") is not None:
        values["words"] = _check_words(values["words"])
    for k, v in values.items():
        if v is not None:
            setattr(wl, k, v)
    session.flush()
    return wl


def upload_words(session: Session, ws: int, list_id: int, body: WordsUpload) -> tuple[WordList, int]:
    """Append (or replace with) words given as text; returns the list and how many of the words are new to it."""
    wl = get_word_list(session, ws, list_id)
    current = matching.split_words(wl.words) if body.mode == "append" else []
    known = set(current)
    new = [w for w in matching.split_words(body.text) if w not in known]
    wl.words = _check_words("\n".join(current + new))
    session.flush()
    return wl, len(new)


def delete_word_list(session: Session, ws: int, list_id: int) -> None:
    session.delete(get_word_list(session, ws, list_id))
    session.flush()


# -------------------------------------------------------------------------------------------------- exemptions


def _exemptions(ws: int) -> Select[ModerationExemption, Contact]:
    return select(ModerationExemption, Contact).join(Contact, Contact.id == ModerationExemption.contact_id).where(
        ModerationExemption.workspace_id == ws)


def exemptions(session: Session, ws: int) -> list[tuple[ModerationExemption, Contact]]:
    rows = session.execute(_exemptions(ws).order_by(ModerationExemption.id))
    return [(e, c) for e, c in rows.all()]


def exemption_page(session: Session, ws: int, *, cursor: str | None = None,
                   limit: int = 200) -> Page[tuple[ModerationExemption, Contact]]:
    """Oldest first, a page at a time."""
    page = keyset(session, _exemptions(ws), [ModerationExemption.id], cursor=cursor, limit=limit,
                  key=lambda r: [r[0].id], desc=False, scalars=False)
    return Page([(e, c) for e, c in page.items], page.next_cursor)


def exemption_out(e: ModerationExemption, c: Contact) -> ExemptionOut:
    return ExemptionOut(id=e.id, contact_id=e.contact_id, display_name=c.display_name, note=e.note,
                        created_at=e.created_at)


def add_exemption(session: Session, ws: int, data: ExemptionIn, *, now: datetime) -> tuple[ModerationExemption,
                                                                                          Contact]:
    contact = session.get(Contact, data.contact_id)
    if contact is None or contact.workspace_id != ws:
        raise NotFound(f"no contact {data.contact_id}", code="contact_not_found")
    existing = session.scalar(select(ModerationExemption).where(
        ModerationExemption.workspace_id == ws, ModerationExemption.contact_id == contact.id))
    if existing is not None:
        raise Conflict("this contact is already exempt", code="already_exempt")
    e = ModerationExemption(workspace_id=ws, contact_id=contact.id, note=data.note.strip(), created_at=now)
    session.add(e)
    session.flush()
    return e, contact


def remove_exemption(session: Session, ws: int, exemption_id: int) -> None:
    e = session.get(ModerationExemption, exemption_id)
    if e is None or e.workspace_id != ws:
        raise NotFound("no such exemption", code="exemption_not_found")
    session.delete(e)
    session.flush()


# -------------------------------------------------------------------------------------------------- decisions


def decisions(session: Session, ws: int, *, contact_id: int | None = None, status: str | None = None,
              cursor: str | None = None, limit: int = 50) -> Page[tuple[ModerationDecision, Contact]]:
    """Newest first."""
    q = select(ModerationDecision, Contact).join(Contact, Contact.id == ModerationDecision.contact_id).where(
        ModerationDecision.workspace_id == ws)
    if contact_id is not None:
        q = q.where(ModerationDecision.contact_id == contact_id)
    if status is not None:
        q = q.where(ModerationDecision.status == status)
    page = keyset(session, q, [ModerationDecision.id], cursor=cursor, limit=limit, key=lambda r: [r[0].id],
                  scalars=False)
    return Page([(d, c) for d, c in page.items], page.next_cursor)


def count_decisions(session: Session, ws: int) -> int:
    return int(session.scalar(select(func.count()).select_from(ModerationDecision)
                              .where(ModerationDecision.workspace_id == ws)) or 0)


def decision_out(d: ModerationDecision, c: Contact) -> DecisionOut:
    return DecisionOut(id=d.id, group_id=d.group_id, contact_id=d.contact_id, display_name=c.display_name,
                       event_id=d.event_id, rule=d.rule, decision=d.decision, excerpt=d.excerpt, detail=d.detail,
                       status=d.status, action_ids=list(d.action_ids or []), created_at=d.created_at,
                       undone_at=d.undone_at, undone_by=d.undone_by)


def get_decision(session: Session, ws: int, decision_id: int) -> ModerationDecision:
    d = session.get(ModerationDecision, decision_id)
    if d is None or d.workspace_id != ws:
        raise NotFound(f"no moderation decision {decision_id}", code="decision_not_found")
    return d


def undo(session: Session, ws: int, decision_id: int, *, by: str, now: datetime) -> ModerationDecision:
    """Mark a decision undone: it no longer counts on the ladder, a blacklist it set is lifted, and actions not yet
    carried out (a warning still queued, a removal still waiting for the owner) are called off."""
    d = get_decision(session, ws, decision_id)
    if d.status != "applied":
        raise Conflict("this decision was already undone", code="already_undone")
    d.status = "undone"
    d.undone_at = now
    d.undone_by = by[:100]
    if d.detail.get("set_blacklist"):
        still = session.scalar(select(ModerationDecision.id).where(
            ModerationDecision.workspace_id == ws, ModerationDecision.contact_id == d.contact_id,
            ModerationDecision.status == "applied", ModerationDecision.decision == "blacklist",
            ModerationDecision.id != d.id))
        contact = session.get(Contact, d.contact_id)
        if contact is not None and still is None:
            contact.blacklisted = False
    called_off = 0
    if d.action_ids:
        res = session.execute(
            update(Action).where(Action.workspace_id == ws, Action.id.in_(list(d.action_ids)),
                                 Action.state.in_(("planned", "retry", "task_open")))
            .values(state="expired", updated_at=now, last_error="moderation decision undone")
            .execution_options(synchronize_session=False))
        called_off = int(res.rowcount or 0)  # type: ignore[attr-defined]
    session.flush()
    events.record(session, ws, "moderation.undone", now=now, source_key=f"moderation-undo:{d.id}",
                  contact_id=d.contact_id, group_id=d.group_id,
                  payload={"decision_id": d.id, "decision": d.decision, "by": by[:100],
                           "actions_called_off": called_off})
    return d


# -------------------------------------------------------------------------------------------------- dry run


def check(session: Session, ws: int, text: str, *, community_id: int | None = None) -> CheckOut:
    """What the rules that read one message would find in it (in a community: with its allowed terms)."""
    if community_id is not None:
        c = session.get(Community, community_id)
        if c is None or c.workspace_id != ws:
            raise NotFound(f"no community {community_id}", code="community_not_found")
    ms = matching.load(session, ws)
    scan = ms.scan(text)
    allowed = allowed_for(session, ws, community_id)
    counted = set(scan.moderation_words(allowed))
    words: list[dict[str, Any]] = []
    spared: list[str] = []
    for term in scan.moderation:
        if term not in counted:
            spared.append(term.word)
            continue
        info = ms.lists.get(term.ref)
        words.append({"word": term.word, "list_id": term.ref, "list": info.name if info else "",
                      "severity": info.severity if info else "warn"})
    found_links, found_contacts = [], []
    for what, ev in scan.links():
        (spared.append(ev) if allowed.allows(ev) else found_links.append({"what": what, "evidence": ev}))
    for what, ev in scan.contacts():
        (spared.append(ev) if allowed.allows(ev) else found_contacts.append({"what": what, "evidence": ev}))
    return CheckOut(normalized=scan.normalized, words=words, complaint_words=[t.word for t in scan.complaint],
                    links=found_links, contacts=found_contacts, allowed=spared)
