"""Template rendering for the console (stub; replaced by the console build)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from siyu.kit.errors import SiyuError


def error_page(request: Request, exc: SiyuError) -> HTMLResponse:
    from html import escape

    return HTMLResponse(f"<h1>{exc.status}</h1><p>{escape(exc.message)}</p>", status_code=exc.status)
