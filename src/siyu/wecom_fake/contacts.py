"""Contact ways (「联系我」), customers and welcome messages (Doc 92228, 92113, 92114, 92994, 92137).

The API handlers answer as WeCom does; the functions below them are what a customer or a member does in the WeCom
client (scan a way's QR code, edit a remark, delete each other), used by the `/_fake/` controls. Those fire the
`change_external_contact` callbacks; API calls fire none.
"""

from __future__ import annotations

import secrets
from typing import Any

from siyu.wecom_fake import errors as E
from siyu.wecom_fake.api import Call, endpoint
from siyu.wecom_fake.state import (
    ContactWay,
    Corp,
    Customer,
    Follow,
    WelcomeCode,
    decode_cursor,
    encode_cursor,
    new_id,
)

ATTACHMENT_TYPES = ("image", "link", "miniprogram", "video", "file")


def _way(corp: Corp, config_id: Any) -> ContactWay:
    if not config_id:
        raise E.ApiError(E.MISSING_CONFIG_ID)
    way = corp.contact_ways.get(str(config_id))
    if way is None:
        raise E.ApiError(E.INVALID_CONFIG_ID, str(config_id))
    return way


def _people(c: Call, way_type: int) -> tuple[list[str], list[int]]:
    """Who answers the way: exactly one member for type 1; members and / or departments for type 2."""
    users = c.items("user")
    parties = c.items("party", item=int)
    unknown = [u for u in users if u not in c.corp.member_ids()]
    if unknown:
        raise E.ApiError(E.INVALID_USERID_LIST, ",".join(unknown))
    if any(p not in c.corp.party_ids() for p in parties):
        raise E.ApiError(E.INVALID_PARTY_LIST)
    if way_type == 1 and (len(users) != 1 or parties):
        raise E.ApiError(E.INVALID_PARAMETER, "a single-person way (type 1) takes exactly one user and no party")
    if way_type == 2 and not users and not parties:
        raise E.ApiError(E.INVALID_PARAMETER, "a multi-person way (type 2) needs user or party")
    if len(_expand(c.corp, users, parties)) > c.corp.config.way_max_users:
        raise E.ApiError(E.TOO_MANY_WAY_USERS)
    return users, parties


def _expand(corp: Corp, users: list[str], parties: list[int]) -> list[str]:
    out = list(dict.fromkeys(users))
    for m in corp.config.members:
        if m.userid not in out and any(d in parties for d in m.department):
            out.append(m.userid)
    return out


def _temp_fields(c: Call, way: ContactWay) -> None:
    if "is_temp" in c.body:
        way.is_temp = c.flag("is_temp", False)
    if way.is_temp:
        way.expires_in = c.integer("expires_in", default=way.expires_in or 7 * 86400, low=1, high=14 * 86400)
        way.chat_expires_in = c.integer("chat_expires_in", default=way.chat_expires_in or 86400, low=1,
                                        high=14 * 86400)
        way.unionid = c.text("unionid") or way.unionid
        conclusions = c.get("conclusions")
        if conclusions is not None and not isinstance(conclusions, dict):
            raise E.ApiError(E.INVALID_PARAMETER, "conclusions")
        way.conclusions = conclusions if conclusions is not None else way.conclusions


@endpoint("externalcontact/add_contact_way")
def add_contact_way(c: Call) -> dict[str, Any]:
    corp = c.corp
    way_type = c.integer("type", choices=(1, 2), missing=E.MISSING_WAY_TYPE, invalid=E.INVALID_WAY_TYPE)
    scene = c.integer("scene", choices=(1, 2), missing=E.MISSING_WAY_SCENE, invalid=E.INVALID_WAY_SCENE)
    style = c.integer("style", default=0) if c.get("style") is not None else None
    remark = c.text("remark", 30)
    state = c.text("state", 30)
    skip_verify = c.flag("skip_verify", True)
    users, parties = _people(c, way_type)
    if corp.way_count() >= corp.config.way_quota:
        raise E.ApiError(E.WAY_QUOTA_REACHED, f"{corp.config.way_quota} ways, shared with group join ways")
    way = ContactWay(config_id=secrets.token_hex(16), type=way_type, scene=scene, create_time=corp.now(),
                     creator=c.app.secret, style=style, remark=remark, skip_verify=skip_verify, state=state,
                     user=users, party=parties)
    _temp_fields(c, way)
    corp.contact_ways[way.config_id] = way
    out: dict[str, Any] = {"config_id": way.config_id}
    if scene == 2:
        out["qr_code"] = corp.qr_url("contact_way", way.config_id)
    return out


