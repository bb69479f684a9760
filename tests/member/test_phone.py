"""A phone (390 px, Chromium via Playwright) scans a channel code, joins and sees its welcome, against a real
`siyu serve` process: delivery is asynchronous there, so the page waits for the welcome the way a member would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityPatch
from siyu.runtime import Runtime
from tests.browser import Server, launch, needs_chromium
from tests.member.conftest import STATE, WS, make_world

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]
PHONE = 390
LONG_LINK = "https://example.com/" + "very-long-path-segment-without-any-space-" * 4


def test_a_phone_scans_joins_and_reads_its_welcome(server: Server, rt: Runtime, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    world = make_world(rt)
    with rt.tx() as s:  # a long unbreakable link must wrap, not widen the page
        communities.update(s, WS, world.community_id,
                           CommunityPatch(activities=f"本周四 20:00 直播：个税汇算，回放 {LONG_LINK}"))
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            ctx = browser.new_context(locale="zh-CN", viewport={"width": PHONE, "height": 844}, is_mobile=True,
                                      has_touch=True, device_scale_factor=2)
            page = ctx.new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

            def fits() -> None:
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE, f"{page.url} is {width} px wide on a {PHONE} px phone"

            # the QR opens the landing page: the community, what it offers, a join form
            page.goto(f"{server.url}/c/{STATE}")
            expect(page.locator("h1")).to_have_text("个税交流群")
            expect(page.locator("#offers")).to_contain_text("每日税务早报、周四直播课")
            fits()
            page.screenshot(path=str(tmp_path / "landing.png"), full_page=True)
            page.fill("input[name=nickname]", "小王")
            page.click("#join button[type=submit]")

            # joined; the welcome arrives through the outbox's worker, and the page shows it when it does
            expect(page).to_have_url(re.compile(rf"/c/{STATE}$"))
            expect(page.locator("#joined")).to_contain_text("你已加入「个税交流群 1」")
            expect(page.locator("#welcome")).to_contain_text("@小王 欢迎加入个税交流群！", timeout=30_000)
            expect(page.locator("#welcome")).to_contain_text("【本群提供】每日税务早报")
            fits()
            page.screenshot(path=str(tmp_path / "joined.png"), full_page=True)

            # the questionnaire, answered with a tap
            page.click("label.choice:has-text('会计')")
            page.click("#answers button[type=submit]")
            expect(page.locator("#answers")).to_contain_text("感谢你的回答")
            fits()

            # a code that leads nowhere is a page too, as narrow
            page.goto(f"{server.url}/c/nope")
            expect(page.locator("h1")).to_have_text("二维码无效")
            fits()
        finally:
            browser.close()
    # the failed load of /c/nope is its HTTP status (404), which Chromium logs; nothing else may be an error
    assert [e for e in errors if "status of 404" not in e] == []
