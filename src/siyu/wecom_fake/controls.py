"""`/_fake/`: what a test or a person at the demo inspects and does, beside the WeCom API.

Inspection: quota use, calls made, customers, welcome messages sent, groups and members, mass-message tasks and
their state, tags, callbacks and their delivery attempts. Controls: what customers and members do in the WeCom
client (scan a contact way, join a group through a join way, confirm a mass-message task), time, faults, limits,
and the callback stream (lose, hold and reorder, duplicate, redeliver).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from siyu.wecom_fake import contacts, groups, messages, tags
from siyu.wecom_fake import errors as E

router = APIRouter()


def _fake(request: Request) -> Any:
    return request.app.state.fake


# -- the corp --------------------------------------------------------------------------------------------------

@router.get("/state")
def state(request: Request) -> dict[str, Any]:
    """Counts of everything, for a glance."""
    fake = _fake(request)
    corp = fake.corp
    with corp.lock:
        return {"corp_id": corp.config.corp_id, "now": corp.now(), "quota": _quota(corp),
                "customers": len(corp.customers), "relationships": len(corp.follows),
                "groups": sum(1 for g in corp.groups.values() if not g.dismissed),
                "welcome_messages": len(corp.welcome_messages), "mass_messages": len(corp.mass_messages),
                "tags": sum(len(g.tags) for g in corp.tag_groups.values()),
                "callbacks": fake.callbacks.summary(), "faults": fake.api.faults.describe()}


def _quota(corp: Any) -> dict[str, Any]:
    return {"limit": corp.config.way_quota, "used": corp.way_count(), "contact_ways": len(corp.contact_ways),
            "join_ways": len(corp.join_ways), "deleted": corp.ways_deleted,
            "left": corp.config.way_quota - corp.way_count()}


@router.get("/quota")
def quota(request: Request) -> dict[str, Any]:
    """The shared 500,000 contact-way + join-way quota."""
    corp = _fake(request).corp
    with corp.lock:
        return _quota(corp)


@router.post("/reset")
def reset(request: Request) -> dict[str, Any]:
    """An empty corp again (same config)."""
    _fake(request).reset()
    return {"ok": True}


@router.get("/config")
def get_config(request: Request) -> dict[str, Any]:
    return dict(_fake(request).config.model_dump())


@router.post("/config")
def set_config(request: Request, patch: dict[str, Any]) -> dict[str, Any]:
    """Change settings while running (quota, limits, capacity, callback URL and keys, …)."""
    fake = _fake(request)
    unknown = sorted(set(patch) - set(type(fake.config).model_fields))
    if unknown:
        raise E.ControlError(422, "unknown_setting", f"no such setting: {', '.join(unknown)}")
    try:
        merged = type(fake.config).model_validate({**fake.config.model_dump(), **patch})
    except ValidationError as e:
        raise E.ControlError(422, "invalid_setting", str(e)) from None
    with fake.corp.lock:
        for key in patch:
            setattr(fake.config, key, getattr(merged, key))
    return dict(fake.config.model_dump())


class Advance(BaseModel):
    seconds: float


@router.post("/clock/advance")
def advance(request: Request, body: Advance) -> dict[str, Any]:
    """Move the fake's clock (tokens expire, welcome codes age, rate windows pass)."""
    return {"now": _fake(request).corp.clock.advance(body.seconds)}


@router.post("/tokens/invalidate")
def invalidate_tokens(request: Request) -> dict[str, Any]:
    """WeCom may drop tokens early: every issued token answers 40014 from now on."""
    corp = _fake(request).corp
    with corp.lock:
        for token in corp.tokens.values():
            token.revoked = True
        return {"invalidated": len(corp.tokens)}


@router.get("/calls")
def calls(request: Request, api: str | None = None) -> list[dict[str, Any]]:
    """Every API call the fake answered, oldest first, with its errcode."""
    return [c for c in list(_fake(request).api.calls) if api is None or c["api"] == api]


class Fail(BaseModel):
    errcode: int
    api: str | None = Field(None, description="e.g. externalcontact/add_contact_way or gettoken; none: any but "
                                              "gettoken")
    times: int = Field(1, ge=1)
    errmsg: str | None = None


