"""Corp customer tags (Doc 92117, 92118): at most 3000; an app edits and deletes only the tags it created (81011
otherwise); marking a customer with any tag is allowed. Tags an admin makes in the console (a control) fire
`change_external_tag`; API changes fire it only when `tag_callbacks_for_api` is set (UNCONFIRMED)."""

from __future__ import annotations

from typing import Any

from siyu.wecom_fake import errors as E
from siyu.wecom_fake.api import Call, endpoint
from siyu.wecom_fake.state import Corp, Tag, TagGroup, new_id


def _group_json(g: TagGroup, only: set[str] | None = None) -> dict[str, Any]:
    tags = sorted((t for t in g.tags.values() if only is None or t.id in only), key=lambda t: -t.order)
    return {"group_id": g.group_id, "group_name": g.group_name, "create_time": g.create_time, "order": g.order,
            "deleted": False, "tag": [{"id": t.id, "name": t.name, "create_time": t.create_time, "order": t.order,
                                       "deleted": False} for t in tags]}


def _count(corp: Corp) -> int:
    return sum(len(g.tags) for g in corp.tag_groups.values())


def _find_tag(corp: Corp, tag_id: str) -> tuple[TagGroup, Tag] | None:
    for g in corp.tag_groups.values():
        if tag_id in g.tags:
            return g, g.tags[tag_id]
    return None


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 30:
        raise E.ApiError(E.INVALID_TAG_NAME, "1 to 30 characters")
    return value


def _announce(corp: Corp, by_api: bool, kind: str, item_id: str, change: str) -> None:
    if not by_api or corp.config.tag_callbacks_for_api:
        corp.emit({"Event": "change_external_tag", "Id": item_id, "TagType": kind, "ChangeType": change})


@endpoint("externalcontact/get_corp_tag_list")
def get_corp_tag_list(c: Call) -> dict[str, Any]:
    tag_ids, group_ids = set(c.items("tag_id")), set(c.items("group_id"))
    groups = sorted(c.corp.tag_groups.values(), key=lambda g: -g.order)
    if tag_ids:
        return {"tag_group": [_group_json(g, tag_ids) for g in groups if tag_ids & set(g.tags)]}
    return {"tag_group": [_group_json(g) for g in groups if not group_ids or g.group_id in group_ids]}


def add_tags(corp: Corp, creator: str | None, *, group_id: str | None, group_name: str | None, order: int,
             tags: list[dict[str, Any]]) -> tuple[TagGroup, list[Tag], bool]:
    if not tags:
        raise E.ApiError(E.MISSING_PARAMETER, "tag")
    names = [_name(t.get("name") if isinstance(t, dict) else None) for t in tags]
    if len(set(names)) != len(names):
        raise E.ApiError(E.TAG_NAME_EXISTS, "the same name twice")
    now = corp.now_int()
    group = corp.tag_groups.get(group_id) if group_id else next(
        (g for g in corp.tag_groups.values() if g.group_name == group_name), None)
    if group_id and group is None:
        raise E.ApiError(E.INVALID_TAG_ID, f"no tag group {group_id}")
    new_group = group is None
    if group is None:
        group = TagGroup(group_id=new_id("et", 22), group_name=_name(group_name), order=order, create_time=now,
                         creator=creator)
    elif group.creator != creator:
        raise E.ApiError(E.NO_TAG_PERMISSION, "the tag group was created by another app or an admin")
    if any(n in {t.name for t in group.tags.values()} for n in names):
        raise E.ApiError(E.TAG_NAME_EXISTS)
    if _count(corp) + len(names) > corp.config.max_corp_tags:
        raise E.ApiError(E.TOO_MANY_TAGS)
    made = [Tag(id=new_id("et", 22), name=n, order=int(t.get("order") or 0), create_time=now, creator=creator)
            for n, t in zip(names, tags, strict=True)]
    for tag in made:
        group.tags[tag.id] = tag
    corp.tag_groups[group.group_id] = group
    return group, made, new_group


@endpoint("externalcontact/add_corp_tag")
def add_corp_tag(c: Call) -> dict[str, Any]:
    raw_tags = c.get("tag")
    if not isinstance(raw_tags, list):
        raise E.ApiError(E.MISSING_PARAMETER, "tag")
    group, made, new_group = add_tags(c.corp, c.app.secret, group_id=c.get("group_id") or None,
                                      group_name=c.get("group_name") or None,
                                      order=c.integer("order", default=0, low=0), tags=raw_tags)
    if new_group:
        _announce(c.corp, True, "tag_group", group.group_id, "create")
    else:
        for tag in made:
            _announce(c.corp, True, "tag", tag.id, "create")
    out = _group_json(group, {t.id for t in made})
    out.pop("deleted")
    return {"tag_group": out}


