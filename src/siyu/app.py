"""create_app(settings): the API, the console and their shared error handling, over one runtime.

The edge is hardened here once for every route: bodies are limited while they stream (`kit/body_limit`), every
answer carries the security headers (`kit/security_headers`), integer path / query parameters beyond 64-bit are a
422 (`kit/params.int64_guard`), and every JSON error — domain, validation, HTTP — has the `ErrorOut` shape that
the OpenAPI schema declares for each operation.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from siyu import __version__
from siyu.auth.sessions import MAX_AGE as SESSION_MAX_AGE
from siyu.config import Settings
from siyu.kit.body_limit import BodyLimit, BodyTooLarge
from siyu.kit.db import ReadOnlySafeMethods
from siyu.kit.errors import ERROR_RESPONSES, Invalid, SiyuError, Unauthorized
from siyu.kit.params import bound_openapi_ints, int64_guard
from siyu.kit.security_headers import SecurityHeaders
from siyu.kit.static_assets import CachedStaticFiles, compressed
from siyu.runtime import Runtime

log = logging.getLogger("siyu.app")
STATIC = Path(__file__).resolve().parent / "console" / "static"
EVENTS_MAX_BODY = 8 * 1024 * 1024  # a batch of up to 1,000 events
# Machine codes of HTTP errors raised by the framework itself (unknown route, wrong method, …).
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 413: "body_too_large", 415: "unsupported_media_type"}


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return request.headers.get("hx-request") == "true" or "text/html" in request.headers.get("accept", "")


def _in_console(request: Request) -> bool:
    """The browser has a console session (an operator), or the request is one of the console's own HTMX calls."""
    from siyu.auth.web import session_token

    if request.headers.get("hx-request") == "true":
        return True
    return "session" in request.scope and bool(session_token(request))


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

    app = FastAPI(title="siyu", version=__version__, docs_url="/api/docs", openapi_url="/api/openapi.json",
                  responses=ERROR_RESPONSES, dependencies=[Depends(int64_guard)])
    app.state.runtime = runtime
    app.add_middleware(ReadOnlySafeMethods)
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie="siyu_session",
                       same_site="lax", https_only=settings.base_url.startswith("https"),
                       max_age=int(SESSION_MAX_AGE.total_seconds()))
    upload = settings.max_upload_bytes
    app.add_middleware(BodyLimit, default=settings.max_body_bytes,
                       limits=[("/api/v1/events", max(EVENTS_MAX_BODY, settings.max_body_bytes)),
                               ("/api/v1/sop/import", upload), ("/calendar/import", upload),
                               ("/api/v1/moderation/word-lists", upload), ("/moderation/word-lists", upload)])
    app.add_middleware(SecurityHeaders, hsts=settings.base_url.startswith("https"))

    @app.exception_handler(SiyuError)
    async def _siyu_error(request: Request, exc: SiyuError) -> Response:
        if _wants_html(request):
            if isinstance(exc, Unauthorized):
                return _to_login(request)
            from siyu.console.render import already_done, error_page
            from siyu.edge.submissions import AlreadyDone

            if isinstance(exc, AlreadyDone):
                return already_done(request, exc.location)

            return error_page(request, exc)
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Framework errors (no such route, wrong method, body too large) in the same shape as domain errors."""
        code = exc.code if isinstance(exc, BodyTooLarge) else HTTP_CODES.get(exc.status_code, "http_error")
        message = str(exc.detail) if exc.detail else code.replace("_", " ")
        error = SiyuError(message, code=code, status=exc.status_code,
                          detail={"limit": exc.limit} if isinstance(exc, BodyTooLarge) else None)
        resp: Response
        if exc.status_code == 404 and _wants_html(request) and not _in_console(request):
            # an unknown URL opened by someone outside the console (a member's mistyped or cut-off link): a
            # member's page in their language, with no console around it and no machine code
            from starlette.concurrency import run_in_threadpool

            from siyu.console import member

            resp = await run_in_threadpool(member.not_found, request)  # it reads the workspace's language
        elif _wants_html(request):
            from siyu.console.render import error_page

            resp = error_page(request, error)
        else:
            resp = JSONResponse(error.to_dict(), status_code=exc.status_code)
        for name, value in (exc.headers or {}).items():
            resp.headers[name] = value
        return resp

    async def _data_error(request: Request, exc: Exception) -> Response:
        """A value the database cannot store is the caller's mistake, a 422: a number beyond its column (a 64-bit
        id for an INTEGER key on PostgreSQL, anything beyond 64 bits on SQLite — where a route or body does not
        declare its `Id` type) or a NUL character in a text (PostgreSQL). Any other DataError stays a server
        error. Raised wrapped by SQLAlchemy, or bare by the driver where siyu uses it directly (bulk look-ups).
        The types at the edge (`kit/params`) are the rule — they also publish the ranges in OpenAPI; this is the
        net for a field that does not use them yet."""
        orig = exc.orig if isinstance(exc, DataError) else exc
        kind, text = type(orig).__name__, str(orig)
        if kind in ("NumericValueOutOfRange", "OverflowError"):
            error = Invalid("a number in the request is out of range", code="value_out_of_range")
        elif kind == "UntranslatableCharacter" or "NUL (0x00)" in text:
            error = Invalid("a text in the request contains a NUL character", code="invalid_character")
        else:
            raise exc
        if _wants_html(request):
            from siyu.console.render import error_page

            return error_page(request, error)
        return JSONResponse(error.to_dict(), status_code=error.status)

    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(psycopg.DataError, _data_error)
    app.add_exception_handler(OverflowError, _data_error)  # SQLite's driver: an int beyond 64 bits

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors: list[dict[str, Any]] = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()
        ]
        if _wants_html(request):  # a console page with a bad query or form field: a page, not JSON
            from siyu.console.labels import plain_errors
            from siyu.console.render import error_page

            where = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}"
                              for e in errors[:3])
            # the structured errors (with their limits) let the console name each field in its own language
            detail = plain_errors(exc.errors())
            return error_page(request, Invalid(where, code="validation_error", detail=detail))
        return JSONResponse({"code": "validation_error", "message": "request does not match the schema",
                             "detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        """A bug or an outage: logged with its traceback, answered in the documented error shape (never plain
        text), with nothing about the internals in the body."""
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        error = SiyuError("something went wrong on the server; it was logged. Retrying is safe: every write is "
                          "idempotent or was rolled back", code="internal_error", status=500)
        if _wants_html(request):
            from siyu.console.render import error_page

            return error_page(request, error)
        return JSONResponse(error.to_dict(), status_code=500)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    from siyu.acquisition.endpoints import router as codes
    from siyu.acquisition.pages import router as code_pages
    from siyu.auth.endpoints import router as auth
    from siyu.communities.endpoints import router as communities
    from siyu.console.views import router as console
    from siyu.contacts.endpoints import router as contacts
    from siyu.delivery.endpoints import router as delivery
    from siyu.engagement.alerts.endpoints import router as alerts
    from siyu.engagement.faq.endpoints import router as faq
    from siyu.engagement.interaction.endpoints import router as interaction
    from siyu.engagement.moderation.endpoints import router as moderation
    from siyu.engagement.sop.endpoints import router as sop
    from siyu.events.endpoints import router as events
    from siyu.integrations.endpoints import router as connectors
    from siyu.playbooks.endpoints import router as playbooks
    from siyu.sandbox.endpoints import router as sandbox

    for router in (events, contacts, communities, codes, delivery, sandbox, auth, sop, faq, moderation,
                   interaction, alerts, playbooks, connectors, code_pages, console):
        app.include_router(router)
    # versioned URLs cached for a year, text gzipped (kit/static_assets): a phone loads ECharts once
    app.mount("/static", compressed(CachedStaticFiles(directory=STATIC)), name="static")

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        return bound_openapi_ints(default_openapi())

    app.openapi = openapi  # type: ignore[method-assign]
    return app
