"""REST endpoints of engagement/moderation."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["moderation"])
