"""Share links (`/s/<token>`) and unknown URLs are member pages too: before, a share without an article of its
own sent the friend to the console's login, an unknown token answered JSON, and an unknown URL was a console error
page with a machine code on it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.auth import service as auth
from siyu.communities import service as communities
from siyu.communities.schemas import GroupIn
from siyu.contacts import identities
from siyu.engagement.interaction import service as interaction
from siyu.engagement.interaction.schemas import InteractionIn
from siyu.engagement.sop import gating
from siyu.models import SopItem, Unlock
from siyu.runtime import Runtime
from tests.conftest import SECRET
from tests.member.conftest import WS, World


def _item_link(rt: Runtime, world: World, *, url: str = "") -> tuple[str, str]:
    """A gated item shared by 甲 (→ its token, and the external id of a friend, 乙)."""
    with rt.tx() as s:
        now = rt.clock.now()
        item = SopItem(workspace_id=WS, community_id=world.community_id, title="个税汇算十问", text="完整内容……",
                       gate={"mode": "share_to_unlock", "home_group_ids": []}, created_at=now, updated_at=now)
        s.add(item)
        s.flush()
        sharer, _ = identities.identify(s, WS, "sandbox", "sbx-jia", now=now, display_name="甲")
        identities.identify(s, WS, "sandbox", "sbx-yi", now=now, display_name="乙")
        link = gating.create_link(s, WS, item.id, sharer, now=now, url=url)
        return link.token, "sbx-yi"


def test_a_share_without_an_article_leads_to_a_page_that_says_what_the_click_did(world: World, phone: TestClient,
                                                                                rt: Runtime) -> None:
    token, friend = _item_link(rt, world)
    r = phone.get(gating.member_url("", SECRET, token, f"sandbox:{friend}"), follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == f"/s/{token}/opened?r=helped"
    page = phone.get(r.headers["location"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "个税汇算十问" in page.text and "你的好友已解锁全文" in page.text
    assert "main-nav" not in page.text and "/login" not in page.text
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Unlock)) == 1
    # reloading the page records nothing more (the click was recorded once, by /s/<token>)
    phone.get(r.headers["location"])
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Unlock)) == 1

    own = phone.get(gating.member_url("", SECRET, token, "sandbox:sbx-jia"))
    assert own.status_code == 200 and "这是你自己的分享链接" in own.text
    anonymous = phone.get(f"/s/{token}")
    assert anonymous.status_code == 200 and "这是好友分享给你的内容" in anonymous.text


def test_a_share_with_an_article_still_goes_straight_to_it(world: World, phone: TestClient, rt: Runtime) -> None:
    token, _ = _item_link(rt, world, url="https://example.com/article")
    r = phone.get(f"/s/{token}", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "https://example.com/article"


def test_a_draw_share_tells_the_friend_they_gave_an_extra_chance(world: World, phone: TestClient,
                                                                rt: Runtime) -> None:
    with rt.tx() as s:
        now = rt.clock.now()
        g = communities.create_group(s, WS, GroupIn(name="抽奖群", community_id=world.community_id), now=now)
        sharer, _ = identities.identify(s, WS, "sandbox", "sbx-jia", now=now, display_name="甲")
        communities.join(s, WS, g, sharer, now=now)
        ia = interaction.create(s, WS, InteractionIn(group_id=g.id, kind="draw", title="周末抽奖", keyword="抽奖",
                                                     winners=1, closes_at=now + timedelta(days=1)), now)
        token = interaction.create_share_link(s, WS, ia.id, sharer, now=now).token
    page = phone.get(gating.member_url("", SECRET, token, "sandbox:sbx-friend"))
    assert page.status_code == 200
    assert "周末抽奖" in page.text and "你的好友获得了一次额外的抽奖机会" in page.text


def test_an_unknown_share_link_is_a_friendly_404_page(rt: Runtime, phone: TestClient) -> None:
    for accept in ("text/html", "*/*"):
        for url in ("/s/nope", "/s/nope/opened"):
            r = phone.get(url, headers={"Accept": accept}, follow_redirects=False)
            assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), url
            assert "链接已失效" in r.text and "share_link_not_found" not in r.text


def test_an_unknown_url_is_a_page_for_a_browser_and_json_for_the_api(rt: Runtime, phone: TestClient) -> None:
    r = phone.get("/no/such/page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "页面不存在" in r.text and "not_found" not in r.text and "console.css" not in r.text
    assert "Page not found" in phone.get("/no/such/page", headers={"Accept-Language": "en"}).text
    # a program asking for JSON, and every API path, keep the ErrorOut shape
    r = phone.get("/no/such/page", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = phone.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_an_operator_who_mistypes_a_console_url_stays_in_the_console(rt: Runtime, phone: TestClient) -> None:
    from tests.console.conftest import PASSWORD, Console

    with rt.tx() as s:
        auth.create_user(s, WS, "op", PASSWORD, "operator")
    console = Console(phone)
    assert console.login("op").status_code == 303
    r = console.get("/no/such/page")
    assert r.status_code == 404 and "console.css" in r.text  # the console's own error page, not a member's
