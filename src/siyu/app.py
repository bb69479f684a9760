"""create_app(settings): the API, the console and their shared error handling, over one runtime."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from siyu import __version__
from siyu.config import Settings
from siyu.kit.errors import SiyuError, Unauthorized
from siyu.runtime import Runtime

log = logging.getLogger("siyu.app")
STATIC = Path(__file__).resolve().parent / "console" / "static"


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    if runtime is None:
        assert settings is not None
        runtime = Runtime(settings)
    settings = runtime.settings
    secret = settings.secret_key.get_secret_value()
    if not secret:
        raise RuntimeError("SIYU_SECRET_KEY is empty: run `siyu init DIR` or set it in the environment")

    app = FastAPI(title="siyu", version=__version__, docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.runtime = runtime
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="siyu_session",
                       same_site="lax", https_only=settings.base_url.startswith("https"), max_age=14 * 24 * 3600)

    @app.exception_handler(SiyuError)
    async def _siyu_error(request: Request, exc: SiyuError) -> Response:
        if _wants_html(request):
            if isinstance(exc, Unauthorized):
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            from siyu.console.render import error_page

            return error_page(request, exc)
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, Any]] = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()
        ]
        return JSONResponse({"code": "validation_error", "message": "request does not match the schema",
                             "detail": errors}, status_code=422)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    from siyu.acquisition.endpoints import router as codes
    from siyu.auth.endpoints import router as auth
    from siyu.communities.endpoints import router as communities
    from siyu.connectors.sandbox.endpoints import router as sandbox
    from siyu.console.views import router as console
    from siyu.contacts.endpoints import router as contacts
    from siyu.delivery.endpoints import router as delivery
    from siyu.engagement.alerts.endpoints import router as alerts
    from siyu.engagement.faq.endpoints import router as faq
    from siyu.engagement.interaction.endpoints import router as interaction
    from siyu.engagement.moderation.endpoints import router as moderation
    from siyu.engagement.sop.endpoints import router as sop
    from siyu.events.endpoints import router as events
    from siyu.playbooks.endpoints import router as playbooks

    for router in (events, contacts, communities, codes, delivery, sandbox, auth, sop, faq, moderation,
                   interaction, alerts, playbooks, console):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
