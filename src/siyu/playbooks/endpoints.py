"""REST endpoints of playbooks: the shipped bundles, validate a file, preview, apply, runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Body, Depends
from pydantic import BaseModel, Field

from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require
from siyu.edge.work import Work, edge_router, work
from siyu.kit.pagination import Cursor, Limit, PageOut, window
from siyu.kit.params import Day, Id
from siyu.playbooks import commands, loader, runner
from siyu.playbooks.schema import Playbook

router = edge_router(prefix="/api/v1", tags=["playbooks"])


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


# The shipped bundles and validation read files, not the database: no unit of work (a POST's would take the
# writers' lock for nothing).
@router.get("/playbooks")
def list_playbooks(cursor: Cursor = None, limit: Limit = 50,
                   who: Principal = Depends(require(Perm.READ))) -> PageOut[PlaybookOut]:
    """The shipped playbooks, by file name."""
    return PageOut.of(window(loader.shipped(), cursor=cursor, limit=limit), summary)


@router.post("/playbooks/validate")
def validate(yaml_text: str = Body(..., media_type="text/plain", max_length=200_000),
             who: Principal = Depends(require(Perm.READ))) -> PlaybookOut:
    """Validate a playbook file sent as the raw body; 422 `playbook_invalid` lists every problem."""
    return summary(loader.parse(yaml_text, "body"))


@router.post("/playbooks/{name}/preview")
def preview(name: str, body: TargetIn, w: Work = Depends(work(Perm.READ))) -> list[LineOut]:
    """Every message the playbook would send (timeline steps, and calendar posts in the next `days`), in time
    order; nothing is written."""
    pb = loader.find(name)
    lines = runner.preview(w.s, w.ws, pb, community_id=body.community_id, group_ids=body.group_ids,
                           anchor=body.anchor or commands.today(w), start=w.now, days=body.days)
    return [LineOut(**line.__dict__) for line in lines]


@router.post("/playbooks/{name}/apply", status_code=201)
def apply(name: str, body: TargetIn, w: Work = Depends(work(Perm.WRITE))) -> RunOut:
    run = commands.apply(w, name, community_id=body.community_id, group_ids=body.group_ids, anchor=body.anchor)
    return RunOut.model_validate(run, from_attributes=True)


@router.get("/playbook-runs")
def list_runs(cursor: Cursor = None, limit: Limit = 50, w: Work = Depends(work(Perm.READ))) -> PageOut[RunOut]:
    """Newest first."""
    page = runner.run_page(w.s, w.ws, cursor=cursor, limit=limit)
    return PageOut.of(page, lambda r: RunOut.model_validate(r, from_attributes=True))


@router.get("/playbook-runs/{run_id}")
def get_run(run_id: Id, w: Work = Depends(work(Perm.READ))) -> RunOut:
    run = runner.get_run(w.s, w.ws, run_id)
    out = RunOut.model_validate(run, from_attributes=True)
    out.steps = [{"idx": st.idx, "group_id": st.group_id, "due_at": st.due_at.isoformat(), "kind": st.kind,
                  "status": st.status, "result": st.result} for st in runner.steps_of(w.s, run_id)]
    return out
