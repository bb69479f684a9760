"""The console in a real browser (Debian's Chromium via Playwright) against a real `siyu serve` process.

Delivery is asynchronous there (Huey threads inside the server), so the welcome reaches the sandbox feed through
the feed's polling, exactly as an operator would see it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import Server, launch, needs_chromium

XSS = "<script>alert(1)</script>"

pytestmark = [pytest.mark.browser, needs_chromium]


def test_operator_journey_in_a_browser(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import Dialog, expect, sync_playwright

    dialogs: list[str] = []
    js_errors: list[str] = []
    csp_violations: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    with sync_playwright() as p:
        browser = launch(p)
        try:
            ctx = browser.new_context(locale="zh-CN", accept_downloads=True, viewport={"width": 1366, "height": 900})
            page = ctx.new_page()
            page.set_default_timeout(15_000)
            page.on("dialog", on_dialog)
            page.on("pageerror", lambda err: js_errors.append(str(err)))
            page.on("console", lambda msg: csp_violations.append(msg.text)
                    if "Content Security Policy" in msg.text else None)

            # log in (Chinese by default), then switch the console to English
            page.goto(f"{server.url}/communities")
            expect(page).to_have_url(re.compile(r"/login\?next=/communities"))
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", server.admin_password)
            page.click("form[action='/login'] button")
            expect(page).to_have_url(re.compile(r"/communities$"))
            expect(page.locator("nav.main-nav")).to_contain_text("社群")
            page.click("text=English")
            expect(page.locator("nav.main-nav")).to_contain_text("Communities")

            # a community with five-part rules
            page.click("text=New community")
            page.fill("input[name=name]", "Tax Club")
            page.fill("textarea[name='rules.name_card']", "城市-行业-姓名")
            page.fill("textarea[name='rules.offers']", "每日早报、周四直播课")
            page.fill("textarea[name='rules.forbidden']", "广告、外链")
            page.fill("textarea[name='rules.penalties']", "第二次移出")
            expect(page.locator("#phone-preview")).to_contain_text("【本群提供】每日早报", timeout=5_000)
            page.click("button:has-text('Create community')")
            expect(page).to_have_url(re.compile(r"/communities/\d+$"))
            expect(page.locator("#flash")).to_contain_text("Community created.")
            expect(page.locator(".phone-screen")).to_contain_text("【违规处理】第二次移出")

            # a channel code targeting it
            page.click("text=New channel code")
            page.fill("input[name=name]", "Article QR")
            page.fill("textarea[name=tags]", "渠道:公众号")
            page.click("button:has-text('Create channel code')")
            expect(page).to_have_url(re.compile(r"/codes/\d+$"))
            expect(page.locator(".facts")).to_contain_text("渠道:公众号")
            assert page.eval_on_selector("img.qr", "img => img.complete && img.naturalWidth > 0")
            with page.expect_download() as dl:
                page.click("text=Download PNG")
            png = Path(dl.value.path()).read_bytes()
            assert png.startswith(b"\x89PNG\r\n\x1a\n")
            svg = page.request.get(page.url + "/qr.svg?download=1")
            assert svg.ok and svg.headers["content-type"].startswith("image/svg+xml")

            # the sandbox: a member whose nickname is a script tag scans the code
            page.click("nav.main-nav >> text=Sandbox")
            page.fill("input[name=nickname]", XSS)
            page.click("button:has-text('Create member')")
            expect(page).to_have_url(re.compile(r"/sandbox\?member=\d+$"))
            expect(page.locator(".member-head .nick")).to_have_text(XSS)
            page.click("form.scan-form button")
            expect(page.locator("#member-panel")).to_contain_text("Tax Club 1")
            # the welcome is delivered by a worker thread; the feed polls until it shows up
            feed = page.locator("#feed")
            expect(feed).to_contain_text("【本群提供】每日早报、周四直播课", timeout=30_000)
            expect(feed).to_contain_text(f"@{XSS}")
            expect(page.locator("#outbox")).to_contain_text("Sent", timeout=10_000)

            # the contact's page: the join on the timeline, the code's tag, the nickname as text
            page.click("#member-panel .member-head a")
            expect(page).to_have_url(re.compile(r"/contacts/\d+$"))
            timeline = page.locator("ol.timeline")
            expect(timeline).to_contain_text("Scanned the channel code Article QR")
            expect(timeline).to_contain_text("Joined Tax Club 1 through the channel code Article QR")
            expect(timeline).to_contain_text("Welcome message sent in Tax Club 1", timeout=10_000)
            expect(page.locator("#tags")).to_contain_text("渠道:公众号")
            expect(page.locator("h1 .nick")).to_have_text(XSS)
            expect(page.get_by_text(XSS, exact=True).first).to_be_visible()
            page.screenshot(path=str(tmp_path / "contact.png"), full_page=True)

            # the member becomes the community's KOL, found by name in the roles form (no id to copy)
            page.goto(f"{server.url}/communities")
            page.click("text=Tax Club")
            page.fill("#roles input[name=q]", "script")
            page.locator("#role-pick input[type=radio]").first.wait_for()
            page.select_option("#roles select[name=role]", "kol")
            page.click("#roles button:has-text('Add role')")
            expect(page.locator("#roles table")).to_contain_text(XSS)

            # a domain error on an HTMX form shows inline, in words (the machine code only as data), and keeps what
            # was typed
            page.goto(f"{server.url}/communities/new")
            page.fill("input[name=name]", "Tax Club")
            page.click("button:has-text('Create community')")
            expect(page.locator("#flash .alert.error")).to_contain_text("A community named “Tax Club” already exists.")
            expect(page.locator("#flash .alert.error")).not_to_contain_text("community_name_taken")
            expect(page.locator("input[name=name]")).to_have_value("Tax Club")

            # under the Content-Security-Policy (scripts from /static only) the chart still draws and the
            # calendar's filter still submits itself (console.js, no inline handler)
            page.goto(f"{server.url}/")
            expect(page.locator("#dash-members svg")).to_be_visible()
            page.goto(f"{server.url}/calendar")
            page.select_option("select[name=community_id]", label="Tax Club")
            expect(page).to_have_url(re.compile(r"community_id=\d+"))
        finally:
            browser.close()
    assert dialogs == [], f"a script ran: {dialogs}"
    assert js_errors == []
    assert csp_violations == [], csp_violations