@endpoint("externalcontact/get_contact_way")
def get_contact_way(c: Call) -> dict[str, Any]:
    way = _way(c.corp, c.get("config_id"))
    qr = c.corp.qr_url("contact_way", way.config_id) if way.scene == 2 else None
    return {"contact_way": way.as_api(qr)}


@endpoint("externalcontact/list_contact_way")
def list_contact_way(c: Call) -> dict[str, Any]:
    """Ways made through the API, by creation time (default: the last 90 days), keyset-paged."""
    now = c.corp.now_int()
    start = c.integer("start_time", default=now - 90 * 86400)
    end = c.integer("end_time", default=now)
    limit = c.limit(100, 1000)
    after = decode_cursor(c.get("cursor"))
    rows = sorted((int(w.create_time), w.config_id) for w in c.corp.contact_ways.values()
                  if start <= int(w.create_time) <= end)
    if after is not None:
        rows = [r for r in rows if list(r) > after]
    page = rows[:limit]
    out: dict[str, Any] = {"contact_way": [{"config_id": cid} for _, cid in page]}
    out["next_cursor"] = encode_cursor(list(page[-1])) if len(rows) > limit else ""
    return out


@endpoint("externalcontact/update_contact_way")
def update_contact_way(c: Call) -> dict[str, Any]:
    """Every field sent replaces the stored one (a `user` list overwrites the old list)."""
    way = _way(c.corp, c.get("config_id"))
    if "remark" in c.body:
        way.remark = c.text("remark", 30)
    if "state" in c.body:
        way.state = c.text("state", 30)
    if "skip_verify" in c.body:
        way.skip_verify = c.flag("skip_verify", True)
    if "style" in c.body:
        way.style = c.integer("style", default=0)
    if "user" in c.body or "party" in c.body:
        users = c.items("user") if "user" in c.body else way.user
        parties = c.items("party", item=int) if "party" in c.body else way.party
        probe = Call(c.corp, c.app, {"user": users, "party": parties}, {})
        way.user, way.party = _people(probe, way.type)
    _temp_fields(c, way)
    return {}


@endpoint("externalcontact/del_contact_way")
def del_contact_way(c: Call) -> dict[str, Any]:
    way = _way(c.corp, c.get("config_id"))
    del c.corp.contact_ways[way.config_id]
    c.corp.ways_deleted += 1
    return {}


# -- customers -----------------------------------------------------------------------------------------------

def _tags_of(corp: Corp, follow: Follow) -> list[dict[str, Any]]:
    out = []
    for tag_id in follow.tags:
        for group in corp.tag_groups.values():
            tag = group.tags.get(tag_id)
            if tag is not None:
                out.append({"group_name": group.group_name, "tag_name": tag.name, "tag_id": tag.id, "type": 1})
    return out


def _follow_info(corp: Corp, f: Follow, *, tag_ids: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"userid": f.userid, "remark": f.remark, "description": f.description,
                           "createtime": f.createtime, "remark_corp_name": "", "remark_mobiles": [],
                           "oper_userid": f.oper_userid or f.external_userid, "add_way": f.add_way}
    if tag_ids:
        out["tag_id"] = [t for t in f.tags if any(t in g.tags for g in corp.tag_groups.values())]
    else:
        out["tags"] = _tags_of(corp, f)
    if f.state:
        out["state"] = f.state
    return out


@endpoint("externalcontact/get")
def get_customer(c: Call) -> dict[str, Any]:
    ext = c.get("external_userid")
    if not ext:
        raise E.ApiError(E.MISSING_EXTERNAL_USERID)
    customer = c.corp.customers.get(str(ext))
    if customer is None:
        raise E.ApiError(E.INVALID_EXTERNAL_USERID, str(ext))
    follows = sorted((f for f in c.corp.follows.values() if f.external_userid == customer.external_userid),
                     key=lambda f: (f.createtime, f.userid))
    if not follows:
        raise E.ApiError(E.NO_RELATIONSHIP)
    return {"external_contact": customer.as_api(),
            "follow_user": [_follow_info(c.corp, f, tag_ids=False) for f in follows], "next_cursor": ""}


