"""The Connectors page (admin): health, capabilities in words, a settings form generated from the kind's schema
with write-only secrets, Test and remove — in both languages, on a phone, every act audited."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from siyu.connectors import instances
from siyu.models import AuditEntry
from siyu.runtime import DEFAULT_WORKSPACE as WS
from siyu.runtime import Runtime
from tests.connectors.receiver import receiver
from tests.console.conftest import Console
from tests.console.test_labels import visible

SECRET = "whsec-console-0123456789"
EN = {"Accept-Language": "en"}


def _add(c: Console, name: str = "tg", **extra: str) -> Any:
    return c.post("/connectors/new/webhook", {"name": name, "secret": SECRET, "outbound_url": "",
                                              "outbound_secret": "", "tolerance_seconds": "300",
                                              "timeout_seconds": "10", **extra})


def test_add_edit_test_remove_in_chinese(rt: Runtime, console: Callable[[str], Console]) -> None:
    c = console("admin")
    form = c.get("/connectors/new/webhook")
    assert form.status_code == 200
    text = visible(form.text)
    assert "签名密钥" in text and "回调失败" not in text
    assert 'type="password"' in form.text and 'name="outbound_url" type="url"' in form.text
    assert 'name="tolerance_seconds" type="number"' in form.text and 'min="30"' in form.text

    r = _add(c)
    assert r.status_code == 303 and r.headers["location"] == "/connectors/tg"
    page = c.get("/connectors")
    text = visible(page.text)
    assert "tg" in text and "/callbacks/webhook/tg" in text
    assert "群消息：不支持" in text  # inbound only until an outbound URL is set
    assert SECRET not in page.text

    edit = c.get("/connectors/tg")
    assert SECRET not in edit.text and "已设置" in visible(edit.text)
    with receiver() as hook:
        r = c.post("/connectors/tg", {"secret": "", "outbound_url": hook.url, "outbound_secret": "",
                                      "tolerance_seconds": "120", "timeout_seconds": "5"})
        assert r.status_code == 303
        with rt.read() as s:
            inst = instances.get(s, WS, "tg")
            assert inst.settings["tolerance_seconds"] == 120
        assert rt.connectors.get("tg").config.secret.get_secret_value() == SECRET  # type: ignore[attr-defined]
        text = visible(c.get("/connectors").text)
        assert "群消息：自动" in text

        r = c.post("/connectors/tg/test")
        assert r.status_code == 303
        after = visible(c.get("/connectors/tg").text)
        assert "测试通过" in after and len(hook.got) == 1
        assert "1 次调用中 0 次失败" in after
    r = c.post("/connectors/tg/test")  # the receiver is gone
    after = visible(c.get("/connectors/tg").text)
    assert "测试失败" in after and "2 次调用中 1 次失败" in after

    r = c.post("/connectors/tg/remove")
    assert r.status_code == 303
    assert "还没有连接器" in visible(c.get("/connectors").text)
    with rt.read() as s:
        acts = list(s.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "connector")
                              .order_by(AuditEntry.id)))
        details = repr(list(s.scalars(select(AuditEntry.detail))))
    assert acts == ["connector.add", "connector.change", "connector.test", "connector.test", "connector.remove"]
    assert SECRET not in details


def test_the_page_in_english_and_its_errors_in_words(rt: Runtime, console: Callable[[str], Console]) -> None:
    c = console("admin")
    assert _add(c).status_code == 303
    page = c.get("/connectors", headers=EN)
    text = visible(page.text)
    assert "Group posts: not supported" in text and "Callback URL" in text and "no calls" in text
    bad = c.post("/connectors/new/webhook", {"name": "shop", "secret": "tiny", "outbound_url": "nope",
                                             "tolerance_seconds": "5"}, htmx=True)
    assert bad.status_code == 422 and 'data-code="validation_error"' in bad.text
    words = visible(bad.text)
    assert "签名密钥" in words and "16" in words and "出站地址" in words
    assert "tiny" not in bad.text
    dup = c.post("/connectors/new/webhook", {"name": "tg", "secret": SECRET}, htmx=True)
    assert dup.status_code == 409 and "已存在名为「tg」的连接器" in visible(dup.text)
    name = c.post("/connectors/new/webhook", {"name": "TG!", "secret": SECRET}, htmx=True)
    assert name.status_code == 422 and "连接器名称" in visible(name.text)


def test_only_admins_see_connectors(rt: Runtime, console: Callable[[str], Console]) -> None:
    c = console("operator")
    assert c.get("/connectors").status_code == 403
    assert "/connectors" not in c.get("/").text


def test_a_phone_sized_page_has_nothing_wider_than_the_screen(rt: Runtime, console: Callable[[str], Console]) -> None:
    """No table on this page: each connector is a card whose facts stack under 760 px (console.css `.facts`)."""
    c = console("admin")
    _add(c, name="telegram-bridge-of-the-shop")
    page = c.get("/connectors").text
    assert "<table" not in page
    assert re.search(r'<dl class="facts">', page)
