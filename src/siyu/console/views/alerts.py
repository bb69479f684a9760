"""Console pages: alerts of every kind (dead groups, complaints, missed SOP windows): open ones to acknowledge,
and the recent history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.engagement.alerts import service
from siyu.kit.web import require, runtime

router = APIRouter()


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    with runtime(request).tx() as s:
        open_ = service.open_alerts(s, who.workspace_id)
        history = service.recent(s, who.workspace_id, 100)
        names = queries.group_names(s, {a.group_id for a in open_ + history if a.group_id})
        return render(request, "alerts/list.html", nav="alerts", open_alerts=open_, history=history,
                      group_names=names)


@router.post("/alerts/{alert_id:int}/acknowledge")
def acknowledge(request: Request, alert_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        a = service.acknowledge(s, who.workspace_id, alert_id, now=rt.clock.now())
        auth.audit(s, who, "alert.acknowledge", "alert", a.id, {"kind": a.kind}, now=rt.clock.now())
    flash(request, N_("Alert acknowledged."))
    return done(request, "/alerts")
