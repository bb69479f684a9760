"""Users & settings (admin): users, roles, API tokens (shown once), workspace facts, the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth import commands
from siyu.auth import service as auth
from siyu.auth.roles import ROLE_NAMES, Perm
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, text
from siyu.edge.work import Work, edge_router, work
from siyu.models import Workspace

router = edge_router()
AUDIT_PAGE = 100


def _page(w: Work, *, cursor: str | None = None) -> dict[str, Any]:
    settings = w.rt.settings
    ws = w.s.get(Workspace, w.ws)
    info = {
        "name": ws.name if ws else "",
        "timezone": settings.timezone,
        "database": w.rt.engine.dialect.name,
        "queue": "redis" if settings.is_redis_queue else "sqlite",
        "sandbox_mode": ws.sandbox_mode if ws else "bot",
        "base_url": settings.base_url,
        "data_dir": str(settings.data_dir),
        "member_locale": str((ws.settings or {}).get("locale") or settings.default_locale) if ws else "",
    }
    audit = auth.audit_log(w.s, w.ws, cursor=cursor, limit=AUDIT_PAGE)
    return {"member_locales": commands.MEMBER_LOCALES,
            "users": auth.users(w.s, w.ws), "tokens": auth.tokens(w.s, w.ws), "audit": audit.items,
            "audit_next": audit.next_cursor, "cursor": cursor, "info": info, "roles": ROLE_NAMES, "me": w.who}


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, w: Work = Depends(work(Perm.ADMIN))) -> HTMLResponse:
    """`cursor` pages back through the audit log, 100 entries at a time."""
    cursor = request.query_params.get("cursor") or None
    return render(request, "admin.html", nav="admin", new_token=None, **_page(w, cursor=cursor))


@router.post("/admin/users")
def create_user(request: Request, form: FormData = Depends(form_data),
                w: Work = Depends(work(Perm.ADMIN))) -> Response:
    commands.create_user(w, text(form, "username"), str(form.get("password") or ""), text(form, "role"))
    flash(request, N_("User created."))
    return done(request, "/admin#users")


@router.post("/admin/users/{user_id:int}")
def update_user(request: Request, user_id: int, form: FormData = Depends(form_data),
                w: Work = Depends(work(Perm.ADMIN))) -> Response:
    role = text(form, "role") or None
    active_raw = text(form, "active")
    commands.update_user(w, user_id, role=role, active=None if not active_raw else active_raw == "1")
    flash(request, N_("User updated."))
    return done(request, "/admin#users")


@router.post("/admin/tokens", response_class=HTMLResponse)
def create_token(request: Request, form: FormData = Depends(form_data),
                 w: Work = Depends(work(Perm.ADMIN))) -> HTMLResponse:
    """The token is on this answer only: siyu keeps its hash, so the page is rendered, not redirected to."""
    _, token = commands.create_token(w, text(form, "name"), text(form, "role"))
    resp = render(request, "admin.html", nav="admin", new_token=token, **_page(w))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.post("/admin/tokens/{token_id:int}/revoke")
def revoke_token(request: Request, token_id: int, w: Work = Depends(work(Perm.ADMIN))) -> Response:
    commands.revoke_token(w, token_id)
    flash(request, N_("Token revoked."))
    return done(request, "/admin#tokens")


@router.post("/admin/workspace/locale")
def set_member_locale(request: Request, form: FormData = Depends(form_data),
                      w: Work = Depends(work(Perm.ADMIN))) -> Response:
    commands.set_workspace_locale(w, text(form, "locale"))
    flash(request, N_("Members now see their pages in this language."))
    return done(request, "/admin")
