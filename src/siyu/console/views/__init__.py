"""The console's routes, one module per domain, mounted on one router (imported by `siyu.app`)."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.console.views import (
    admin,
    alerts,
    calendar,
    codes,
    communities,
    connectors,
    contacts,
    dashboard,
    faq,
    groups,
    interactions,
    moderation,
    playbooks,
    sandbox,
    session,
)

router = APIRouter(include_in_schema=False)
for _module in (session, dashboard, communities, groups, codes, contacts, sandbox, calendar, playbooks, faq,
                moderation, interactions, alerts, connectors, admin):
    router.include_router(_module.router)

__all__ = ["router"]