@endpoint("externalcontact/list")
def list_customers(c: Call) -> dict[str, Any]:
    userid = c.corp.require_member(c.get("userid"))
    ids = [f.external_userid for f in sorted(c.corp.follows.values(), key=lambda f: (f.createtime,
                                                                                     f.external_userid))
           if f.userid == userid]
    if not ids:
        raise E.ApiError(E.NO_RELATIONSHIP)
    return {"external_userid": ids}


@endpoint("externalcontact/get_follow_user_list")
def get_follow_user_list(c: Call) -> dict[str, Any]:
    return {"follow_user": c.corp.member_ids()}


@endpoint("externalcontact/batch/get_by_user")
def batch_get_by_user(c: Call) -> dict[str, Any]:
    """Relationships of up to 100 members, keyset-paged on (userid, createtime, external_userid): a sync that is
    killed and resumed from its last cursor neither skips nor repeats one."""
    userids = c.items("userid_list", max_items=100)
    if not userids:
        raise E.ApiError(E.MISSING_PARAMETER, "userid_list")
    for u in userids:
        c.corp.require_member(u)
    limit = c.limit(50, 100)
    after = decode_cursor(c.get("cursor"))
    rows = sorted(((f.userid, f.createtime, f.external_userid), f) for f in c.corp.follows.values()
                  if f.userid in userids)
    if after is not None:
        rows = [r for r in rows if list(r[0]) > after]
    page = rows[:limit]
    items = [{"external_contact": c.corp.customers[f.external_userid].as_api(),
              "follow_info": _follow_info(c.corp, f, tag_ids=True)} for _, f in page]
    return {"external_contact_list": items,
            "next_cursor": encode_cursor(list(page[-1][0])) if len(rows) > limit else ""}


# -- welcome messages ----------------------------------------------------------------------------------------

def check_content(c: Call, *, require: bool = True) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """`text.content` ≤ 4000 bytes and ≤ 9 attachments of the five known kinds (Doc 92137, 92135)."""
    text = c.get("text")
    if text is not None and (not isinstance(text, dict) or not isinstance(text.get("content", ""), str)):
        raise E.ApiError(E.INVALID_PARAMETER, "text")
    content = (text or {}).get("content", "")
    if len(content.encode()) > 4000:
        raise E.ApiError(E.CONTENT_TOO_LONG, "text.content over 4000 bytes")
    attachments = c.get("attachments") or []
    if not isinstance(attachments, list) or len(attachments) > 9:
        raise E.ApiError(E.INVALID_PARAMETER, "at most 9 attachments")
    limits = {("link", "title"): 128, ("link", "desc"): 512, ("miniprogram", "title"): 64}
    for a in attachments:
        kind = a.get("msgtype") if isinstance(a, dict) else None
        if kind not in ATTACHMENT_TYPES or not isinstance(a.get(kind), dict):
            raise E.ApiError(E.INVALID_PARAMETER, f"attachment msgtype {kind!r}")
        for (k, fld), most in limits.items():
            if kind == k and len(str(a[kind].get(fld, "")).encode()) > most:
                raise E.ApiError(E.CONTENT_TOO_LONG, f"{kind}.{fld} over {most} bytes")
    if require and not content and not attachments:
        raise E.ApiError(E.EMPTY_CONTENT)
    return (text if content else None), attachments


@endpoint("externalcontact/send_welcome_msg")
def send_welcome_msg(c: Call) -> dict[str, Any]:
    """Once per code, within the window after the add event; a code used by another app first answers 41051."""
    corp = c.corp
    code_value = c.get("welcome_code")
    if not code_value:
        raise E.ApiError(E.MISSING_WELCOME_CODE)
    text, attachments = check_content(c)
    code = corp.welcome_codes.get(str(code_value))
    if code is None:
        raise E.ApiError(corp.config.welcome_expired_errcode, "unknown welcome_code")
    if code.used_by is not None:
        raise E.ApiError(E.WELCOME_ALREADY_USED)
    if corp.now() - code.issued_at > corp.config.welcome_window:
        raise E.ApiError(corp.config.welcome_expired_errcode,
                         f"welcome_code older than {corp.config.welcome_window:g} s")
    if (code.userid, code.external_userid) not in corp.follows:
        raise E.ApiError(E.NO_RELATIONSHIP)
    code.used_by = c.app.secret
    corp.welcome_messages.append({"welcome_code": code.code, "userid": code.userid,
                                  "external_userid": code.external_userid, "text": text,
                                  "attachments": attachments, "sent_at": corp.now(), "app": c.app.name,
                                  "seconds_after_event": round(corp.now() - code.issued_at, 3)})
    return {}


