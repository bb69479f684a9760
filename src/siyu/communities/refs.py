"""Groups named by their platform id, as connectors know them (a WeCom `chat_id`, a Matrix room id).

A platform fact may name its group `{"platform": "wecom", "external_id": "wrOgQh..."}` instead of siyu's id. A
group seen for the first time this way is created on first sight, like a contact from an identity, marked
`unseen` until its `group.created` fact (or a sync) fills in its name and owner: callbacks arrive in any order,
and a member's join must not be lost because the group's own callback is late.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from siyu.kit.db import insert_ignore
from siyu.models import Group

#: `Group.settings` flag of a group known only by its platform id so far.
UNSEEN = "unseen"


def resolve(session: Session, ws: int, refs: set[tuple[str, str]], *, now: datetime) -> dict[tuple[str, str], int]:
    """The id of each (platform, external id), creating the groups not seen yet (race-free: ON CONFLICT)."""
    if not refs:
        return {}
    found = _lookup(session, ws, refs)
    missing = sorted(refs - found.keys())  # a stable order: concurrent batches cannot deadlock on each other
    if missing:
        session.execute(insert_ignore(session, Group.__table__, ["workspace_id", "platform", "external_id"]), [
            {"workspace_id": ws, "platform": p, "external_id": x, "name": x[:100], "owner": "", "status": "active",
             "settings": {UNSEEN: True}, "created_at": now} for p, x in missing])
        found.update(_lookup(session, ws, set(missing)))
    return found


def _lookup(session: Session, ws: int, refs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    rows = session.execute(select(Group.platform, Group.external_id, Group.id).where(
        Group.workspace_id == ws, tuple_(Group.platform, Group.external_id).in_(sorted(refs))))
    return {(p, x): gid for p, x, gid in rows}
