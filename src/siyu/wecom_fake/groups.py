"""Customer groups (客户群) and group join ways (「加入群聊」, group live codes) (Doc 92120, 92122, 92229).

API calls change no membership and fire no callback. What members and customers do in the client (create a group,
join by a way's QR code, leave, be removed, rename, dismiss) are the functions below the handlers; each bumps
`member_version` when membership changes and fires `change_external_chat` with the old and new versions.
"""

from __future__ import annotations

import secrets
from typing import Any

from siyu.wecom_fake import errors as E
from siyu.wecom_fake.api import Call, endpoint
from siyu.wecom_fake.contacts import person
from siyu.wecom_fake.state import Corp, Group, GroupMember, JoinWay, decode_cursor, encode_cursor, new_id

#: join scenes in groupchat/get member_list
DIRECT, LINK, QR = 1, 2, 3
SCENES = {"invite": DIRECT, "link": LINK, "qr": QR}


@endpoint("externalcontact/groupchat/list")
def groupchat_list(c: Call) -> dict[str, Any]:
    corp = c.corp
    status = c.integer("status_filter", default=0, choices=(0, 1, 2, 3))
    owner_filter = c.get("owner_filter")
    owners: list[str] | None = None
    if owner_filter is not None:
        if not isinstance(owner_filter, dict):
            raise E.ApiError(E.INVALID_PARAMETER, "owner_filter")
        owners = Call(corp, c.app, owner_filter, {}).items("userid_list", max_items=100)
    if not owners and len(corp.config.members) > corp.config.groupchat_list_visible_limit:
        raise E.ApiError(E.TOO_MANY_REQUESTED)
    limit = c.integer("limit", low=1, high=1000)
    after = decode_cursor(c.get("cursor"))
    rows = sorted(((g.create_time, g.chat_id), g) for g in corp.groups.values()
                  if not g.dismissed and (status == 0 or g.status == status) and (not owners or g.owner in owners))
    if after is not None:
        rows = [r for r in rows if list(r[0]) > after]
    page = rows[:limit]
    return {"group_chat_list": [{"chat_id": g.chat_id, "status": g.status} for _, g in page],
            "next_cursor": encode_cursor(list(page[-1][0])) if len(rows) > limit else ""}


@endpoint("externalcontact/groupchat/get")
def groupchat_get(c: Call) -> dict[str, Any]:
    group = c.corp.live_group(c.get("chat_id"))
    need_name = c.integer("need_name", default=0, choices=(0, 1))
    members = []
    for m in group.members.values():  # in join order
        item = m.as_api()
        if not need_name:
            item.pop("name", None)
        members.append(item)
    return {"group_chat": {"chat_id": group.chat_id, "name": group.name, "owner": group.owner,
                           "create_time": group.create_time, "notice": group.notice, "member_list": members,
                           "admin_list": [{"userid": a} for a in group.admins],
                           "member_version": group.member_version}}


# -- join ways -------------------------------------------------------------------------------------------------

def _join_way_fields(c: Call) -> dict[str, Any]:
    corp = c.corp
    chats = c.items("chat_id_list", max_items=corp.config.join_way_max_chats)
    if not chats:
        raise E.ApiError(E.MISSING_PARAMETER, "chat_id_list")
    for chat_id in chats:
        corp.live_group(chat_id)
    return {"scene": c.integer("scene", choices=(1, 2)), "remark": c.text("remark", 30),
            "auto_create_room": c.integer("auto_create_room", default=1, choices=(0, 1)),
            "room_base_name": c.text("room_base_name", 40),
            "room_base_id": c.integer("room_base_id", default=1, low=0),
            "chat_id_list": list(dict.fromkeys(chats)), "state": c.text("state", 30)}


def _join_way(corp: Corp, config_id: Any) -> JoinWay:
    if not config_id:
        raise E.ApiError(E.MISSING_CONFIG_ID)
    way = corp.join_ways.get(str(config_id))
    if way is None:
        raise E.ApiError(E.INVALID_CONFIG_ID, str(config_id))
    return way


@endpoint("externalcontact/groupchat/add_join_way")
def add_join_way(c: Call) -> dict[str, Any]:
    corp = c.corp
    fields = _join_way_fields(c)
    if corp.way_count() >= corp.config.way_quota:
        raise E.ApiError(E.WAY_QUOTA_REACHED, f"{corp.config.way_quota} ways, shared with contact ways")
    way = JoinWay(config_id=secrets.token_hex(16), create_time=corp.now(), creator=c.app.secret, **fields)
    corp.join_ways[way.config_id] = way
    return {"config_id": way.config_id}


