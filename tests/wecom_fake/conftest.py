"""A fake WeCom server per test, on a loopback port, and wechatpy clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from siyu.wecom_fake.app import FakeServer
from siyu.wecom_fake.clients import wechatpy_client
from siyu.wecom_fake.config import App, FakeConfig

CORP = "wwfakecorp0000000001"
SECRET = "fake-secret"
OTHER_SECRET = "other-app-secret"


@pytest.fixture
def server() -> Iterator[FakeServer]:
    config = FakeConfig(corp_id=CORP, apps=[App(secret=SECRET, name="siyu"),
                                            App(secret=OTHER_SECRET, agent_id=1000003, name="other")])
    with FakeServer(config) as s:
        yield s


@pytest.fixture
def client(server: FakeServer) -> Any:
    return wechatpy_client(server.url, CORP, SECRET)


@pytest.fixture
def ctl(server: FakeServer) -> Iterator[httpx.Client]:
    """The `/_fake/` controls."""
    with httpx.Client(base_url=f"{server.url}/_fake", timeout=30) as c:
        yield c


def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()
