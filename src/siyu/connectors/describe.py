"""A connector's declared capabilities in words ("group posts: automatic", "owner confirms"), in English for the
CLI and the API; the console words the same (capability, mode) pairs in the reader's language."""

from __future__ import annotations

from siyu.connectors.base import Capabilities

#: What each capability is called, in the order they are listed.
CAPABILITIES = {
    "post_to_group": "group posts",
    "direct_message": "direct messages",
    "receive_messages": "incoming messages",
    "remove_member": "removing members",
}
MODES = {
    ("post_to_group", "auto"): "automatic",
    ("post_to_group", "staff_task"): "owner confirms",
    ("post_to_group", "none"): "not supported",
    ("direct_message", "auto"): "automatic",
    ("direct_message", "welcome_only"): "welcome only",
    ("direct_message", "staff_task"): "staff sends",
    ("direct_message", "none"): "not supported",
    ("receive_messages", "realtime"): "in real time",
    ("receive_messages", "delayed"): "delayed",
    ("receive_messages", "none"): "not received",
    ("remove_member", "auto"): "automatic",
    ("remove_member", "staff_task"): "owner removes",
    ("remove_member", "none"): "not supported",
}


def pairs(caps: Capabilities) -> list[tuple[str, str]]:
    """(capability, mode) for each declared capability."""
    return [(name, str(getattr(caps, name))) for name in CAPABILITIES]


def sentence(caps: Capabilities) -> str:
    """`group posts: automatic; direct messages: automatic; …`"""
    return "; ".join(f"{CAPABILITIES[name]}: {MODES.get((name, mode), mode)}" for name, mode in pairs(caps))
