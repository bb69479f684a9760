from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, runtime
from siyu.kit.errors import NotFound
from siyu.kit.params import Day, Id
from siyu.models import PlaybookRun
from siyu.playbooks import loader, runner
from siyu.playbooks.schema import Playbook

router = APIRouter(prefix="/api/v1", tags=["playbooks"])


class PlaybookOut(BaseModel):
    name: str
    version: str
    title: str
    source: str
    calendar_items: int
    timeline_steps: int
    faq_entries: int
    settings: dict[str, Any]


class TargetIn(BaseModel):
    community_id: Id | None = None
    group_ids: list[Id] | None = Field(default=None, max_length=2000)
    anchor: Day | None = Field(default=None, description="day D0 of the timeline (default: today, workspace time)")
    days: int = Field(default=14, ge=1, le=60)


class LineOut(BaseModel):
    at: datetime
    group_id: int
    group_name: str
    kind: str
    text: str
    source: str


class RunOut(BaseModel):
    id: int
    name: str
    version: str
    targets: dict[str, Any]
    anchor_at: datetime
    created: dict[str, Any]
    actor: str
    applied_at: datetime
    steps: list[dict[str, Any]] = Field(default_factory=list)


def summary(pb: Playbook) -> PlaybookOut:
    return PlaybookOut(name=pb.name, version=pb.version, title=pb.title, source=pb.source,
                       calendar_items=len(pb.calendar), timeline_steps=len(pb.timeline), faq_entries=len(pb.faq),
                       settings=pb.settings)


@router.get("/playbooks", response_model=list[PlaybookOut])
def list_playbooks(who: Principal = Depends(require(Perm.READ))) -> list[PlaybookOut]:
    return [summary(pb) for pb in loader.shipped()]


@router.post("/playbooks/validate", response_model=PlaybookOut)
def validate(yaml_text: str = Body(..., media_type="text/plain", max_length=200_000),
             who: Principal = Depends(require(Perm.READ))) -> PlaybookOut:
    """Validate a playbook file sent as the raw body; 422 `playbook_invalid` lists every problem."""
    return summary(loader.parse(yaml_text, "body"))


def _anchor(request: Request, s: Any, ws: int, body: TargetIn) -> date:
    if body.anchor is not None:
        return body.anchor
    return runtime(request).clock.now().astimezone(runner.workspace_tz(s, ws)).date()


@router.post("/playbooks/{name}/preview", response_model=list[LineOut])
def preview(request: Request, name: str, body: TargetIn,
            who: Principal = Depends(require(Perm.READ))) -> list[LineOut]:
    pb = loader.find(name)
    rt = runtime(request)
    with rt.tx() as s:
        anchor = _anchor(request, s, who.workspace_id, body)
        start = rt.clock.now()
        lines = runner.preview(s, who.workspace_id, pb, community_id=body.community_id, group_ids=body.group_ids,
                               anchor=anchor, start=start, days=body.days)
        return [LineOut(**line.__dict__) for line in lines]


@router.post("/playbooks/{name}/apply", response_model=RunOut, status_code=201)
def apply(request: Request, name: str, body: TargetIn, who: Principal = Depends(require(Perm.WRITE))) -> RunOut:
    pb = loader.find(name)
    rt = runtime(request)
    with rt.tx() as s:
        run = runner.apply(s, who.workspace_id, pb, community_id=body.community_id, group_ids=body.group_ids,
                           anchor=_anchor(request, s, who.workspace_id, body), now=rt.clock.now(), actor=who.actor)
        auth.audit(s, who, "playbook.apply", "playbook_run", run.id, {"playbook": f"{pb.name}@{pb.version}"},
                   now=rt.clock.now())
        return RunOut.model_validate(run, from_attributes=True)


@router.get("/playbook-runs", response_model=list[RunOut])
def list_runs(request: Request, who: Principal = Depends(require(Perm.READ))) -> list[RunOut]:
    with runtime(request).tx() as s:
        return [RunOut.model_validate(r, from_attributes=True) for r in runner.runs(s, who.workspace_id)]


@router.get("/playbook-runs/{run_id}", response_model=RunOut)
def get_run(request: Request, run_id: Id, who: Principal = Depends(require(Perm.READ))) -> RunOut:
    with runtime(request).tx() as s:
        run = s.get(PlaybookRun, run_id)
        if run is None or run.workspace_id != who.workspace_id:
            raise NotFound("no such playbook run", code="playbook_run_not_found")
        out = RunOut.model_validate(run, from_attributes=True)
        out.steps = [{"idx": st.idx, "group_id": st.group_id, "due_at": st.due_at.isoformat(), "kind": st.kind,
                      "status": st.status, "result": st.result} for st in runner.steps_of(s, run_id)]
        return out
