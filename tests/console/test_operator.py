"""Issue 8 §2 in the console: what an operator of a WeCom SCRM expects — contact filters, bulk tag / untag, the .xlsx
export and follow-up notes; a group's member trend, joins and leaves per day, edit and close, members paged; a
channel code's scans → joins per day and the fill of its target groups; the dashboard's figures, for operators and
for a sales user (their own contacts only). Every number is asserted against `operator_world`, in both languages.
"""

from __future__ import annotations

import io
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from siyu.app import create_app
from siyu.auth import service as auth
from siyu.communities import service as communities
from siyu.contacts import identities
from siyu.contacts import service as contacts
from siyu.kit import i18n
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from tests.browser import launch, needs_chromium
from tests.console import operator_world
from tests.console.conftest import PASSWORD, Console
from tests.console.operator_world import NOW, World


@pytest.fixture
def world(rt: Runtime) -> World:
    return operator_world.build(rt)


def kpi(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*><span class="n[^"]*">([^<]*)</span>', html)
    assert m, f"no figure {element_id}"
    return m.group(1)


def chart(html: str, element_id: str) -> dict[str, Any]:
    m = re.search(rf'<script type="application/json" id="{element_id}-data">(.*?)</script>', html, re.S)
    assert m, f"no chart {element_id}"
    return dict(json.loads(m.group(1)))


def series(data: dict[str, Any]) -> dict[str, list[int]]:
    return {s["name"]: s["data"] for s in data["series"]}


def rows(html: str) -> list[str]:
    """The contacts a list page shows, by name, in order."""
    return re.findall(r'<a href="/contacts/\d+" class="nick">([^<]*)</a>', html)


# -- contacts -------------------------------------------------------------------------------------------------


def test_contact_filters_in_the_console(console: Callable[[str], Console], world: World) -> None:
    c = console("operator")
    w = world
    page = c.get(f"/contacts?community_id={w.community_a}&activity=within:1")
    assert page.status_code == 200
    assert rows(page.text) == ["马甲", "张三"]
    assert "显示 2 个，共 2 个" in page.text                            # the total is the filtered list's
    assert f'<option value="{w.community_a}" selected>' in page.text    # the filter stays chosen
    assert '<option value="within:1" selected>' in page.text
    assert rows(c.get(f"/contacts?code_id={w.code_b}").text) == ["钱七", "王五"]
    assert rows(c.get(f"/contacts?group_id={w.a1}&owner={w.xiao}").text) == ["张三"]
    assert rows(c.get("/contacts?owner=none&activity=silent:30").text) == ["孙八", "钱七"]
    assert rows(c.get(f"/contacts?tag_id={w.tax_tag}").text) == ["张三"]
    # a bookmark with values that are no choices lists everyone rather than failing
    assert len(rows(c.get("/contacts?activity=soon&group_id=abc&owner=x").text)) == 7
    # the pager and the export keep the filters
    html = c.get(f"/contacts?community_id={w.community_a}").text
    assert f'href="/contacts/export.xlsx?community_id={w.community_a}"' in html
    last = c.get("/contacts?activity=within:7").text
    assert "显示 3 个，共 3 个" in last and "最近活跃" in last


def test_sales_filters_show_their_own_contacts_and_no_setup(rt: Runtime, world: World) -> None:
    sales = Console(TestClient(create_app(runtime=rt)))
    assert sales.login("xiao").status_code == 303
    page = sales.get("/contacts").text
    assert rows(page) == ["赵六", "张三"]
    assert 'name="community_id"' not in page and 'name="code_id"' not in page and 'name="owner"' not in page
    assert 'action="/contacts/bulk"' not in page                        # sales do not bulk-tag
    assert rows(sales.get("/contacts?activity=within:1").text) == ["张三"]


