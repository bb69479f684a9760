"""Automations subscribed to the event log. They decide and plan actions; they never call a platform."""

from __future__ import annotations

from siyu.engagement import welcome  # noqa: F401  (registers its handlers)
