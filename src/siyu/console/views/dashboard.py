"""The dashboard: what the workspace holds and how busy the event log has been."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from siyu.auth.roles import Perm
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import render, zone
from siyu.delivery import service as outbox
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.alerts import service as alerts

router = edge_router()
STATES = ("planned", "sending", "retry", "sent", "task_open", "task_done", "failed", "expired")


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, w: Work = Depends(work(Perm.READ, Perm.READ_CONTACTS))) -> HTMLResponse:
    s, ws = w.s, w.ws
    tz = zone(request)
    today = w.now.astimezone(tz).date()
    summary = communities.summary(s, ws)
    contacts = queries.contact_count(s, ws)
    start = queries.local_midnight(today, tz)
    events_today = queries.events_between(s, ws, start, start + timedelta(days=1))
    by_state = outbox.counts_by_state(s, ws)
    per_day = queries.events_per_day(s, ws, today, tz)
    open_alerts = alerts.count_open(s, ws)
    states = [(st, by_state.get(st, 0)) for st in STATES] + [
        (st, n) for st, n in sorted(by_state.items()) if st not in STATES]
    chart = {"days": [d.strftime("%m-%d") for d, _ in per_day], "counts": [n for _, n in per_day]}
    return render(request, "dashboard.html", nav="dashboard", summary=summary, contacts=contacts,
                  events_today=events_today, states=states, chart=chart, open_alerts=open_alerts,
                  generated=datetime.now(tz))
