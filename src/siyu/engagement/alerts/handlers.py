"""Event-log subscriptions of engagement/alerts (imported by engagement/automations.py)."""

from __future__ import annotations
