"""The fake corp's state, in memory, behind one lock.

Every API handler and every control runs under `Corp.lock`, so a call sees the corp as one consistent snapshot,
like a single WeCom shard would. Nothing here does I/O: events go to `Corp.emit`, which the callback dispatcher
drains on its own thread.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from siyu.wecom_fake import errors as E
from siyu.wecom_fake.config import FakeConfig

_ALNUM = string.ascii_letters + string.digits


class FakeClock:
    """Wall time plus an offset a control can move, so tests expire tokens and welcome codes without sleeping."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
            return time.time() + self._offset


def new_id(prefix: str, length: int = 32) -> str:
    """An id shaped like WeCom's (`wm…` customers, `wr…` chats, `et…` tags): opaque, fixed length."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length - len(prefix)))


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The key after which the next page starts (keyset: new rows never shift a page); 50100 when mangled."""
    if not cursor:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise E.ApiError(E.INVALID_CURSOR) from None


@dataclass
class Token:
    value: str
    secret: str
    expires_at: float
    revoked: bool = False


@dataclass
class ContactWay:
    config_id: str
    type: int
    scene: int
    create_time: float
    creator: str  # the secret of the app that made it
    style: int | None = None
    remark: str = ""
    skip_verify: bool = True
    state: str = ""
    user: list[str] = field(default_factory=list)
    party: list[int] = field(default_factory=list)
    is_temp: bool = False
    expires_in: int | None = None
    chat_expires_in: int | None = None
    unionid: str | None = None
    conclusions: dict[str, Any] | None = None
    next_user: int = 0  # round robin for multi-person ways

    def as_api(self, qr_code: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "config_id": self.config_id, "type": self.type, "scene": self.scene, "remark": self.remark,
            "skip_verify": self.skip_verify, "state": self.state, "user": list(self.user),
            "party": list(self.party), "is_temp": self.is_temp}
        if self.style is not None:
            out["style"] = self.style
        if qr_code:
            out["qr_code"] = qr_code
        if self.is_temp:
            out["expires_in"] = self.expires_in
            out["chat_expires_in"] = self.chat_expires_in
        if self.unionid:
            out["unionid"] = self.unionid
        if self.conclusions:
            out["conclusions"] = self.conclusions
        return out


@dataclass
class Customer:
    external_userid: str
    name: str
    unionid: str
    type: int = 1  # 1 WeChat user, 2 WeCom user
    gender: int = 0
    avatar: str = ""

    def as_api(self) -> dict[str, Any]:
        return {"external_userid": self.external_userid, "name": self.name, "type": self.type,
                "avatar": self.avatar, "gender": self.gender, "unionid": self.unionid}


@dataclass
class Follow:
    """A member's relationship with a customer (follow_user / follow_info)."""

    userid: str
    external_userid: str
    createtime: int
    state: str = ""
    add_way: int = 0
    remark: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    oper_userid: str = ""


@dataclass
class GroupMember:
    id: str
    type: int  # 1 member, 2 external
    join_time: int
    join_scene: int  # 1 direct invite, 2 invite link, 3 scanned QR
    name: str = ""
    unionid: str = ""
    invitor: str | None = None
    group_nickname: str = ""
    state: str = ""

    def as_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"userid": self.id, "type": self.type, "join_time": self.join_time,
                               "join_scene": self.join_scene, "group_nickname": self.group_nickname,
                               "name": self.name}
        if self.type == 2 and self.unionid:
            out["unionid"] = self.unionid
        if self.invitor:
            out["invitor"] = {"userid": self.invitor}
        if self.state:
            out["state"] = self.state
        return out


@dataclass
class Group:
    chat_id: str
    name: str
    owner: str
    create_time: int
    notice: str = ""
    members: dict[str, GroupMember] = field(default_factory=dict)
    admins: list[str] = field(default_factory=list)
    status: int = 0  # 0 normal, 1 owner left (待继承), 2 inheriting, 3 inherited
    versions: int = 0
    dismissed: bool = False

    @property
    def member_version(self) -> str:
        import hashlib

        return hashlib.md5(f"{self.chat_id}:{self.versions}".encode()).hexdigest()


@dataclass
class JoinWay:
    config_id: str
    scene: int
    create_time: float
    creator: str
    chat_id_list: list[str]
    remark: str = ""
    auto_create_room: int = 1
    room_base_name: str = ""
    room_base_id: int = 1
    state: str = ""

    def as_api(self, qr_code: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "config_id": self.config_id, "scene": self.scene, "remark": self.remark,
            "auto_create_room": self.auto_create_room, "room_base_name": self.room_base_name,
            "room_base_id": self.room_base_id, "chat_id_list": list(self.chat_id_list), "state": self.state}
        if qr_code:
            out["qr_code"] = qr_code
        return out


