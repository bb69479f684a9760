"""`siyu playbook list|validate|preview|apply`."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from siyu.kit.errors import SiyuError

if TYPE_CHECKING:
    from siyu.runtime import Runtime

app = typer.Typer(help="Playbooks: bundles of calendar items, settings, FAQ and a timeline.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
DataOpt = Annotated[Path, typer.Option("--data", "-d", help="workspace folder", envvar="SIYU_DATA_DIR")]
Target = Annotated[int | None, typer.Option("--community", help="apply to every group of this community")]
Groups = Annotated[list[int] | None, typer.Option("--group", help="apply to this group (repeatable)")]
Anchor = Annotated[str | None, typer.Option("--anchor", help="day D0 of the timeline, YYYY-MM-DD (default today)")]


def _fail(e: SiyuError) -> None:
    err.print(f"[red]{escape(e.message)}[/] ({e.code})")
    raise typer.Exit(1)


def _anchor(value: str | None, tz_today: date) -> date:
    if value is None:
        return tz_today
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]--anchor must be YYYY-MM-DD, got {value!r}[/]")
        raise typer.Exit(2) from None


@app.command("list")
def list_playbooks() -> None:
    """The shipped playbooks."""
    from siyu.playbooks import loader

    t = Table("name", "version", "title", "calendar items", "timeline steps")
    for pb in loader.shipped():
        t.add_row(pb.name, pb.version, escape(pb.title), str(len(pb.calendar)), str(len(pb.timeline)))
    out.print(t)


@app.command()
def validate(playbook: Annotated[str, typer.Argument(help="shipped name or path to a .yaml file")]) -> None:
    """Check a playbook file; prints every problem with its place."""
    from siyu.playbooks import loader

    try:
        pb = loader.find(playbook)
    except SiyuError as e:
        _fail(e)
        return
    out.print(f"[green]{pb.name}@{pb.version} is valid[/]: {len(pb.calendar)} calendar items, "
              f"{len(pb.timeline)} timeline steps, {len(pb.faq)} FAQ entries.")


def _runtime(data: Path) -> Runtime:
    from siyu.cli import _require_workspace
    from siyu.runtime import Runtime

    return Runtime(_require_workspace(data), immediate=True)


@app.command()
def preview(playbook: str, community: Target = None, group: Groups = None, anchor: Anchor = None,
            days: Annotated[int, typer.Option(help="how many days to show")] = 14,
            data: DataOpt = Path("siyu-data")) -> None:
    """List every message the playbook would send, when and where (nothing is written)."""
    from siyu.playbooks import loader, runner

    rt = _runtime(data)
    try:
        pb = loader.find(playbook)
        with rt.tx() as s:
            tz = runner.workspace_tz(s, 1)
            now = rt.clock.now()
            d0 = _anchor(anchor, now.astimezone(tz).date())
            start = now
            lines = runner.preview(s, 1, pb, community_id=community, group_ids=group, anchor=d0, start=start,
                                   days=days)
    except SiyuError as e:
        _fail(e)
        return
    t = Table("when", "group", "what", "text")
    for line in lines:
        t.add_row(line.at.astimezone(tz).strftime("%m-%d %a %H:%M"), escape(line.group_name), line.kind,
                  escape(line.text.replace("\n", " ")[:80]))
    out.print(t)
    out.print(f"{len(lines)} messages/actions.")


@app.command()
def apply(playbook: str, community: Target = None, group: Groups = None, anchor: Anchor = None,
          data: DataOpt = Path("siyu-data")) -> None:
    """Apply a playbook: settings, FAQ and calendar items now; timeline steps when due."""
    from siyu.playbooks import loader, runner

    rt = _runtime(data)
    try:
        pb = loader.find(playbook)
        with rt.tx() as s:
            tz = runner.workspace_tz(s, 1)
            now: datetime = rt.clock.now()
            run = runner.apply(s, 1, pb, community_id=community, group_ids=group,
                               anchor=_anchor(anchor, now.astimezone(tz).date()), now=now, actor="cli")
            out.print(f"[green]Applied {pb.name}@{pb.version}[/] as run {run.id}: "
                      f"{len(run.created.get('items', []))} calendar items, {run.created.get('steps', 0)} "
                      f"timeline steps, {len(run.created.get('faq', []))} FAQ entries.")
    except SiyuError as e:
        _fail(e)
