"""Automations subscribed to the event log. They decide and plan actions; they never call a platform.

Order among handlers of one event type is set by `hooks.on(..., priority=)`, not by import order: for
`message.posted` moderation (hooks.MODERATION) runs before FAQ replies (hooks.REPLIES) and interaction.
"""

from __future__ import annotations

import siyu.engagement.alerts.service  # noqa: F401  (registers alert.raised)
from siyu.communities import projection as _memberships  # noqa: F401  (state from platform facts)
from siyu.contacts import projection as _relationships  # noqa: F401
from siyu.engagement import welcome  # noqa: F401  (registers its handlers)
from siyu.engagement.alerts import failures as _failures  # noqa: F401  (records automations that raise)
from siyu.engagement.alerts import handlers as _alerts  # noqa: F401
from siyu.engagement.faq import handlers as _faq  # noqa: F401
from siyu.engagement.interaction import handlers as _interaction  # noqa: F401
from siyu.engagement.moderation import handlers as _moderation  # noqa: F401
from siyu.engagement.sop import handlers as _sop  # noqa: F401
