"""Event-log subscriptions of engagement/sop (imported by engagement/automations.py)."""

from __future__ import annotations
