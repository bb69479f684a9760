"""What an occurrence says: the item's text or its A/B variant, attachments, and the C4 share-to-unlock gate."""

from __future__ import annotations

import zlib
from typing import Any

from siyu.models import SopItem

UNLOCK_KEYWORD = "解锁"
UNLOCK_KEYWORDS = ("解锁", "unlock")


def pick_variant(item: SopItem, group_id: int | None) -> str:
    """Deterministic per (item, group): the same group always gets the same variant."""
    if not item.variants:
        return ""
    n = zlib.crc32(f"{item.id}:{group_id or 0}".encode()) % len(item.variants)
    return str(item.variants[n]["name"])


def is_gated(item: SopItem, group_id: int | None) -> bool:
    gate = item.gate or {}
    if gate.get("mode") != "share_to_unlock":
        return False
    return group_id not in set(gate.get("home_group_ids") or [])


def body(item: SopItem, variant: str) -> tuple[str, list[dict[str, Any]]]:
    for v in item.variants or []:
        if v.get("name") == variant:
            return str(v.get("text") or item.text), list(v.get("attachments") or item.attachments or [])
    return item.text, list(item.attachments or [])


def attachment_line(a: dict[str, Any]) -> str:
    t = a.get("type")
    if t == "link":
        return f"🔗 {a.get('title', '')} {a.get('url', '')}".rstrip()
    if t == "image":
        return f"🖼 {a.get('url', '')}"
    if t == "file":
        return f"📎 {a.get('name', '')} {a.get('url', '')}"
    if t == "miniprogram":
        return f"▶ {a.get('title', '')}（小程序）"
    return ""


def render(item: SopItem, variant: str, group_id: int | None, *, full: bool = False) -> dict[str, Any]:
    """The action payload. A gated item outside its home groups carries a teaser and how to unlock instead."""
    text, attachments = body(item, variant)
    gated = not full and is_gated(item, group_id)
    if gated:
        teaser = text.strip().splitlines()[0][:60] if text.strip() else item.title
        text = (f"【{item.title}】{teaser}…\n🔒 转发解锁：在群里回复「{UNLOCK_KEYWORD}」获取你的专属分享链接，"
                f"好友打开后，全文会私信发给你。")
        attachments = []
    lines = [text] + [x for x in (attachment_line(a) for a in attachments) if x]
    return {"text": "\n".join(line for line in lines if line), "attachments": attachments, "title": item.title,
            "sop_item_id": item.id, "variant": variant, "gated": gated}