@endpoint("externalcontact/edit_corp_tag")
def edit_corp_tag(c: Call) -> dict[str, Any]:
    corp, item_id = c.corp, c.get("id")
    if not item_id:
        raise E.ApiError(E.MISSING_PARAMETER, "id")
    name = _name(c.get("name")) if c.get("name") is not None else None
    order = c.integer("order", default=-1, low=-1)
    group = corp.tag_groups.get(str(item_id))
    if group is not None:
        if group.creator != c.app.secret:
            raise E.ApiError(E.NO_TAG_PERMISSION, "created by another app or an admin")
        if name is not None and any(g.group_name == name and g is not group for g in corp.tag_groups.values()):
            raise E.ApiError(E.TAG_NAME_EXISTS)
        group.group_name = name if name is not None else group.group_name
        group.order = order if order >= 0 else group.order
        _announce(corp, True, "tag_group", group.group_id, "update")
        return {}
    found = _find_tag(corp, str(item_id))
    if found is None:
        raise E.ApiError(E.INVALID_TAG_ID, str(item_id))
    owner, tag = found
    if tag.creator != c.app.secret:
        raise E.ApiError(E.NO_TAG_PERMISSION, "created by another app or an admin")
    if name is not None and any(t.name == name and t is not tag for t in owner.tags.values()):
        raise E.ApiError(E.TAG_NAME_EXISTS)
    tag.name = name if name is not None else tag.name
    tag.order = order if order >= 0 else tag.order
    _announce(corp, True, "tag", tag.id, "update")
    return {}


def delete_tags(corp: Corp, creator: str | None, tag_ids: list[str], group_ids: list[str], *,
                by_api: bool) -> None:
    if not tag_ids and not group_ids:
        raise E.ApiError(E.MISSING_PARAMETER, "tag_id or group_id")
    groups = []
    for gid in group_ids:
        group = corp.tag_groups.get(gid)
        if group is None:
            raise E.ApiError(E.INVALID_TAG_ID, gid)
        if by_api and group.creator != creator:
            raise E.ApiError(E.NO_TAG_PERMISSION, "created by another app or an admin")
        groups.append(group)
    tags = []
    for tid in tag_ids:
        found = _find_tag(corp, tid)
        if found is None:
            raise E.ApiError(E.INVALID_TAG_ID, tid)
        if by_api and found[1].creator != creator:
            raise E.ApiError(E.NO_TAG_PERMISSION, "created by another app or an admin")
        tags.append(found)
    for group in groups:
        corp.tag_groups.pop(group.group_id, None)
        _announce(corp, by_api, "tag_group", group.group_id, "delete")
    for group, tag in tags:
        if group.tags.pop(tag.id, None) is not None:
            _announce(corp, by_api, "tag", tag.id, "delete")
        if not group.tags:  # a group whose last tag is deleted goes too
            corp.tag_groups.pop(group.group_id, None)
    gone = set(tag_ids) | {t for g in groups for t in g.tags}
    for follow in corp.follows.values():
        follow.tags = [t for t in follow.tags if t not in gone]


@endpoint("externalcontact/del_corp_tag")
def del_corp_tag(c: Call) -> dict[str, Any]:
    delete_tags(c.corp, c.app.secret, c.items("tag_id"), c.items("group_id"), by_api=True)
    return {}


@endpoint("externalcontact/mark_tag")
def mark_tag(c: Call) -> dict[str, Any]:
    corp = c.corp
    userid = corp.require_member(c.get("userid"))
    ext = c.get("external_userid")
    if not ext:
        raise E.ApiError(E.MISSING_EXTERNAL_USERID)
    if ext not in corp.customers:
        raise E.ApiError(E.INVALID_EXTERNAL_USERID, str(ext))
    follow = corp.follows.get((userid, str(ext)))
    if follow is None:
        raise E.ApiError(E.NO_RELATIONSHIP)
    add, remove = c.items("add_tag"), c.items("remove_tag")
    if not add and not remove:
        raise E.ApiError(E.INVALID_PARAMETER, "add_tag and remove_tag cannot both be empty")
    for tid in add + remove:
        if _find_tag(corp, tid) is None:
            raise E.ApiError(E.INVALID_TAG_ID, tid)
    follow.tags = [t for t in dict.fromkeys(follow.tags + add) if t not in remove]
    return {}
