"""Console pages: playbooks — the shipped bundles, a preview of every message they would send, apply, and runs."""

from __future__ import annotations

from datetime import date

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth.roles import Perm
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, is_htmx, render
from siyu.console.views.common import form_data, integer, text
from siyu.edge.work import Work, edge_router, work
from siyu.kit.errors import Invalid
from siyu.models import Community
from siyu.playbooks import commands, loader, runner
from siyu.playbooks.schema import Playbook

router = edge_router()


def _anchor(raw: str) -> date | None:
    """D0 from the form; None (today) when left empty."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("D0 must be a date (YYYY-MM-DD)", code="invalid_date") from None


@router.get("/playbooks", response_class=HTMLResponse)
def playbooks_page(request: Request, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    return render(request, "playbooks/list.html", nav="playbooks", playbooks=loader.shipped(),
                  runs=runner.runs(w.s, w.ws), community_names=queries.community_names(w.s, w.ws))


def _communities(w: Work) -> list[tuple[Community, int]]:
    """Each community with its number of live groups (a playbook's timeline needs at least one)."""
    return [(c, len(runner.live_groups(w.s, w.ws, c.id))) for c in communities.list_all(w.s, w.ws)]


@router.get("/playbooks/{name}", response_class=HTMLResponse)
def playbook_page(request: Request, name: str, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    pb = loader.find(name)
    return render(request, "playbooks/detail.html", nav="playbooks", pb=pb, today=commands.today(w).isoformat(),
                  communities=_communities(w))


def _no_groups(request: Request, pb: Playbook, community: Community, *, status_code: int = 200,
               applying: bool = False) -> HTMLResponse:
    """What to do on a community without a group, instead of an error: add one (or let a channel code open
    one); a calendar-only playbook can be applied now and starts posting with the first group."""
    resp = render(request, "playbooks/_no_groups.html", status_code=status_code, pb=pb, community=community,
                  applying=applying)
    if applying and is_htmx(request):
        resp.headers["HX-Retarget"] = "#preview"
        resp.headers["HX-Reswap"] = "innerHTML"
    return resp


@router.post("/playbooks/{name}/preview", response_class=HTMLResponse)
def preview(request: Request, name: str, form: FormData = Depends(form_data),
            w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    pb = loader.find(name)
    community_id = integer(form, "community_id")
    if community_id is not None and not runner.live_groups(w.s, w.ws, community_id):
        return _no_groups(request, pb, communities.get(w.s, w.ws, community_id))
    lines = runner.preview(w.s, w.ws, pb, community_id=community_id,
                           anchor=_anchor(text(form, "anchor")) or commands.today(w), start=w.now,
                           days=integer(form, "days") or 14)
    return render(request, "playbooks/_preview.html", lines=lines, tz=runner.workspace_tz(w.s, w.ws))


@router.post("/playbooks/{name}/apply")
def apply(request: Request, name: str, form: FormData = Depends(form_data),
          w: Work = Depends(work(Perm.WRITE))) -> Response:
    try:
        run = commands.apply(w, name, community_id=integer(form, "community_id"),
                             anchor=_anchor(text(form, "anchor")))
    except runner.NoGroups as exc:  # nothing was written: say what to do next
        return _no_groups(request, loader.find(name), exc.community, status_code=409, applying=True)
    flash(request, N_("Playbook applied."))
    return done(request, f"/playbooks/runs/{run.id}")


@router.get("/playbooks/runs/{run_id:int}", response_class=HTMLResponse)
def run_page(request: Request, run_id: int, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    run = runner.get_run(w.s, w.ws, run_id)
    steps = runner.steps_of(w.s, run_id)
    names = queries.group_names(w.s, {st.group_id for st in steps if st.group_id})
    started = {int(st.result["interaction_id"]) for st in steps if isinstance(st.result.get("interaction_id"), int)}
    return render(request, "playbooks/run.html", nav="playbooks", run=run, steps=steps, group_names=names,
                  names={"interactions": queries.interaction_titles(w.s, w.ws, started)})
