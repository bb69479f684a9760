"""In a real browser against `siyu serve` (delivery on worker threads): a newcomer who posts links is warned first,
then removed, and the sandbox panel drops the group and its post box by itself, without a reload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import Server, launch, needs_chromium

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


def test_a_removed_member_loses_the_group_and_its_post_box_without_a_reload(server: Server,
                                                                           tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    js_errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}).new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda err: js_errors.append(str(err)))
            page.goto(f"{server.url}/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", server.admin_password)
            page.click("form[action='/login'] button")
            page.goto(f"{server.url}/communities/new")
            page.fill("input[name=name]", "链接测试")
            page.click("form button.primary")
            expect(page).to_have_url(re.compile(r"/communities/\d+$"))
            page.goto(f"{server.url}/codes/new")
            page.fill("input[name=name]", "海报码")
            page.click("form button.primary")
            expect(page).to_have_url(re.compile(r"/codes/\d+$"))

            page.goto(f"{server.url}/sandbox")
            page.fill("input[name=nickname]", "新来的")
            page.click("form[action='/sandbox/members'] button")
            expect(page).to_have_url(re.compile(r"/sandbox\?member=\d+$"))
            page.click("form.scan-form button")
            panel = page.locator("#member-panel")
            expect(panel.locator("form.post-form")).to_be_visible()
            expect(panel.locator(".plain-list")).to_contain_text("链接测试 1")

            post = panel.locator("form.post-form")
            post.locator("input[name=text]").fill("看这里 https://spam.example.com")
            post.locator("button").click()
            # the warning (a newcomer climbs the same ladder), delivered by a worker, reaches the feed
            expect(page.locator("#feed")).to_contain_text("请遵守群规", timeout=30_000)
            expect(panel.locator("form.post-form")).to_be_visible()
            post = panel.locator("form.post-form")
            post.locator("input[name=text]").fill("再看 https://spam.example.com")
            post.locator("button").click()
            # the removal is carried out by a worker after the post's response; the feed's poll brings the panel
            expect(panel.locator("form.post-form")).to_have_count(0, timeout=30_000)
            expect(panel).to_contain_text("还没进群", timeout=5_000)
            page.screenshot(path=str(tmp_path / "removed.png"), full_page=True)
        finally:
            browser.close()
    assert js_errors == []
