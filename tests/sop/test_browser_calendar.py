"""The calendar's broadcast (tags picked by name), its history and the import preview on a 390 px phone, in a real
browser (Debian's Chromium via Playwright) against a real `siyu serve` process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from siyu import config
from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.contacts import service as contacts
from siyu.engagement.sop import service
from siyu.engagement.sop.schemas import SopItemIn
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from tests.browser import Server, launch, needs_chromium
from tests.conftest import SECRET
from tests.sop.helpers import KNOWLEDGE

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]
WIDTH = 390
WIDE = "() => document.documentElement.scrollWidth"


def _seed(db_url: str, tmp_path: Path) -> None:
    settings = config.Settings(data_dir=tmp_path, database_url=db_url, secret_key=SECRET,  # type: ignore[arg-type]
                               base_url="http://testserver")
    rt = Runtime(settings)
    try:
        now = rt.clock.now()
        with rt.tx() as s:
            c = communities.create(s, WS, CommunityIn(name="会计知识社群"))
            for i, owner in enumerate(("王姐", "李哥"), 1):
                communities.create_group(s, WS, GroupIn(name=f"会计知识 {i} 群", community_id=c.id, owner=owner),
                                         now=now)
            contacts.ensure_tag(s, WS, "意向", "高意向客户")
            for row in KNOWLEDGE:
                service.create_item(s, WS, SopItemIn(community_id=c.id, **row), now=now)  # type: ignore[arg-type]
    finally:
        rt.close()


def test_broadcast_history_and_import_preview_on_a_phone(server: Server, db_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    _seed(db_url, tmp_path / "seed")
    js_errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            ctx = browser.new_context(locale="zh-CN", viewport={"width": WIDTH, "height": 844}, is_mobile=True,
                                      has_touch=True)
            page = ctx.new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda err: js_errors.append(str(err)))
            page.goto(f"{server.url}/login?next=/calendar")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", server.admin_password)
            page.click("form[action='/login'] button")
            expect(page).to_have_url(re.compile(r"/calendar$"))

            # the broadcast form: communities and tags picked by name, on the phone's width
            form = page.locator("#broadcast")
            for card in ("#broadcast", "#sent", "#import"):
                box = page.locator(card).bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 1, card
            form.locator("select[name=community_ids]").select_option(label="会计知识社群")
            form.locator("select[name=tag_ids]").select_option(label="高意向客户")
            form.locator("textarea[name=text]").fill("今晚 8 点直播，记得来")
            form.locator("button.primary").click()
            expect(page.locator("#flash")).to_contain_text("群发已排队")
            expect(page.locator("#sent")).to_contain_text("今晚 8 点直播")

            page.goto(f"{server.url}/calendar/broadcasts")
            expect(page.locator("#sent")).to_contain_text("今晚 8 点直播")
            assert page.evaluate(WIDE) <= WIDTH
            page.locator("#sent a").first.click()
            expect(page.locator("#targets")).to_contain_text("会计知识 2 群")
            expect(page.locator("#targets")).to_contain_text("李哥")
            assert page.evaluate(WIDE) <= WIDTH

            # export, edit one row, import: the preview names the change before anything is stored
            exported = page.request.get(f"{server.url}/calendar/export?format=csv").body().decode("utf-8-sig")
            assert exported.startswith("时间,内容,负责人")
            edited = exported.replace("本周干货：报税要点", "本周干货：汇算清缴", 1)
            upload = tmp_path / "sop.csv"
            upload.write_text(edited, encoding="utf-8")
            page.goto(f"{server.url}/calendar#import")
            page.set_input_files("#import input[type=file]", str(upload))
            page.locator("#import button").click()
            preview = page.locator("#import-preview")
            expect(preview).to_contain_text("修改 1")
            expect(preview).to_contain_text("内容")
            assert page.evaluate(WIDE) <= WIDTH
            preview.locator("button.primary").click()
            expect(page.locator("#flash")).to_contain_text("导入完成：新增 0 条，修改 1 条，4 条不变。")
        finally:
            browser.close()
    assert js_errors == []
