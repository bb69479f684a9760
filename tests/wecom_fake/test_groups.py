"""Customer groups and join ways: listing with cursors, member_version, capacity, auto-created rooms, quota."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from wechatpy.exceptions import WeChatClientException

from tests.wecom_fake.conftest import ok


def _group(ctl: httpx.Client, **kw: Any) -> dict[str, Any]:
    return dict(ok(ctl.post("/groups", json={"owner": "zhangsan", **kw})))


def _errcode(fn: Any, *args: Any, **kw: Any) -> int:
    with pytest.raises(WeChatClientException) as e:
        fn(*args, **kw)
    return int(e.value.errcode)


def test_groupchat_list_pages_with_cursors_and_filters_owners(client: Any, ctl: httpx.Client) -> None:
    made = [_group(ctl, name=f"群{i}", new_customers=2)["chat_id"] for i in range(5)]
    lisi = _group(ctl, owner="lisi", name="李四的群")["chat_id"]
    everyone = client.external_contact_group_chat.list_all(limit=2)
    assert sorted(c["chat_id"] for c in everyone) == sorted([*made, lisi])
    only = client.external_contact_group_chat.list(owner_userid_list=["lisi"], limit=10)
    assert [c["chat_id"] for c in only["group_chat_list"]] == [lisi]
    assert _errcode(client.post, "externalcontact/groupchat/list", data={"limit": 0}) == 40058
    ok(ctl.post("/config", json={"groupchat_list_visible_limit": 2}))  # 3 members are visible: too many
    assert _errcode(client.external_contact_group_chat.list) == 81017
    assert client.external_contact_group_chat.list(owner_userid_list=["zhangsan"])["errcode"] == 0


def test_groupchat_get_and_member_version(client: Any, ctl: httpx.Client) -> None:
    g = _group(ctl, name="福利群", members=["lisi"], new_customers=1)
    got = client.external_contact_group_chat.get(g["chat_id"])["group_chat"]
    assert (got["name"], got["owner"], len(got["member_list"])) == ("福利群", "zhangsan", 3)
    assert sorted(m["type"] for m in got["member_list"]) == [1, 1, 2]
    assert "name" not in got["member_list"][0]  # names only with need_name=1
    named = client.post("externalcontact/groupchat/get", data={"chat_id": g["chat_id"], "need_name": 1})
    assert named["group_chat"]["member_list"][0]["name"] == "张三"
    version = got["member_version"]
    ok(ctl.post(f"/groups/{g['chat_id']}/update", json={"name": "新名字"}))
    renamed = client.external_contact_group_chat.get(g["chat_id"])["group_chat"]
    assert renamed["member_version"] == version and renamed["name"] == "新名字"
    joined = ok(ctl.post(f"/groups/{g['chat_id']}/join", json={"name": "新客户"}))
    assert client.external_contact_group_chat.get(g["chat_id"])["group_chat"]["member_version"] != version
    ok(ctl.post(f"/groups/{g['chat_id']}/leave", json={"member_id": joined["member_id"], "removed": True}))
    events = [(e["event"]["ChangeType"], e["event"].get("UpdateDetail"), e["event"].get("QuitScene"))
              for e in ok(ctl.get("/callbacks"))]
    assert events == [("create", None, None), ("update", "change_name", None), ("update", "add_member", None),
                      ("update", "del_member", 1)]
    add = ok(ctl.get("/callbacks"))[2]["event"]
    assert add["LastMemVer"] == version and add["MemChangeList"] == [joined["member_id"]]
    ok(ctl.post(f"/groups/{g['chat_id']}/dismiss"))
    assert _errcode(client.external_contact_group_chat.get, g["chat_id"]) == 49008
    assert _errcode(client.external_contact_group_chat.get, "wr" + "x" * 30) == 40050
    assert client.external_contact_group_chat.list_all() == []


def test_join_way_fields_and_full_replacement(client: Any, ctl: httpx.Client) -> None:
    chats = [_group(ctl, name=f"g{i}")["chat_id"] for i in range(6)]
    add = lambda **kw: client.post("externalcontact/groupchat/add_join_way", data=kw)  # noqa: E731
    assert _errcode(add, scene=2, chat_id_list=chats) == 40058  # at most 5 groups per way
    assert _errcode(add, scene=2, chat_id_list=[]) == 40063
    assert _errcode(add, scene=2, chat_id_list=["wr" + "x" * 30]) == 40050
    assert _errcode(add, scene=2, chat_id_list=chats[:1], room_base_name="名" * 41) == 40058
    way = add(scene=2, chat_id_list=chats[:2], remark="春季", state="ch:9", room_base_name="福利群")
    got = client.post("externalcontact/groupchat/get_join_way", data={"config_id": way["config_id"]})["join_way"]
    assert (got["remark"], got["state"], got["auto_create_room"], got["chat_id_list"]) == (
        "春季", "ch:9", 1, chats[:2])
    assert got["qr_code"].endswith(".png")
    client.post("externalcontact/groupchat/update_join_way",
                data={"config_id": way["config_id"], "scene": 2, "chat_id_list": chats[2:4]})
    got = client.post("externalcontact/groupchat/get_join_way", data={"config_id": way["config_id"]})["join_way"]
    assert (got["remark"], got["state"], got["chat_id_list"]) == ("", "", chats[2:4])  # unsent fields reset
    client.post("externalcontact/groupchat/del_join_way", data={"config_id": way["config_id"]})
    assert _errcode(client.post, "externalcontact/groupchat/get_join_way",
                    data={"config_id": way["config_id"]}) == 41044


def test_contact_ways_and_join_ways_share_one_quota(client: Any, ctl: httpx.Client) -> None:
    ok(ctl.post("/config", json={"way_quota": 2}))
    chat = _group(ctl)["chat_id"]
    client.external_contact.add_contact_way(1, 2, user=["zhangsan"])
    client.post("externalcontact/groupchat/add_join_way", data={"scene": 2, "chat_id_list": [chat]})
    assert _errcode(client.external_contact.add_contact_way, 1, 2, user=["zhangsan"]) == 41045
    assert _errcode(client.post, "externalcontact/groupchat/add_join_way",
                    data={"scene": 2, "chat_id_list": [chat]}) == 41045
    assert ok(ctl.get("/quota")) == {"limit": 2, "used": 2, "contact_ways": 1, "join_ways": 1, "deleted": 0,
                                     "left": 0}


def test_a_full_group_sends_newcomers_to_an_auto_created_room(client: Any, ctl: httpx.Client) -> None:
    ok(ctl.post("/config", json={"qr_join_capacity": 3}))
    chat = _group(ctl, name="福利群1", new_customers=1)["chat_id"]  # owner + 1 customer
    way = client.post("externalcontact/groupchat/add_join_way",
                      data={"scene": 2, "chat_id_list": [chat], "state": "ch:spring", "room_base_name": "福利群",
                            "room_base_id": 2})["config_id"]
    first = ok(ctl.post(f"/join_ways/{way}/join", json={"name": "甲"}))
    assert (first["chat_id"], first["members"], first["created_group"]) == (chat, 3, None)
    second = ok(ctl.post(f"/join_ways/{way}/join", json={"name": "乙"}))
    new_room = second["created_group"]
    assert new_room and second["chat_id"] == new_room
    room = client.external_contact_group_chat.get(new_room)["group_chat"]
    assert (room["name"], room["owner"]) == ("福利群2", "zhangsan")
    joined = next(m for m in room["member_list"] if m["type"] == 2)
    assert (joined["join_scene"], joined["state"]) == (3, "ch:spring")  # scanned QR, the way's state
    got = client.post("externalcontact/groupchat/get_join_way", data={"config_id": way})["join_way"]
    assert got["chat_id_list"] == [chat, new_room]
    add = [e["event"] for e in ok(ctl.get("/callbacks")) if e["event"].get("UpdateDetail") == "add_member"]
    assert [e["JoinScene"] for e in add] == [3, 3]
    # a direct invitation is not held to the QR cap
    ok(ctl.post(f"/groups/{chat}/join", json={"name": "丙", "scene": "invite"}))
    client.post("externalcontact/groupchat/update_join_way",
                data={"config_id": way, "scene": 2, "chat_id_list": [chat], "auto_create_room": 0})
    r = ctl.post(f"/join_ways/{way}/join", json={"name": "丁"})
    assert r.status_code == 409 and r.json()["code"] == "all_groups_full"


def test_the_way_keeps_at_most_five_chats_as_rooms_are_created(client: Any, ctl: httpx.Client) -> None:
    ok(ctl.post("/config", json={"qr_join_capacity": 2}))
    chats = [_group(ctl, name=f"g{i}", new_customers=1)["chat_id"] for i in range(5)]  # all full
    way = client.post("externalcontact/groupchat/add_join_way",
                      data={"scene": 2, "chat_id_list": chats, "room_base_name": "新群"})["config_id"]
    made = ok(ctl.post(f"/join_ways/{way}/join", json={}))["created_group"]
    got = client.post("externalcontact/groupchat/get_join_way", data={"config_id": way})["join_way"]["chat_id_list"]
    assert got == [*chats[1:], made]