def test_bulk_tag_and_untag_in_the_console(console: Callable[[str], Console], world: World,
                                           rt: Runtime) -> None:
    c = console("operator")
    page = c.get("/contacts").text
    assert 'form="bulk"' in page and 'data-check-all="bulk"' in page
    back = f"/contacts?community_id={world.community_a}"
    picked = [str(world.c["张三"]), str(world.c["孙八"])]
    r = c.post("/contacts/bulk", {"contact_id": picked, "new_tag": "活动：双11", "op": "tag", "next": back})
    assert r.status_code == 303 and r.headers["location"] == back
    after = c.get(back).text
    assert "已为 2 位联系人打上标签。" in after
    assert after.count('<span class="tag">活动:双11</span>') == 2
    with rt.read() as s:
        tag_id = next(t.id for g, t in contacts.all_tags(s, WS) if g.name == "活动")
    r = c.post("/contacts/bulk", {"contact_id": [*picked, str(world.c["赵六"])], "tag_id": str(tag_id),
                                  "op": "untag", "next": back})
    assert r.status_code == 303
    assert "已为 2 位联系人移除标签。" in c.get(back).text
    # an existing tag picked from the list
    r = c.post("/contacts/bulk", {"contact_id": [str(world.c["赵六"])], "tag_id": str(world.tax_tag), "op": "tag"})
    assert r.status_code == 303
    assert rows(c.get(f"/contacts?tag_id={world.tax_tag}").text) == ["赵六", "张三"]
    # nothing ticked, no tag, a malformed tag: a clear message, in Chinese
    none = c.post("/contacts/bulk", {"new_tag": "活动:年会", "op": "tag"})
    assert none.status_code == 422 and "请先勾选至少一位联系人。" in none.text
    notag = c.post("/contacts/bulk", {"contact_id": picked, "op": "tag"})
    assert notag.status_code == 422 and "请选择一个标签，或输入新标签。" in notag.text
    bad = c.post("/contacts/bulk", {"contact_id": picked, "new_tag": "没有冒号", "op": "tag"})
    assert bad.status_code == 422 and "标签组和标签名各须 1 到 30 个字。" in bad.text


