"""Moderation over REST and in the console: permissions, machine codes for bad input, audit, undo, escaping."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import select

from siyu.models import AuditEntry
from siyu.runtime import Runtime
from tests.console.conftest import Console
from tests.moderation.world import make_world

XSS = "<script>alert(1)</script>"


def test_word_lists_exemptions_rules_and_undo_over_rest(rt: Runtime, clock: Any, api: Any) -> None:
    client = api("operator")
    r = client.post("/api/v1/moderation/word-lists", json={"name": "广告", "words": "加微信\n代开发票\n加微信"})
    assert r.status_code == 201, r.text
    wl = r.json()
    assert wl["word_count"] == 2
    assert client.post("/api/v1/moderation/word-lists", json={"name": "广告"}).json()["code"] == "word_list_name_taken"
    bad = client.post("/api/v1/moderation/word-lists", json={"name": "x", "severity": "shoot"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    r = client.post(f"/api/v1/moderation/word-lists/{wl['id']}/words",
                    json={"text": "\n".join(f"词{i}" for i in range(5000)) + "\n加微信"})
    assert r.status_code == 200 and r.json()["word_count"] == 5002
    assert client.get(f"/api/v1/moderation/word-lists/{wl['id']}").json()["words"][:2] == ["加微信", "代开发票"]
    r = client.post("/api/v1/moderation/check", json={"text": "加 微 信，看 www.x.com"})
    assert [w["word"] for w in r.json()["words"]] == ["加微信"] and r.json()["links"][0]["what"] == "link"
    assert client.get("/api/v1/moderation/word-lists/999").json()["code"] == "word_list_not_found"

    w = make_world(rt, clock)
    w.member("路人")
    w.member("伙伴")
    r = client.post("/api/v1/moderation/exemptions", json={"contact_id": w.contacts["伙伴"], "note": "合作"})
    assert r.status_code == 201
    assert client.post("/api/v1/moderation/exemptions",
                       json={"contact_id": w.contacts["伙伴"]}).json()["code"] == "already_exempt"
    assert client.post("/api/v1/moderation/exemptions", json={"contact_id": 9999}).status_code == 404

    r = client.put("/api/v1/moderation/rules", json={"ladder": ["remove", "blacklist"], "flood_messages": 5})
    assert r.status_code == 200 and client.get("/api/v1/moderation/rules").json()["flood_messages"] == 5
    assert client.put("/api/v1/moderation/rules", json={"warn_text": "{oops}"}).status_code == 422

    w.post("伙伴", "加微信聊")
    w.post("路人", "加微信聊")
    decisions = client.get("/api/v1/moderation/decisions").json()["items"]
    assert [(d["display_name"], d["decision"], d["rule"]) for d in decisions] == [("路人", "remove", "word")]
    r = client.post(f"/api/v1/moderation/decisions/{decisions[0]['id']}/undo")
    assert r.status_code == 200 and r.json()["status"] == "undone" and r.json()["undone_by"].startswith("token:")
    again = client.post(f"/api/v1/moderation/decisions/{decisions[0]['id']}/undo")
    assert again.status_code == 409 and again.json()["code"] == "already_undone"

    viewer = api("viewer")
    assert viewer.get("/api/v1/moderation/decisions").status_code == 200
    assert viewer.post("/api/v1/moderation/word-lists", json={"name": "y"}).json()["code"] == "forbidden"
    with rt.tx() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"moderation.word_list.create", "moderation.word_list.upload", "moderation.exemption.add",
            "moderation.rules", "moderation.undo"} <= actions


def test_moderation_console_lists_decisions_escaped_and_undoes(rt: Runtime, clock: Any, console: Any) -> None:
    w = make_world(rt, clock)
    w.member(XSS)
    w.post(XSS, f"{XSS} https://evil.example.com")
    c: Console = console("operator")
    page = c.get("/moderation")
    assert page.status_code == 200
    assert XSS not in page.text and "&lt;script&gt;" in page.text
    undo = [line for line in page.text.split('"') if line.startswith("/moderation/decisions/")]
    assert undo, "no undo button"
    r = c.post(undo[0])
    assert r.status_code == 303
    assert w.decisions() == [("link", "warn", "undone")]
    # word lists through the forms
    r = c.post("/moderation/word-lists", {"name": "投诉词", "purpose": "complaint", "words": "投诉\n退款"})
    assert r.status_code == 303
    list_url = r.headers["location"]
    r = c.client.post(f"{list_url}/words", data={"csrf_token": c.csrf, "mode": "append", "text": "骗子"},
                      files={"file": ("words.txt", "差评\n<b>坏</b>\n".encode(), "text/plain")},
                      headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    detail = c.get(list_url)
    assert "差评" in detail.text and "骗子" in detail.text and "&lt;b&gt;坏&lt;/b&gt;" in detail.text
    r = c.post("/moderation/rules", {"enabled": "on", "links": "on", "flood_messages": "6", "ladder": "warn remove"})
    assert r.status_code == 303
    assert c.post("/moderation/rules", {"flood_messages": "1"}).status_code == 422
    assert c.post("/moderation/exemptions", {"contact_id": str(w.contacts[XSS]), "note": "ok"}).status_code == 303
    assert "&lt;script&gt;" in c.get("/moderation").text
    en = c.get("/moderation", headers={"Accept-Language": "en"})
    assert "Decisions" in en.text or "处理记录" in en.text


def test_decisions_page_with_a_cursor_over_rest_and_in_the_console(rt: Runtime, clock: Any, api: Any,
                                                                    console: Any, monkeypatch: Any) -> None:
    w = make_world(rt, clock)
    for name in ("张三", "李四", "赵六"):
        w.member(name)
        w.post(name, "看 https://spam.example.com")
    client = api("viewer")
    first = client.get("/api/v1/moderation/decisions", params={"limit": 2}).json()
    rest = client.get("/api/v1/moderation/decisions", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    names = [d["display_name"] for d in first["items"] + rest["items"]]
    assert names == ["赵六", "李四", "张三"] and rest["next_cursor"] is None

    from siyu.console.views import moderation as views

    monkeypatch.setattr(views, "PAGE", 2)
    c: Console = console("viewer")
    page = c.get("/moderation")
    assert '<span class="badge">3</span>' in page.text and ">赵六</a>" in page.text and ">张三</a>" not in page.text
    link = re.search(r'href="(/moderation\?cursor=[^"#]+)', page.text)
    assert link and "First page" not in page.text and "第一页" not in page.text
    older = c.get(html.unescape(link.group(1)))
    assert ">张三</a>" in older.text and ">赵六</a>" not in older.text
    assert "第一页" in older.text and "?cursor=" not in older.text  # the last page: back to the first, no next
    assert c.get("/moderation", params={"cursor": "x" * 401}).status_code == 422
