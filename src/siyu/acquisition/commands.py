"""What a person does to channel codes, from the REST API or the console: one function per act, each auditing
itself inside the request's unit of work (`edge/work.py`)."""

from __future__ import annotations

from typing import Any

from siyu.acquisition import service
from siyu.acquisition.schemas import ChannelCodeIn, ChannelCodePatch
from siyu.edge.work import Work
from siyu.models import ChannelCode


def create(w: Work, body: ChannelCodeIn) -> ChannelCode:
    c = service.create(w.s, w.ws, body)
    w.audit("channel_code.create", "channel_code", c.id, {"state": c.state})
    return c


def update(w: Work, code_id: int, body: ChannelCodePatch) -> ChannelCode:
    """Rename, retag, change the welcome, or switch the code on or off (the audit entry records which fields
    changed, and the new state when it was switched)."""
    c = service.update(w.s, w.ws, code_id, body)
    detail: dict[str, Any] = {"fields": sorted(body.model_fields_set)}
    if body.active is not None:
        detail["active"] = body.active
    w.audit("channel_code.update", "channel_code", c.id, detail)
    return c