def test_export_xlsx_in_the_readers_language(console: Callable[[str], Console], world: World,
                                             rt: Runtime) -> None:
    with rt.tx() as s:   # a nickname that would be a formula in Excel if written as one
        cid, _ = identities.identify(s, WS, "sandbox", "sbx-evil", now=NOW, display_name='=HYPERLINK("http://x","点我")')
    c = console("operator")
    r = c.get(f"/contacts/export.xlsx?community_id={world.community_a}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert table[0] == ["联系人 ID", "名称", "身份", "标签", "当前所在群", "负责人", "最近活跃", "首次出现", "黑名单"]
    assert [row[1] for row in table[1:]] == ["马甲", "孙八", "张三"]
    zhang = table[3]
    assert zhang[0] == world.c["张三"] and zhang[2] == "sandbox:sbx-张三"
    assert zhang[3] == "兴趣:税务; 渠道:公众号" and zhang[4] == "会计圈 1 群" and zhang[5] == "xiao"
    assert zhang[6].strftime("%Y-%m-%d %H:%M") == "2026-11-02 09:20"     # local time of the latest message
    assert zhang[7].strftime("%Y-%m-%d") == "2026-10-30"

    c.client.cookies.set("siyu_lang", "en")
    everyone = load_workbook(io.BytesIO(c.get("/contacts/export.xlsx").content)).active
    assert everyone is not None
    cells = [[cell for cell in row] for row in everyone.iter_rows()]
    assert [x.value for x in cells[0]] == ["Contact ID", "Name", "Identities", "Tags", "Groups now", "Assigned to",
                                           "Last active", "First seen", "On the blacklist"]
    assert len(cells) == 1 + 8
    evil = next(row for row in cells[1:] if row[0].value == cid)
    assert evil[1].value == '=HYPERLINK("http://x","点我")' and evil[1].data_type == "s"


def test_sales_export_only_their_own(rt: Runtime, world: World) -> None:
    sales = Console(TestClient(create_app(runtime=rt)))
    assert sales.login("xiao").status_code == 303
    sheet = load_workbook(io.BytesIO(sales.get("/contacts/export.xlsx").content)).active
    assert sheet is not None
    assert [row[1] for row in sheet.iter_rows(values_only=True)][1:] == ["赵六", "张三"]


def test_follow_up_notes_on_a_contact(console: Callable[[str], Console], world: World, rt: Runtime) -> None:
    c = console("operator")
    zhang = world.c["张三"]
    r = c.post(f"/contacts/{zhang}/notes", {"text": "想了解年度汇算<b>加急</b>，周三回电"})
    assert r.status_code == 303 and r.headers["location"] == f"/contacts/{zhang}#notes"
    page = c.get(f"/contacts/{zhang}").text
    assert "跟进记录" in page and "operator-user" in page and "2026-11-02 12:00" in page
    assert "想了解年度汇算&lt;b&gt;加急&lt;/b&gt;，周三回电" in page          # escaped, never markup
    empty = c.post(f"/contacts/{zhang}/notes", {"text": "  "})
    assert empty.status_code == 422 and "请先填写跟进内容。" in empty.text

    sales = Console(TestClient(create_app(runtime=rt)))
    assert sales.login("xiao").status_code == 303
    assert 'action="/contacts/' + str(zhang) + '/notes"' in sales.get(f"/contacts/{zhang}").text
    assert sales.post(f"/contacts/{zhang}/notes", {"text": "已报价"}).status_code == 303
    assert sales.post(f"/contacts/{world.c['李四']}/notes", {"text": "x"}).status_code == 404
    assert "已报价" in sales.get(f"/contacts/{zhang}").text

    with rt.tx() as s:
        auth.create_user(s, WS, "kan", PASSWORD, "viewer")
    viewer = Console(TestClient(create_app(runtime=rt)))
    assert viewer.login("kan").status_code == 303
    assert f'action="/contacts/{zhang}/notes"' not in viewer.get(f"/contacts/{zhang}").text
    assert viewer.post(f"/contacts/{zhang}/notes", {"text": "x"}).status_code == 403


# -- groups ---------------------------------------------------------------------------------------------------


def test_group_page_trend_joins_and_leaves(console: Callable[[str], Console], world: World) -> None:
    c = console("operator")
    html = c.get(f"/groups/{world.a1}?days=7").text
    flow = series(chart(html, "group-flow"))
    trend = series(chart(html, "group-trend"))
    assert chart(html, "group-flow")["x"] == ["10-27", "10-28", "10-29", "10-30", "10-31", "11-01", "11-02"]
    # 张三 and 李四 joined on 10-30, 李四 left on 11-01, 孙八 joined today (马甲 is a vest account: not counted)
    assert flow == {"入群数": [0, 0, 0, 2, 0, 0, 1], "退群数": [0, 0, 0, 0, 0, 1, 0]}
    assert trend == {"成员": [0, 0, 0, 2, 2, 1, 2]}
    assert kpi(html, "group-occupancy") == "3 / 5"                    # everyone counts against capacity
    assert "+3" in html and "−1" in html
    long = c.get(f"/groups/{world.a1}").text                         # 30 days by default
    assert len(chart(long, "group-trend")["x"]) == 30

    listing = c.get("/groups").text
    row = re.search(r'会计圈 1 群</a></td>.*?</tr>', listing, re.S)
    assert row and re.findall(r'<td class="num"[^>]*>(\d+)</td>', row.group(0)) == ["3", "1"]


def test_group_edit_close_and_reopen_in_the_console(console: Callable[[str], Console], world: World) -> None:
    c = console("operator")
    page = c.get(f"/groups/{world.a1}").text
    assert f'action="/groups/{world.a1}/edit"' in page and f'action="/groups/{world.a1}/close"' in page
    r = c.post(f"/groups/{world.a1}/edit", {"name": "会计圈 · 一群", "owner": "wang", "capacity": "3"})
    assert r.status_code == 303
    page = c.get(f"/groups/{world.a1}").text
    assert "会计圈 · 一群" in page and "群信息已保存。" in page and "b-full" in page   # 3 of 3: full at once
    bad = c.post(f"/groups/{world.a1}/edit", {"name": "x", "capacity": "1"})
    assert bad.status_code == 422
    assert c.post(f"/groups/{world.a1}/close").status_code == 303
    page = c.get(f"/groups/{world.a1}").text
    assert "这个群已关闭" in page and f'action="/groups/{world.a1}/reopen"' in page
    assert c.post(f"/groups/{world.a1}/reopen").status_code == 303
    assert "群已重新启用。" in c.get(f"/groups/{world.a1}").text


def test_group_members_are_paged(console: Callable[[str], Console], world: World, rt: Runtime) -> None:
    with rt.tx() as s:
        g = communities.get_group(s, WS, world.a2)
        for i in range(53):
            cid, _ = identities.identify(s, WS, "sandbox", f"bulk-{i}", now=NOW, display_name=f"成员{i:02d}")
            communities.join(s, WS, g, cid, now=NOW, scene="invite")
    c = console("operator")
    first = c.get(f"/groups/{world.a2}").text
    assert "显示 50 个，共 53 个" in first
    m = re.search(r'href="(/groups/\d+\?days=30&cursor=[^"#]+)#members"', first)
    assert m
    second = c.get(m.group(1)).text

    def members(html: str) -> list[str]:
        section = html[html.index('id="members"'):html.index("</section>", html.index('id="members"'))]
        return re.findall(r'class="nick">([^<]*)</a>', section)

    assert len(members(first)) == 50 and members(first)[0] == "成员52"   # the latest to join first
    assert members(second) == ["成员02", "成员01", "成员00"]


# -- channel codes ----------------------------------------------------------------------------------------------


def test_code_page_scans_joins_and_fill(console: Callable[[str], Console], world: World) -> None:
    c = console("operator")
    html = c.get(f"/codes/{world.code_a}?days=7").text
    daily = series(chart(html, "code-daily"))
    assert daily == {"扫码次数": [0, 0, 0, 2, 0, 0, 1], "入群数": [0, 0, 0, 2, 0, 0, 1]}
    assert kpi(html, "code-scans") == "3"
    assert "100%" in html                                             # every scan joined a group
    fill = re.search(r'id="fill">(.*?)</section>', html, re.S)
    assert fill
    assert re.findall(r'(会计圈 \d 群)</a>.*?(\d+) / (\d+)</span>', fill.group(1), re.S) == [
        ("会计圈 1 群", "3", "5"), ("会计圈 2 群", "0", "200")]
    assert "开放中的群还能再进 202 人。" in fill.group(1)
    listing = c.get("/codes").text
    row = re.search(r"公众号文章</a></td>.*?</tr>", listing, re.S)
    assert row and re.findall(r'<td class="num"[^>]*>(\d+)</td>', row.group(0)) == ["3", "3"]


# -- dashboard ------------------------------------------------------------------------------------------------


def test_dashboard_figures_for_an_operator(console: Callable[[str], Console], world: World) -> None:
    html = console("operator").get("/").text
    figures = {k: kpi(html, k) for k in ("kpi-new", "kpi-lost", "kpi-active", "kpi-messages", "kpi-faq",
                                         "kpi-hit-rate", "kpi-moderation", "open-tasks", "open-alerts",
                                         "kpi-members")}
    assert figures == {"kpi-new": "+1", "kpi-lost": "0", "kpi-active": "1", "kpi-messages": "2", "kpi-faq": "1",
                       "kpi-hit-rate": "50%", "kpi-moderation": "1", "open-tasks": "2", "open-alerts": "1",
                       "kpi-members": "3"}
    week = re.findall(r'7 天：(\d+)', html)
    assert week == ["3", "1", "2", "3", "1", "2"]     # new, lost, active, messages, FAQ answers, moderation
    assert '<span class="mod-warn">警告 1</span>' in html and '<span class="mod-remove">移出 1</span>' in html
    assert "mod-blacklist" not in html                                 # the undone decision does not count
    members = series(chart(html, "dash-members"))
    assert members["新增成员"][-4:] == [2, 0, 0, 1] and members["流失成员"][-4:] == [0, 0, 1, 0]
    assert members["新增成员"][-11] == 1 and sum(members["新增成员"]) == 4     # 王五, 10 days ago
    activity = series(chart(html, "dash-activity"))
    assert activity["活跃成员"][-4:] == [1, 0, 0, 1] and activity["消息数"][-4:] == [1, 0, 0, 2]
    faq = series(chart(html, "dash-faq"))
    assert faq["自动回答"][-1] == 1 and faq["转人工"][-1] == 1
    assert "Outbox" not in html and "发件箱" not in html              # the engineer's table is not for operators


def test_a_sales_dashboard_counts_only_their_contacts(rt: Runtime, world: World) -> None:
    sales = Console(TestClient(create_app(runtime=rt)))
    assert sales.login("xiao").status_code == 303
    html = sales.get("/").text
    figures = {k: kpi(html, k) for k in ("kpi-new", "kpi-lost", "kpi-active", "kpi-messages", "kpi-faq",
                                         "kpi-hit-rate", "kpi-moderation", "open-tasks", "kpi-members")}
    assert figures == {"kpi-new": "0", "kpi-lost": "0", "kpi-active": "1", "kpi-messages": "2", "kpi-faq": "1",
                       "kpi-hit-rate": "50%", "kpi-moderation": "1", "open-tasks": "1", "kpi-members": "1"}
    assert re.findall(r'7 天：(\d+)', html) == ["1", "0", "1", "2", "1", "1"]
    assert "只统计分配给你的联系人。" in html and 'id="open-alerts"' not in html
    assert series(chart(html, "dash-members"))["新增成员"][-4:] == [1, 0, 0, 0]


def test_admin_sees_the_outbox_states_folded_away(console: Callable[[str], Console], world: World) -> None:
    html = console("admin").get("/").text
    assert "<details" in html and "b-task_open" in html


# -- both languages -------------------------------------------------------------------------------------------


def _operator_msgids() -> list[str]:
    path = i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "operator.po"
    with path.open("rb") as fh:
        return [m.id for m in read_po(fh) if m.id and isinstance(m.id, str)]


def test_no_english_left_on_the_operator_pages_in_chinese(console: Callable[[str], Console],
                                                          world: World) -> None:
    c = console("operator")
    pages = ["/", "/contacts", f"/contacts/{world.c['张三']}", "/groups", f"/groups/{world.a1}", "/codes",
             f"/codes/{world.code_a}"]
    english = [m for m in _operator_msgids() if re.search(r"[A-Za-z]{3}", m) and "%(" not in m]
    for url in pages:
        html = c.get(url).text
        visible = re.sub(r"<script.*?</script>|<[^>]+>", " ", html, flags=re.S)
        leaked = [m for m in english if m in visible]
        assert leaked == [], (url, leaked)
    c.client.cookies.set("siyu_lang", "en")
    html = c.get("/").text
    assert "New members today" in html and "FAQ hit rate, 7 days" in html


# -- a real browser at 390 px and 1440 px -----------------------------------------------------------------------



@pytest.fixture
def live(rt: Runtime, world: World, make_user: Callable[[str, str], str]) -> Iterator[str]:
    """The app with the known world, served by uvicorn in a thread (the test's runtime and frozen clock)."""
    import uvicorn

    make_user("boss", "admin")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=rt), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.browser
