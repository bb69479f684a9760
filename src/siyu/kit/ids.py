"""Identifiers that are safe to show and to put in URLs."""

from __future__ import annotations

import secrets
import uuid


def new_key() -> str:
    return uuid.uuid4().hex


def new_state(prefix: str = "ch") -> str:
    """A WeCom `state` value: at most 30 characters, prefix-routed (e.g. `ch:3fa9c1e2b7`)."""
    return f"{prefix}:{secrets.token_hex(5)}"
