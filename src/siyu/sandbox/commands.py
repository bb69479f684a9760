"""What a person does in the sandbox, from the REST API or the console: act as a member (scan, join, post, leave,
answer the questionnaire) and switch the sandbox's mode. One function per act, each auditing itself inside the
request's unit of work (`edge/work.py`); what the member does enters siyu as a platform callback would."""

from __future__ import annotations

from siyu.acquisition.service import ScanResult
from siyu.communities import service as communities
from siyu.edge.work import Work
from siyu.engagement import welcome
from siyu.kit.errors import Invalid
from siyu.models import Membership, SandboxMember, SandboxMessage
from siyu.sandbox import service


def create_member(w: Work, nickname: str) -> SandboxMember:
    m = service.create_member(w.s, w.ws, nickname, now=w.now)
    w.audit("sandbox.create_member", "sandbox_member", m.id)
    return m


def scan(w: Work, member_id: int, state: str) -> ScanResult:
    """The member scans the channel code with this `state`: identified, tagged, routed to a group and joined."""
    m = service.get_member(w.s, w.ws, member_id)
    r = service.scan(w.s, w.rt.connectors, w.ws, m, state, now=w.now)
    w.audit("sandbox.scan", "sandbox_member", m.id, {"state": state, "group_id": r.group_id})
    return r


def join(w: Work, member_id: int, group_id: int) -> Membership:
    m = service.get_member(w.s, w.ws, member_id)
    g = communities.get_group(w.s, w.ws, group_id)
    membership = service.join(w.s, w.ws, m, g, now=w.now)
    w.audit("sandbox.join", "sandbox_member", m.id, {"group_id": g.id})
    return membership


def post(w: Work, member_id: int, group_id: int, text: str) -> SandboxMessage:
    m = service.get_member(w.s, w.ws, member_id)
    g = communities.get_group(w.s, w.ws, group_id)
    msg = service.post(w.s, w.ws, m, g, text, now=w.now)
    w.audit("sandbox.post", "sandbox_member", m.id, {"group_id": g.id, "message_id": msg.id})
    return msg


def leave(w: Work, member_id: int, group_id: int) -> None:
    m = service.get_member(w.s, w.ws, member_id)
    g = communities.get_group(w.s, w.ws, group_id)
    service.leave(w.s, w.ws, m, g, now=w.now)
    w.audit("sandbox.leave", "sandbox_member", m.id, {"group_id": g.id})


def answer(w: Work, member_id: int, community_id: int, answers: dict[str, str]) -> list[str]:
    """The member answers the community's questionnaire (question → chosen option); returns the tags added."""
    m = service.get_member(w.s, w.ws, member_id)
    c = communities.get(w.s, w.ws, community_id)
    if not answers:
        raise Invalid("choose at least one answer", code="no_answers")
    contact_id = service.contact_of(w.s, w.ws, m)
    if contact_id is None:
        raise Invalid("scan a code or join a group first", code="not_a_contact")
    added = welcome.answer(w.s, w.ws, c.id, contact_id, answers, now=w.now)
    w.audit("sandbox.answer", "contact", contact_id, {"community_id": c.id, "tags_added": added})
    return added


def set_mode(w: Work, mode: str) -> None:
    """`bot` (everything automatic) or `wecom` (group posts and removals become owner tasks, as on WeCom)."""
    service.set_mode(w.s, w.ws, mode)
    w.audit("sandbox.mode", "workspace", w.ws, {"mode": mode})