@needs_chromium
def test_operator_pages_on_a_phone_and_a_desktop(live: str, world: World) -> None:
    """Dashboard, contacts, a group and a code in both languages at 390 px and 1440 px: nothing wider than the
    screen, every chart drawn (under the CSP: scripts from /static only), no script error."""
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    pages = ["/", "/contacts", f"/contacts/{world.c['张三']}", "/groups", f"/groups/{world.a1}", "/codes",
             f"/codes/{world.code_a}"]
    with sync_playwright() as p:
        browser = launch(p)
        try:
            for lang, width in (("zh_CN", 390), ("en", 390), ("zh_CN", 1440), ("en", 1440)):
                ctx = browser.new_context(viewport={"width": width, "height": 844})
                ctx.add_cookies([{"name": "siyu_lang", "value": lang, "url": live}])
                page = ctx.new_page()
                page.set_default_timeout(15_000)
                page.on("pageerror", lambda err: errors.append(str(err)))
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
                page.goto(f"{live}/login")
                page.fill("input[name=username]", "boss")
                page.fill("input[name=password]", PASSWORD)
                page.locator("form button[type=submit], form button").last.click()
                page.wait_for_url(f"{live}/")
                for url in pages:
                    page.goto(f"{live}{url}")
                    for box in page.locator("[data-chart]").all():
                        expect(box.locator("svg")).to_be_visible()
                    wide = page.evaluate("document.documentElement.scrollWidth")
                    assert wide <= width, (lang, width, url, wide)
                    overflow = page.evaluate("""() => [...document.querySelectorAll('main *')]
                        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                                     && getComputedStyle(e).position !== 'fixed'
                                     && !e.closest('.feed, .chart'))
                        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 30))
                        """)
                    assert overflow == [], (lang, width, url, overflow)
                page.goto(f"{live}/")
                expect(page.locator("#kpi-new .n")).to_have_text("+1")
                expect(page.locator("#kpi-hit-rate .n")).to_have_text("50%")
                page.goto(f"{live}/contacts")
                page.locator("input[data-check-all]").check()
                expect(page.locator("[data-selected-count]")).to_have_text("7")
                ctx.close()
        finally:
            browser.close()
    assert errors == []
