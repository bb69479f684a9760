"""Event-log subscriptions of engagement/alerts (imported by engagement/automations.py).

Nothing subscribes here yet: dead groups are found by the hourly `tasks.tick` from the event log, and complaint
alerts are raised by moderation through `alerts.service.raise_alert`.
"""

from __future__ import annotations
