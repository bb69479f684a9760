"""A playbook on a community that has no group yet: the operator is told what to do instead of an error, nothing is
written, and a calendar-only playbook can be applied anyway (its posts start with the first group)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from siyu.models import FaqEntry, PlaybookRun, PlaybookStep, SopItem
from siyu.runtime import Runtime
from tests.console.conftest import Console


def _stored(rt: Runtime) -> tuple[int, int, int, int]:
    with rt.tx() as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)  # type: ignore[return-value]
                     for m in (PlaybookRun, PlaybookStep, SopItem, FaqEntry))


def test_api_says_to_add_a_group_and_applies_a_calendar_only_playbook(rt: Runtime, api: Callable[..., Any]) -> None:
    c = api()
    cid = c.post("/api/v1/communities", json={"name": "新社群"}).json()["id"]
    for verb in ("preview", "apply"):
        r = c.post(f"/api/v1/playbooks/flash-sale/{verb}", json={"community_id": cid})
        assert (r.status_code, r.json()["code"]) == (409, "playbook_no_groups")
        assert "add a group" in r.json()["message"] and r.json()["detail"]["community_id"] == cid
    assert _stored(rt) == (0, 0, 0, 0)
    # knowledge-community is calendar items and an FAQ entry: nothing needs a group today.
    assert c.post("/api/v1/playbooks/knowledge-community/preview", json={"community_id": cid}).json() == []
    r = c.post("/api/v1/playbooks/knowledge-community/apply", json={"community_id": cid})
    assert r.status_code == 201, r.text
    runs, steps, items, faq = _stored(rt)
    assert (runs, steps) == (1, 0) and items == 5 and faq >= 1
    # The first group gets the applied calendar's posts.
    gid = c.post("/api/v1/groups", json={"name": "新社群 1 群", "community_id": cid}).json()["id"]
    planned = c.get("/api/v1/sop/preview", params={"limit": 200}).json()["items"]
    assert {o["group_id"] for o in planned} == {gid}
    assert {o["item_id"] for o in planned} == {i["id"] for i in c.get("/api/v1/sop/items").json()["items"]}


def test_console_preview_and_apply_say_what_to_do(rt: Runtime, console: Callable[[str], Console],
                                                  api: Callable[..., Any]) -> None:
    c = console("operator")
    c.client.headers["Authorization"] = api().headers["Authorization"]
    cid = c.client.post("/api/v1/communities", json={"name": "空社群"}).json()["id"]
    del c.client.headers["Authorization"]

    page = c.get("/playbooks/flash-sale").text
    assert "空社群 · 还没有群" in page

    preview = c.post("/playbooks/flash-sale/preview", {"community_id": str(cid), "anchor": "2026-12-12",
                                                       "days": "14"}, htmx=True)
    assert preview.status_code == 200
    html = preview.text
    assert "“空社群”还没有群" in html and "至少要有一个群" in html
    assert f'href="/communities/{cid}#groups"' in html and f'href="/codes/new?community_id={cid}"' in html
    assert "playbook_no_groups" not in html and "has no active group" not in html

    applied = c.post("/playbooks/flash-sale/apply", {"community_id": str(cid), "anchor": "2026-12-12"}, htmx=True)
    assert applied.status_code == 409 and applied.headers["HX-Retarget"] == "#preview"
    assert "“空社群”还没有群" in applied.text and "playbook_no_groups" not in applied.text
    assert _stored(rt) == (0, 0, 0, 0)

    calendar_only = c.post("/playbooks/knowledge-community/preview", {"community_id": str(cid)}, htmx=True)
    assert "可以先应用这个剧本" in calendar_only.text
    en = c.post("/playbooks/flash-sale/preview", {"community_id": str(cid)}, htmx=True,
                headers={"Accept-Language": "en"})
    assert "空社群 has no group yet." in en.text and "Add a group to 空社群" in en.text
