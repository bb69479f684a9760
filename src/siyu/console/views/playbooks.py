"""Console pages: playbooks — the shipped bundles, a preview of every message they would send, apply, and runs."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, integer, text
from siyu.kit.errors import Invalid
from siyu.playbooks import loader, runner

router = APIRouter()


def _anchor(raw: str, today: date) -> date:
    if not raw:
        return today
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("D0 must be a date (YYYY-MM-DD)", code="invalid_date") from None


@router.get("/playbooks", response_class=HTMLResponse)
def playbooks_page(request: Request, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    with runtime(request).tx() as s:
        return render(request, "playbooks/list.html", nav="playbooks", playbooks=loader.shipped(),
                      runs=runner.runs(s, who.workspace_id),
                      community_names=queries.community_names(s, who.workspace_id))


@router.get("/playbooks/{name}", response_class=HTMLResponse)
def playbook_page(request: Request, name: str, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    pb = loader.find(name)
    rt = runtime(request)
    with rt.tx() as s:
        today = rt.clock.now().astimezone(runner.workspace_tz(s, who.workspace_id)).date()
        return render(request, "playbooks/detail.html", nav="playbooks", pb=pb, today=today.isoformat(),
                      communities=communities.list_all(s, who.workspace_id))


@router.post("/playbooks/{name}/preview", response_class=HTMLResponse)
def preview(request: Request, name: str, form: FormData = Depends(form_data),
            who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    pb = loader.find(name)
    rt = runtime(request)
    with rt.tx() as s:
        tz = runner.workspace_tz(s, who.workspace_id)
        anchor = _anchor(text(form, "anchor"), rt.clock.now().astimezone(tz).date())
        start = rt.clock.now()
        lines = runner.preview(s, who.workspace_id, pb, community_id=integer(form, "community_id"),
                               anchor=anchor, start=start, days=integer(form, "days") or 14)
        return render(request, "playbooks/_preview.html", lines=lines, tz=tz)


@router.post("/playbooks/{name}/apply")
def apply(request: Request, name: str, form: FormData = Depends(form_data),
          who: Principal = Depends(require(Perm.WRITE))) -> Response:
    pb = loader.find(name)
    rt = runtime(request)
    with rt.tx() as s:
        tz = runner.workspace_tz(s, who.workspace_id)
        run = runner.apply(s, who.workspace_id, pb, community_id=integer(form, "community_id"),
                           anchor=_anchor(text(form, "anchor"), rt.clock.now().astimezone(tz).date()),
                           now=rt.clock.now(), actor=who.actor)
        auth.audit(s, who, "playbook.apply", "playbook_run", run.id, {"playbook": f"{pb.name}@{pb.version}"},
                   now=rt.clock.now())
        run_id = run.id
    flash(request, N_("Playbook applied."))
    return done(request, f"/playbooks/runs/{run_id}")


@router.get("/playbooks/runs/{run_id:int}", response_class=HTMLResponse)
def run_page(request: Request, run_id: int, who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    from siyu.kit.errors import NotFound
    from siyu.models import PlaybookRun

    with runtime(request).tx() as s:
        run = s.get(PlaybookRun, run_id)
        if run is None or run.workspace_id != who.workspace_id:
            raise NotFound("no such playbook run", code="playbook_run_not_found")
        steps = runner.steps_of(s, run_id)
        names = queries.group_names(s, {st.group_id for st in steps if st.group_id})
        return render(request, "playbooks/run.html", nav="playbooks", run=run, steps=steps, group_names=names)
