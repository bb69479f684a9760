"""The console over HTTP: login, roles, CSRF, languages, escaping of member data, rules preview, QR downloads."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.acquisition import service as acquisition
from siyu.acquisition.schemas import ChannelCodeIn
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn, Question, Rules
from siyu.models import AuditEntry, Community, Identity, User
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox
from tests.console.conftest import HTML, PASSWORD, Console, csrf_of

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def community_form(name: str, **extra: str) -> dict[str, str]:
    return {
        "name": name, "type": "content", "default_capacity": "200",
        "profile.purpose": "retain", "profile.orientation": "knowledge", "profile.north_star": "weekly askers",
        "target.kind": "users", "target.region": "广东",
        "rules.name_card": "城市-行业-姓名", "rules.offers": "每日早报", "rules.how_to_ask": "先搜精华",
        "rules.forbidden": "广告、外链", "rules.allowed": "专业讨论", "rules.penalties": "第二次移出",
        "welcome_text": "欢迎加入！", "activities": "周四直播",
        "q0.question": "您所在的省份", "q0.tag_group": "省份", "q0.options": "广东, 浙江, 其他",
        **extra,
    }


@pytest.fixture
def world(rt: Runtime) -> dict[str, Any]:
    """A community with a group and a channel code, and a member whose nickname is a script tag who scanned it."""
    now = rt.clock.now()
    with rt.tx() as s:
        c = communities.create(s, WS, CommunityIn(
            name="会计人知识社群", rules=Rules(offers="每日早报", forbidden="广告"), welcome_text="欢迎！",
            questionnaire=[Question(question="您的角色", tag_group="角色", options=["会计", "老板"])]))
        g = communities.create_group(s, WS, GroupIn(name="知识 1 群", community_id=c.id), now=now)
        code = acquisition.create(s, WS, ChannelCodeIn(name="公众号文章", community_id=c.id, state="wx-article",
                                                      tags=["渠道:公众号"]))
        m = sandbox.create_member(s, WS, XSS, now=now)
        ids = {"community": c.id, "group": g.id, "code": code.id, "member": m.id}
    with rt.tx() as s:
        m = sandbox.get_member(s, WS, ids["member"])
        r = sandbox.scan(s, rt.connectors, WS, m, "wx-article", now=now)
        ids["contact"] = r.contact_id
    with rt.tx() as s:
        m = sandbox.get_member(s, WS, ids["member"])
        sandbox.post(s, WS, m, communities.get_group(s, WS, ids["group"]), f"hello {XSS}", now=now)
    return ids


# -- login ----------------------------------------------------------------------------------------------------


def test_login_logout_and_wrong_password(app_client: TestClient, make_user: Callable[[str, str], str]) -> None:
    make_user("alice", "operator")
    r = app_client.get("/contacts", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/contacts")

    c = Console(app_client)
    bad = c.login("alice", "not the password")
    assert bad.status_code == 401
    assert "Wrong username or password" in bad.text or "用户名或密码错误" in bad.text
    assert "user_id" not in app_client.cookies.get("siyu_session", "")
    assert app_client.get("/", headers=HTML, follow_redirects=False).status_code == 303

    page = app_client.get("/login?next=/contacts", headers=HTML)
    ok = app_client.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/contacts",
                                         "csrf_token": csrf_of(page.text)}, headers=HTML, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/contacts"
    home = app_client.get("/", headers=HTML)
    assert home.status_code == 200 and "alice" in home.text

    out = app_client.post("/logout", data={"csrf_token": csrf_of(home.text)}, headers=HTML, follow_redirects=False)
    assert out.status_code == 303
    assert app_client.get("/", headers=HTML, follow_redirects=False).status_code == 303


def test_login_needs_csrf_and_a_local_next(app_client: TestClient, make_user: Callable[[str, str], str]) -> None:
    make_user("bob", "viewer")
    app_client.get("/login", headers=HTML)
    r = app_client.post("/login", data={"username": "bob", "password": PASSWORD}, headers=HTML,
                        follow_redirects=False)
    assert r.status_code == 403
    page = app_client.get("/login", headers=HTML)
    r = app_client.post("/login", data={"username": "bob", "password": PASSWORD, "next": "//evil.example/x",
                                        "csrf_token": csrf_of(page.text)}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


# -- every page -----------------------------------------------------------------------------------------------


def test_every_page_answers_200_for_admin(console: Callable[[str], Console], world: dict[str, Any]) -> None:
    c = console("admin")
    pages = ["/", "/communities", "/communities/new", f"/communities/{world['community']}", "/groups",
             f"/groups/{world['group']}", "/codes", "/codes/new", f"/codes/{world['code']}", "/contacts",
             "/contacts?q=script", f"/contacts/{world['contact']}", "/sandbox", f"/sandbox?member={world['member']}",
             f"/sandbox/members/{world['member']}/feed", f"/sandbox/members/{world['member']}/panel",
             "/sandbox/outbox", "/admin"]
    for url in pages:
        r = c.get(url)
        assert r.status_code == 200, (url, r.text[:500])
        assert "text/html" in r.headers["content-type"]
    home = c.get("/").text
    for link in ("/communities", "/groups", "/codes", "/contacts", "/sandbox", "/admin"):
        assert f'href="{link}"' in home


def test_dashboard_counts_and_chart_json(console: Callable[[str], Console], world: dict[str, Any]) -> None:
    html = console("admin").get("/").text
    m = re.search(r'<script type="application/json" id="dash-members-data">(.*?)</script>', html, re.S)
    assert m
    import json

    data = json.loads(m.group(1))
    joins, leaves = (s["data"] for s in data["series"])
    assert len(data["x"]) == 14 and len(joins) == 14
    assert joins[-1] == 1 and sum(joins) == 1 and sum(leaves) == 0  # the world's member joined today
    assert "/static/echarts.min.js" in html


# -- roles ----------------------------------------------------------------------------------------------------


def test_viewer_reads_but_cannot_write(console: Callable[[str], Console], world: dict[str, Any],
                                       rt: Runtime) -> None:
    c = console("viewer")
    listing = c.get("/communities")
    assert listing.status_code == 200
    assert 'href="/communities/new"' not in listing.text
    assert 'href="/codes/new"' not in c.get("/codes").text
    detail = c.get(f"/communities/{world['community']}").text
    assert "<fieldset disabled>" in detail
    assert f'action="/communities/{world["community"]}/roles"' not in detail
    assert 'name="nickname"' not in c.get("/sandbox").text
    assert "/tags/" not in c.get(f"/contacts/{world['contact']}").text
    assert 'href="/admin"' not in listing.text

    r = c.post("/communities", community_form("viewer's"))
    assert r.status_code == 403 and "forbidden" in r.text
    assert c.get("/communities/new").status_code == 403
    assert c.post(f"/sandbox/members/{world['member']}/scan", {"state": "wx-article"}, htmx=True).status_code == 403
    assert c.get("/admin").status_code == 403
    with rt.tx() as s:
        assert s.scalar(select(Community.id).where(Community.name == "viewer's")) is None


def test_sales_sees_only_dashboard_and_contacts(console: Callable[[str], Console], world: dict[str, Any],
                                                rt: Runtime) -> None:
    c = console("sales")
    home = c.get("/")
    assert home.status_code == 200
    assert 'href="/contacts"' in home.text
    for hidden in ("/communities", "/groups", "/codes", "/sandbox", "/admin"):
        assert f'href="{hidden}"' not in home.text
    assert c.get("/contacts").status_code == 200
    assert c.get(f"/contacts/{world['contact']}").status_code == 404  # not assigned to them
    from siyu.contacts import owners
    from siyu.models import User

    with rt.tx() as s:
        owners.set_owner(s, WS, world["contact"], s.scalar(select(User.id).where(User.role == "sales")))
    assert c.get(f"/contacts/{world['contact']}").status_code == 200
    for url in ("/communities", f"/communities/{world['community']}", "/groups", "/codes", "/sandbox", "/admin"):
        r = c.get(url)
        assert r.status_code == 403, url
        assert "forbidden" in r.text


def test_operator_cannot_administer(console: Callable[[str], Console]) -> None:
    c = console("operator")
    assert c.get("/communities/new").status_code == 200
    assert c.get("/admin").status_code == 403
    assert c.post("/admin/users", {"username": "x", "password": "12345678", "role": "admin"}).status_code == 403
    assert c.post("/sandbox/mode", {"mode": "wecom"}).status_code == 403


# -- CSRF -----------------------------------------------------------------------------------------------------


def test_post_without_csrf_token_is_refused(console: Callable[[str], Console], rt: Runtime) -> None:
    c = console("admin")
    r = c.post("/communities", community_form("no token"), csrf=False)
    assert r.status_code == 403 and "csrf_failed" in r.text
    r = c.post("/communities", {**community_form("wrong token"), "csrf_token": "forged"}, csrf=False)
    assert r.status_code == 403
    with rt.tx() as s:
        assert s.scalar(select(Community.id).where(Community.name.in_(["no token", "wrong token"]))) is None
    # the header HTMX sends is accepted instead of the field
    r = c.post("/communities", community_form("by header"), csrf=False, headers={"X-CSRF-Token": c.csrf},
               htmx=True)
    assert r.status_code == 204 and r.headers["HX-Redirect"].startswith("/communities/")


# -- communities ----------------------------------------------------------------------------------------------


def test_create_and_edit_community_through_the_form(console: Callable[[str], Console], rt: Runtime) -> None:
    c = console("admin")
    r = c.post("/communities", community_form("财税交流群", **{"q1.question": "您的角色", "q1.tag_group": "角色",
                                                          "q1.options": "会计/老板"}))
    assert r.status_code == 303
    url = r.headers["location"]
    with rt.tx() as s:
        com = s.scalar(select(Community).where(Community.name == "财税交流群"))
        assert com is not None
        assert com.rules["penalties"] == "第二次移出"
        assert com.profile["target_users"]["region"] == "广东"
        assert com.questionnaire == [
            {"question": "您所在的省份", "tag_group": "省份", "options": ["广东", "浙江", "其他"]},
            {"question": "您的角色", "tag_group": "角色", "options": ["会计", "老板"]}]
        audit = s.scalar(select(AuditEntry).where(AuditEntry.action == "community.create"))
        assert audit is not None and audit.actor == "user:admin-user"
    page = c.get(url)
    assert "Community created." in page.text or "社群已创建" in page.text
    assert "【违规处理】第二次移出" in page.text

    r = c.post(url, community_form("财税交流群", **{"rules.penalties": "直接移出"}))
    assert r.status_code == 303
    with rt.tx() as s:
        com = s.scalar(select(Community).where(Community.name == "财税交流群"))
        assert com is not None and com.rules["penalties"] == "直接移出"

    dup = c.post("/communities", community_form("财税交流群"), htmx=True)
    assert dup.status_code == 409
    assert dup.headers["HX-Retarget"] == "#flash"
    assert "community_name_taken" in dup.text and "<html" not in dup.text
    bad = c.post("/communities", community_form("x", **{"q2.question": "no options", "q2.tag_group": "g"}))
    assert bad.status_code == 422 and "validation_error" in bad.text


def test_rules_longer_than_one_screen_show_a_warning(console: Callable[[str], Console], rt: Runtime) -> None:
    with rt.tx() as s:
        short = communities.create(s, WS, CommunityIn(name="short", rules=Rules(offers="早报", forbidden="广告")))
        long = communities.create(s, WS, CommunityIn(name="long", rules=Rules(
            offers="每日早报、周二干货、周四直播课、周五话题讨论。" * 12,
            forbidden="广告、二维码、外链、拉人、刷屏。" * 12,
            allowed="专业讨论、经验分享、求职招聘。" * 6)))
        ids = short.id, long.id
    c = console("viewer")
    c.client.cookies.set("siyu_lang", "en")
    ok = c.get(f"/communities/{ids[0]}").text
    assert "lines, a phone screen shows 24" not in ok and "lines; a phone screen shows 24." in ok
    warn = c.get(f"/communities/{ids[1]}").text
    m = re.search(r"Rules are (\d+) lines, a phone screen shows 24", warn)
    assert m and int(m.group(1)) > 24
    assert 'class="phone"' in warn
    listing = c.get("/communities").text
    assert "longer than one screen" in listing

    # the live preview answers the same
    preview = c.post("/communities/preview-rules", {"name": "x", "rules.offers": "很长的群规。" * 120}, htmx=True)
    assert preview.status_code == 200 and "lines, a phone screen shows 24" in preview.text


def test_roles_and_groups_of_a_community(console: Callable[[str], Console], world: dict[str, Any],
                                         rt: Runtime) -> None:
    c = console("operator")
    url = f"/communities/{world['community']}"
    assert c.post(f"{url}/roles", {"contact_id": str(world["contact"]), "role": "vest"}).status_code == 303
    page = c.get(url).text
    assert "Vest (shill)" in page or "马甲号" in page
    # the vest still occupies a seat, but is not counted as a member
    assert re.search(r"1 / 200", page)
    assert re.search(r'<td class="num">0</td>', page)
    assert c.post(f"{url}/groups", {"name": "知识 2 群", "capacity": "150", "owner": "小王"}).status_code == 303
    with rt.tx() as s:
        names = [g.name for g in communities.groups(s, WS, world["community"])]
        role_id = communities.roles(s, world["community"])[0][0].id
    assert "知识 2 群" in names
    assert c.post(f"{url}/roles/{role_id}/delete").status_code == 303
    assert c.post(f"{url}/roles", {"contact_id": "999999", "role": "kol"}).status_code == 404


def test_contact_fields_find_people_by_name_or_id(console: Callable[[str], Console], world: dict[str, Any]) -> None:
    """No id to copy from another page: the roles and whitelist forms search, and the choice posts the id."""
    c = console("operator")
    page = c.get(f"/communities/{world['community']}").text
    assert 'hx-get="/contacts/pick"' in page and 'id="role-pick"' in page
    assert 'id="exempt-pick"' in c.get("/moderation").text
    cid = world["contact"]
    for q in ("script", str(cid)):  # the member's nickname is a script tag: found by a part of it, or by id
        hit = c.get(f"/contacts/pick?q={q}", headers={"HX-Request": "true"}).text
        assert f'name="contact_id" value="{cid}"' in hit and "checked" in hit
        assert XSS not in hit and "&lt;script&gt;" in hit
    assert "contact_id" not in c.get("/contacts/pick?q=nobody-like-this").text
    assert c.post(f"/communities/{world['community']}/roles", {"q": "script", "contact_id": str(cid),
                                                               "role": "kol"}).status_code == 303
    # posted with HTMX from the community's own page: reload it (an #anchor redirect would not show the change)
    here = f"http://testserver/communities/{world['community']}"
    r = c.post(f"/communities/{world['community']}/roles", {"contact_id": str(cid), "role": "admin"}, htmx=True,
               headers={"HX-Current-URL": here})
    assert r.status_code == 204 and r.headers["HX-Refresh"] == "true" and "HX-Redirect" not in r.headers
    r = c.post("/moderation/exemptions", {"contact_id": str(cid)}, htmx=True,
               headers={"HX-Current-URL": "http://testserver/communities"})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/moderation#exemptions"


# -- languages ------------------------------------------------------------------------------------------------


def test_language_switch(console: Callable[[str], Console]) -> None:
    c = console("admin")
    zh = c.get("/communities").text  # no cookie, no Accept-Language: zh_CN by default
    assert "新建社群" in zh and 'lang="zh-CN"' in zh
    en_by_header = c.get("/communities", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert "New community" in en_by_header and "新建社群" not in en_by_header

    r = c.client.get("/lang/en?next=/communities", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/communities"
    assert c.client.cookies.get("siyu_lang") == "en"
    en = c.get("/communities", headers={"Accept-Language": "zh-CN"}).text
    assert "New community" in en and "Dashboard" in en and "新建社群" not in en
    assert '<a href="/lang/zh_CN?next=/communities"' in en  # the switch is on every page

    c.client.get("/lang/zh_CN?next=/", follow_redirects=False)
    assert "概览" in c.get("/").text
    assert c.client.get("/lang/xx?next=https://evil.example", follow_redirects=False).headers["location"] == "/"


# -- member data is untrusted ---------------------------------------------------------------------------------


def test_member_nicknames_and_messages_are_escaped(console: Callable[[str], Console],
                                                   world: dict[str, Any]) -> None:
    c = console("admin")
    pages = {
        "contact": c.get(f"/contacts/{world['contact']}").text,
        "contacts": c.get("/contacts").text,
        "sandbox": c.get(f"/sandbox?member={world['member']}").text,
        "feed": c.get(f"/sandbox/members/{world['member']}/feed").text,
        "group": c.get(f"/groups/{world['group']}").text,
    }
    for name, html in pages.items():
        assert XSS not in html, name
        assert XSS_ESCAPED in html, name
    assert f"hello {XSS_ESCAPED}" in pages["feed"]
    assert f"hello {XSS_ESCAPED}" in pages["group"]
    assert f"hello {XSS_ESCAPED}" in pages["contact"]  # the timeline's message.posted


# -- channel codes --------------------------------------------------------------------------------------------


def test_channel_code_create_qr_and_switch(console: Callable[[str], Console], world: dict[str, Any],
                                           rt: Runtime) -> None:
    c = console("operator")
    r = c.post("/codes", {"name": "门店 A", "kind": "store", "community_id": str(world["community"]),
                          "state": "store-a", "tags": "渠道:门店\n门店：南山", "welcome_override": "南山店欢迎你"})
    assert r.status_code == 303
    url = r.headers["location"]
    page = c.get(url).text
    assert "渠道:门店" in page and "门店:南山" in page and "store-a" in page
    code_id = int(url.rsplit("/", 1)[1])
    assert f'<img src="/codes/{code_id}/qr.png"' in page

    png = c.get(f"/codes/{code_id}/qr.png?download=1")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "attachment" in png.headers["content-disposition"]
    svg = c.get(f"/codes/{code_id}/qr.svg?download=1")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    assert c.get(f"/codes/{code_id}/qr.gif").status_code == 404

    listing = c.get("/codes").text
    assert "门店 A" in listing
    assert re.search(r"公众号文章.*?<td class=\"num\"[^>]*>1</td>", listing, re.S)  # the world's scan joined once

    assert c.post(f"{url}/active", {"active": "0"}).status_code == 303
    assert acquisition.get is not None
    with rt.tx() as s:
        assert acquisition.get(s, WS, code_id).active is False
    too_long = c.post("/codes", {"name": "x", "community_id": str(world["community"]), "state": "x" * 31})
    assert too_long.status_code == 422


# -- contacts -------------------------------------------------------------------------------------------------


def test_contact_search_tags_and_timeline(console: Callable[[str], Console], world: dict[str, Any]) -> None:
    c = console("operator")
    c.client.cookies.set("siyu_lang", "en")
    assert f'href="/contacts/{world["contact"]}"' in c.get("/contacts?q=script").text
    assert f'href="/contacts/{world["contact"]}"' not in c.get("/contacts?q=nobody-like-this").text
    assert f'href="/contacts/{world["contact"]}"' in c.get(f"/contacts?q={world['contact']}").text

    url = f"/contacts/{world['contact']}"
    page = c.get(url).text
    # worded by console/labels.py; group names are links
    assert "Scanned the channel code 公众号文章" in page
    assert re.search(r"Joined <a href=\"/groups/\d+\">知识 1 群</a> through the channel code 公众号文章", page)
    assert "Welcome message sent" in page
    assert "渠道:公众号" in page
    assert re.search(r"Wrote in <a href=\"/groups/\d+\">知识 1 群</a>", page)

    assert c.post(f"{url}/tags", {"tag": "兴趣:税务"}).status_code == 303
    page = c.get(url).text
    assert "兴趣:税务" in page
    tag_id = int(re.search(r"/tags/(\d+)/delete\" hx-post=\"[^\"]+\" hx-target=\"#flash\" class=\"inline\">"
                           r"<input type=\"hidden\" name=\"csrf_token\" value=\"[^\"]+\">"
                               r"<input type=\"hidden\" name=\"submission\" value=\"[^\"]+\"><button class=\"x\" "
                           r"title=\"Remove\" aria-label=\"Remove 兴趣:税务\"", page).group(1))  # type: ignore[union-attr]
    with_tag = c.get(f"/contacts?tag_id={tag_id}").text
    assert f'href="/contacts/{world["contact"]}"' in with_tag
    assert c.post(f"{url}/tags/{tag_id}/delete").status_code == 303
    assert "Tag removed" in c.get(url).text


# -- sandbox --------------------------------------------------------------------------------------------------


def test_sandbox_member_scans_posts_answers_and_leaves(console: Callable[[str], Console], world: dict[str, Any],
                                                       rt: Runtime) -> None:
    c = console("operator")
    r = c.post("/sandbox/members", {"nickname": "小王"}, htmx=True)
    assert r.status_code == 204
    member_url = r.headers["HX-Redirect"]
    member_id = int(member_url.split("=")[1])
    panel = c.post(f"/sandbox/members/{member_id}/scan", {"state": "wx-article"}, htmx=True)
    assert panel.status_code == 200
    assert "【本群提供】每日早报" in panel.text  # the welcome, delivered (immediately in tests)
    assert "知识 1 群" in panel.text

    feed = c.get(f"/sandbox/members/{member_id}/feed")
    last = int(re.search(r"feed\?after=(\d+)", feed.text).group(1))  # type: ignore[union-attr]
    assert c.get(f"/sandbox/members/{member_id}/feed?after={last}").status_code == 204

    panel = c.post(f"/sandbox/members/{member_id}/post", {"group_id": str(world["group"]), "text": "请问发票?"},
                   htmx=True)
    assert "请问发票?" in panel.text
    assert c.get(f"/sandbox/members/{member_id}/feed?after={last}").status_code == 200

    panel = c.post(f"/sandbox/members/{member_id}/answer", {"community_id": str(world["community"]), "a0": "老板"},
                   htmx=True)
    assert panel.status_code == 200
    with rt.tx() as s:
        member = sandbox.get_member(s, WS, member_id)
        cid = s.scalar(select(Identity.contact_id).where(Identity.external_id == member.external_id))
    assert "角色:老板" in c.get(f"/contacts/{cid}").text
    bad = c.post(f"/sandbox/members/{member_id}/answer", {"community_id": str(world["community"]), "a0": "x"},
                 htmx=True)
    assert bad.status_code == 422 and "invalid_option" in bad.text and bad.headers["HX-Retarget"] == "#flash"

    panel = c.post(f"/sandbox/members/{member_id}/leave", {"group_id": str(world["group"])}, htmx=True)
    assert panel.status_code == 200
    again = c.post(f"/sandbox/members/{member_id}/leave", {"group_id": str(world["group"])}, htmx=True)
    assert again.status_code == 404 and "not_a_member" in again.text


def test_sandbox_wecom_mode_tasks_and_outbox(console: Callable[[str], Console], world: dict[str, Any],
                                             rt: Runtime) -> None:
    from siyu.delivery import service as outbox

    c = console("admin")
    assert c.post("/sandbox/mode", {"mode": "wecom"}).status_code == 303
    assert c.post("/sandbox/mode", {"mode": "irc"}).status_code == 422
    with rt.tx() as s:
        outbox.plan(s, WS, key="test:post", kind="post_to_group", connector="sandbox", now=rt.clock.now(),
                    group_id=world["group"], payload={"text": "今晚 8 点直播"})
    page = c.get("/sandbox").text
    assert "今晚 8 点直播" in page and "标记完成" in page
    with rt.tx() as s:
        task = sandbox.open_tasks(s, WS)[0]
    frag = c.post(f"/sandbox/tasks/{task.id}/done", htmx=True)
    assert frag.status_code == 200 and 'id="outbox"' in frag.text
    with rt.tx() as s:
        assert sandbox.open_tasks(s, WS) == []
    assert c.post(f"/sandbox/tasks/{task.id}/done", htmx=True).status_code == 409
    assert "今晚 8 点直播" in c.get(f"/groups/{world['group']}").text


# -- users & settings -----------------------------------------------------------------------------------------


def test_admin_users_tokens_and_audit(console: Callable[[str], Console], rt: Runtime) -> None:
    c = console("admin")
    assert c.post("/admin/users", {"username": "carol", "password": "long enough pw", "role": "viewer"}
                  ).status_code == 303
    page = c.get("/admin").text
    assert "carol" in page and "Asia/Shanghai" in page
    assert ("SQLite" in page) or ("PostgreSQL" in page)
    with rt.tx() as s:
        carol = s.scalar(select(User.id).where(User.username == "carol"))
    assert f'action="/admin/users/{carol}"' in page
    assert c.post(f"/admin/users/{carol}", {"role": "sales"}).status_code == 303
    assert c.post(f"/admin/users/{carol}", {"active": "0"}).status_code == 303
    assert Console(TestClient(c.client.app)).login("carol", "long enough pw").status_code == 401

    r = c.post("/admin/tokens", {"name": "crm sync", "role": "operator"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    token = re.search(r"(siyu_[A-Za-z0-9_\-]+)", r.text).group(1)  # type: ignore[union-attr]
    assert token not in c.get("/admin").text  # shown once
    api = c.client.get("/api/v1/communities", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    token_id = int(re.search(r"/admin/tokens/(\d+)/revoke", c.get("/admin").text).group(1))  # type: ignore[union-attr]
    assert c.post(f"/admin/tokens/{token_id}/revoke").status_code == 303
    c.client.cookies.clear()
    assert TestClient(c.client.app).get("/api/v1/communities",
                                        headers={"Authorization": f"Bearer {token}"}).status_code == 401

    with rt.tx() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"user.create", "user.update", "token.create", "token.revoke", "user.login"} <= actions


def test_last_admin_cannot_be_disabled(console: Callable[[str], Console]) -> None:
    c = console("admin")
    page = c.get("/admin").text
    me = int(re.search(r'action="/admin/users/(\d+)"', page).group(1))  # type: ignore[union-attr]
    r = c.post(f"/admin/users/{me}", {"active": "0"})
    assert r.status_code == 409 and "last_admin" in r.text


def test_errors_on_html_pages_are_friendly(console: Callable[[str], Console]) -> None:
    c = console("admin")
    r = c.get("/communities/424242")
    assert r.status_code == 404
    assert "community_not_found" in r.text and "<nav" in r.text
    r = c.get("/contacts/424242", headers={"HX-Request": "true"})
    assert r.status_code == 404 and r.headers["HX-Retarget"] == "#flash" and "contact_not_found" in r.text


def test_an_expired_session_under_htmx_goes_to_the_login_page(app_client: TestClient) -> None:
    """Not a login form swapped into a fragment's target: the browser is sent to /login, then back to the page."""
    r = app_client.get("/sandbox/members/1/feed", follow_redirects=False,
                       headers={"HX-Request": "true", "HX-Current-URL": "http://127.0.0.1:8000/sandbox?x=1"})
    assert r.status_code == 200 and r.text == ""
    assert r.headers["HX-Redirect"] == "/login?next=/sandbox"
    r = app_client.get("/sandbox", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/sandbox"


def test_a_bad_query_on_a_console_page_is_a_page_not_json(console: Callable[[str], Console]) -> None:
    c = console("admin")
    r = c.get("/moderation?cursor=" + "x" * 401)
    assert r.status_code == 422 and "<nav" in r.text and "validation_error" in r.text and "cursor" in r.text
    r = c.client.get("/api/v1/moderation/decisions?limit=lots", headers={"Accept": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"  # the API keeps answering JSON