@router.post("/fail")
def fail(request: Request, body: Fail) -> dict[str, Any]:
    """The next `times` calls (of `api`, or of any API) answer `errcode`."""
    from siyu.wecom_fake.limits import Fault

    faults = _fake(request).api.faults
    with faults._lock:
        faults.queue.append(Fault(errcode=body.errcode, api=body.api, times=body.times, errmsg=body.errmsg))
    return faults.describe()


class Flaky(BaseModel):
    rate: float = Field(ge=0, le=1)
    errcode: int = -1
    apis: list[str] | None = None
    seed: int | None = None


@router.post("/flaky")
def flaky(request: Request, body: Flaky) -> dict[str, Any]:
    """Now and then (probability `rate`) a call answers `errcode` (-1, system busy, by default)."""
    import random

    faults = _fake(request).api.faults
    with faults._lock:
        faults.flaky_rate, faults.flaky_errcode, faults.flaky_apis = body.rate, body.errcode, body.apis
        faults.rng = random.Random(body.seed)
    return faults.describe()


@router.delete("/faults")
def clear_faults(request: Request) -> dict[str, Any]:
    faults = _fake(request).api.faults
    faults.clear()
    return faults.describe()


@router.get("/qr/{kind}/{config_id}.png")
def qr_image(kind: str, config_id: str) -> Response:
    """The image behind a way's `qr_code` URL (it encodes the control that scanning it would trigger)."""
    import io

    import segno

    buf = io.BytesIO()
    segno.make(f"wecom-fake:{kind}:{config_id}", error="m").save(buf, kind="png", scale=6)
    return Response(buf.getvalue(), media_type="image/png")


# -- contact ways, customers, welcome messages -------------------------------------------------------------------

@router.get("/contact_ways")
def list_contact_ways(request: Request) -> list[dict[str, Any]]:
    corp = _fake(request).corp
    with corp.lock:
        return [{**w.as_api(None), "create_time": w.create_time} for w in corp.contact_ways.values()]


class Scan(BaseModel):
    external_userid: str | None = Field(None, description="an existing customer; none: a new WeChat user")
    name: str | None = None
    userid: str | None = Field(None, description="which member of a multi-person way answers")
    welcome_code: bool = Field(True, description="false: the member already chatted or the admin configured a "
                                                 "welcome message, so the event carries no WelcomeCode")


@router.post("/contact_ways/{config_id}/add")
def add_through_way(request: Request, config_id: str, body: Scan) -> dict[str, Any]:
    """A customer scans the way's QR code and adds a member (callback add_external_contact with State and
    WelcomeCode)."""
    corp = _fake(request).corp
    with corp.lock:
        return contacts.add_through_way(corp, config_id, external_userid=body.external_userid, name=body.name,
                                        userid=body.userid, welcome_code=body.welcome_code)


class AddCustomer(BaseModel):
    userid: str
    external_userid: str | None = None
    name: str | None = None
    state: str = ""
    welcome_code: bool = True


@router.post("/customers")
def add_customer(request: Request, body: AddCustomer) -> dict[str, Any]:
    """A customer adds a member some other way (search, card): no contact way."""
    corp = _fake(request).corp
    with corp.lock:
        return contacts.add_customer(corp, userid=body.userid, external_userid=body.external_userid,
                                     name=body.name, state=body.state, welcome_code=body.welcome_code)


@router.get("/customers")
def list_customers(request: Request) -> list[dict[str, Any]]:
    corp = _fake(request).corp
    with corp.lock:
        return [{**c.as_api(), "follow_user": [
            {"userid": f.userid, "state": f.state, "createtime": f.createtime, "remark": f.remark,
             "tags": list(f.tags)} for f in corp.follows.values() if f.external_userid == c.external_userid]}
            for c in corp.customers.values()]


class Edit(BaseModel):
    userid: str
    remark: str | None = None
    description: str | None = None


@router.post("/customers/{external_userid}/edit")
def edit_customer(request: Request, external_userid: str, body: Edit) -> dict[str, Any]:
    corp = _fake(request).corp
    with corp.lock:
        contacts.edit_customer(corp, external_userid, body.userid, remark=body.remark,
                               description=body.description)
    return {"ok": True}


