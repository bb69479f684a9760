"""A console form does its work once, however often it is sent (a double click, a resent page, two racing posts):
every rendered form carries a one-time key and the request's unit of work claims it (`edge/submissions.py`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from siyu.communities import service as communities
from siyu.communities.schemas import CommunityIn, GroupIn
from siyu.models import Action, Group
from siyu.runtime import DEFAULT_WORKSPACE, Runtime
from tests.console.conftest import Console
from tests.racing import race

KEY_RE = re.compile(r'name="submission" value="([0-9a-f]{32})"')


def _community(rt: Runtime) -> int:
    with rt.tx() as s:
        return communities.create(s, DEFAULT_WORKSPACE, CommunityIn(name="读书会")).id


def _groups(rt: Runtime) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(Group)) or 0)


def test_every_form_on_a_page_has_its_own_one_time_key(rt: Runtime, console: Callable[[str], Console]) -> None:
    cid = _community(rt)
    keys = KEY_RE.findall(console("admin").get(f"/communities/{cid}").text)
    assert len(keys) >= 2 and len(set(keys)) == len(keys)


def test_a_double_clicked_form_creates_one_group(rt: Runtime, console: Callable[[str], Console]) -> None:
    cid = _community(rt)
    c = console("admin")
    key = KEY_RE.findall(c.get(f"/communities/{cid}").text)[0]
    form = {"name": "读书会 1", "submission": key}
    first = c.post(f"/communities/{cid}/groups", form)
    second = c.post(f"/communities/{cid}/groups", form)
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == first.headers["location"]   # lands where the first one led
    assert _groups(rt) == 1
    page = c.get(second.headers["location"]).text
    assert "done once" in page or "只执行了一次" in page
    again = c.post(f"/communities/{cid}/groups", {"name": "读书会 2", "submission": KEY_RE.findall(page)[0]})
    assert again.status_code == 303 and _groups(rt) == 2   # a new form is a new request


def test_a_double_click_under_htmx_answers_inline(rt: Runtime, console: Callable[[str], Console]) -> None:
    cid = _community(rt)
    c = console("admin")
    form = {"name": "读书会 1", "submission": "a" * 32}
    assert c.post(f"/communities/{cid}/groups", form, htmx=True).status_code == 204
    r = c.post(f"/communities/{cid}/groups", form, htmx=True)
    assert r.status_code == 200 and r.headers["HX-Retarget"] == "#flash" and 'role="status"' in r.text
    assert _groups(rt) == 1


def test_racing_posts_of_one_form_create_one_group(rt: Runtime, app_client: Any,
                                                   console: Callable[[str], Console]) -> None:
    """Eight posts of one form at the same moment (on PostgreSQL they really run at once)."""
    cid = _community(rt)
    c = console("admin")
    cookies, csrf = dict(app_client.cookies), c.csrf
    statuses: list[int] = []

    def post(_: int) -> None:
        from fastapi.testclient import TestClient

        with TestClient(app_client.app, cookies=cookies) as client:
            r = client.post(f"/communities/{cid}/groups", headers={"Accept": "text/html"}, follow_redirects=False,
                            data={"name": "读书会 1", "submission": "b" * 32, "csrf_token": csrf})
            statuses.append(r.status_code)

    assert race(8, post) == []
    assert statuses == [303] * 8 and _groups(rt) == 1


def test_a_double_clicked_broadcast_is_sent_once(rt: Runtime, console: Callable[[str], Console]) -> None:
    cid = _community(rt)
    with rt.tx() as s:
        for n in (1, 2):
            communities.create_group(s, DEFAULT_WORKSPACE, GroupIn(name=f"读书会 {n}", community_id=cid),
                                     now=rt.clock.now())
    c = console("admin")
    key = KEY_RE.findall(c.get("/calendar").text)[0]
    form = {"text": "今晚 8 点直播", "community_ids": str(cid), "submission": key}
    assert c.post("/calendar/broadcast", form).status_code == 303
    assert c.post("/calendar/broadcast", form).status_code == 303
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Action).where(Action.kind == "post_to_group")) == 2
