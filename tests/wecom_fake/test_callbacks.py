"""Callbacks: WXBizMsgCrypt as wechatpy implements it, WeCom's retries, and losing / reordering / duplicating."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from siyu.wecom_fake.app import FakeServer
from siyu.wecom_fake.callbacks import seal
from tests.wecom_fake.conftest import CORP, ok
from tests.wecom_fake.receiver import Receiver

TOKEN, KEY = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def test_the_official_test_vector_passes_through_wechatpy() -> None:
    """Doc 90968 / 91144: the URL check of receiveid wx5823bf96d3bd56c7."""
    crypto = WeChatCrypto(TOKEN, KEY, "wx5823bf96d3bd56c7")
    echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    plain = crypto.check_signature("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", echostr)
    assert plain in ("1616140317555161061", b"1616140317555161061")
    with pytest.raises(InvalidSignatureException):
        crypto.check_signature("0" * 40, "1409659589", "263014780", echostr)


def test_what_the_fake_seals_wechatpy_opens(server: FakeServer) -> None:
    ok(httpx.post(f"{server.url}/_fake/config", json={"callback_token": TOKEN, "callback_aes_key": KEY}))
    query, body = seal(server.fake.corp, "<xml><Event><![CDATA[change_external_tag]]></Event></xml>")
    plain = WeChatCrypto(TOKEN, KEY, CORP).decrypt_message(body, query["msg_signature"], query["timestamp"],
                                                           query["nonce"])
    assert "change_external_tag" in (plain.decode() if isinstance(plain, bytes) else plain)
    with pytest.raises(InvalidSignatureException):  # another token cannot forge it
        WeChatCrypto("other", KEY, CORP).decrypt_message(body, query["msg_signature"], query["timestamp"],
                                                         query["nonce"])


@pytest.fixture
def receiver(server: FakeServer, ctl: httpx.Client) -> Iterator[Receiver]:
    with Receiver(TOKEN, KEY, CORP) as r:
        ok(ctl.post("/config", json={"callback_url": r.url, "callback_token": TOKEN, "callback_aes_key": KEY,
                                     "callback_retry_interval": 0.05}))
        yield r


def _wait(ctl: httpx.Client) -> dict[str, Any]:
    state = ok(ctl.post("/callbacks/wait", params={"timeout": 20}))
    assert state["idle"]
    return dict(state)


def test_an_add_event_arrives_encrypted_and_decrypts(receiver: Receiver, client: Any, ctl: httpx.Client) -> None:
    way = client.external_contact.add_contact_way(1, 2, user=["lisi"], state="ch:3")
    added = ok(ctl.post(f"/contact_ways/{way['config_id']}/add", json={"name": "王女士"}))
    _wait(ctl)
    [event] = receiver.events
    assert event["ToUserName"] == CORP and event["FromUserName"] == "sys"
    assert (event["Event"], event["ChangeType"], event["UserID"], event["ExternalUserID"], event["State"],
            event["WelcomeCode"]) == ("change_external_contact", "add_external_contact", "lisi",
                                      added["external_userid"], "ch:3", added["welcome_code"])
    outer = receiver.bodies[0].decode()
    assert "<Encrypt>" in outer and "<AgentID>" in outer and "lisi" not in outer  # nothing in clear text
    assert ok(ctl.get("/callbacks"))[0]["status"] == "delivered"


def test_unanswered_callbacks_are_retried_three_times_in_all(receiver: Receiver, ctl: httpx.Client) -> None:
    ok(ctl.post("/config", json={"callback_timeout": 0.3}))
    receiver.answers = [(500, 0), (200, 0.6)]  # an error, then an answer too late, then 200
    ok(ctl.post("/customers", json={"userid": "zhangsan"}))
    _wait(ctl)
    [d] = ok(ctl.get("/callbacks"))
    assert d["status"] == "delivered"
    assert [a.get("status", a.get("error")) for a in d["attempts"]] == [500, "ReadTimeout", 200]
    assert len(set(receiver.bodies)) == 1  # the same payload each time: dedupe on it
    receiver.answers = [(503, 0)] * 3
    ok(ctl.post("/customers", json={"userid": "lisi"}))
    _wait(ctl)
    failed = ok(ctl.get("/callbacks"))[1]
    assert failed["status"] == "failed" and len(failed["attempts"]) == 3


def test_lost_callbacks_never_arrive_until_redelivered(receiver: Receiver, ctl: httpx.Client) -> None:
    ok(ctl.post("/callbacks/lose", json={"count": 1}))
    lost = ok(ctl.post("/customers", json={"userid": "zhangsan"}))
    kept = ok(ctl.post("/customers", json={"userid": "lisi"}))
    _wait(ctl)
    assert [e["ExternalUserID"] for e in receiver.events] == [kept["external_userid"]]
    assert [d["status"] for d in ok(ctl.get("/callbacks"))] == ["lost", "delivered"]
    ok(ctl.post("/callbacks/1/redeliver"))
    _wait(ctl)
    assert [e["ExternalUserID"] for e in receiver.events] == [kept["external_userid"], lost["external_userid"]]


def test_held_callbacks_are_released_out_of_order(receiver: Receiver, ctl: httpx.Client) -> None:
    ok(ctl.post("/callbacks/hold"))
    chat = ok(ctl.post("/groups", json={"owner": "zhangsan", "name": "群"}))["chat_id"]
    joined = ok(ctl.post(f"/groups/{chat}/join", json={"name": "甲"}))
    ok(ctl.post(f"/groups/{chat}/leave", json={"member_id": joined["member_id"]}))
    _wait(ctl)
    assert receiver.events == []
    assert ok(ctl.post("/callbacks/release", json={"order": "reverse"}))["released"] == [3, 2, 1]
    _wait(ctl)
    assert [(e["ChangeType"], e.get("UpdateDetail")) for e in receiver.events] == [
        ("update", "del_member"), ("update", "add_member"), ("create", None)]
    # the versions still tell the true order
    assert receiver.events[0]["LastMemVer"] == receiver.events[1]["CurMemVer"]


def test_a_held_callback_can_be_lost_and_the_rest_released(receiver: Receiver, ctl: httpx.Client) -> None:
    ok(ctl.post("/callbacks/hold"))
    for user in ("zhangsan", "lisi", "wangwu"):
        ok(ctl.post("/customers", json={"userid": user}))
    ok(ctl.post("/callbacks/2/lose"))
    ok(ctl.post("/callbacks/release", json={"order": [3, 1]}))
    _wait(ctl)
    assert [e["UserID"] for e in receiver.events] == ["wangwu", "zhangsan"]


def test_duplicated_callbacks_arrive_byte_for_byte(receiver: Receiver, ctl: httpx.Client) -> None:
    ok(ctl.post("/callbacks/duplicate", json={"count": 1, "times": 3}))
    ok(ctl.post("/customers", json={"userid": "zhangsan"}))
    ok(ctl.post("/customers", json={"userid": "lisi"}))
    _wait(ctl)
    assert [e["UserID"] for e in receiver.events] == ["zhangsan"] * 3 + ["lisi"]
    assert len(set(receiver.bodies[:3])) == 1


def test_the_url_check(server: FakeServer, ctl: httpx.Client) -> None:
    for suffix, expected in (("", True), ("\n", False)):
        with Receiver(TOKEN, KEY, CORP, echo_suffix=suffix) as r:
            ok(ctl.post("/config", json={"callback_url": r.url, "callback_token": TOKEN, "callback_aes_key": KEY}))
            assert ok(ctl.post("/callbacks/verify"))["ok"] is expected
