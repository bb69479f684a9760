"""Mass messages (企业群发) (Doc 92135, 93338, 93339, 97610, 97611).

`add_msg_template` sends nothing: it creates one task per member, and nothing reaches a customer or a group until
that member confirms in the WeCom client (`confirm`, a control). At confirmation each recipient is checked against
the frequency cap: a customer or group that already had its share this period silently gets nothing (status 3).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu.wecom_fake import errors as E
from siyu.wecom_fake.api import Call, endpoint
from siyu.wecom_fake.contacts import check_content
from siyu.wecom_fake.state import Corp, MassMessage, MassTask, Recipient, decode_cursor, encode_cursor, new_id


@endpoint("externalcontact/add_msg_template")
def add_msg_template(c: Call) -> dict[str, Any]:
    corp = c.corp
    chat_type = c.get("chat_type") or "single"
    if chat_type not in ("single", "group"):
        raise E.ApiError(E.INVALID_PARAMETER, "chat_type is single or group")
    text, attachments = check_content(c)
    sender = c.get("sender") or None
    if sender is not None:
        corp.require_member(sender)
    fail: list[str] = []
    pairs: list[tuple[str, str]] = []  # (member whose task it is, recipient)
    if chat_type == "group":
        if sender is None:
            raise E.ApiError(E.MISSING_PARAMETER, "sender is required for chat_type group")
        chats = c.items("chat_id_list", max_items=corp.config.max_chats_per_task)
        owned = [g.chat_id for g in corp.groups.values() if g.owner == sender and not g.dismissed]
        for chat_id in chats or owned:
            if chat_id in owned:
                pairs.append((sender, chat_id))
            else:  # not a group of the sender's: WeCom lists it as failed
                fail.append(chat_id)
    else:
        customers = c.items("external_userid", max_items=corp.config.max_customers_per_task)
        follows = [f for f in corp.follows.values() if sender is None or f.userid == sender]
        if customers:
            for ext in dict.fromkeys(customers):
                owners = [f.userid for f in follows if f.external_userid == ext]
                if not owners:
                    fail.append(ext)
                pairs += [(u, ext) for u in owners]
        else:
            pairs = [(f.userid, f.external_userid) for f in follows]
    if not pairs:
        raise E.ApiError(E.NO_RECIPIENT)
    msg = MassMessage(msgid=new_id("msg"), chat_type=chat_type, creator=c.app.secret, create_time=corp.now_int(),
                      sender=sender, text=text, attachments=attachments)
    for userid, target in pairs:
        msg.tasks.setdefault(userid, MassTask(userid=userid))
        msg.recipients.append(Recipient(userid=userid, target=target))
    corp.mass_messages[msg.msgid] = msg
    return {"fail_list": fail, "msgid": msg.msgid}


def _msg(corp: Corp, msgid: Any) -> MassMessage:
    if not msgid:
        raise E.ApiError(E.MISSING_MSGID)
    msg = corp.mass_messages.get(str(msgid))
    if msg is None:
        raise E.ApiError(E.INVALID_MSGID, str(msgid))
    return msg


@endpoint("externalcontact/get_groupmsg_list_v2")
def get_groupmsg_list_v2(c: Call) -> dict[str, Any]:
    corp = c.corp
    chat_type = c.get("chat_type") or "single"
    start, end = c.integer("start_time"), c.integer("end_time")
    if end < start or end - start > 31 * 86400:
        raise E.ApiError(E.INVALID_PARAMETER, "the range is at most one month")
    filter_type = c.integer("filter_type", default=2, choices=(0, 1, 2))
    limit = c.limit(50, 100)
    after = decode_cursor(c.get("cursor"))
    rows = sorted(((m.create_time, m.msgid), m) for m in corp.mass_messages.values()
                  if m.chat_type == chat_type and start <= m.create_time <= end and filter_type in (0, 2))
    if after is not None:
        rows = [r for r in rows if list(r[0]) > after]
    page = rows[:limit]
    items = [{"msgid": m.msgid, "create_type": 0, "create_time": str(m.create_time),
              **({"text": m.text} if m.text else {}), "attachments": m.attachments} for _, m in page]
    return {"group_msg_list": items, "next_cursor": encode_cursor(list(page[-1][0])) if len(rows) > limit else ""}


@endpoint("externalcontact/get_groupmsg_task")
def get_groupmsg_task(c: Call) -> dict[str, Any]:
    msg = _msg(c.corp, c.get("msgid"))
    limit = c.limit(500, 1000)
    after = decode_cursor(c.get("cursor"))
    tasks = sorted(msg.tasks.values(), key=lambda t: t.userid)
    if after is not None:
        tasks = [t for t in tasks if t.userid > after]
    page = tasks[:limit]
    items = [{"userid": t.userid, "status": t.status, **({"send_time": t.send_time} if t.send_time else {})}
             for t in page]
    return {"task_list": items, "next_cursor": encode_cursor(page[-1].userid) if len(tasks) > limit else ""}


@endpoint("externalcontact/get_groupmsg_send_result")
def get_groupmsg_send_result(c: Call) -> dict[str, Any]:
    msg = _msg(c.corp, c.get("msgid"))
    userid = c.corp.require_member(c.get("userid"))
    limit = c.limit(500, 1000)
    after = decode_cursor(c.get("cursor"))
    rows = sorted((r for r in msg.recipients if r.userid == userid), key=lambda r: r.target)
    if after is not None:
        rows = [r for r in rows if r.target > after]
    page = rows[:limit]
    key = "chat_id" if msg.chat_type == "group" else "external_userid"
    items = [{key: r.target, "userid": r.userid, "status": r.status,
              **({"send_time": r.send_time} if r.send_time else {})} for r in page]
    return {"send_list": items, "next_cursor": encode_cursor(page[-1].target) if len(rows) > limit else ""}


@endpoint("externalcontact/remind_groupmsg_send")
def remind_groupmsg_send(c: Call) -> dict[str, Any]:
    """At most `reminds_per_day` (3) reminders per task in any 24 hours."""
    corp = c.corp
    msg = _msg(corp, c.get("msgid"))
    if msg.cancelled:
        raise E.ApiError(E.INVALID_MSGID, "the mass message was cancelled")
    now = corp.now()
    recent = [t for t in msg.reminders if now - t < 86400]
    if len(recent) >= corp.config.reminds_per_day:
        raise E.ApiError(corp.config.remind_limit_errcode,
                         f"at most {corp.config.reminds_per_day} reminders in 24 hours")
    msg.reminders.append(now)
    return {}


@endpoint("externalcontact/cancel_groupmsg_send")
def cancel_groupmsg_send(c: Call) -> dict[str, Any]:
    """Members who have not sent yet can no longer send; what was sent stays sent."""
    _msg(c.corp, c.get("msgid")).cancelled = True
    return {}


# -- the member confirms in the client (control) ---------------------------------------------------------------

def _period(corp: Corp, when: float) -> tuple[tuple[int, ...], int]:
    """The cap period a moment falls in (in the corp's time zone) and how many mass messages it allows."""
    local = datetime.fromtimestamp(when, UTC) + timedelta(hours=corp.config.utc_offset_hours)
    rule = corp.config.cap_rule
    if rule == "day_1":
        return (local.year, local.month, local.day), 1
    if rule == "week_7":
        iso = local.isocalendar()
        return (iso[0], iso[1]), 7
    if rule == "month_4":
        return (local.year, local.month), 4
    return (local.year, local.month), calendar.monthrange(local.year, local.month)[1]


def received_this_period(corp: Corp, target: str, when: float) -> int:
    period, _ = _period(corp, when)
    return sum(1 for m in corp.mass_messages.values() for r in m.recipients
               if r.target == target and r.status == 1 and r.send_time is not None
               and _period(corp, r.send_time)[0] == period)


def confirm(corp: Corp, msgid: str, userid: str, *, skip: list[str] | None = None) -> dict[str, Any]:
    """The member taps 'send' in the WeCom client (leaving out `skip`): recipients get it, unless over the cap
    (status 3) or no longer a customer of the member (status 2)."""
    msg = corp.mass_messages.get(msgid)
    if msg is None:
        raise E.ControlError(404, "unknown_msgid", f"no mass message {msgid}")
    task = msg.tasks.get(userid)
    if task is None:
        raise E.ControlError(404, "no_task", f"{userid} has no task in {msgid}")
    if msg.cancelled:
        raise E.ControlError(409, "cancelled", "the mass message was cancelled")
    if task.status == 2:
        raise E.ControlError(409, "already_sent", f"{userid} already sent it")
    now = corp.now()
    _, allowed = _period(corp, now)
    for r in msg.recipients:
        if r.userid != userid or r.target in (skip or []):
            continue
        gone = (userid, r.target) not in corp.follows if msg.chat_type == "single" else \
            (r.target not in corp.groups or corp.groups[r.target].dismissed)
        if gone:
            r.status = 2
        elif received_this_period(corp, r.target, now) >= allowed:
            r.status = 3
        else:
            r.status, r.send_time = 1, int(now)
    task.status, task.send_time = 2, int(now)
    return mass_json(corp, msg)


def mass_json(corp: Corp, msg: MassMessage) -> dict[str, Any]:
    return {"msgid": msg.msgid, "chat_type": msg.chat_type, "sender": msg.sender, "state": msg.state,
            "create_time": msg.create_time, "text": msg.text, "attachments": msg.attachments,
            "reminders": len(msg.reminders), "cancelled": msg.cancelled,
            "tasks": [{"userid": t.userid, "status": t.status, "send_time": t.send_time} for t in msg.tasks.values()],
            "recipients": [{"userid": r.userid, "target": r.target, "status": r.status, "send_time": r.send_time}
                           for r in msg.recipients]}
