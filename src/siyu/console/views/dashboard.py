"""The dashboard, for operators rather than engineers: new and lost members, who spoke and how much, what the FAQ
answered and its hit rate, what moderation did, what waits for staff (owner tasks, alerts) — today and over 7 days,
with 14-day charts that read on a phone. A sales user's dashboard counts only the contacts assigned to them.

The figures are `console/figures.py`; the outbox's states stay available to admins at the bottom."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from siyu.auth.roles import Perm, allowed
from siyu.communities import service as communities
from siyu.console import figures
from siyu.console.render import N_, gettext, render, zone
from siyu.contacts import service as contacts
from siyu.delivery import service as outbox
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.alerts import service as alerts

router = edge_router()
STATES = ("planned", "sending", "retry", "sent", "task_open", "task_done", "failed", "expired")


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, w: Work = Depends(work(Perm.READ, Perm.READ_CONTACTS))) -> HTMLResponse:
    s, ws = w.s, w.ws
    tz = zone(request)
    owner = w.who.contact_owner
    d = figures.build(s, ws, now=w.now, tz=tz, owner=owner)
    setup = allowed(w.who.role, Perm.READ)
    states: list[tuple[str, int]] = []
    if allowed(w.who.role, Perm.ADMIN):
        by_state = outbox.counts_by_state(s, ws)
        states = [(st, by_state.get(st, 0)) for st in STATES] + [
            (st, n) for st, n in sorted(by_state.items()) if st not in STATES]
    return render(request, "dashboard.html", nav="dashboard", d=d, charts=_charts(request, d),
                  summary=communities.summary(s, ws) if setup else None,
                  contacts=contacts.count(s, ws, owner=owner), open_alerts=alerts.count_open(s, ws) if setup else 0,
                  own_only=owner is not None, states=states, today=w.now.astimezone(tz).date())


def _charts(request: Request, d: figures.Dashboard) -> dict[str, Any]:
    """The three 14-day charts as data for static/operator.js (series names in the reader's language)."""
    x = [day.strftime("%m-%d") for day in d.days]

    def t(msgid: str) -> str:
        return gettext(request, msgid)

    return {
        "members": {"x": x, "series": [
            {"name": t(N_("New members")), "data": d.joins, "type": "bar", "color": "#1a7f5a"},
            {"name": t(N_("Lost members")), "data": d.leaves, "type": "bar", "color": "#d9534f"}]},
        "activity": {"x": x, "series": [
            {"name": t(N_("Active members")), "data": d.active, "color": "#0b63a8", "area": True},
            {"name": t(N_("Messages")), "data": d.messages, "color": "#c98a00"}]},
        "faq": {"x": x, "series": [
            {"name": t(N_("Answered by the FAQ")), "data": d.faq_answers, "type": "bar", "stack": "faq",
             "color": "#1a7f5a"},
            {"name": t(N_("Left to staff")), "data": d.faq_suggestions, "type": "bar", "stack": "faq",
             "color": "#c98a00"}]},
    }