class Delete(BaseModel):
    userid: str
    by: Literal["member", "customer"] = "member"


@router.post("/customers/{external_userid}/delete")
def delete_customer(request: Request, external_userid: str, body: Delete) -> dict[str, Any]:
    """The member deletes the customer (del_external_contact) or the customer deletes the member
    (del_follow_user)."""
    corp = _fake(request).corp
    with corp.lock:
        contacts.delete_relationship(corp, external_userid, body.userid, by=body.by)
    return {"ok": True}


@router.get("/welcome_messages")
def welcome_messages(request: Request) -> list[dict[str, Any]]:
    """Every welcome message send_welcome_msg accepted."""
    corp = _fake(request).corp
    with corp.lock:
        return list(corp.welcome_messages)


@router.post("/welcome_codes/{code}/use")
def use_welcome_code(request: Request, code: str) -> dict[str, Any]:
    """Another app sends first (or the member already typed): siyu's send_welcome_msg answers 41051."""
    corp = _fake(request).corp
    with corp.lock:
        contacts.use_welcome_code(corp, code)
    return {"ok": True}


# -- groups and join ways -------------------------------------------------------------------------------------

def _group_json(corp: Any, g: Any, *, members: bool) -> dict[str, Any]:
    out = {"chat_id": g.chat_id, "name": g.name, "owner": g.owner, "create_time": g.create_time,
           "notice": g.notice, "status": g.status, "dismissed": g.dismissed, "member_count": len(g.members),
           "customers": sum(1 for m in g.members.values() if m.type == 2), "member_version": g.member_version,
           "join_ways": [w.config_id for w in corp.join_ways.values() if g.chat_id in w.chat_id_list]}
    if members:
        out["members"] = [m.as_api() for m in g.members.values()]
    return out


@router.get("/groups")
def list_groups(request: Request, dismissed: bool = False) -> list[dict[str, Any]]:
    """Every group with its member count (and the join ways that list it)."""
    corp = _fake(request).corp
    with corp.lock:
        return [_group_json(corp, g, members=False) for g in corp.groups.values() if dismissed or not g.dismissed]


@router.get("/groups/{chat_id}")
def get_group(request: Request, chat_id: str) -> dict[str, Any]:
    """One group and its members (with join scene, invitor and state)."""
    corp = _fake(request).corp
    with corp.lock:
        g = corp.groups.get(chat_id)
        if g is None:
            raise E.ControlError(404, "unknown_group", f"no group {chat_id}")
        return _group_json(corp, g, members=True)


class NewGroup(BaseModel):
    owner: str
    name: str = ""
    members: list[str] = Field(default_factory=list, description="member userids or existing external_userids")
    new_customers: int = Field(0, ge=0, le=2000, description="this many new WeChat users join too")
    notice: str = ""


@router.post("/groups")
def create_group(request: Request, body: NewGroup) -> dict[str, Any]:
    """A member creates a customer group (callback create)."""
    corp = _fake(request).corp
    with corp.lock:
        g = groups.create_group(corp, owner=body.owner, name=body.name, members=body.members,
                                new_customers=body.new_customers, notice=body.notice)
        return _group_json(corp, g, members=True)


class Join(BaseModel):
    member_id: str | None = Field(None, description="a member or an existing customer; none: a new WeChat user")
    name: str | None = None
    scene: Literal["invite", "link", "qr"] = "invite"


@router.post("/groups/{chat_id}/join")
def join_group(request: Request, chat_id: str, body: Join) -> dict[str, Any]:
    """Someone joins the group (callback update / add_member)."""
    corp = _fake(request).corp
    with corp.lock:
        return groups.join_group(corp, chat_id, member_id=body.member_id, name=body.name, scene=body.scene)


class Leave(BaseModel):
    member_id: str
    removed: bool = Field(False, description="true: removed by the owner or an admin (QuitScene 1)")


@router.post("/groups/{chat_id}/leave")
def leave_group(request: Request, chat_id: str, body: Leave) -> dict[str, Any]:
    corp = _fake(request).corp
    with corp.lock:
        return groups.leave_group(corp, chat_id, body.member_id, removed=body.removed)


