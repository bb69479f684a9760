"""Issue 8 §2, contacts over the API: the list's filters (tag, channel code, community, group, owner, last active),
bulk tag / untag of a selection (all or nothing), and follow-up notes (who, when, what; sales on their own)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.app import create_app
from siyu.models import AuditEntry, ContactNote, ContactTag
from siyu.runtime import Runtime
from tests.console import operator_world
from tests.console.conftest import Console
from tests.console.operator_world import World


@pytest.fixture
def world(rt: Runtime) -> World:
    return operator_world.build(rt)


def _names(w: World, body: dict[str, Any]) -> list[str]:
    by_id = {v: k for k, v in w.c.items()}
    assert body["next_cursor"] is None
    return [by_id[item["id"]] for item in body["items"]]


def test_each_filter_and_their_combination(api: Any, world: World) -> None:
    c = api("operator")

    def listed(query: str) -> list[str]:
        r = c.get(f"/api/v1/contacts?{query}")
        assert r.status_code == 200, r.text
        return _names(world, r.json())

    w = world
    assert listed("") == ["马甲", "孙八", "钱七", "赵六", "李四", "张三", "王五"]  # newest first
    assert listed(f"tag_id={w.tax_tag}") == ["张三"]
    assert listed(f"tag_id={w.channel_tag}") == ["孙八", "李四", "张三"]
    # came in through the code: a group stay it started (李四 has left since) or a staff relationship added
    # with its state (钱七, a WeCom contact-me code)
    assert listed(f"channel_code_id={w.code_a}") == ["孙八", "李四", "张三"]
    assert listed(f"channel_code_id={w.code_b}") == ["钱七", "王五"]
    assert listed(f"community_id={w.community_a}") == ["马甲", "孙八", "张三"]   # in it now
    assert listed(f"group_id={w.b1}") == ["王五"]
    assert listed(f"group_id={w.a2}") == []
    assert listed(f"owner_user_id={w.xiao}") == ["赵六", "张三"]
    assert listed("unassigned=true") == ["马甲", "孙八", "钱七", "王五"]
    # last active: posted (or clicked, filled in a form, paid) in the window; a scan or a join is not activity
    assert listed("active_within_days=1") == ["马甲", "张三"]
    assert listed("active_within_days=7") == ["马甲", "李四", "张三"]
    assert listed("inactive_for_days=7") == ["孙八", "钱七", "赵六", "王五"]
    assert listed("inactive_for_days=30") == ["孙八", "钱七", "赵六"]
    assert listed(f"community_id={w.community_a}&active_within_days=1") == ["马甲", "张三"]
    assert listed(f"channel_code_id={w.code_a}&owner_user_id={w.li}") == ["李四"]
    assert listed("q=张&active_within_days=30") == ["张三"]

    bad = c.get("/api/v1/contacts?active_within_days=0")
    assert bad.status_code == 422
    assert c.get("/api/v1/contacts?community_id=abc").status_code == 422


def test_a_sales_user_filters_only_their_own_contacts(rt: Runtime, world: World) -> None:
    sales = Console(TestClient(create_app(runtime=rt)))
    assert sales.login("xiao").status_code == 303
    mine = sales.client.get("/api/v1/contacts").json()
    assert _names(world, mine) == ["赵六", "张三"]
    assert _names(world, sales.client.get("/api/v1/contacts?active_within_days=1").json()) == ["张三"]
    # another owner's filter finds nothing of theirs: it never widens what sales see
    assert sales.client.get(f"/api/v1/contacts?owner_user_id={world.li}").json()["items"] == []


def test_bulk_tag_and_untag_a_selection(api: Any, world: World, rt: Runtime) -> None:
    c = api("operator")
    picked = [world.c["张三"], world.c["李四"], world.c["王五"]]
    r = c.post("/api/v1/contacts/bulk-tag", json={"contact_ids": picked, "group": "活动", "name": "双11"})
    assert r.status_code == 200, r.text
    tag_id = r.json()["tag_id"]
    assert sorted(r.json()["changed"]) == sorted(picked)
    assert all("活动:双11" in c.get(f"/api/v1/contacts/{i}").json()["tags"] for i in picked)
    assert "活动:双11" not in c.get(f"/api/v1/contacts/{world.c['赵六']}").json()["tags"]
    # again: nobody changes
    again = c.post("/api/v1/contacts/bulk-tag", json={"contact_ids": picked, "group": "活动", "name": "双11"})
    assert again.json()["changed"] == []

    untag = c.post("/api/v1/contacts/bulk-untag", json={"contact_ids": [*picked[:2], world.c["赵六"]],
                                                        "tag_id": tag_id})
    assert untag.status_code == 200 and sorted(untag.json()["changed"]) == sorted(picked[:2])
    assert [x["id"] for x in c.get(f"/api/v1/contacts?tag_id={tag_id}").json()["items"]] == [world.c["王五"]]

    # all or nothing: one unknown contact and nobody is tagged
    before = _tag_rows(rt)
    r = c.post("/api/v1/contacts/bulk-tag", json={"contact_ids": [world.c["赵六"], 999_999], "group": "活动",
                                                  "name": "年会"})
    assert r.status_code == 404 and r.json()["code"] == "contact_not_found"
    assert r.json()["detail"]["contact_ids"] == [999_999]
    assert _tag_rows(rt) == before
    assert c.post("/api/v1/contacts/bulk-tag", json={"contact_ids": list(range(1, 202)), "group": "a",
                                                     "name": "b"}).status_code == 422
    assert api("viewer").post("/api/v1/contacts/bulk-tag", json={"contact_ids": picked, "group": "a",
                                                                 "name": "b"}).status_code == 403
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "contact.bulk_tag")) == 2


def _tag_rows(rt: Runtime) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(ContactTag)) or 0)


def test_notes_who_when_what(api: Any, world: World, rt: Runtime) -> None:
    zhang, li = world.c["张三"], world.c["李四"]
    op = api("operator")
    r = op.post(f"/api/v1/contacts/{zhang}/notes", json={"text": "  想了解年度汇算，周三回电  "})
    assert r.status_code == 201, r.text
    assert r.json()["text"] == "想了解年度汇算，周三回电" and r.json()["author"] == "test-operator"
    assert r.json()["created_at"].startswith("2026-11-02T04:00")
    assert op.post(f"/api/v1/contacts/{zhang}/notes", json={"text": ""}).status_code == 422
    assert op.post(f"/api/v1/contacts/{zhang}/notes", json={"text": "x" * 2001}).status_code == 422
    assert op.post("/api/v1/contacts/999999/notes", json={"text": "x"}).status_code == 404
    assert api("viewer").post(f"/api/v1/contacts/{zhang}/notes", json={"text": "x"}).status_code == 403

    # sales follow up their own contacts, and nobody else's
    sales = Console(TestClient(create_app(runtime=rt)))
    assert sales.login("xiao").status_code == 303
    own = sales.client.post(f"/api/v1/contacts/{zhang}/notes", json={"text": "已加微信，下周报价"},
                            headers={"X-CSRF-Token": sales.csrf})
    assert own.status_code == 201 and own.json()["author"] == "xiao" and own.json()["author_user_id"] == world.xiao
    other = sales.client.post(f"/api/v1/contacts/{li}/notes", json={"text": "x"},
                              headers={"X-CSRF-Token": sales.csrf})
    assert other.status_code == 404
    listed = sales.client.get(f"/api/v1/contacts/{zhang}/notes").json()
    assert [n["text"] for n in listed["items"]] == ["已加微信，下周报价", "想了解年度汇算，周三回电"]
    assert sales.client.get(f"/api/v1/contacts/{li}/notes").status_code == 404


def test_merging_keeps_the_absorbed_contacts_notes(api: Any, world: World, rt: Runtime) -> None:
    op = api("operator")
    zhao, qian = world.c["赵六"], world.c["钱七"]
    assert op.post(f"/api/v1/contacts/{qian}/notes", json={"text": "钱七的备注"}).status_code == 201
    assert op.post(f"/api/v1/contacts/{zhao}/merge", json={"absorb_contact_id": qian}).status_code == 200
    assert [n["text"] for n in op.get(f"/api/v1/contacts/{zhao}/notes").json()["items"]] == ["钱七的备注"]
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(ContactNote).where(ContactNote.contact_id == qian)) == 0
