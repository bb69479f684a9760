"""Console pages: interactions (C6) — create per kind for a group, list with live counts, detail with entries and
results, close / draw / post the live list. Live figures poll with HTMX; member text reaches the page through
autoescape only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from siyu.auth.roles import Perm
from siyu.communities import service as communities
from siyu.console import queries
from siyu.console.render import N_, done, flash, render, zone
from siyu.console.views.common import form_data, integer, lines, parse, text
from siyu.edge.work import Work, edge_router, work
from siyu.engagement.interaction import commands, service
from siyu.engagement.interaction.schemas import KINDS, InteractionIn
from siyu.engagement.interaction.triggers import label
from siyu.kit.errors import Invalid
from siyu.models import Group, Interaction

router = edge_router()
STATUSES = ("open", "closed")


def interaction_data(form: FormData, request: Request) -> dict[str, Any]:
    """The form as the API's InteractionIn shape (only the fields of the chosen kind)."""
    kind = text(form, "kind")
    data: dict[str, Any] = {"group_id": integer(form, "group_id"), "kind": kind, "title": text(form, "title"),
                            "intro": text(form, "intro")}
    raw_close = text(form, "closes_at")
    if raw_close:
        try:
            data["closes_at"] = datetime.fromisoformat(raw_close).replace(tzinfo=zone(request))
        except ValueError:
            raise Invalid("closes_at: not a date and time", code="validation_error") from None
    if kind in ("quiz", "poll"):
        data["options"] = lines(text(form, "options"))
    if kind == "quiz":
        data["correct"] = integer(form, "correct")
    if kind == "solitaire":
        for name in ("stock", "announce_every", "announce_interval_s"):
            value = integer(form, name)
            if value is not None:
                data[name] = value
    if kind == "draw":
        data["keyword"] = text(form, "keyword") or None
        data["winners"] = integer(form, "winners")
    if kind == "dice":
        data["rolls_per_member"] = integer(form, "rolls_per_member")
    return data


def _rows(s: Session, ws: int, status: str | None) -> dict[str, Any]:
    items = service.list_all(s, ws, status=status)
    return {"items": [(ia, service.live(s, ia)) for ia in items], "status": status,
            "group_names": queries.group_names(s, {ia.group_id for ia in items})}


@router.get("/interactions", response_class=HTMLResponse)
def list_page(request: Request, status: str | None = None, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    status = status if status in STATUSES else None
    return render(request, "interactions/list.html", nav="interactions", statuses=STATUSES,
                  **_rows(w.s, w.ws, status))


@router.get("/interactions/rows", response_class=HTMLResponse)
def rows_fragment(request: Request, status: str | None = None, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    status = status if status in STATUSES else None
    return render(request, "interactions/_rows.html", **_rows(w.s, w.ws, status))


@router.get("/interactions/new", response_class=HTMLResponse)
def new_page(request: Request, kind: str = "solitaire", group_id: int | None = None,
             w: Work = Depends(work(Perm.WRITE))) -> HTMLResponse:
    kind = kind if kind in KINDS else "solitaire"
    groups = [g for g in communities.groups(w.s, w.ws) if g.status in ("active", "full")]
    return render(request, "interactions/new.html", nav="interactions", kind=kind, kinds=KINDS,
                  groups=groups, selected=group_id)


@router.post("/interactions")
def create(request: Request, form: FormData = Depends(form_data), w: Work = Depends(work(Perm.WRITE))) -> Response:
    ia = commands.create(w, parse(InteractionIn, interaction_data(form, request)))
    flash(request, N_("Interaction started and announced in the group."))
    return done(request, f"/interactions/{ia.id}")


def _detail(s: Session, ia: Interaction) -> dict[str, Any]:
    rows = service.entries(s, ia)
    names = {e.contact_id: name for e, name in rows}
    result_ids = set(ia.result.get("winners", [])) | set(ia.result.get("correct_contacts", [])) | set(
        ia.result.get("top_contacts", []))
    missing = result_ids - set(names)
    names.update(queries.contact_names(s, missing) if missing else {})
    return {"ia": ia, "live": service.live(s, ia), "entries": rows, "names": names,
            "group": s.get(Group, ia.group_id), "label": label,
            "tickets": dict((c, n) for c, n in ia.result.get("tickets", []))}


@router.get("/interactions/{interaction_id:int}", response_class=HTMLResponse)
def detail_page(request: Request, interaction_id: int, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    ia = service.get(w.s, w.ws, interaction_id)
    return render(request, "interactions/detail.html", nav="interactions", **_detail(w.s, ia))


@router.get("/interactions/{interaction_id:int}/live", response_class=HTMLResponse)
def live_fragment(request: Request, interaction_id: int, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    ia = service.get(w.s, w.ws, interaction_id)
    return render(request, "interactions/_live.html", **_detail(w.s, ia))


@router.post("/interactions/{interaction_id:int}/close")
def close(request: Request, interaction_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.close(w, interaction_id)
    flash(request, N_("Interaction closed; results posted in the group."))
    return done(request, f"/interactions/{interaction_id}")


@router.post("/interactions/{interaction_id:int}/draw")
def draw(request: Request, interaction_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.draw(w, interaction_id)
    flash(request, N_("Winners drawn and announced in the group."))
    return done(request, f"/interactions/{interaction_id}")


@router.post("/interactions/{interaction_id:int}/announce")
def announce(request: Request, interaction_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.announce(w, interaction_id)
    flash(request, N_("Live list posted in the group."))
    return done(request, f"/interactions/{interaction_id}")
