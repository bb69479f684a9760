"""Event-log subscriptions of engagement/interaction (imported by engagement/automations.py)."""

from __future__ import annotations
