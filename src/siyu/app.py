"""create_app(settings): the API, the console and their shared error handling, over one runtime."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from siyu import __version__
from siyu.config import Settings
from siyu.kit.errors import Invalid, SiyuError, Unauthorized
from siyu.runtime import Runtime

log = logging.getLogger("siyu.app")
STATIC = Path(__file__).resolve().parent / "console" / "static"


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return request.headers.get("hx-request") == "true" or "text/html" in request.headers.get("accept", "")


def _to_login(request: Request) -> Response:
    """Send an expired or missing session to the login page, back to where the user was afterwards.

    Under HTMX a redirect would be followed by the XHR and the login page swapped into a fragment's target;
    HX-Redirect makes the browser navigate instead, back to the page (not the fragment) it was on."""
    from siyu.console.render import is_htmx
    from siyu.console.views.common import safe_next

    if is_htmx(request):
        page = urlsplit(request.headers.get("hx-current-url", "")).path or "/"
        return Response(status_code=200, headers={"HX-Redirect": f"/login?next={quote(safe_next(page))}"})
    return RedirectResponse(f"/login?next={quote(safe_next(request.url.path))}", status_code=303)


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
                return _to_login(request)
            from siyu.console.render import error_page

            return error_page(request, exc)
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors: list[dict[str, Any]] = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()
        ]
        if _wants_html(request):  # a console page with a bad query or form field: a page, not JSON
            from siyu.console.render import error_page

            where = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}"
                              for e in errors[:3])
            return error_page(request, Invalid(where, code="validation_error"))
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