@endpoint("externalcontact/groupchat/get_join_way")
def get_join_way(c: Call) -> dict[str, Any]:
    way = _join_way(c.corp, c.get("config_id"))
    return {"join_way": way.as_api(c.corp.qr_url("join_way", way.config_id) if way.scene == 2 else None)}


@endpoint("externalcontact/groupchat/update_join_way")
def update_join_way(c: Call) -> dict[str, Any]:
    """Replaces the whole config: a field not sent goes back to its default."""
    way = _join_way(c.corp, c.get("config_id"))
    for key, value in _join_way_fields(c).items():
        setattr(way, key, value)
    return {}


@endpoint("externalcontact/groupchat/del_join_way")
def del_join_way(c: Call) -> dict[str, Any]:
    way = _join_way(c.corp, c.get("config_id"))
    del c.corp.join_ways[way.config_id]
    c.corp.ways_deleted += 1
    return {}


# -- what happens in the client (controls) ---------------------------------------------------------------------

def _emit_change(corp: Corp, group: Group, detail: str, **extra: Any) -> None:
    corp.emit({"Event": "change_external_chat", "ChatId": group.chat_id, "ChangeType": "update",
               "UpdateDetail": detail, **extra})


def create_group(corp: Corp, *, owner: str, name: str = "", members: list[str] | None = None,
                 new_customers: int = 0, notice: str = "") -> Group:
    """A member creates a customer group with members and customers (callback create)."""
    if owner not in corp.member_ids():
        raise E.ControlError(404, "unknown_member", f"no member {owner}")
    now = corp.now_int()
    group = Group(chat_id=new_id("wr"), name=name, owner=owner, create_time=now, notice=notice)
    group.members[owner] = GroupMember(id=owner, type=1, join_time=now, join_scene=DIRECT,
                                       name=_member_name(corp, owner))
    ids = list(members or []) + [person(corp, None, None).external_userid for _ in range(new_customers)]
    for member_id in ids:
        if member_id in group.members:
            continue
        group.members[member_id] = _new_member(corp, member_id, now, DIRECT, invitor=owner)
    group.versions = 1
    corp.groups[group.chat_id] = group
    corp.emit({"Event": "change_external_chat", "ChatId": group.chat_id, "ChangeType": "create"})
    return group


def _member_name(corp: Corp, userid: str) -> str:
    return next((m.name or m.userid for m in corp.config.members if m.userid == userid), userid)


def _new_member(corp: Corp, member_id: str, now: int, scene: int, *, invitor: str | None = None,
                state: str = "") -> GroupMember:
    if member_id in corp.member_ids():
        return GroupMember(id=member_id, type=1, join_time=now, join_scene=scene, name=_member_name(corp, member_id),
                           invitor=invitor)
    customer = corp.customers.get(member_id)
    if customer is None:
        raise E.ControlError(404, "unknown_person", f"no member or customer {member_id}")
    return GroupMember(id=member_id, type=2, join_time=now, join_scene=scene, name=customer.name,
                       unionid=customer.unionid, invitor=invitor, state=state)


def join_group(corp: Corp, chat_id: str, *, member_id: str | None = None, name: str | None = None,
               scene: str = "invite", invitor: str | None = None, state: str = "") -> dict[str, Any]:
    """Someone joins: a member or customer by id, or a new WeChat user (callback update / add_member)."""
    group = _group(corp, chat_id)
    capacity = corp.config.qr_join_capacity if scene == "qr" else corp.config.group_capacity
    if len(group.members) >= capacity:
        raise E.ControlError(409, "group_full", f"the group has {len(group.members)} of {capacity} members")
    if member_id is None:
        member_id = person(corp, None, name).external_userid
    if member_id in group.members:
        raise E.ControlError(409, "already_in_group", f"{member_id} is already in the group")
    member = _new_member(corp, member_id, corp.now_int(), SCENES[scene],
                         invitor=invitor or (group.owner if scene != "qr" else None), state=state)
    last = group.member_version
    group.members[member_id] = member
    group.versions += 1
    join_scene = corp.config.callback_join_scene_qr if scene == "qr" else corp.config.callback_join_scene_invite
    _emit_change(corp, group, "add_member", JoinScene=join_scene, MemChangeCnt=1, MemChangeList=[member_id],
                 LastMemVer=last, CurMemVer=group.member_version)
    return {"chat_id": group.chat_id, "member_id": member_id, "members": len(group.members),
            "member_version": group.member_version}


