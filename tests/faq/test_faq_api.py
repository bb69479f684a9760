"""The FAQ over REST and in the console: CRUD, dry run, suggestions sent with one click, escaping."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from siyu.models import AuditEntry
from siyu.runtime import Runtime
from tests.console.conftest import Console
from tests.moderation.world import make_world

XSS = "<script>alert(1)</script>"
TAX_Q = "小规模纳税人季度免税额度是多少"


def test_entries_quick_replies_settings_and_match_over_rest(rt: Runtime, clock: Any, api: Any) -> None:
    client = api("operator")
    r = client.post("/api/v1/faq/entries", json={"question": TAX_Q, "answer": "30万以内免征",
                                                 "variants": ["  ", "季度免税标准"], "keywords": ["免税额度"]})
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["variants"] == ["季度免税标准"] and entry["community_id"] is None
    assert client.post("/api/v1/faq/entries", json={"question": "", "answer": "x"}).status_code == 422
    assert client.post("/api/v1/faq/entries", json={"question": "q", "answer": "a", "community_id": 99}
                       ).json()["code"] == "community_not_found"
    r = client.post("/api/v1/faq/match", json={"text": "小规模的话一个季度多少钱以内可以免税呀"})
    assert r.json()["outcome"] == "reply" and r.json()["entry_id"] == entry["id"]
    assert client.post("/api/v1/faq/match", json={"text": "今天天气不错"}).json()["outcome"] == "none"
    assert client.post("/api/v1/faq/match", json={"text": "x", "group_id": 42}).json()["code"] == "group_not_found"
    r = client.patch(f"/api/v1/faq/entries/{entry['id']}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.post("/api/v1/faq/match", json={"text": TAX_Q}).json()["outcome"] == "none"
    assert client.delete(f"/api/v1/faq/entries/{entry['id']}").status_code == 204
    assert client.get(f"/api/v1/faq/entries/{entry['id']}").json()["code"] == "faq_entry_not_found"

    r = client.post("/api/v1/faq/quick-replies", json={"title": "开票", "text": "请提供抬头和税号"})
    assert r.status_code == 201
    assert client.patch(f"/api/v1/faq/quick-replies/{r.json()['id']}", json={"text": "新的"}).json()["text"] == "新的"
    assert [q["title"] for q in client.get("/api/v1/faq/quick-replies").json()["items"]] == ["开票"]

    bad = client.put("/api/v1/faq/settings", json={"threshold": 0.3, "suggest_threshold": 0.5})
    assert bad.status_code == 422
    assert client.put("/api/v1/faq/settings", json={"rate_per_minute": 1}).json()["rate_per_minute"] == 1
    assert api("viewer").post("/api/v1/faq/entries", json={"question": "q", "answer": "a"}).status_code == 403
    with rt.tx() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"faq.entry.create", "faq.entry.update", "faq.entry.delete", "faq.quick_reply.create",
            "faq.settings"} <= actions


def test_suggestion_sent_from_rest(rt: Runtime, clock: Any, api: Any) -> None:
    client = api("operator")
    client.post("/api/v1/faq/entries", json={"question": TAX_Q, "answer": "30万以内免征"})
    client.put("/api/v1/faq/settings", json={"threshold": 0.95, "suggest_threshold": 0.2})
    w = make_world(rt, clock)
    w.member("会计小王")
    w.post("会计小王", "小规模的话一个季度多少钱以内可以免税呀")
    sug = client.get("/api/v1/faq/suggestions").json()["items"]
    assert len(sug) == 1 and sug[0]["answer"] == "30万以内免征"
    r = client.post(f"/api/v1/faq/suggestions/{sug[0]['event_id']}/send")
    assert r.status_code == 200 and r.json()["action_id"]
    assert "@会计小王 30万以内免征" in w.bot_messages()
    assert client.post(f"/api/v1/faq/suggestions/{sug[0]['event_id']}/send").json()["code"] == "already_answered"
    assert client.post("/api/v1/faq/suggestions/999999/send").json()["code"] == "suggestion_not_found"
    assert client.get("/api/v1/faq/suggestions").json() == {"items": [], "next_cursor": None}
    answered = client.get("/api/v1/faq/suggestions", params={"include_answered": True}).json()["items"]
    assert [(x["event_id"], x["answered"]) for x in answered] == [(sug[0]["event_id"], True)]


def test_faq_console_page_escapes_and_sends_suggestions(rt: Runtime, clock: Any, console: Any) -> None:
    w = make_world(rt, clock)
    c: Console = console("operator")
    r = c.post("/faq/entries", {"question": TAX_Q, "answer": f"答案 {XSS}", "variants": "季度免税标准\n",
                                "keywords": "", "community_id": ""})
    assert r.status_code == 303, r.text
    assert c.post("/faq/settings", {"enabled": "on", "threshold": "0.95", "suggest_threshold": "0.2",
                                    "rate_per_minute": "3"}).status_code == 303
    assert c.post("/faq/quick-replies", {"title": XSS, "text": "你好"}).status_code == 303
    w.member(XSS)
    w.post(XSS, f"小规模的话一个季度多少钱以内可以免税呀 {XSS}")
    page = c.get("/faq")
    assert page.status_code == 200
    assert XSS not in page.text and "&lt;script&gt;" in page.text
    send = [p for p in page.text.split('"') if p.startswith("/faq/suggestions/")]
    assert send, "no send button"
    assert c.post(send[0]).status_code == 303
    assert any(t.startswith(f"@{XSS} 答案") for t in w.bot_messages())
    tried = c.get("/faq", params={"q": "小规模的话一个季度多少钱以内可以免税呀"})
    assert "答案 &lt;script&gt;" in tried.text
    assert c.post("/faq/entries", {"question": "", "answer": ""}).status_code == 422


def _pages(client: Any, url: str, **params: Any) -> list[list[Any]]:
    pages, cursor = [], None
    while True:
        r = client.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        pages.append(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages


def test_lists_page_with_a_cursor(rt: Runtime, clock: Any, api: Any, monkeypatch: Any) -> None:
    client = api("operator")
    ids = [client.post("/api/v1/faq/entries", json={"question": f"问题{i}", "answer": "答"}).json()["id"]
           for i in range(3)]
    pages = _pages(client, "/api/v1/faq/entries", limit=2)
    assert [[e["id"] for e in p] for p in pages] == [ids[:2], ids[2:]]
    assert client.get("/api/v1/faq/entries", params={"cursor": "bogus"}).json()["code"] == "invalid_cursor"

    # suggestions: the answered ones are skipped without short pages, and a long scan stops with a cursor
    client.post("/api/v1/faq/entries", json={"question": TAX_Q, "answer": "30万以内免征"})
    client.put("/api/v1/faq/settings", json={"threshold": 0.95, "suggest_threshold": 0.2})
    w = make_world(rt, clock)
    for name in ("甲", "乙", "丙"):
        w.member(name)
        w.post(name, "小规模的话一个季度多少钱以内可以免税呀")
    newest_first = [x["event_id"] for x in client.get("/api/v1/faq/suggestions").json()["items"]]
    assert len(newest_first) == 3
    assert client.post(f"/api/v1/faq/suggestions/{newest_first[1]}/send").status_code == 200
    open_ones = [newest_first[0], newest_first[2]]
    assert [x["event_id"] for p in _pages(client, "/api/v1/faq/suggestions", limit=1) for x in p] == open_ones
    from siyu.engagement.faq import service

    monkeypatch.setattr(service, "SCAN_BATCH", 1)
    monkeypatch.setattr(service, "SCAN_BATCHES", 1)
    pages = _pages(client, "/api/v1/faq/suggestions", limit=5)
    assert [[x["event_id"] for x in p] for p in pages] == [[newest_first[0]], [], [newest_first[2]]]
