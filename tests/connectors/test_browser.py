"""The Connectors pages in a real Chromium against a real `siyu serve`: at 390 px (a phone) and 1440 px, in 中文
and English, nothing wider than the phone, no English on the 中文 pages, no browser errors — the checks of the
console's walk (tests/console/test_walk.py) on this part of the console."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.browser import Server, clean_env, launch, needs_chromium, siyu_command
from tests.console.test_walk import DESKTOP, PHONE, English, Walk


@pytest.mark.browser
@needs_chromium
def test_connector_pages_on_a_phone_and_a_desktop(server: Server, db_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    added = subprocess.run([*siyu_command(), "connector", "add", "webhook", "telegram-bridge-of-the-shop",
                            "--data", str(server.data), "--outbound-url",
                            "http://127.0.0.1:9/a/rather/long/path/for/the/shop/bridge?token=abc"],
                           env=clean_env(db_url), capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    walk = Walk(English.from_catalogs(), shots=tmp_path)
    paths = ["/connectors", "/connectors/telegram-bridge-of-the-shop", "/connectors/new/webhook"]
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_context(locale="zh-CN", viewport=DESKTOP).new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda err: walk.console.append(f"{page.url}: {err}"))
            page.on("console", lambda msg: walk.console.append(f"{page.url}: {msg.text}")
                    if msg.type == "error" else None)
            page.goto(f"{server.url}/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", server.admin_password)
            page.click("form[action='/login'] button")
            page.wait_for_url(re.compile(r"/$"))
            for locale in ("zh_CN", "en"):
                page.goto(f"{server.url}/lang/{locale}?next=/")
                for viewport in (DESKTOP, PHONE):
                    page.set_viewport_size(viewport)
                    for path in paths:
                        walk.visit(page, server.url + path, f"{locale} {viewport['width']}px {path}",
                                   phone=viewport is PHONE, zh=locale == "zh_CN")
            # the Test button on a phone: the result is said in words at the top of the page
            page.goto(f"{server.url}/lang/zh_CN?next=/connectors/telegram-bridge-of-the-shop")
            page.click("#health form[action$='/test'] button")
            page.wait_for_selector("#flash .alert")
            assert "测试失败" in page.inner_text("#flash")
            page.screenshot(path=str(tmp_path / "phone-connector.png"), full_page=True)
        finally:
            browser.close()
    assert walk.problems == [], "\n".join(walk.problems)
    assert walk.console == [], "\n".join(walk.console)
