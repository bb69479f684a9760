"""Event-log subscriptions of engagement/moderation (imported by engagement/automations.py)."""

from __future__ import annotations