class GroupChange(BaseModel):
    name: str | None = None
    notice: str | None = None
    owner: str | None = None


@router.post("/groups/{chat_id}/update")
def update_group(request: Request, chat_id: str, body: GroupChange) -> dict[str, Any]:
    """Rename, change the notice or hand the group to another member (one callback each)."""
    corp = _fake(request).corp
    with corp.lock:
        groups.update_group(corp, chat_id, name=body.name, notice=body.notice, owner=body.owner)
        return _group_json(corp, corp.groups[chat_id], members=False)


@router.post("/groups/{chat_id}/dismiss")
def dismiss_group(request: Request, chat_id: str) -> dict[str, Any]:
    corp = _fake(request).corp
    with corp.lock:
        groups.dismiss_group(corp, chat_id)
    return {"ok": True}


@router.get("/join_ways")
def list_join_ways(request: Request) -> list[dict[str, Any]]:
    """Every join way with its current chat list and how full each group is."""
    corp = _fake(request).corp
    with corp.lock:
        return [{**w.as_api(None), "create_time": w.create_time,
                 "groups": [{"chat_id": cid, "members": len(corp.groups[cid].members) if cid in corp.groups else 0}
                            for cid in w.chat_id_list]} for w in corp.join_ways.values()]


class WayJoin(BaseModel):
    member_id: str | None = Field(None, description="an existing customer; none: a new WeChat user")
    name: str | None = None


@router.post("/join_ways/{config_id}/join")
def join_through_way(request: Request, config_id: str, body: WayJoin) -> dict[str, Any]:
    """A WeChat user scans the join way's QR code and lands in the first group with room (or a new one)."""
    corp = _fake(request).corp
    with corp.lock:
        return groups.join_through_way(corp, config_id, member_id=body.member_id, name=body.name)


# -- mass messages -------------------------------------------------------------------------------------------

@router.get("/mass_messages")
def list_mass_messages(request: Request) -> list[dict[str, Any]]:
    """Every add_msg_template task: state (waiting, partly_sent, sent, cancelled), per-member tasks, recipients."""
    corp = _fake(request).corp
    with corp.lock:
        return [messages.mass_json(corp, m) for m in corp.mass_messages.values()]


@router.get("/mass_messages/{msgid}")
def get_mass_message(request: Request, msgid: str) -> dict[str, Any]:
    corp = _fake(request).corp
    with corp.lock:
        msg = corp.mass_messages.get(msgid)
        if msg is None:
            raise E.ControlError(404, "unknown_msgid", f"no mass message {msgid}")
        return messages.mass_json(corp, msg)


class Confirm(BaseModel):
    userid: str
    skip: list[str] = Field(default_factory=list, description="recipients the member leaves out")


@router.post("/mass_messages/{msgid}/confirm")
def confirm_mass_message(request: Request, msgid: str, body: Confirm) -> dict[str, Any]:
    """The member confirms the task in the WeCom client: it is sent (subject to the monthly cap)."""
    corp = _fake(request).corp
    with corp.lock:
        return messages.confirm(corp, msgid, body.userid, skip=body.skip)


# -- tags ------------------------------------------------------------------------------------------------------

@router.get("/tags")
def list_tags(request: Request) -> list[dict[str, Any]]:
    """Every corp tag group and tag, with the app that created it (null: an admin)."""
    corp = _fake(request).corp
    name = lambda secret: (corp.config.app_for(secret).name if corp.config.app_for(secret) else None)  # noqa: E731
    with corp.lock:
        return [{"group_id": g.group_id, "group_name": g.group_name, "creator": name(g.creator) if g.creator else None,
                 "tags": [{"id": t.id, "name": t.name, "creator": name(t.creator) if t.creator else None}
                          for t in g.tags.values()]} for g in corp.tag_groups.values()]


class AdminTags(BaseModel):
    group_name: str
    tags: list[str]
    order: int = 0


