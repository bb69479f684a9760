"""`/c/<state>`: what a channel code's QR opens on a phone. Before, no route served it and the member saw
`{"detail":"Not Found"}`; now it is a page in the workspace's language, for every state the code can be in."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.acquisition import service as codes
from siyu.acquisition.schemas import ChannelCodePatch
from siyu.communities import service as communities
from siyu.communities.schemas import GroupIn
from siyu.connectors.base import ActionSnapshot, Capabilities, JoinRequest, Outcome, PlatformLink
from siyu.connectors.sandbox.connector import BOT, SandboxConnector
from siyu.contacts import service as contacts
from siyu.models import Contact, Event, Identity, SandboxMember, Workspace
from siyu.runtime import Runtime
from tests.member.conftest import STATE, WS, World, csrf_of, make_world

EN = {"Accept-Language": "en-US,en;q=0.9"}


def _join(phone: TestClient, nickname: str = "小王", **extra: str) -> Any:
    page = phone.get(f"/c/{STATE}")
    return phone.post(f"/c/{STATE}/join", data={"csrf_token": csrf_of(page.text), "nickname": nickname, **extra},
                      follow_redirects=False)


def _members(rt: Runtime) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(SandboxMember)) or 0)


def _is_member_page(r: Any) -> None:
    """A real page for a phone: HTML with a viewport, never JSON, no console around it, no login."""
    assert r.headers["content-type"].startswith("text/html")
    assert '<meta name="viewport"' in r.text
    assert "main-nav" not in r.text and "/login" not in r.text and "/logout" not in r.text


def test_the_landing_page_shows_the_community_and_a_way_to_join(world: World, phone: TestClient) -> None:
    r = phone.get(f"/c/{STATE}")
    assert r.status_code == 200
    _is_member_page(r)
    page = r.text
    for shown in ("个税交流群", "每日税务早报、周四直播课", "本周四 20:00 直播：个税汇算", "互帮互助，不灌水",
                  "中小企业会计和老板", "免费加入", "本群提供", "近期活动", "入群后请回答 1 个小问题", "广告、外链"):
        assert shown in page, shown
    assert 'action="/c/gzh/join"' in page and 'name="nickname"' in page and "立即入群" in page
    assert r.headers["cache-control"] == "no-store"


def test_a_phone_joins_in_the_sandbox_and_sees_the_welcome_it_received(world: World, phone: TestClient,
                                                                       rt: Runtime) -> None:
    r = _join(phone, "小王")
    assert r.status_code == 303 and r.headers["location"] == f"/c/{STATE}"
    assert "siyu_member" in r.cookies
    page = phone.get(f"/c/{STATE}").text
    assert "你已加入「个税交流群 1」" in page
    # the welcome the member received on the (sandbox) platform, as the welcome automation composed it
    assert "你收到的入群欢迎语" in page and "@小王 欢迎加入个税交流群！" in page and "【本群提供】每日税务早报" in page
    assert 'name="nickname"' not in page  # joined: no join form any more
    # the same scan as the console sandbox: a contact with the code's tag, attributed to the code, in the group
    with rt.read() as s:
        member = s.scalars(select(SandboxMember)).one()
        assert member.nickname == "小王"
        contact_id = s.scalar(select(Identity.contact_id).where(Identity.external_id == member.external_id))
        assert contact_id is not None
        assert [f"{g.name}:{t.name}" for g, t in contacts.tags_of(s, contact_id)] == ["渠道:公众号"]
        scans = list(s.scalars(select(Event.payload).where(Event.type == "contact.joined_via_channel")))
        assert [p["state"] for p in scans] == [STATE]
        assert [g.name for _, g in communities.memberships_of(s, contact_id)] == ["个税交流群 1"]


def test_the_cookie_remembers_the_member_so_scanning_again_joins_no_one_twice(world: World, phone: TestClient,
                                                                               rt: Runtime) -> None:
    assert _join(phone, "小王").status_code == 303
    assert _join(phone, "").status_code == 303  # a reload of the form, or the code scanned again
    assert _members(rt) == 1
    # another phone is another member
    phone.cookies.clear()
    assert "立即入群" in phone.get(f"/c/{STATE}").text
    assert _join(phone, "小李").status_code == 303
    assert _members(rt) == 2


def test_a_forged_member_cookie_is_not_believed(world: World, phone: TestClient, rt: Runtime) -> None:
    assert _join(phone, "小王").status_code == 303
    phone.cookies.clear()
    phone.cookies.set("siyu_member", "eyJ3cyI6MSwibSI6MX0.forged")  # {"ws":1,"m":1}, not signed by siyu
    page = phone.get(f"/c/{STATE}").text
    assert 'name="nickname"' in page and "小王" not in page


def test_joining_without_a_name_says_so_and_stores_nothing(world: World, phone: TestClient, rt: Runtime) -> None:
    r = _join(phone, "   ")
    assert r.status_code == 422
    _is_member_page(r)
    assert "请填写昵称" in r.text and "nickname_missing" not in r.text
    r = _join(phone, "名" * 101)
    assert r.status_code == 422 and "昵称最多 100 个字" in r.text
    assert "名" * 101 in r.text  # what was typed is kept
    assert _members(rt) == 0


def test_a_join_without_the_page_s_token_is_refused(world: World, phone: TestClient, rt: Runtime) -> None:
    r = phone.post(f"/c/{STATE}/join", data={"nickname": "别的网站"}, follow_redirects=False)
    assert r.status_code == 403
    _is_member_page(r)
    assert "页面已过期" in r.text
    assert _members(rt) == 0


def test_the_questionnaire_is_answered_on_the_page_and_becomes_tags(world: World, phone: TestClient,
                                                                   rt: Runtime) -> None:
    _join(phone, "小王")
    page = phone.get(f"/c/{STATE}").text
    assert "几个小问题" in page and "你的身份？" in page and 'value="会计"' in page
    token = csrf_of(page)
    bad = phone.post(f"/c/{STATE}/answer", data={"csrf_token": token, "a0": "学生"}, follow_redirects=False)
    assert bad.status_code == 422 and "请至少回答一个问题" in bad.text
    r = phone.post(f"/c/{STATE}/answer", data={"csrf_token": token, "a0": "会计"}, follow_redirects=False)
    assert r.status_code == 303
    page = phone.get(f"/c/{STATE}").text
    assert "感谢你的回答" in page and 'name="a0"' not in page
    with rt.read() as s:
        contact = s.scalars(select(Contact)).one()
        assert sorted(f"{g.name}:{t.name}" for g, t in contacts.tags_of(s, contact.id)) == ["渠道:公众号", "身份:会计"]


def test_a_community_without_a_questionnaire_asks_nothing(rt: Runtime, phone: TestClient) -> None:
    make_world(rt, questionnaire=False)
    assert "小问题" not in phone.get(f"/c/{STATE}").text
    _join(phone, "小王")
    page = phone.get(f"/c/{STATE}").text
    assert "你已加入" in page and "几个小问题" not in page


def test_an_unknown_code_is_a_friendly_404_page(rt: Runtime, phone: TestClient) -> None:
    for accept in ("text/html", "*/*"):  # a scanner app's browser may not ask for HTML: still a page
        r = phone.get("/c/nope", headers={"Accept": accept})
        assert r.status_code == 404
        _is_member_page(r)
        assert "二维码无效" in r.text and "channel_code_not_found" not in r.text


def test_a_switched_off_code_is_gone_410_and_joins_nobody(world: World, phone: TestClient, rt: Runtime) -> None:
    token = csrf_of(phone.get(f"/c/{STATE}").text)
    with rt.tx() as s:
        codes.update(s, WS, world.code_id, ChannelCodePatch(active=False))
    r = phone.get(f"/c/{STATE}")
    assert r.status_code == 410
    _is_member_page(r)
    assert "该二维码已停用" in r.text and "channel_code_inactive" not in r.text
    r = phone.post(f"/c/{STATE}/join", data={"csrf_token": token, "nickname": "小王"}, follow_redirects=False)
    assert r.status_code == 410 and "该二维码已停用" in r.text
    assert _members(rt) == 0


class NoNewGroups(SandboxConnector):
    """The sandbox as a platform on which siyu may not open groups: when they are full, they are full."""

    def capabilities(self, config: dict[str, Any]) -> Capabilities:
        return replace(BOT, create_group=False)


def test_a_full_community_says_so_instead_of_offering_a_join(world: World, phone: TestClient, rt: Runtime) -> None:
    rt.connectors.register(NoNewGroups())
    with rt.tx() as s:
        g = communities.create_group(s, WS, GroupIn(name="个税交流群 1", community_id=world.community_id, capacity=2),
                                     now=rt.clock.now())
        group_id = g.id
    token = csrf_of(phone.get(f"/c/{STATE}").text)  # the page was opened while there was room
    with rt.tx() as s:
        g = communities.get_group(s, WS, group_id)
        for name in ("甲", "乙"):
            cid, _ = contacts_identify(s, name, rt)
            communities.join(s, WS, g, cid, now=rt.clock.now())
    r = phone.get(f"/c/{STATE}")
    assert r.status_code == 200 and "群已满员" in r.text and 'name="nickname"' not in r.text
    # the join posted from the page opened before the groups filled up: a 409 page, nothing stored
    r = phone.post(f"/c/{STATE}/join", data={"csrf_token": token, "nickname": "小王"}, follow_redirects=False)
    assert r.status_code == 409
    _is_member_page(r)
    assert "群已满员" in r.text and "no_group_with_room" not in r.text
    assert _members(rt) == 0


def contacts_identify(s: Any, name: str, rt: Runtime) -> tuple[int, bool]:
    from siyu.contacts import identities

    return identities.identify(s, WS, "sandbox", f"ext-{name}", now=rt.clock.now(), display_name=name)


def test_a_blacklisted_member_is_told_they_cannot_join(world: World, phone: TestClient, rt: Runtime) -> None:
    _join(phone, "小王")
    with rt.tx() as s:
        contact = s.scalars(select(Contact)).one()
        contact.blacklisted = True
        for _, g in communities.memberships_of(s, contact.id):
            communities.leave(s, WS, g, contact.id, now=rt.clock.now())
    r = _join(phone)
    assert r.status_code == 403
    _is_member_page(r)
    assert "暂时无法加入该社群" in r.text and "blacklisted" not in r.text


class WeComLike:
    """A platform connector with its own join link (the `JoinHandover` hook): built from its settings."""

    name = "wecom"

    def bind(self, link: PlatformLink) -> None:
        self.link = link

    def capabilities(self, config: dict[str, Any]) -> Capabilities:
        return Capabilities(create_group=False)

    def perform(self, action: ActionSnapshot, now: Any) -> Outcome:
        return Outcome("failed", error="not in this test")

    def reconcile(self, action: ActionSnapshot) -> Outcome | None:
        return None

    def complete_task(self, action: ActionSnapshot, now: Any) -> Outcome:
        return Outcome("failed")

    def join_url(self, request: JoinRequest) -> str | None:
        base = request.config.get("contact_way_url")
        return f"{base}?state={request.state}" if base else None


class Elsewhere(WeComLike):
    """A platform connector that has no join link to offer."""

    name = "elsewhere"

    def join_url(self, request: JoinRequest) -> str | None:
        return None


def _on_platform(rt: Runtime, world: World, platform: str) -> None:
    with rt.tx() as s:
        communities.create_group(s, WS, GroupIn(name="企微群 1", community_id=world.community_id, platform=platform,
                                                external_id="wr-1"), now=rt.clock.now())


def test_a_platform_connector_hands_over_to_its_own_join_link(world: World, phone: TestClient, rt: Runtime) -> None:
    token = csrf_of(phone.get(f"/c/{STATE}").text)  # opened while the community had no groups yet
    rt.connectors.register(WeComLike())
    _on_platform(rt, world, "wecom")
    with rt.tx() as s:
        ws = s.get(Workspace, WS)
        assert ws is not None
        ws.settings = {**(ws.settings or {}), "connectors": {"wecom": {"contact_way_url": "https://wecom.example/ca"}}}
    r = phone.get(f"/c/{STATE}")
    assert r.status_code == 200 and "个税交流群" in r.text
    assert 'href="https://wecom.example/ca?state=gzh"' in r.text and 'name="nickname"' not in r.text
    assert "沙盒" not in r.text
    # the sandbox's join form is not a way into a real platform's groups
    r = phone.post(f"/c/{STATE}/join", data={"csrf_token": token, "nickname": "小王"},
                   follow_redirects=False)
    assert r.status_code == 409 and "请在聊天软件中入群" in r.text and _members(rt) == 0


def test_a_platform_without_a_join_link_asks_to_scan_in_its_app(world: World, phone: TestClient,
                                                               rt: Runtime) -> None:
    rt.connectors.register(Elsewhere())
    _on_platform(rt, world, "elsewhere")
    r = phone.get(f"/c/{STATE}")
    assert r.status_code == 200 and "请在聊天软件中入群" in r.text
    assert 'name="nickname"' not in r.text and "立即入群" not in r.text


def test_the_page_speaks_the_workspace_s_language_unless_the_phone_asks(world: World, phone: TestClient,
                                                                       rt: Runtime) -> None:
    plain = {"Accept-Language": ""}
    assert "立即入群" in phone.get(f"/c/{STATE}", headers=plain).text  # siyu's default: 中文
    with rt.tx() as s:
        ws = s.get(Workspace, WS)
        assert ws is not None
        ws.settings = {**(ws.settings or {}), "locale": "en"}
    r = phone.get(f"/c/{STATE}", headers=plain)
    assert '<html lang="en">' in r.text
    assert "Join the group" in r.text and "What the community offers" in r.text and "立即入群" not in r.text
    assert "Join the group" in phone.get(f"/c/{STATE}", headers={"Accept-Language": "fr-FR,fr"}).text
    # the phone's language picks between the two: a Chinese phone reads Chinese in an English workspace
    r = phone.get(f"/c/{STATE}", headers={"Accept-Language": "fr;q=1, zh-CN;q=0.8, en;q=0.5"})
    assert '<html lang="zh-CN">' in r.text and "立即入群" in r.text
    assert "Join the group" in phone.get(f"/c/{STATE}", headers=EN).text
    assert "This code does not lead anywhere" in phone.get("/c/nope", headers=EN).text


def test_an_admin_chooses_the_language_of_the_members_pages(world: World, phone: TestClient, rt: Runtime) -> None:
    from siyu.auth import service as auth
    from tests.console.conftest import PASSWORD, Console

    with rt.tx() as s:
        auth.create_user(s, WS, "boss", PASSWORD, "admin")
    admin = Console(TestClient(phone.app))
    assert admin.login("boss", PASSWORD).status_code == 303
    page = admin.get("/admin").text
    assert "Language of members" in page or "成员页面语言" in page
    assert admin.post("/admin/workspace/locale", {"locale": "en"}).status_code == 303
    assert "Join the group" in phone.get(f"/c/{STATE}", headers={"Accept-Language": ""}).text
    bad = admin.post("/admin/workspace/locale", {"locale": "fr"})
    assert bad.status_code == 422 and "请选择中文或 English" in bad.text  # a sentence (the code only as data)
    with rt.read() as s:
        ws = s.get(Workspace, WS)
        assert ws is not None and ws.settings["locale"] == "en"
