"""REST endpoints of engagement/alerts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["alerts"])
