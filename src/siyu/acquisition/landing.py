"""What a channel code's QR opens on a phone (`/c/<state>`): the community it leads to, and the way in.

A code's QR encodes `<base_url>/c/<state>`. The person who scans it is not logged in and may be anyone, so this
module decides only from the code and the community what the landing page offers:

- `sandbox`: the community's groups are on siyu's own sandbox platform (or it has none yet, and a scan would
  create a sandbox group). The phone joins as a sandbox member, through the same scan as the console's sandbox
  (`sandbox.service.scan` → `acquisition.service.scan`: identify, tag, attribute, route, join — platform facts
  the engine projects and the welcome automation answers). The page then shows the welcome the member received.
- `handover`: the groups are on a real platform whose connector implements `connectors.base.JoinHandover`: the
  join button opens the platform's own code or link (which carries `state`, so the platform's add-contact
  callback attributes the join to this code).
- `elsewhere`: a platform without such a link: the page says to scan the code in that platform's app.

A member joining here is a platform fact, not an operator's act: it is recorded in the event log
(`contact.joined_via_channel`, `group.member_joined`) and in no audit entry, as a platform callback is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.acquisition.service import ScanResult
from siyu.communities import service as communities
from siyu.communities.schemas import Question
from siyu.connectors.base import JoinHandover, JoinRequest
from siyu.connectors.registry import ConnectorRegistry, capabilities_for, config_for
from siyu.engagement import welcome
from siyu.kit.errors import Conflict, Invalid, NotFound, SiyuError
from siyu.models import (
    Action,
    ChannelCode,
    Community,
    Event,
    Group,
    Membership,
    SandboxMember,
    SandboxMessage,
    Workspace,
)
from siyu.sandbox import service as sandbox

Way = Literal["sandbox", "handover", "elsewhere"]
WelcomeState = Literal["delivered", "pending", "none"]
#: Outbox states in which the welcome may still reach the member (the page keeps polling).
PENDING_STATES = ("planned", "retry", "sending", "reconciling", "task_open")


@dataclass(frozen=True)
class Landing:
    code: ChannelCode
    community: Community
    workspace: Workspace
    platform: str
    way: Way
    #: The platform's own join link (`way == "handover"`).
    join_url: str | None
    #: Whether a scan now would find (or may create) a group with room.
    has_room: bool
    questions: list[Question]


@dataclass(frozen=True)
class Stay:
    """A member's current stay in one of the code's community groups, as the landing page shows it."""

    group: Group
    membership: Membership
    welcome: WelcomeState
    #: What the member received: the group post that greeted them, or the private message on WeCom-like mode.
    welcome_text: str
    answered: bool


def find(session: Session, state: str) -> ChannelCode:
    """The code a QR names. The URL carries no workspace: a state used by codes of several workspaces names
    none of them (an embedded install has one workspace; a hosted one would put the workspace in the URL)."""
    if not state or len(state) > 30:
        raise NotFound("no such channel code", code="channel_code_not_found")
    codes = list(session.scalars(select(ChannelCode).where(ChannelCode.state == state).limit(2)))
    if len(codes) != 1:
        raise NotFound("no such channel code", code="channel_code_not_found")
    return codes[0]


def usable(session: Session, state: str) -> ChannelCode:
    """`find`, and the code is switched on (a switched-off code is gone, 410: printed posters outlive it)."""
    code = find(session, state)
    if not code.active:
        raise SiyuError(f"channel code {code.name!r} is switched off", code="channel_code_inactive", status=410)
    return code


def platform_of(session: Session, community: Community) -> str:
    """The platform the community's groups live on: its oldest active group's; the sandbox while it has none
    (routing creates sandbox groups then)."""
    platform = session.scalar(select(Group.platform).where(Group.community_id == community.id,
                                                           Group.status == "active").order_by(Group.id).limit(1))
    return platform or sandbox.PLATFORM


def view(session: Session, connectors: ConnectorRegistry, code: ChannelCode) -> Landing:
    community = communities.get(session, code.workspace_id, code.community_id)
    workspace = session.get(Workspace, code.workspace_id)
    assert workspace is not None
    platform = platform_of(session, community)
    caps = capabilities_for(session, platform, code.workspace_id)
    groups = list(session.scalars(select(Group).where(Group.community_id == community.id, Group.status == "active",
                                                      Group.platform == platform).order_by(Group.id)))
    occupancy = communities.occupancy(session, [g.id for g in groups])
    has_room = any(occupancy.get(g.id, 0) < g.capacity for g in groups) or bool(caps and caps.create_group)
    way: Way = "elsewhere"
    url: str | None = None
    if platform == sandbox.PLATFORM and platform in connectors.names():
        way = "sandbox"
    elif platform in connectors.names():
        connector = connectors.get(platform)
        if isinstance(connector, JoinHandover):
            url = connector.join_url(JoinRequest(
                workspace_id=code.workspace_id, state=code.state, community_id=community.id,
                community_name=community.name, group_external_ids=tuple(g.external_id for g in groups),
                config=config_for(session, platform, code.workspace_id)))
            way = "handover" if url else "elsewhere"
    questions = [Question.model_validate(q) for q in community.questionnaire or []]
    return Landing(code, community, workspace, platform, way, url, has_room, questions)


def member(session: Session, ws: int, member_id: int | None) -> SandboxMember | None:
    """The sandbox member a phone's cookie remembers, if they still exist in this workspace."""
    if member_id is None:
        return None
    m = session.get(SandboxMember, member_id)
    return m if m is not None and m.workspace_id == ws else None


