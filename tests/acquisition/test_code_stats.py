"""Issue 8 §2, a channel code's numbers: scans and the joins they led to fall on the workspace's local days (a scan
at 23:30 in Shanghai is that day's, not the next UTC day's), a second scan by someone already in a group is a
scan but no join, and another code's scans never count."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from siyu.acquisition import service
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from tests.conftest import START
from tests.console.conftest import Console, console, make_user  # noqa: F401  (fixtures)


def _scan(rt: Runtime, state: str, who: str, at: timedelta) -> None:
    with rt.tx() as s:
        service.scan(s, rt.connectors, WS, state, platform="sandbox", external_id=who, nickname=who, now=START + at)


def test_scans_and_joins_per_local_day(api: Any, rt: Runtime,
                                       console: Callable[[str], Console]) -> None:  # noqa: F811
    c = api("operator")
    cid = c.post("/api/v1/communities", json={"name": "会计圈"}).json()["id"]
    c.post("/api/v1/groups", json={"name": "会计圈 1 群", "community_id": cid, "capacity": 3})
    code = c.post("/api/v1/channel-codes", json={"name": "海报", "community_id": cid, "state": "poster"}).json()
    other = c.post("/api/v1/channel-codes", json={"name": "门店", "community_id": cid, "state": "shop"}).json()
    c.headers.pop("Authorization")
    # START is 08:00 in Shanghai on 11-02; 23:30 on 11-01 is START - 8.5 h (15:30 UTC, already 11-01 in UTC too),
    # 00:30 on 11-02 is START - 7.5 h (16:30 UTC on 11-01: the previous day in UTC)
    _scan(rt, "poster", "a", -timedelta(hours=8, minutes=30))
    _scan(rt, "poster", "b", -timedelta(hours=7, minutes=30))
    _scan(rt, "poster", "a", timedelta(minutes=10))       # already in the group: a scan, no join
    _scan(rt, "shop", "c", timedelta(minutes=20))         # the other code's
    html = console("operator").get(f"/codes/{code['id']}?days=7").text
    m = re.search(r'id="code-daily-data">(.*?)</script>', html, re.S)
    assert m
    data = json.loads(m.group(1))
    scans, joins = (s["data"] for s in data["series"])
    assert data["x"][-2:] == ["11-01", "11-02"]
    assert scans[-2:] == [1, 2] and joins[-2:] == [1, 1] and sum(scans) == 3
    assert "67%" in html                                 # 2 of 3 scans joined a group
    fill = re.search(r'id="fill">(.*?)</section>', html, re.S)
    assert fill and "3 / 3" in fill.group(1) and "还能再进 0 人" in fill.group(1)
    with rt.read() as s:
        assert service.scan_counts(s, WS) == {code["id"]: 3, other["id"]: 1}
        assert service.stats(s, WS) == {code["id"]: 2, other["id"]: 1}