def leave_group(corp: Corp, chat_id: str, member_id: str, *, removed: bool = False) -> dict[str, Any]:
    """Someone leaves (QuitScene 0) or is removed by the owner or an admin (QuitScene 1)."""
    group = _group(corp, chat_id)
    if member_id not in group.members:
        raise E.ControlError(404, "not_in_group", f"{member_id} is not in the group")
    if member_id == group.owner:
        raise E.ControlError(409, "owner_cannot_leave", "the owner dismisses the group or hands it over first")
    last = group.member_version
    del group.members[member_id]
    if member_id in group.admins:
        group.admins.remove(member_id)
    group.versions += 1
    _emit_change(corp, group, "del_member", QuitScene=1 if removed else 0, MemChangeCnt=1,
                 MemChangeList=[member_id], LastMemVer=last, CurMemVer=group.member_version)
    return {"chat_id": group.chat_id, "members": len(group.members), "member_version": group.member_version}


def update_group(corp: Corp, chat_id: str, *, name: str | None = None, notice: str | None = None,
                 owner: str | None = None) -> None:
    group = _group(corp, chat_id)
    if name is not None:
        group.name = name
        _emit_change(corp, group, "change_name")
    if notice is not None:
        group.notice = notice
        _emit_change(corp, group, "change_notice")
    if owner is not None:
        if owner not in corp.member_ids():
            raise E.ControlError(404, "unknown_member", f"no member {owner}")
        if owner not in group.members:
            group.members[owner] = _new_member(corp, owner, corp.now_int(), DIRECT, invitor=group.owner)
            group.versions += 1
        group.owner = owner
        _emit_change(corp, group, "change_owner")


def dismiss_group(corp: Corp, chat_id: str) -> None:
    group = _group(corp, chat_id)
    group.dismissed = True
    corp.emit({"Event": "change_external_chat", "ChatId": group.chat_id, "ChangeType": "dismiss"})


def _group(corp: Corp, chat_id: str) -> Group:
    group = corp.groups.get(chat_id)
    if group is None or group.dismissed:
        raise E.ControlError(404, "unknown_group", f"no live group {chat_id}")
    return group


def join_through_way(corp: Corp, config_id: str, *, member_id: str | None = None,
                     name: str | None = None) -> dict[str, Any]:
    """A WeChat user scans a join way: the first group of its list with room takes them (QR capacity); when all
    are full and `auto_create_room` is 1, a new group named room_base_name + number is created and added to the
    list."""
    way = corp.join_ways.get(config_id)
    if way is None:
        raise E.ControlError(404, "unknown_join_way", f"no join way {config_id}")
    capacity = corp.config.qr_join_capacity
    target = next((g for g in (corp.groups.get(cid) for cid in way.chat_id_list)
                   if g is not None and not g.dismissed and len(g.members) < capacity), None)
    created = None
    if target is None:
        if not way.auto_create_room:
            raise E.ControlError(409, "all_groups_full", "every group of this join way is full")
        seq = corp.room_counters.get(way.config_id, way.room_base_id)
        corp.room_counters[way.config_id] = seq + 1
        base = next((corp.groups[cid] for cid in reversed(way.chat_id_list) if cid in corp.groups), None)
        owner = base.owner if base is not None else corp.member_ids()[0]
        target = created = create_group(corp, owner=owner, name=f"{way.room_base_name}{seq}")
        way.chat_id_list.append(target.chat_id)
        if len(way.chat_id_list) > corp.config.join_way_max_chats and not corp.config.auto_room_keeps_full:
            full = next(cid for cid in way.chat_id_list
                        if cid not in corp.groups or corp.groups[cid].dismissed
                        or len(corp.groups[cid].members) >= capacity)
            way.chat_id_list.remove(full)
    out = join_group(corp, target.chat_id, member_id=member_id, name=name, scene="qr", state=way.state)
    return {**out, "created_group": created.chat_id if created else None}