@dataclass
class WelcomeCode:
    code: str
    userid: str
    external_userid: str
    issued_at: float
    used_by: str | None = None


@dataclass
class Recipient:
    userid: str  # whose task delivers it
    target: str  # external_userid or chat_id
    status: int = 0  # 0 not sent, 1 sent, 2 not a friend, 3 already received another mass message (cap)
    send_time: int | None = None


@dataclass
class MassTask:
    userid: str
    status: int = 0  # 0 not sent, 2 sent
    send_time: int | None = None


@dataclass
class MassMessage:
    msgid: str
    chat_type: str
    creator: str  # secret
    create_time: int
    sender: str | None
    text: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    tasks: dict[str, MassTask] = field(default_factory=dict)
    recipients: list[Recipient] = field(default_factory=list)
    reminders: list[float] = field(default_factory=list)
    cancelled: bool = False

    @property
    def state(self) -> str:
        if self.cancelled:
            return "cancelled"
        sent = sum(1 for t in self.tasks.values() if t.status == 2)
        if sent == 0:
            return "waiting"
        return "sent" if sent == len(self.tasks) else "partly_sent"


@dataclass
class Tag:
    id: str
    name: str
    order: int
    create_time: int
    creator: str | None  # secret of the app, None = made by an admin in the console


@dataclass
class TagGroup:
    group_id: str
    group_name: str
    order: int
    create_time: int
    creator: str | None
    tags: dict[str, Tag] = field(default_factory=dict)


Emit = Callable[[dict[str, Any]], None]


class Corp:
    """One fake corp: its apps, members, customers, ways, groups, mass messages and tags."""

    def __init__(self, config: FakeConfig, clock: FakeClock | None = None, emit: Emit | None = None) -> None:
        self.config = config
        self.clock = clock or FakeClock()
        self.lock = threading.RLock()
        self._emit = emit
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, Token] = {}
            self.contact_ways: dict[str, ContactWay] = {}
            self.join_ways: dict[str, JoinWay] = {}
            self.customers: dict[str, Customer] = {}
            self.follows: dict[tuple[str, str], Follow] = {}
            self.groups: dict[str, Group] = {}
            self.welcome_codes: dict[str, WelcomeCode] = {}
            self.welcome_messages: list[dict[str, Any]] = []
            self.mass_messages: dict[str, MassMessage] = {}
            self.tag_groups: dict[str, TagGroup] = {}
            self.room_counters: dict[str, int] = {}
            self.ways_deleted = 0

    # -- time ------------------------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def now_int(self) -> int:
        return int(self.clock.now())

    # -- events ----------------------------------------------------------------------------------------------
    def set_emitter(self, emit: Emit | None) -> None:
        self._emit = emit

    def emit(self, fields: dict[str, Any]) -> None:
        """Queue one callback event (fields in WeCom's order, after ToUserName / FromUserName / CreateTime)."""
        event = {"ToUserName": self.config.corp_id, "FromUserName": "sys", "CreateTime": self.now_int(),
                 "MsgType": "event", **fields}
        if self._emit is not None:
            self._emit(event)

    # -- lookups ---------------------------------------------------------------------------------------------
    def member_ids(self) -> list[str]:
        return [m.userid for m in self.config.members]

    def require_member(self, userid: Any, errcode: int = E.USERID_NOT_FOUND) -> str:
        if not isinstance(userid, str) or not userid:
            raise E.ApiError(E.MISSING_PARAMETER, "userid")
        if userid not in self.member_ids():
            raise E.ApiError(errcode, userid)
        return userid

    def party_ids(self) -> set[int]:
        return {d for m in self.config.members for d in m.department} | {1}

    def way_count(self) -> int:
        """API-made contact ways and join ways share one quota (Doc 92228)."""
        return len(self.contact_ways) + len(self.join_ways)

    def qr_url(self, kind: str, config_id: str) -> str:
        return f"{self.config.public_url.rstrip('/')}/_fake/qr/{kind}/{config_id}.png"

    def live_group(self, chat_id: Any) -> Group:
        if not isinstance(chat_id, str) or not chat_id:
            raise E.ApiError(E.MISSING_PARAMETER, "chat_id")
        group = self.groups.get(chat_id)
        if group is None:
            raise E.ApiError(E.INVALID_CHATID, chat_id)
        if group.dismissed:
            raise E.ApiError(E.GROUP_DISMISSED, chat_id)
        return group