def join(session: Session, connectors: ConnectorRegistry, code: ChannelCode, who: SandboxMember | None,
         nickname: str, *, now: datetime) -> tuple[SandboxMember, ScanResult]:
    """The phone joins as a sandbox member (the remembered one, else a new one named `nickname`) by scanning
    the code: the console sandbox's scan, so tags, attribution, routing and the welcome are the same."""
    if who is None:
        if not nickname.strip():
            raise Invalid("a name is needed to join", code="nickname_missing")
        who = sandbox.create_member(session, code.workspace_id, nickname, now=now)
    return who, sandbox.scan(session, connectors, code.workspace_id, who, code.state, now=now)


def stay(session: Session, code: ChannelCode, who: SandboxMember) -> Stay | None:
    """The member's open stay in a group of the code's community, with the welcome it brought."""
    contact_id = sandbox.contact_of(session, code.workspace_id, who)
    if contact_id is None:
        return None
    row = session.execute(
        select(Membership, Group).join(Group, Group.id == Membership.group_id).where(
            Membership.contact_id == contact_id, Membership.left_at.is_(None),
            Group.community_id == code.community_id).order_by(Membership.id.desc()).limit(1)).first()
    if row is None:
        return None
    m, g = row
    state: WelcomeState = "none"
    text = ""
    action = session.scalar(select(Action).where(
        Action.workspace_id == code.workspace_id, Action.kind == "welcome", Action.group_id == g.id,
        Action.contact_id == contact_id, Action.created_at >= m.joined_at).order_by(Action.id.desc()).limit(1))
    if action is not None:
        delivered = session.scalar(select(SandboxMessage.text).where(
            SandboxMessage.workspace_id == code.workspace_id,
            SandboxMessage.idempotency_key == action.idempotency_key))
        if delivered is not None:
            state, text = "delivered", delivered
        elif action.state in PENDING_STATES:
            state = "pending"
    return Stay(g, m, state, text, _answered(session, code, contact_id))


def _answered(session: Session, code: ChannelCode, contact_id: int) -> bool:
    payloads = session.scalars(select(Event.payload).where(
        Event.workspace_id == code.workspace_id, Event.type == "contact.questionnaire_answered",
        Event.contact_id == contact_id))
    return any((p or {}).get("community_id") == code.community_id for p in payloads)


def answer(session: Session, code: ChannelCode, who: SandboxMember, answers: dict[str, str], *,
           now: datetime) -> list[str]:
    """The member answers the community's questionnaire on the page: the answers become tags, as in chat."""
    contact_id = sandbox.contact_of(session, code.workspace_id, who)
    if contact_id is None:
        raise Conflict("join the community before answering its questions", code="not_a_contact")
    if not answers:
        raise Invalid("choose at least one answer", code="no_answers")
    return welcome.answer(session, code.workspace_id, code.community_id, contact_id, answers, now=now)
