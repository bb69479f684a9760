"""Tokens, limits, faults, contact ways, customers and welcome messages, through wechatpy's own client."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from wechatpy.exceptions import APILimitedException, WeChatClientException

from siyu.wecom_fake.app import FakeServer
from tests.wecom_fake.conftest import CORP, OTHER_SECRET, SECRET, ok


def _raw(server: FakeServer, api: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = httpx.post(f"{server.url}/cgi-bin/{api}", params={"access_token": token}, json=body or {})
    assert r.status_code == 200  # WeCom answers errors with HTTP 200 and an errcode
    return dict(r.json())


def _token(server: FakeServer, secret: str = SECRET) -> dict[str, Any]:
    return dict(httpx.get(f"{server.url}/cgi-bin/gettoken", params={"corpid": CORP, "corpsecret": secret}).json())


def test_gettoken_per_secret_and_bad_credentials(server: FakeServer) -> None:
    first, again, other = _token(server), _token(server), _token(server, OTHER_SECRET)
    assert first["errcode"] == 0 and first["expires_in"] == 7200
    assert again["access_token"] == first["access_token"]  # the same token while it is valid
    assert other["access_token"] != first["access_token"]  # one token per app secret
    assert _token(server, "wrong")["errcode"] == 40001
    bad_corp = httpx.get(f"{server.url}/cgi-bin/gettoken", params={"corpid": "nope", "corpsecret": SECRET}).json()
    assert bad_corp["errcode"] == 40013
    assert _raw(server, "externalcontact/get_contact_way", "not-a-token", {"config_id": "x"})["errcode"] == 40014
    assert httpx.post(f"{server.url}/cgi-bin/externalcontact/get_contact_way").json()["errcode"] == 41001


def test_wechatpy_refreshes_an_expired_token_and_an_invalidated_one(server: FakeServer, client: Any,
                                                                    ctl: httpx.Client) -> None:
    way = client.external_contact.add_contact_way(1, 2, user=["zhangsan"], state="ch:1")
    # Two hours later WeCom answers 42001; wechatpy's cache still believes its token, gets 42001, refetches, retries.
    ok(ctl.post("/clock/advance", json={"seconds": 7201}))
    got = client.external_contact.get_contact_way(way["config_id"])
    assert got["contact_way"]["state"] == "ch:1"
    # WeCom may drop a token early: 40014, and the same recovery.
    ok(ctl.post("/tokens/invalidate"))
    assert client.external_contact.get_contact_way(way["config_id"])["errcode"] == 0
    seen = [(c["api"], c["errcode"]) for c in ok(ctl.get("/calls"))]
    assert seen == [("gettoken", 0), ("externalcontact/add_contact_way", 0),
                    ("externalcontact/get_contact_way", 42001), ("gettoken", 0),
                    ("externalcontact/get_contact_way", 0),
                    ("externalcontact/get_contact_way", 40014), ("gettoken", 0),
                    ("externalcontact/get_contact_way", 0)]


def test_contact_way_fields_are_checked_as_wecom_checks_them(client: Any) -> None:
    cases = [
        (dict(type=1, scene=2, user=["zhangsan", "lisi"]), 40058),  # a single-person way has one user
        (dict(type=1, scene=2, user=["zhangsan"], remark="备" * 31), 40058),  # remark ≤ 30 characters
        (dict(type=1, scene=2, user=["zhangsan"], state="s" * 31), 40058),  # state ≤ 30 characters
        (dict(type=1, scene=2, user=["nobody"]), 40031),
        (dict(type=3, scene=2, user=["zhangsan"]), 41039),
        (dict(type=2, scene=5, user=["zhangsan"]), 41040),
        (dict(type=2, scene=2), 40058),
    ]
    for kwargs, errcode in cases:
        with pytest.raises(WeChatClientException) as e:
            client.external_contact.add_contact_way(**kwargs)
        assert e.value.errcode == errcode, kwargs
    with pytest.raises(WeChatClientException) as e:
        client.post("externalcontact/add_contact_way", data={"scene": 2, "user": ["zhangsan"]})
    assert e.value.errcode == 41037
    with pytest.raises(WeChatClientException) as e:
        client.external_contact.get_contact_way("0" * 32)
    assert e.value.errcode == 41044
    mini = client.external_contact.add_contact_way(2, 1, party=[1], remark="小程序")
    assert "qr_code" not in mini  # only QR ways (scene 2) get a QR code


def test_update_overwrites_and_delete_frees_the_quota(client: Any, ctl: httpx.Client) -> None:
    ok(ctl.post("/config", json={"way_quota": 2}))
    a = client.external_contact.add_contact_way(2, 2, user=["zhangsan", "lisi"], remark="A", state="ch:a")
    client.external_contact.add_contact_way(1, 2, user=["wangwu"])
    with pytest.raises(WeChatClientException) as e:
        client.external_contact.add_contact_way(1, 2, user=["wangwu"])
    assert e.value.errcode == 41045
    assert ok(ctl.get("/quota"))["used"] == 2
    client.external_contact.update_contact_way(a["config_id"], "B", user=["wangwu"])
    way = client.external_contact.get_contact_way(a["config_id"])["contact_way"]
    assert (way["remark"], way["user"], way["state"]) == ("B", ["wangwu"], "ch:a")
    client.external_contact.del_contact_way(a["config_id"])
    assert ok(ctl.get("/quota"))["used"] == 1
    client.external_contact.add_contact_way(1, 2, user=["wangwu"])  # room again


def test_list_contact_way_pages_every_way_once(client: Any) -> None:
    made = {client.external_contact.add_contact_way(1, 2, user=["zhangsan"])["config_id"] for _ in range(5)}
    seen: list[str] = []
    cursor = ""
    while True:
        page = client.post("externalcontact/list_contact_way", data={"limit": 2, "cursor": cursor})
        seen += [w["config_id"] for w in page["contact_way"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)
    with pytest.raises(WeChatClientException) as e:
        client.post("externalcontact/list_contact_way", data={"cursor": "garbage!"})
    assert e.value.errcode == 50100


def test_a_customer_through_a_way_carries_its_state(client: Any, ctl: httpx.Client) -> None:
    way = client.external_contact.add_contact_way(2, 2, user=["zhangsan", "lisi"], state="ch:42")
    added = [ok(ctl.post(f"/contact_ways/{way['config_id']}/add", json={"name": f"客户{i}"})) for i in range(4)]
    assert [a["userid"] for a in added] == ["zhangsan", "lisi", "zhangsan", "lisi"]  # the way rotates its members
    first = client.external_contact.get(added[0]["external_userid"])
    assert first["external_contact"]["name"] == "客户0"
    assert first["follow_user"][0]["state"] == "ch:42"
    assert sorted(client.external_contact.list("lisi")["external_userid"]) == sorted(
        a["external_userid"] for a in added if a["userid"] == "lisi")
    with pytest.raises(WeChatClientException) as e:
        client.external_contact.get("wm" + "x" * 30)
    assert e.value.errcode == 40096
    ok(ctl.post(f"/customers/{added[0]['external_userid']}/delete", json={"userid": "zhangsan"}))
    with pytest.raises(WeChatClientException) as e:
        client.external_contact.get(added[0]["external_userid"])
    assert e.value.errcode == 84061


def test_batch_get_by_user_resumes_from_a_cursor_without_gaps_or_repeats(client: Any, ctl: httpx.Client) -> None:
    for i in range(7):
        ok(ctl.post("/customers", json={"userid": "zhangsan" if i % 2 else "lisi", "name": f"c{i}"}))
    first = client.post("externalcontact/batch/get_by_user", data={"userid_list": ["zhangsan", "lisi"], "limit": 3})
    got = [x["external_contact"]["external_userid"] for x in first["external_contact_list"]]
    # a sync killed here resumes from the cursor it stored, while new customers keep arriving
    ok(ctl.post("/customers", json={"userid": "zhangsan", "name": "late"}))
    cursor = first["next_cursor"]
    while cursor:
        page = client.post("externalcontact/batch/get_by_user",
                           data={"userid_list": ["zhangsan", "lisi"], "limit": 3, "cursor": cursor})
        got += [x["external_contact"]["external_userid"] for x in page["external_contact_list"]]
        cursor = page["next_cursor"]
    assert len(got) == len(set(got)) == 8
    with pytest.raises(WeChatClientException) as e:
        client.post("externalcontact/batch/get_by_user", data={"userid_list": [f"u{i}" for i in range(101)]})
    assert e.value.errcode == 40058


def test_welcome_message_once_within_20_seconds(server: FakeServer, client: Any, ctl: httpx.Client) -> None:
    way = client.external_contact.add_contact_way(1, 2, user=["zhangsan"], state="ch:7")
    scan = lambda **kw: ok(ctl.post(f"/contact_ways/{way['config_id']}/add", json=kw))  # noqa: E731
    first = scan()
    ok(ctl.post("/clock/advance", json={"seconds": 19}))
    client.external_contact.send_welcome_msg({"welcome_code": first["welcome_code"], "text": {"content": "欢迎"}})
    with pytest.raises(WeChatClientException) as e:  # only once
        client.external_contact.send_welcome_msg({"welcome_code": first["welcome_code"], "text": {"content": "再"}})
    assert e.value.errcode == 41051
    late = scan()
    ok(ctl.post("/clock/advance", json={"seconds": 21}))
    with pytest.raises(WeChatClientException) as e:
        client.external_contact.send_welcome_msg({"welcome_code": late["welcome_code"], "text": {"content": "迟"}})
    assert e.value.errcode == 41050
    raced = scan()
    ok(ctl.post(f"/welcome_codes/{raced['welcome_code']}/use"))  # another app was first
    with pytest.raises(WeChatClientException) as e:
        client.external_contact.send_welcome_msg({"welcome_code": raced["welcome_code"], "text": {"content": "慢"}})
    assert e.value.errcode == 41051
    with pytest.raises(WeChatClientException) as e:  # bad content does not burn the code
        client.external_contact.send_welcome_msg({"welcome_code": (fresh := scan())["welcome_code"],
                                                  "text": {"content": "长" * 1400}})
    assert e.value.errcode == 45002
    client.external_contact.send_welcome_msg({"welcome_code": fresh["welcome_code"], "text": {"content": "好"}})
    assert scan(welcome_code=False)["welcome_code"] is None
    sent = ok(ctl.get("/welcome_messages"))
    assert [(m["external_userid"], m["text"]["content"]) for m in sent] == [
        (first["external_userid"], "欢迎"), (fresh["external_userid"], "好")]
    assert sent[0]["seconds_after_event"] == pytest.approx(19, abs=1)


def test_rate_limit_blocks_for_the_window(client: Any, ctl: httpx.Client) -> None:
    ok(ctl.post("/config", json={"per_corp_per_minute": 3}))
    way = client.external_contact.add_contact_way(1, 2, user=["zhangsan"])["config_id"]
    for _ in range(3):
        client.external_contact.get_contact_way(way)
    for _ in range(2):  # the fourth call trips the limit; the block lasts the window
        with pytest.raises(APILimitedException) as e:
            client.external_contact.get_contact_way(way)
        assert e.value.errcode == 45009
    client.external_contact.add_contact_way(1, 2, user=["zhangsan"])  # limits are per API
    ok(ctl.post("/clock/advance", json={"seconds": 61}))
    client.external_contact.get_contact_way(way)


def test_concurrent_calls_over_the_limit_answer_45033(server: FakeServer, client: Any, ctl: httpx.Client) -> None:
    way = client.external_contact.add_contact_way(1, 2, user=["zhangsan"])["config_id"]
    token = client.access_token
    ok(ctl.post("/config", json={"concurrent_per_api": 1, "latency": 0.4}))
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(
        _raw(server, "externalcontact/get_contact_way", token, {"config_id": way})["errcode"])) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [0, 45033]


def test_injected_failures(server: FakeServer, client: Any, ctl: httpx.Client) -> None:
    ok(ctl.post("/fail", json={"errcode": -1, "api": "externalcontact/add_contact_way", "times": 2}))
    for _ in range(2):
        with pytest.raises(WeChatClientException) as e:
            client.external_contact.add_contact_way(1, 2, user=["zhangsan"])
        assert e.value.errcode == -1
    client.external_contact.add_contact_way(1, 2, user=["zhangsan"])
    ok(ctl.post("/flaky", json={"rate": 1.0}))
    with pytest.raises(WeChatClientException) as e:
        client.external_contact.get_follow_user_list()
    assert e.value.errcode == -1
    ok(ctl.delete("/faults"))
    assert client.external_contact.get_follow_user_list()["follow_user"] == ["zhangsan", "lisi", "wangwu"]


def test_failed_gettoken_calls_block_gettoken_for_an_hour(server: FakeServer, ctl: httpx.Client) -> None:
    ok(ctl.post("/config", json={"gettoken_error_limit": 3}))
    assert [_token(server, "wrong")["errcode"] for _ in range(3)] == [40001] * 3
    assert _token(server)["errcode"] == 45009  # even the right secret, for the hour
    ok(ctl.post("/clock/advance", json={"seconds": 3601}))
    assert _token(server)["errcode"] == 0


def test_settings_are_validated(ctl: httpx.Client) -> None:
    assert ctl.post("/config", json={"no_such_thing": 1}).json()["code"] == "unknown_setting"
    assert ctl.post("/config", json={"callback_aes_key": "short"}).status_code == 422
    assert ok(ctl.get("/config"))["callback_aes_key"] == "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
