"""Mass messages as owner tasks (≤ 2,000 chats, confirmation, monthly cap, reminders, cancel) and corp tags."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from wechatpy.exceptions import WeChatClientException

from siyu.wecom_fake.app import FakeServer
from siyu.wecom_fake.clients import wechatpy_client
from tests.wecom_fake.conftest import CORP, OTHER_SECRET, ok


def _errcode(fn: Any, *args: Any, **kw: Any) -> int:
    with pytest.raises(WeChatClientException) as e:
        fn(*args, **kw)
    return int(e.value.errcode)


def _task(client: Any, msgid: str) -> list[dict[str, Any]]:
    return list(client.post("externalcontact/get_groupmsg_task", data={"msgid": msgid})["task_list"])


def _results(client: Any, msgid: str, userid: str) -> list[dict[str, Any]]:
    return list(client.post("externalcontact/get_groupmsg_send_result",
                            data={"msgid": msgid, "userid": userid})["send_list"])


def test_a_group_post_is_an_owner_task_until_confirmed(client: Any, ctl: httpx.Client) -> None:
    mine = [ok(ctl.post("/groups", json={"owner": "zhangsan", "name": f"群{i}"}))["chat_id"] for i in range(2)]
    theirs = ok(ctl.post("/groups", json={"owner": "lisi"}))["chat_id"]
    made = client.external_contact.add_msg_template({
        "chat_type": "group", "sender": "zhangsan", "chat_id_list": [*mine, theirs], "text": {"content": "早报"}})
    assert made["fail_list"] == [theirs]  # not the sender's group
    msgid = made["msgid"]
    assert _task(client, msgid) == [{"userid": "zhangsan", "status": 0}]  # nothing sent yet
    assert {r["status"] for r in _results(client, msgid, "zhangsan")} == {0}
    assert ok(ctl.get(f"/mass_messages/{msgid}"))["state"] == "waiting"
    ok(ctl.post(f"/mass_messages/{msgid}/confirm", json={"userid": "zhangsan"}))
    [task] = _task(client, msgid)
    assert task["status"] == 2 and task["send_time"]
    assert sorted((r["chat_id"], r["status"]) for r in _results(client, msgid, "zhangsan")) == sorted(
        (c, 1) for c in mine)
    assert ok(ctl.get(f"/mass_messages/{msgid}"))["state"] == "sent"
    r = ctl.post(f"/mass_messages/{msgid}/confirm", json={"userid": "zhangsan"})
    assert r.status_code == 409


def test_limits_of_add_msg_template(client: Any, ctl: httpx.Client) -> None:
    add = client.external_contact.add_msg_template
    chats = [f"wr{i:030d}" for i in range(2001)]
    assert _errcode(add, {"chat_type": "group", "sender": "zhangsan", "chat_id_list": chats,
                          "text": {"content": "x"}}) == 40058  # ≤ 2,000 chats per task
    assert _errcode(add, {"chat_type": "group", "chat_id_list": chats[:1], "text": {"content": "x"}}) == 40063
    assert _errcode(add, {"chat_type": "group", "sender": "zhangsan", "text": {"content": "x"}}) == 41048
    assert _errcode(add, {"external_userid": ["wm" + "x" * 30], "text": {"content": "x"}}) == 41048
    assert _errcode(add, {"chat_type": "group", "sender": "zhangsan", "text": {}}) == 44004
    assert _errcode(client.post, "externalcontact/get_groupmsg_task", data={"msgid": "nope"}) == 41047


def test_the_monthly_cap_silently_skips_a_customer(client: Any, ctl: httpx.Client) -> None:
    ok(ctl.post("/config", json={"cap_rule": "month_4"}))  # the older rule, to keep the test short
    ext = ok(ctl.post("/customers", json={"userid": "zhangsan"}))["external_userid"]
    statuses = []
    for n in range(5):
        msgid = client.external_contact.add_msg_template({"external_userid": [ext],
                                                          "text": {"content": f"第{n}条"}})["msgid"]
        ok(ctl.post(f"/mass_messages/{msgid}/confirm", json={"userid": "zhangsan"}))
        statuses.append(_results(client, msgid, "zhangsan")[0]["status"])
    assert statuses == [1, 1, 1, 1, 3]  # the fifth this month: "already received another mass message"


def test_single_sends_go_to_each_member_who_has_the_customer(client: Any, ctl: httpx.Client) -> None:
    shared = ok(ctl.post("/customers", json={"userid": "zhangsan"}))["external_userid"]
    ok(ctl.post("/customers", json={"userid": "lisi", "external_userid": shared}))
    msgid = client.external_contact.add_msg_template({"external_userid": [shared], "text": {"content": "hi"}})["msgid"]
    assert sorted(t["userid"] for t in _task(client, msgid)) == ["lisi", "zhangsan"]
    ok(ctl.post(f"/customers/{shared}/delete", json={"userid": "lisi", "by": "customer"}))
    ok(ctl.post(f"/mass_messages/{msgid}/confirm", json={"userid": "lisi"}))
    assert _results(client, msgid, "lisi")[0]["status"] == 2  # no longer a friend
    assert ok(ctl.get(f"/mass_messages/{msgid}"))["state"] == "partly_sent"


def test_reminders_are_capped_and_a_cancelled_task_cannot_be_sent(client: Any, ctl: httpx.Client) -> None:
    chat = ok(ctl.post("/groups", json={"owner": "zhangsan"}))["chat_id"]
    msgid = client.external_contact.add_msg_template({"chat_type": "group", "sender": "zhangsan",
                                                      "chat_id_list": [chat], "text": {"content": "x"}})["msgid"]
    remind = lambda: client.post("externalcontact/remind_groupmsg_send", data={"msgid": msgid})  # noqa: E731
    for _ in range(3):
        remind()
    assert _errcode(remind) == 45009
    ok(ctl.post("/clock/advance", json={"seconds": 86401}))
    remind()
    client.post("externalcontact/cancel_groupmsg_send", data={"msgid": msgid})
    assert ok(ctl.get(f"/mass_messages/{msgid}"))["state"] == "cancelled"
    assert ctl.post(f"/mass_messages/{msgid}/confirm", json={"userid": "zhangsan"}).status_code == 409
    now = int(ok(ctl.get("/state"))["now"])
    listed = client.post("externalcontact/get_groupmsg_list_v2",
                         data={"chat_type": "group", "start_time": now - 3 * 86400, "end_time": now})
    assert [m["msgid"] for m in listed["group_msg_list"]] == [msgid]


def test_an_app_edits_only_its_own_tags(server: FakeServer, client: Any, ctl: httpx.Client) -> None:
    other = wechatpy_client(server.url, CORP, OTHER_SECRET)
    ours = client.external_contact.add_corp_tag(None, "渠道", 0, [{"name": "公众号"}, {"name": "门店"}])["tag_group"]
    theirs = other.external_contact.add_corp_tag(None, "等级", 0, [{"name": "VIP"}])["tag_group"]
    admin = ok(ctl.post("/tags", json={"group_name": "行业", "tags": ["教育"]}))
    assert _errcode(client.external_contact.edit_corp_tag, theirs["tag"][0]["id"], "改", 0) == 81011
    assert _errcode(client.external_contact.del_corp_tag, [admin["tags"]["教育"]]) == 81011
    assert _errcode(client.external_contact.add_corp_tag, theirs["group_id"], None, 0, [{"name": "x"}]) == 81011
    assert _errcode(client.external_contact.add_corp_tag, None, "渠道", 0, [{"name": "门店"}]) == 40071
    assert _errcode(client.external_contact.add_corp_tag, None, "长", 0, [{"name": "名" * 31}]) == 40072
    client.external_contact.edit_corp_tag(ours["tag"][0]["id"], "服务号", 0)
    listed = client.external_contact.get_corp_tag_list()["tag_group"]
    assert sorted(t["name"] for g in listed for t in g["tag"]) == ["VIP", "教育", "服务号", "门店"]
    # anyone may mark a customer with any tag
    ext = ok(ctl.post("/customers", json={"userid": "zhangsan"}))["external_userid"]
    client.external_contact.mark_tag("zhangsan", ext, add_tag=[theirs["tag"][0]["id"], admin["tags"]["教育"]])
    got = client.external_contact.get(ext)["follow_user"][0]["tags"]
    assert sorted(t["tag_name"] for t in got) == ["VIP", "教育"]
    assert _errcode(client.external_contact.mark_tag, "zhangsan", ext) == 40058
    client.external_contact.del_corp_tag([t["id"] for t in ours["tag"]])
    assert ours["group_id"] not in {g["group_id"] for g in client.external_contact.get_corp_tag_list()["tag_group"]}
    # an admin's change in the console fires change_external_tag; the API's did not
    events = [(e["event"]["Event"], e["event"]["TagType"], e["event"]["ChangeType"])
              for e in ok(ctl.get("/callbacks")) if e["event"]["Event"] == "change_external_tag"]
    assert events == [("change_external_tag", "tag_group", "create")]


def test_the_3000_tag_limit(client: Any, ctl: httpx.Client) -> None:
    ok(ctl.post("/config", json={"max_corp_tags": 2}))
    client.external_contact.add_corp_tag(None, "组", 0, [{"name": "a"}, {"name": "b"}])
    assert _errcode(client.external_contact.add_corp_tag, None, "组2", 0, [{"name": "c"}]) == 40126