@router.post("/tags")
def admin_add_tags(request: Request, body: AdminTags) -> dict[str, Any]:
    """An admin adds tags in the console (no app may edit them; callback change_external_tag)."""
    corp = _fake(request).corp
    with corp.lock:
        group, made, new_group = tags.add_tags(corp, None, group_id=None, group_name=body.group_name,
                                               order=body.order, tags=[{"name": n} for n in body.tags])
        if new_group:
            tags._announce(corp, False, "tag_group", group.group_id, "create")
        else:
            for tag in made:
                tags._announce(corp, False, "tag", tag.id, "create")
        return {"group_id": group.group_id, "tags": {t.name: t.id for t in made}}


class AdminDelete(BaseModel):
    tag_id: list[str] = Field(default_factory=list)
    group_id: list[str] = Field(default_factory=list)


@router.post("/tags/delete")
def admin_delete_tags(request: Request, body: AdminDelete) -> dict[str, Any]:
    """An admin deletes tags or groups (whoever made them; callback change_external_tag delete)."""
    corp = _fake(request).corp
    with corp.lock:
        tags.delete_tags(corp, None, body.tag_id, body.group_id, by_api=False)
    return {"ok": True}


# -- callbacks -------------------------------------------------------------------------------------------------

@router.get("/callbacks")
def list_callbacks(request: Request, status: str | None = None) -> list[dict[str, Any]]:
    """Every event the fake produced, with its delivery status and attempts (HTTP status, seconds)."""
    dispatcher = _fake(request).callbacks
    with dispatcher._cond:
        return [d.as_json() for d in dispatcher.deliveries if status is None or d.status == status]


@router.post("/callbacks/wait")
def wait_callbacks(request: Request, timeout: float = 10.0) -> dict[str, Any]:
    """Wait until every queued callback has been posted (held and lost ones do not count)."""
    dispatcher = _fake(request).callbacks
    return {"idle": dispatcher.wait_idle(timeout), **dispatcher.summary()}


class Count(BaseModel):
    count: int = Field(1, ge=1)


@router.post("/callbacks/lose")
def lose_callbacks(request: Request, body: Count) -> dict[str, Any]:
    """The next `count` events are never posted (as when WeCom loses them)."""
    dispatcher = _fake(request).callbacks
    dispatcher.lose(body.count)
    return {"lose_next": dispatcher.lose_next}


class Duplicate(BaseModel):
    count: int = Field(1, ge=1)
    times: int = Field(2, ge=2, le=10)


@router.post("/callbacks/duplicate")
def duplicate_callbacks(request: Request, body: Duplicate) -> dict[str, Any]:
    """The next `count` events are posted `times` times each, byte for byte, even when answered 200."""
    dispatcher = _fake(request).callbacks
    dispatcher.duplicate(body.count, body.times)
    return {"duplicate_next": dispatcher.duplicate_next, "times": dispatcher.duplicate_times}


@router.post("/callbacks/hold")
def hold_callbacks(request: Request) -> dict[str, Any]:
    """Keep new events back until released (then in any order)."""
    _fake(request).callbacks.hold()
    return {"holding": True}


class Release(BaseModel):
    order: Literal["fifo", "reverse", "shuffle"] | list[int] = "fifo"
    seed: int | None = None


@router.post("/callbacks/release")
def release_callbacks(request: Request, body: Release) -> dict[str, Any]:
    """Post the held events: in arrival order, reversed, shuffled, or the listed ids first."""
    return {"released": _fake(request).callbacks.release(body.order, body.seed)}


@router.post("/callbacks/{delivery_id}/lose")
def drop_callback(request: Request, delivery_id: int) -> dict[str, Any]:
    """Lose one held event."""
    return _fake(request).callbacks.drop(delivery_id).as_json()


@router.post("/callbacks/{delivery_id}/redeliver")
def redeliver_callback(request: Request, delivery_id: int) -> dict[str, Any]:
    """Post one event again, the same bytes (WeCom's retry of an answered event looks like this)."""
    return _fake(request).callbacks.redeliver(delivery_id).as_json()


@router.post("/callbacks/verify")
def verify_callback_url(request: Request) -> dict[str, Any]:
    """The URL check WeCom does when an admin saves the callback URL (GET with echostr)."""
    return dict(_fake(request).callbacks.verify_url())

