"""A small world for moderation and FAQ tests: a community with groups and a channel code, members who post."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from siyu.acquisition import service as acquisition
from siyu.acquisition.schemas import ChannelCodeIn
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn, RoleIn
from siyu.kit.clock import FrozenClock
from siyu.models import Action, Contact, Event, ModerationDecision, SandboxMessage
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox

WS = 1


@dataclass
class World:
    rt: Runtime
    clock: FrozenClock
    community_id: int = 0
    groups: list[int] = field(default_factory=list)
    state: str = ""
    members: dict[str, int] = field(default_factory=dict)   # nickname → sandbox member id
    contacts: dict[str, int] = field(default_factory=dict)  # nickname → contact id

    def tick(self, seconds: float = 1) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    def member(self, nickname: str, *, scan: bool = True, groups: tuple[int, ...] = ()) -> int:
        """A sandbox member who scans the channel code (joins the first group) and joins more groups by invite."""
        with self.rt.tx() as s:
            m = sandbox.create_member(s, WS, nickname, now=self.clock.now())
            self.members[nickname] = m.id
            if scan:
                self.contacts[nickname] = sandbox.scan(s, self.rt.connectors, WS, m, self.state,
                                                       now=self.clock.now()).contact_id
        for i in groups:
            self.join(nickname, i)
        return self.members[nickname]

    def join(self, nickname: str, group_index: int = 0) -> None:
        with self.rt.tx() as s:
            m = sandbox.get_member(s, WS, self.members[nickname])
            ms = sandbox.join(s, WS, m, communities.get_group(s, WS, self.groups[group_index]), now=self.clock.now())
            self.contacts[nickname] = ms.contact_id

    def role(self, nickname: str, role: str) -> None:
        with self.rt.tx() as s:
            communities.add_role(s, WS, self.community_id, RoleIn(contact_id=self.contacts[nickname], role=role))

    def post(self, nickname: str, text: str, group_index: int = 0) -> int:
        """Post as the member; returns the id of the `message.posted` event."""
        with self.rt.tx() as s:
            m = sandbox.get_member(s, WS, self.members[nickname])
            msg = sandbox.post(s, WS, m, communities.get_group(s, WS, self.groups[group_index]), text,
                               now=self.clock.now())
            ev = s.scalar(select(Event.id).where(Event.source_key == f"sandbox-msg:{msg.id}"))
            assert ev is not None
            return ev

    def bot_messages(self, group_index: int = 0) -> list[str]:
        with self.rt.tx() as s:
            g = communities.get_group(s, WS, self.groups[group_index])
            return [m.text for m in sandbox.group_messages(s, WS, g) if m.sender == "siyu"]

    def decisions(self, nickname: str | None = None) -> list[tuple[str, str, str]]:
        """(rule, decision, status) in order."""
        with self.rt.tx() as s:
            q = select(ModerationDecision).order_by(ModerationDecision.id)
            if nickname is not None:
                q = q.where(ModerationDecision.contact_id == self.contacts[nickname])
            return [(d.rule, d.decision, d.status) for d in s.scalars(q)]

    def in_group(self, nickname: str, group_index: int = 0) -> bool:
        with self.rt.tx() as s:
            return communities.active_membership(s, self.groups[group_index], self.contacts[nickname]) is not None

    def blacklisted(self, nickname: str) -> bool:
        with self.rt.tx() as s:
            c = s.get(Contact, self.contacts[nickname])
            assert c is not None
            return c.blacklisted

    def actions(self, kind: str) -> list[tuple[str, str]]:
        """(idempotency key, state) of actions of a kind, in order."""
        with self.rt.tx() as s:
            return [(a.idempotency_key, a.state) for a in
                    s.scalars(select(Action).where(Action.kind == kind).order_by(Action.id))]

    def events(self, type_: str) -> list[Event]:
        with self.rt.tx() as s:
            rows = list(s.scalars(select(Event).where(Event.type == type_).order_by(Event.id)))
            s.expunge_all()
            return rows

    def feed_texts(self) -> list[str]:
        with self.rt.tx() as s:
            return [m.text for m in s.scalars(select(SandboxMessage).order_by(SandboxMessage.id))]


def make_world(rt: Runtime, clock: FrozenClock, *, groups: int = 1, mode: str = "bot", name: str = "会计圈") -> World:
    w = World(rt, clock)
    with rt.tx() as s:
        if mode != "bot":
            sandbox.set_mode(s, WS, mode)
        c = communities.create(s, WS, CommunityIn(name=name))
        w.community_id = c.id
        for i in range(groups):
            g = communities.create_group(s, WS, GroupIn(name=f"{name} {i + 1} 群", community_id=c.id, owner="王老师"),
                                         now=clock.now())
            w.groups.append(g.id)
        w.state = acquisition.create(s, WS, ChannelCodeIn(name=f"{name}公众号", community_id=c.id)).state
    return w
