"""The console's routes, one module per domain, mounted on one router (imported by `siyu.app`)."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.console.views import admin, codes, communities, contacts, dashboard, groups, sandbox, session

router = APIRouter(include_in_schema=False)
for _module in (session, dashboard, communities, groups, codes, contacts, sandbox, admin):
    router.include_router(_module.router)

__all__ = ["router"]
