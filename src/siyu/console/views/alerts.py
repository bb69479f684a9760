"""Console pages: alerts of every kind (dead groups, complaints, missed SOP windows): open ones to acknowledge,
and the recent history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.engagement.alerts import failures, service

router = APIRouter()


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    with runtime(request).tx() as s:
        open_ = service.open_alerts(s, who.workspace_id)
        history = service.recent(s, who.workspace_id, 100)
        names = queries.group_names(s, {a.group_id for a in open_ + history if a.group_id})
        return render(request, "alerts/list.html", nav="alerts", open_alerts=open_, history=history,
                      group_names=names, failures=failures.open_failures(s, who.workspace_id))


@router.post("/alerts/automation-failures/{failure_id:int}/rerun")
def rerun_failure(request: Request, failure_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        f = failures.rerun(s, who.workspace_id, failure_id, rt.clock.now())
        auth.audit(s, who, "automation.rerun", "automation_failure", f.id, {"state": f.state}, now=rt.clock.now())
        ok = f.state == "resolved"
    flash(request, N_("The automation ran again and went through.") if ok
          else N_("The automation failed again; the error is shown below."))
    return done(request, "/alerts")


@router.post("/alerts/{alert_id:int}/acknowledge")
def acknowledge(request: Request, alert_id: int, who: Principal = Depends(require(Perm.WRITE))) -> Response:
    rt = runtime(request)
    with rt.tx() as s:
        a = service.acknowledge(s, who.workspace_id, alert_id, now=rt.clock.now())
        auth.audit(s, who, "alert.acknowledge", "alert", a.id, {"kind": a.kind}, now=rt.clock.now())
    flash(request, N_("Alert acknowledged."))
    return done(request, "/alerts")
