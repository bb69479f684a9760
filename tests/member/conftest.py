"""A small world for the member-facing pages: a positioned community with rules, activities and a questionnaire,
and a channel code (state `gzh`) that leads to it. Everything is made through the services, in the real
database; the pages are then opened as a phone would, with no login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from siyu.acquisition import service as codes
from siyu.acquisition.schemas import ChannelCodeIn
from siyu.app import create_app
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn
from siyu.runtime import DEFAULT_WORKSPACE, Runtime

WS = DEFAULT_WORKSPACE
STATE = "gzh"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ZH = {"Accept": "text/html", "Accept-Language": "zh-CN,zh;q=0.9"}


@dataclass
class World:
    rt: Runtime
    community_id: int
    code_id: int


def make_world(rt: Runtime, *, questionnaire: bool = True) -> World:
    with rt.tx() as s:
        c = communities.create(s, WS, CommunityIn.model_validate({
            "name": "个税交流群",
            "profile": {"culture": "互帮互助，不灌水", "target_users": {"description": "中小企业会计和老板"}},
            "rules": {"offers": "每日税务早报、周四直播课", "forbidden": "广告、外链", "penalties": "第二次移出"},
            "activities": "本周四 20:00 直播：个税汇算",
            "questionnaire": [{"question": "你的身份？", "tag_group": "身份", "options": ["会计", "老板"]}]
            if questionnaire else [],
        }))
        code = codes.create(s, WS, ChannelCodeIn(name="公众号文章", community_id=c.id, state=STATE,
                                                 tags=["渠道:公众号"]))
        return World(rt, c.id, code.id)


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def phone(rt: Runtime) -> Iterator[TestClient]:
    """A phone's browser: no login, no console session; it asks for pages in Chinese."""
    with TestClient(create_app(runtime=rt), raise_server_exceptions=False) as c:
        c.headers.update(ZH)
        yield c


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)
