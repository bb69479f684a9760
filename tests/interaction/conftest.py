"""A community with one sandbox group and members who joined it; helpers to post as them and read the group."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.contacts import identities
from siyu.engagement.interaction import service
from siyu.engagement.interaction.schemas import InteractionIn
from siyu.models import Interaction
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox
from tests.console.conftest import console, make_user  # noqa: F401  (console fixtures for the page tests)


@dataclass
class World:
    rt: Runtime
    community_id: int
    group_id: int
    members: dict[str, int] = field(default_factory=dict)  # nickname -> sandbox member id
    contacts: dict[str, int] = field(default_factory=dict)  # nickname -> contact id

    def add(self, *names: str) -> None:
        now = self.rt.clock.now()
        for name in names:
            with self.rt.tx() as s:
                m = sandbox.create_member(s, WS, name, now=now)
                sandbox.join(s, WS, m, communities.get_group(s, WS, self.group_id), now=now)
                self.members[name] = m.id
                self.contacts[name] = identities.identify(s, WS, sandbox.PLATFORM, m.external_id, now=now)[0]

    def post(self, name: str, text: str) -> int:
        with self.rt.tx() as s:
            m = sandbox.get_member(s, WS, self.members[name])
            return sandbox.post(s, WS, m, communities.get_group(s, WS, self.group_id), text,
                                now=self.rt.clock.now()).id

    def siyu_texts(self) -> list[str]:
        with self.rt.tx() as s:
            g = communities.get_group(s, WS, self.group_id)
            return [m.text for m in sandbox.group_messages(s, WS, g, limit=1000) if m.sender == "siyu"]

    def create(self, **kw: Any) -> int:
        with self.rt.tx() as s:
            return service.create(s, WS, InteractionIn(group_id=self.group_id, **kw), self.rt.clock.now()).id

    def get(self, iid: int) -> Interaction:
        with self.rt.tx() as s:
            return service.get(s, WS, iid)

    def live(self, iid: int) -> dict[str, Any]:
        with self.rt.tx() as s:
            return service.live(s, service.get(s, WS, iid))


@pytest.fixture
def world(rt: Runtime) -> World:
    with rt.tx() as s:
        c = communities.create(s, WS, CommunityIn(name="双12 闪购群", type="flash"))
        g = communities.create_group(s, WS, GroupIn(name="闪购 1 群", community_id=c.id, owner="小美"),
                                     now=rt.clock.now())
        w = World(rt=rt, community_id=c.id, group_id=g.id)
    return w
