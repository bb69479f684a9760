"""Users & settings (admin): users, roles, API tokens (shown once), workspace facts, the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from siyu.auth import service as auth
from siyu.auth.roles import ROLE_NAMES, Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, text
from siyu.models import Workspace

router = APIRouter()


def _page(request: Request, s: Session, who: Principal) -> dict[str, Any]:
    rt = runtime(request)
    settings = rt.settings
    ws = s.get(Workspace, who.workspace_id)
    info = {
        "name": ws.name if ws else "",
        "timezone": settings.timezone,
        "database": rt.engine.dialect.name,
        "queue": "redis" if settings.is_redis_queue else "sqlite",
        "sandbox_mode": ws.sandbox_mode if ws else "bot",
        "base_url": settings.base_url,
        "data_dir": str(settings.data_dir),
    }
    return {"users": auth.users(s, who.workspace_id), "tokens": auth.tokens(s, who.workspace_id),
            "audit": auth.audit_log(s, who.workspace_id, limit=100).items, "info": info, "roles": ROLE_NAMES,
            "me": who}


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, who: Principal = Depends(require(Perm.ADMIN))) -> HTMLResponse:
    with runtime(request).tx() as s:
        return render(request, "admin.html", nav="admin", new_token=None, **_page(request, s, who))


@router.post("/admin/users")
def create_user(request: Request, form: FormData = Depends(form_data),
                who: Principal = Depends(require(Perm.ADMIN))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        u = auth.create_user(s, who.workspace_id, text(form, "username"), str(form.get("password") or ""),
                             text(form, "role"))
        auth.audit(s, who, "user.create", "user", u.id, {"username": u.username, "role": u.role},
                   now=rt.clock.now())
    flash(request, N_("User created."))
    return done(request, "/admin#users")


@router.post("/admin/users/{user_id:int}")
def update_user(request: Request, user_id: int, form: FormData = Depends(form_data),
                who: Principal = Depends(require(Perm.ADMIN))) -> Response:
    role = text(form, "role") or None
    active_raw = text(form, "active")
    active = None if not active_raw else active_raw == "1"
    rt = runtime(request)
    with rt.tx() as s:
        u = auth.update_user(s, who.workspace_id, user_id, role=role, active=active, now=rt.clock.now())
        detail = {k: v for k, v in (("role", role), ("active", active)) if v is not None}
        auth.audit(s, who, "user.update", "user", u.id, detail, now=rt.clock.now())
    flash(request, N_("User updated."))
    return done(request, "/admin#users")


@router.post("/admin/tokens", response_class=HTMLResponse)
def create_token(request: Request, form: FormData = Depends(form_data),
                 who: Principal = Depends(require(Perm.ADMIN))) -> HTMLResponse:
    """The token is on this answer only: siyu keeps its hash, so the page is rendered, not redirected to."""
    rt = runtime(request)
    with rt.tx() as s:
        row, token = auth.create_token(s, who.workspace_id, text(form, "name"), text(form, "role"))
        auth.audit(s, who, "token.create", "token", row.id, {"name": row.name, "role": row.role},
                   now=rt.clock.now())
    with rt.tx() as s:
        resp = render(request, "admin.html", nav="admin", new_token=token, **_page(request, s, who))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.post("/admin/tokens/{token_id:int}/revoke")
def revoke_token(request: Request, token_id: int, who: Principal = Depends(require(Perm.ADMIN))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        auth.revoke_token(s, who.workspace_id, token_id)
        auth.audit(s, who, "token.revoke", "token", token_id, now=rt.clock.now())
    flash(request, N_("Token revoked."))
    return done(request, "/admin#tokens")
