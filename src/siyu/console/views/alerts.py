"""Console pages: alerts of every kind (dead groups, complaints, missed SOP windows): open ones to acknowledge,
and the recent history."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from siyu.auth.roles import Perm
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.alerts import commands, failures, service

router = edge_router()


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    s = w.s
    open_ = service.open_alerts(s, w.ws)
    history = service.recent(s, w.ws, 100)
    names = queries.group_names(s, {a.group_id for a in open_ + history if a.group_id})
    return render(request, "alerts/list.html", nav="alerts", open_alerts=open_, history=history,
                  group_names=names, failures=failures.open_failures(s, w.ws))


@router.post("/alerts/automation-failures/{failure_id:int}/rerun")
def rerun_failure(request: Request, failure_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    ok = commands.rerun_failure(w, failure_id).state == "resolved"
    flash(request, N_("The automation ran again and went through.") if ok
          else N_("The automation failed again; the error is shown below."))
    return done(request, "/alerts")


@router.post("/alerts/{alert_id:int}/acknowledge")
def acknowledge(request: Request, alert_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.acknowledge(w, alert_id)
    flash(request, N_("Alert acknowledged."))
    return done(request, "/alerts")
