"""The SOP REST API, import / export, content rules (C3 mix, C4 share-to-unlock, C5 reuse chain), the console."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from siyu.engagement.sop import gating, service, tasks
from siyu.kit.clock import FrozenClock
from siyu.models import AuditEntry, Contact, Event, SandboxMessage, ShareLink, SopItem, Unlock
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from siyu.sandbox import service as sandbox
from tests.conftest import SECRET
from tests.console.conftest import Console
from tests.sop.helpers import add_items, make_groups

XSS = "<script>alert(1)</script>"
ITEM = {"title": "每日早报", "text": "早安", "rrule": "FREQ=DAILY", "time_of_day": "08:00"}
FIELDS = ("title", "text", "attachments", "variants", "community_id", "group_id", "owner", "notes", "timing",
          "rrule", "time_of_day", "offset_days", "once_at", "kind", "activity", "gate", "chain", "missed_policy",
          "active")


def test_item_crud_and_validation_errors_have_machine_codes(rt: Runtime, api: Callable[..., Any]) -> None:
    cid, gids = make_groups(rt, 2)
    c = api("operator")
    r = c.post("/api/v1/sop/items", json={**ITEM, "community_id": cid,
                                          "attachments": [{"type": "link", "title": "政策", "url": "https://e.x/a"}]})
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["attachments"][0]["type"] == "link"
    listed = c.get(f"/api/v1/sop/items?community_id={cid}").json()
    assert [i["id"] for i in listed["items"]] == [item["id"]] and listed["next_cursor"] is None
    # Created items are planned for the next 14 days right away.
    occ = c.get("/api/v1/sop/occurrences", params={"community_id": cid}).json()["items"]
    assert len(occ) == 2 * 7 and {o["status"] for o in occ} == {"planned"}

    r = c.patch(f"/api/v1/sop/items/{item['id']}", json={"time_of_day": "07:30"})
    assert r.status_code == 200 and r.json()["time_of_day"] == "07:30"
    occ = c.get("/api/v1/sop/occurrences", params={"community_id": cid}).json()["items"]
    assert len(occ) == 14 and all(":g" in o["key"] for o in occ)
    assert all(o["due_at"].endswith("23:30:00Z") or "T23:30" in o["due_at"] for o in occ)

    bad = [
        ({**ITEM, "community_id": cid, "rrule": "FREQ=SECONDLY"}, 422, "validation_error"),
        ({**ITEM, "community_id": cid, "rrule": "NOT A RULE"}, 422, "validation_error"),
        ({**ITEM, "community_id": cid, "time_of_day": "25:00"}, 422, "validation_error"),
        ({**ITEM}, 422, "validation_error"),  # no target
        ({**ITEM, "community_id": cid, "group_id": gids[0]}, 422, "validation_error"),
        ({**ITEM, "community_id": 999}, 404, "community_not_found"),
        ({**ITEM, "community_id": cid, "attachments": [{"type": "link", "title": "x", "url": "javascript:1"}]},
         422, "validation_error"),
        ({**ITEM, "community_id": cid, "timing": "once"}, 422, "validation_error"),
    ]
    for body, status, code in bad:
        r = c.post("/api/v1/sop/items", json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)

    r = c.put(f"/api/v1/sop/settings/communities/{cid}", json={"daily_cap": 9})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_daily_cap")
    r = c.put(f"/api/v1/sop/settings/communities/{cid}", json={"daily_cap": 0})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_daily_cap")
    r = c.put(f"/api/v1/sop/settings/communities/{cid}", json={"quiet_hours": ["22:00"]})
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")
    r = c.put(f"/api/v1/sop/settings/communities/{cid}", json={"daily_cap": 4, "quiet_hours": ["22:00", "08:00"]})
    assert r.json() == {"daily_cap": 4, "quiet_hours": ["22:00", "08:00"],
                        "inherited": {"daily_cap": True, "quiet_hours": True}}
    r = c.post("/api/v1/sop/broadcasts", json={"text": "hi", "group_ids": [gids[0]]},
               headers={"Idempotency-Key": "bad key with spaces"})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_broadcast_id")
    r = c.get("/api/v1/sop/occurrences", params={"from": "2026-11-02T00:00:00"})
    assert (r.status_code, r.json()["code"]) == (422, "naive_datetime")

    viewer = api("viewer")
    assert viewer.post("/api/v1/sop/items", json={**ITEM, "community_id": cid}).json()["code"] == "forbidden"
    assert c.delete(f"/api/v1/sop/items/{item['id']}").status_code == 403  # the client is the viewer now
    c = api("operator")
    assert c.delete(f"/api/v1/sop/items/{item['id']}").status_code == 204
    assert c.get(f"/api/v1/sop/items/{item['id']}").json()["code"] == "sop_item_not_found"


def test_lists_page_with_a_cursor(rt: Runtime, api: Callable[..., Any]) -> None:
    cid, _gids = make_groups(rt, 2)
    add_items(rt, cid)
    c = api("operator")
    assert c.post("/api/v1/sop/items", json={**ITEM, "community_id": cid}).status_code == 201  # planned now
    for path, params in (("/api/v1/sop/occurrences", {"community_id": cid}), ("/api/v1/sop/items", {}),
                         ("/api/v1/sop/preview", {})):
        whole = c.get(path, params=params).json()
        assert whole["next_cursor"] is None and len(whole["items"]) > 5, path
        seen: list[Any] = []
        cursor = None
        while True:
            page = c.get(path, params={**params, "limit": 5, **({"cursor": cursor} if cursor else {})}).json()
            assert len(page["items"]) <= 5
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == whole["items"], path
    r = c.get("/api/v1/sop/occurrences", params={"cursor": "bm9wZQ"})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_cursor")


def test_broadcast_endpoint_is_idempotent_per_key(rt: Runtime, api: Callable[..., Any]) -> None:
    cid, _gids = make_groups(rt, 3)
    c = api("operator")
    body = {"text": "今晚直播", "community_ids": [cid]}
    r1 = c.post("/api/v1/sop/broadcasts", json=body, headers={"Idempotency-Key": "launch-1"})
    r2 = c.post("/api/v1/sop/broadcasts", json=body, headers={"Idempotency-Key": "launch-1"})
    assert (r1.json()["created"], r2.json()["created"], r2.json()["existing"]) == (3, 0, 3)
    generated = c.post("/api/v1/sop/broadcasts", json=body).json()["broadcast_id"]
    assert generated.startswith("bc-")
    assert c.get("/api/v1/sop/broadcasts/launch-1").json() == {"sent": 3}
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(SandboxMessage)) == 6
        audits = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "sop.broadcast")
                                .order_by(AuditEntry.id)))
        assert [(a.object_id, a.detail["created"]) for a in audits] == [("launch-1", 3), ("launch-1", 0),
                                                                        (generated, 3)]


def test_import_with_bad_rows_stores_nothing_and_names_each_error(rt: Runtime, api: Callable[..., Any]) -> None:
    make_groups(rt, 1, name="知识社群")
    table = [
        ["time", "content", "owner", "notes", "recurrence", "targets", "activity"],
        ["08:00", "早报", "小李", "", "daily", "community:知识社群", "0"],
        ["25:00", "坏时间", "", "", "daily", "community:知识社群", "0"],
        ["20:00", "周二干货", "", "", "weekly:XX", "community:知识社群", "0"],
        ["20:00", "没有这个社群", "", "", "weekly:TU", "community:不存在", "0"],
        ["20:00", "课", "", "", "weekly:TH", "community:知识社群", "maybe"],
    ]
    buf = io.StringIO()
    csv.writer(buf).writerows(table)
    c = api("operator")
    r = c.post("/api/v1/sop/import", files={"file": ("sop.csv", buf.getvalue().encode(), "text/csv")})
    assert r.status_code == 422 and r.json()["code"] == "import_rejected"
    errors = [(e["row"], e["column"]) for e in r.json()["detail"]]
    assert errors == [(3, "time"), (4, "recurrence"), (5, "targets"), (6, "activity")]
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(SopItem)) == 0, "all-or-nothing"

    r = c.post("/api/v1/sop/import?partial=1", files={"file": ("sop.csv", buf.getvalue().encode(), "text/csv")})
    assert r.status_code == 201 and len(r.json()["created"]) == 1 and len(r.json()["errors"]) == 4


def _items(rt: Runtime) -> list[dict[str, Any]]:
    with rt.tx() as s:
        return [{k: v for k, v in service.item_in(i).items() if k in FIELDS}
                for i in s.scalars(select(SopItem).order_by(SopItem.title, SopItem.id))]


def test_export_then_import_reproduces_the_items_csv_and_xlsx(rt: Runtime, api: Callable[..., Any],
                                                             clock: FrozenClock) -> None:
    cid, gids = make_groups(rt, 2, name="知识社群")
    add_items(rt, cid, owner="小李", notes="周会复盘")
    c = api("operator")
    for body in (
        {"title": "入群第3天", "text": "送你资料包", "community_id": cid, "timing": "after_join", "offset_days": 3,
         "time_of_day": "20:00", "kind": "dm"},
        {"title": "建群周年", "text": "一周啦", "group_id": gids[1], "timing": "after_group_created",
         "offset_days": 7, "time_of_day": "10:00", "missed_policy": "skip"},
        {"title": "直播", "text": "今晚直播", "community_id": cid, "timing": "once",
         "once_at": "2026-11-12T20:00:00+08:00", "activity": True,
         "variants": [{"name": "A", "text": "甲"}, {"name": "B", "text": "乙"}],
         "gate": {"mode": "share_to_unlock", "home_group_ids": [gids[0]]},
         "attachments": [{"type": "miniprogram", "title": "报名", "appid": "wx1", "page": "p/i"}]},
    ):
        assert c.post("/api/v1/sop/items", json=body).status_code == 201
    before = _items(rt)
    for fmt in ("csv", "xlsx"):
        exported = c.get(f"/api/v1/sop/export?format={fmt}")
        assert exported.status_code == 200
        if fmt == "xlsx":
            sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
            assert [cell.value for cell in sheet[1]][:6] == ["time", "content", "owner", "notes", "recurrence",
                                                              "targets"]
        with rt.tx() as s:
            for item in s.scalars(select(SopItem)):
                s.delete(item)
        r = c.post("/api/v1/sop/import", files={"file": (f"sop.{fmt}", exported.content, "application/octet-stream")})
        assert r.status_code == 201, r.text
        assert _items(rt) == before, fmt


def test_c3_content_mix_warning(rt: Runtime, api: Callable[..., Any]) -> None:
    knowledge, _ = make_groups(rt, 2)
    add_items(rt, knowledge)  # 3 activity posts out of 11 a week
    traffic, _ = make_groups(rt, 1, name="特价群", type="traffic")
    add_items(rt, traffic, [dict(title="秒杀", text="秒杀", rrule="FREQ=DAILY", time_of_day="18:00", activity=True),
                            dict(title="菜单", text="菜单", rrule="FREQ=WEEKLY;BYDAY=MO", time_of_day="11:00")])
    checks = {c["community_id"]: c for c in api("viewer").get("/api/v1/sop/checks?week=2026-11-02").json()["items"]}
    k, t = checks[knowledge], checks[traffic]
    assert (k["posts"], k["activity_posts"], k["ok"], k["required"]) == (22, 6, False, 0.5)
    assert "needs at least 50%" in k["message"]
    assert (t["posts"], t["activity_posts"], t["ok"], t["required"]) == (8, 7, True, 0.8)


def test_c4_share_to_unlock(rt: Runtime, api: Callable[..., Any], clock: FrozenClock) -> None:
    cid, gids = make_groups(rt, 2)
    home, other = gids
    with rt.tx() as s:
        from siyu.communities import service as communities

        sharer = sandbox.create_member(s, WS, "分享人", now=clock.now())
        friend = sandbox.create_member(s, WS, "好友", now=clock.now())
        sandbox.join(s, WS, sharer, communities.get_group(s, WS, other), now=clock.now())
        sharer_ext, friend_ext = sharer.external_id, friend.external_id
    item_id = add_items(rt, cid, [dict(
        title="独家课件", text="完整课件：三张表看懂税改", rrule="FREQ=DAILY", time_of_day="08:00",
        gate={"mode": "share_to_unlock", "home_group_ids": [home]},
        attachments=[{"type": "link", "title": "课件", "url": "https://example.com/deck"}])])[0]
    tasks.tick(rt)
    with rt.tx() as s:
        texts = {m.group_external_id: m.text for m in s.scalars(select(SandboxMessage).where(
            SandboxMessage.sender == "siyu", SandboxMessage.kind == "post_to_group"))}
        from siyu.models import Group

        ext = {g.id: g.external_id for g in s.scalars(select(Group))}
    assert texts[ext[home]].startswith("完整课件") and "https://example.com/deck" in texts[ext[home]]
    assert "转发解锁" in texts[ext[other]] and "https://example.com/deck" not in texts[ext[other]]

    # The member replies 「解锁」 in the group and gets a personal link by DM.
    with rt.tx() as s:
        m = next(x for x in sandbox.members(s, WS) if x.external_id == sharer_ext)
        from siyu.communities import service as communities

        sandbox.post(s, WS, m, communities.get_group(s, WS, other), "解锁", now=clock.now())
    with rt.tx() as s:
        link = s.scalar(select(ShareLink))
        assert link is not None and link.item_id == item_id
        dm = s.scalar(select(SandboxMessage).where(SandboxMessage.recipient_external_id == sharer_ext,
                                                   SandboxMessage.text.like("%/s/%")))
        assert dm is not None and f"http://testserver/s/{link.token}" in dm.text  # absolute, under base_url
        token, sharer_contact = link.token, link.sharer_contact_id
    c = api("operator")
    r = c.post("/api/v1/sop/share-links", json={"item_id": item_id, "contact_id": sharer_contact})
    assert r.status_code == 201 and r.json()["token"] == token and r.json()["url"].endswith(f"/s/{token}")

    # The sharer opening their own link unlocks nothing; a friend opening it does, once.
    r = c.get(gating.member_url("", SECRET, token, f"sandbox:{sharer_ext}"), follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "https://example.com/deck"
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Unlock)) == 0
        contacts_before = s.scalar(select(func.count()).select_from(Contact))
    # An identity without (or with a wrong) signature is an anonymous click: it unlocks nothing, creates nothing.
    for forged in (f"/s/{token}?u=sandbox:{friend_ext}", f"/s/{token}?u=sandbox:nobody-{token}",
                   f"/s/{token}?u=sandbox:{friend_ext}&sig=" + gating.member_signature("guess", token,
                                                                                        f"sandbox:{friend_ext}")):
        r = c.get(forged, follow_redirects=False)
        assert r.status_code == 302 and r.headers["location"] == "https://example.com/deck"
    with rt.tx() as s:
        assert s.scalar(select(func.count()).select_from(Unlock)) == 0
        assert s.scalar(select(func.count()).select_from(Contact)) == contacts_before
        anonymous = s.scalar(select(func.count()).select_from(Event).where(Event.type == "link.clicked",
                                                                              Event.contact_id.is_(None)))
        assert anonymous == 3
    for _ in range(2):
        r = c.get(gating.member_url("http://testserver", SECRET, token, f"sandbox:{friend_ext}"),
                  follow_redirects=False)
        assert r.status_code == 302
    with rt.tx() as s:
        unlocks = list(s.scalars(select(Unlock)))
        assert [(u.item_id, u.contact_id) for u in unlocks] == [(item_id, sharer_contact)]
        assert s.scalar(select(func.count()).select_from(Event).where(Event.type == "content.unlocked")) == 1
        full = list(s.scalars(select(SandboxMessage).where(SandboxMessage.recipient_external_id == sharer_ext,
                                                           SandboxMessage.text.like("完整课件%"))))
        assert len(full) == 1 and "https://example.com/deck" in full[0].text
        assert s.scalar(select(ShareLink.verified_at)) is not None
    assert c.get("/s/nope", follow_redirects=False).status_code == 404


def test_c5_reuse_chain_is_created_at_offsets(rt: Runtime, api: Callable[..., Any]) -> None:
    cid, _ = make_groups(rt, 1)
    r = api("operator").post("/api/v1/sop/chains", json={
        "series": "税改十讲", "course_at": "2026-11-12T20:00:00+08:00", "community_id": cid,
        "texts": {"course": "第一讲今晚开讲"}})
    assert r.status_code == 201, r.text
    got = [(i["chain"]["step"], i["once_at"], i["activity"]) for i in r.json()]
    assert got == [
        ("preview", "2026-11-09T12:00:00Z", True), ("poster", "2026-11-11T04:00:00Z", True),
        ("course", "2026-11-12T12:00:00Z", True), ("article", "2026-11-13T12:00:00Z", False),
        ("audio", "2026-11-15T12:00:00Z", False), ("series", "2026-11-19T12:00:00Z", False)]
    assert r.json()[2]["text"] == "第一讲今晚开讲"


def test_report_lists_what_was_pushed_out(rt: Runtime, api: Callable[..., Any], clock: FrozenClock) -> None:
    cid, _ = make_groups(rt, 1, settings={"daily_cap": 1})
    add_items(rt, cid)
    tasks.tick(rt)
    rows = api("viewer").get("/api/v1/sop/report", params={"from": clock.now().isoformat(),
                                                           "to": (clock.now() + timedelta(days=7)).isoformat()}
                                       ).json()["items"]
    assert {r["status"] for r in rows} == {"skipped_cap"}
    assert len(rows) == 4  # Tue, Thu, Fri ×2: one post a day is kept
    assert all("daily cap of 1" in r["reason"] for r in rows)


def test_calendar_console_renders_and_escapes_item_text(rt: Runtime, console: Callable[[str], Console],
                                                         clock: FrozenClock) -> None:
    cid, _gids = make_groups(rt, 2)
    add_items(rt, cid)
    ids = add_items(rt, cid, [dict(title=f"标题 {XSS}", text=f"正文 {XSS}", rrule="FREQ=DAILY", time_of_day="12:00",
                                   notes=XSS)])
    tasks.tick(rt)
    c = console("operator")
    page = c.get(f"/calendar?community_id={cid}")
    assert page.status_code == 200
    html = page.text
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'id="c3-warning"' in html  # 3 of 11 activity posts, in the console's language (zh_CN by default)
    assert re.search(r"本周 \d+ 条群发中只有 \d+ 条与活动相关（\d+%）", html)
    en = c.get(f"/calendar?community_id={cid}", headers={"Accept-Language": "en"}).text
    assert re.search(r"only \d+ of \d+ group posts are activity-related \(\d+%\)", en)
    assert "id=\"week\"" in html and "id=\"preview\"" in html and "/calendar/export?format=xlsx" in html

    edit = c.get(f"/calendar/items/{ids[0]}/edit", headers={"HX-Request": "true"})
    assert edit.status_code == 200 and 'name="title"' in edit.text and XSS not in edit.text
    saved = c.post(f"/calendar/items/{ids[0]}", {"title": "午间分享", "target": f"c:{cid}", "timing": "rrule",
                                                "rrule": "FREQ=DAILY", "time_of_day": "12:30", "text": "午安"},
                   htmx=True)
    assert saved.status_code == 200 and "午间分享" in saved.text and "<tr" in saved.text
    bad = c.post(f"/calendar/items/{ids[0]}", {"title": "x", "target": f"c:{cid}", "timing": "rrule",
                                              "rrule": "FREQ=NOPE", "time_of_day": "12:30", "text": "x"}, htmx=True)
    assert bad.status_code == 422
    r = c.post(f"/calendar/settings/{cid}", {"daily_cap": "2", "quiet_from": "22:00", "quiet_to": "08:00"})
    assert r.status_code == 303
    with rt.tx() as s:
        from siyu.models import Community

        com = s.get(Community, cid)
        assert com is not None and com.settings == {"daily_cap": 2, "quiet_hours": ["22:00", "08:00"]}
    r = c.post("/calendar/broadcast", {"text": "一键群发", "community_ids": str(cid)})
    assert r.status_code == 303
    imp = c.client.post("/calendar/import", data={"csrf_token": c.csrf},
                        files={"file": ("x.csv", b"time,content,recurrence,targets\n99:00,x,daily,community:nope\n",
                                        "text/csv")}, headers={"Accept": "text/html"})
    # The upload is a preview: the bad row is named (column as the Chinese sheet names it), nothing is stored.
    assert imp.status_code == 200 and "<strong>发送对象</strong>" in imp.text and "确认导入" not in imp.text
