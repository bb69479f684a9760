"""What a person does to alerts and failed automations, from the REST API or the console: one function per act,
each auditing itself inside the request's unit of work (`edge/work.py`)."""

from __future__ import annotations

from siyu.edge.work import Work
from siyu.engagement.alerts import failures, service
from siyu.models import Alert, AutomationFailure


def acknowledge(w: Work, alert_id: int) -> Alert:
    a = service.acknowledge(w.s, w.ws, alert_id, now=w.now)
    w.audit("alert.acknowledge", "alert", a.id, {"kind": a.kind})
    return a


def rerun_failure(w: Work, failure_id: int) -> AutomationFailure:
    """Run a failed automation on its event again now (after its cause was fixed); its `state` says how it went."""
    f = failures.rerun(w.s, w.ws, failure_id, w.now)
    w.audit("automation.rerun", "automation_failure", f.id, {"state": f.state})
    return f
