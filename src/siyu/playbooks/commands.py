"""What a person does with playbooks, from the REST API or the console: applying one, audited inside the
request's unit of work (`edge/work.py`)."""

from __future__ import annotations

from datetime import date

from siyu.edge.work import Work
from siyu.models import PlaybookRun
from siyu.playbooks import loader, runner


def today(w: Work) -> date:
    """The request's day in the workspace's time zone: a timeline's default D0."""
    return w.now.astimezone(runner.workspace_tz(w.s, w.ws)).date()


def apply(w: Work, name: str, *, community_id: int | None = None, group_ids: list[int] | None = None,
          anchor: date | None = None) -> PlaybookRun:
    """Apply a shipped playbook to a community or to groups, with day D0 `anchor` (default: today)."""
    pb = loader.find(name)
    run = runner.apply(w.s, w.ws, pb, community_id=community_id, group_ids=group_ids,
                       anchor=anchor or today(w), now=w.now, actor=w.who.actor)
    w.audit("playbook.apply", "playbook_run", run.id, {"playbook": f"{pb.name}@{pb.version}"})
    return run