# -- what people do in the WeCom client (controls) -------------------------------------------------------------

def person(corp: Corp, external_userid: str | None, name: str | None, unionid: str | None = None) -> Customer:
    """The WeChat user behind an external_userid: an existing one, or a new one."""
    if external_userid and external_userid in corp.customers:
        return corp.customers[external_userid]
    ext = external_userid or new_id("wm")
    customer = Customer(external_userid=ext, name=name or f"客户{len(corp.customers) + 1}",
                        unionid=unionid or new_id("o", 28))
    corp.customers[ext] = customer
    return customer


def add_customer(corp: Corp, *, userid: str, external_userid: str | None = None, name: str | None = None,
                 state: str = "", add_way: int = 0, welcome_code: bool = True,
                 unionid: str | None = None) -> dict[str, Any]:
    """A customer adds a member: the relationship, a welcome code, and the add_external_contact callback."""
    if userid not in corp.member_ids():
        raise E.ControlError(404, "unknown_member", f"no member {userid}")
    customer = person(corp, external_userid, name, unionid)
    key = (userid, customer.external_userid)
    if key in corp.follows:
        raise E.ControlError(409, "already_friends", f"{userid} already has {customer.external_userid}")
    corp.follows[key] = Follow(userid=userid, external_userid=customer.external_userid,
                               createtime=corp.now_int(), state=state, add_way=add_way)
    code = None
    if welcome_code:
        code = WelcomeCode(code=secrets.token_urlsafe(32), userid=userid,
                           external_userid=customer.external_userid, issued_at=corp.now())
        corp.welcome_codes[code.code] = code
    fields: dict[str, Any] = {"Event": "change_external_contact", "ChangeType": "add_external_contact",
                              "UserID": userid, "ExternalUserID": customer.external_userid}
    if state:
        fields["State"] = state
    if code is not None:
        fields["WelcomeCode"] = code.code
    corp.emit(fields)
    return {"external_userid": customer.external_userid, "userid": userid, "state": state,
            "welcome_code": code.code if code else None}


def add_through_way(corp: Corp, config_id: str, *, external_userid: str | None = None, name: str | None = None,
                    userid: str | None = None, welcome_code: bool = True) -> dict[str, Any]:
    """A customer scans a contact way: the way's `state` travels with the event and with the relationship."""
    way = corp.contact_ways.get(config_id)
    if way is None:
        raise E.ControlError(404, "unknown_contact_way", f"no contact way {config_id}")
    people = _expand(corp, way.user, way.party)
    if userid is None:
        userid = people[way.next_user % len(people)]
        way.next_user += 1
    elif userid not in people:
        raise E.ControlError(409, "not_on_way", f"{userid} does not answer this way")
    return add_customer(corp, userid=userid, external_userid=external_userid, name=name, state=way.state,
                        add_way=1 if way.scene == 2 else 0, welcome_code=welcome_code)


def edit_customer(corp: Corp, external_userid: str, userid: str, *, remark: str | None = None,
                  description: str | None = None) -> None:
    follow = corp.follows.get((userid, external_userid))
    if follow is None:
        raise E.ControlError(404, "no_relationship", f"{userid} does not have {external_userid}")
    if remark is not None:
        follow.remark = remark
    if description is not None:
        follow.description = description
    corp.emit({"Event": "change_external_contact", "ChangeType": "edit_external_contact", "UserID": userid,
               "ExternalUserID": external_userid})


def delete_relationship(corp: Corp, external_userid: str, userid: str, *, by: str) -> None:
    """`by="member"`: the member deleted the customer (del_external_contact); `by="customer"`: the customer
    deleted the member (del_follow_user)."""
    if corp.follows.pop((userid, external_userid), None) is None:
        raise E.ControlError(404, "no_relationship", f"{userid} does not have {external_userid}")
    change = "del_external_contact" if by == "member" else "del_follow_user"
    corp.emit({"Event": "change_external_contact", "ChangeType": change, "UserID": userid,
               "ExternalUserID": external_userid})


def use_welcome_code(corp: Corp, code: str) -> None:
    """Another app (or the member typing first) used the code: siyu's send then answers 41051."""
    found = corp.welcome_codes.get(code)
    if found is None:
        raise E.ControlError(404, "unknown_welcome_code", "no such welcome code")
    found.used_by = found.used_by or "another-app"
