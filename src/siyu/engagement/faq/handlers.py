"""Event-log subscriptions of engagement/faq (imported by engagement/automations.py)."""

from __future__ import annotations
