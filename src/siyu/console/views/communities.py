"""Communities (A1 profile, A2 type, A3 rules, C1 welcome + questionnaire), their roles (A4) and groups."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require
from siyu.communities import commands, rules_text, service
from siyu.communities.schemas import ROLES, CommunityIn, CommunityPatch, GroupIn, RoleIn, Rules
from siyu.console.render import N_, done, flash, render
from siyu.console.views.common import form_data, integer, options, parse, text
from siyu.edge.work import Work, edge_router, work
from siyu.models import Community

router = edge_router()

TYPES = ("traffic", "flash", "content", "checkin")
PROFILE_CHOICES: dict[str, tuple[str, ...]] = {
    "purpose": ("acquire", "convert", "retain"),
    "orientation": ("interest", "knowledge", "product", "vertical", "other"),
    "scale": ("small", "growing"),
    "expansion": ("open", "share_to_join", "invite_only", "card"),
    "management": ("flat", "pyramid"),
    "function": ("communication", "functional"),
    "fee": ("free", "paid"),
}
TARGET_KINDS = ("users", "decision_makers", "both")
PROFILE_TEXT = ("north_star", "culture")
TARGET_TEXT = ("description", "age", "gender", "region", "occupation")
RULE_FIELDS = ("name_card", "offers", "how_to_ask", "forbidden", "allowed", "penalties")
MAX_QUESTIONS = 10


def community_data(form: FormData) -> dict[str, Any]:
    """The form as the API's CommunityIn shape."""
    profile: dict[str, Any] = {k: text(form, f"profile.{k}") for k in PROFILE_CHOICES if text(form, f"profile.{k}")}
    for k in PROFILE_TEXT:
        profile[k] = text(form, f"profile.{k}")
    fee_amount = text(form, "profile.fee_amount")
    if fee_amount:
        profile["fee_amount"] = fee_amount
    target: dict[str, Any] = {k: text(form, f"target.{k}") for k in TARGET_TEXT}
    if text(form, "target.kind"):
        target["kind"] = text(form, "target.kind")
    profile["target_users"] = target
    questions = []
    for i in range(MAX_QUESTIONS):
        q = text(form, f"q{i}.question")
        group = text(form, f"q{i}.tag_group")
        opts = options(text(form, f"q{i}.options"))
        if q or group or opts:
            questions.append({"question": q, "tag_group": group, "options": opts})
    data: dict[str, Any] = {
        "name": text(form, "name"),
        "type": text(form, "type") or "content",
        "profile": profile,
        "rules": {k: text(form, f"rules.{k}") for k in RULE_FIELDS},
        "welcome_text": text(form, "welcome_text"),
        "activities": text(form, "activities"),
        "questionnaire": questions,
    }
    capacity = integer(form, "default_capacity")
    if capacity is not None:
        data["default_capacity"] = capacity
    return data


def preview(rules: dict[str, Any], title: str) -> dict[str, Any]:
    rendered = rules_text.render(Rules.model_validate(rules or {}), title)
    fit = rules_text.fit(rendered)
    return {"text": rendered, "lines": fit.lines, "max_lines": fit.max_lines, "fits": fit.fits}


def _form_page(request: Request, community: Community | None, values: dict[str, Any]) -> dict[str, Any]:
    return {"values": values, "types": TYPES, "profile_choices": PROFILE_CHOICES, "target_kinds": TARGET_KINDS,
            "rule_fields": RULE_FIELDS, "max_questions": MAX_QUESTIONS, "community": community}


def _values(c: Community | None) -> dict[str, Any]:
    if c is None:
        return CommunityIn(name="x").model_dump(mode="json") | {"name": ""}
    return {"name": c.name, "type": c.type, "profile": c.profile, "rules": c.rules,
            "welcome_text": c.welcome_text, "activities": c.activities, "questionnaire": c.questionnaire,
            "default_capacity": c.default_capacity}


@router.get("/communities", response_class=HTMLResponse)
def list_communities(request: Request, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    s = w.s
    rows = []
    for c in service.list_all(s, w.ws):
        groups = service.groups(s, w.ws, c.id)
        counts = service.member_counts(s, c)
        rows.append({"c": c, "groups": len(groups), "members": sum(counts.values()),
                     "preview": preview(c.rules, c.name)})
    return render(request, "communities/list.html", nav="communities", rows=rows)


@router.get("/communities/new", response_class=HTMLResponse)
def new_community(request: Request, who: Principal = Depends(require(Perm.WRITE))) -> HTMLResponse:
    """An empty form (no database: no unit of work)."""
    values = _values(None)
    return render(request, "communities/new.html", nav="communities", preview=preview({}, ""),
                  **_form_page(request, None, values))


@router.post("/communities")
def create_community(request: Request, form: FormData = Depends(form_data),
                     w: Work = Depends(work(Perm.WRITE))) -> Response:
    c = commands.create(w, parse(CommunityIn, community_data(form)))
    flash(request, N_("Community created."))
    return done(request, f"/communities/{c.id}")


@router.post("/communities/preview-rules", response_class=HTMLResponse)
def preview_rules(request: Request, form: FormData = Depends(form_data),
                  who: Principal = Depends(require(Perm.READ))) -> HTMLResponse:
    """The phone preview as the rules are typed (no database: no unit of work, no write lock per keystroke)."""
    rules = parse(Rules, {k: text(form, f"rules.{k}") for k in RULE_FIELDS})
    return render(request, "communities/_phone.html", preview=preview(rules.model_dump(), text(form, "name")))


@router.get("/communities/{community_id:int}", response_class=HTMLResponse)
def community_detail(request: Request, community_id: int, w: Work = Depends(work(Perm.READ))) -> HTMLResponse:
    s = w.s
    c = service.get(s, w.ws, community_id)
    groups = service.groups(s, w.ws, c.id)
    return render(request, "communities/detail.html", nav="communities", preview=preview(c.rules, c.name),
                  groups=groups, occupancy=service.occupancy(s, [g.id for g in groups]),
                  counted=service.member_counts(s, c), roles=service.roles(s, c.id), role_names=ROLES,
                  **_form_page(request, c, _values(c)))


@router.post("/communities/{community_id:int}")
def update_community(request: Request, community_id: int, form: FormData = Depends(form_data),
                     w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.update(w, community_id, parse(CommunityPatch, community_data(form)))
    flash(request, N_("Community saved."))
    return done(request, f"/communities/{community_id}")


@router.post("/communities/{community_id:int}/roles")
def add_role(request: Request, community_id: int, form: FormData = Depends(form_data),
             w: Work = Depends(work(Perm.WRITE))) -> Response:
    body = parse(RoleIn, {"contact_id": integer(form, "contact_id"), "role": text(form, "role")})
    commands.add_role(w, community_id, body)
    flash(request, N_("Role added."))
    return done(request, f"/communities/{community_id}#roles")


@router.post("/communities/{community_id:int}/roles/{role_id:int}/delete")
def remove_role(request: Request, community_id: int, role_id: int, w: Work = Depends(work(Perm.WRITE))) -> Response:
    commands.remove_role(w, community_id, role_id)
    flash(request, N_("Role removed."))
    return done(request, f"/communities/{community_id}#roles")


@router.post("/communities/{community_id:int}/groups")
def add_group(request: Request, community_id: int, form: FormData = Depends(form_data),
              w: Work = Depends(work(Perm.WRITE))) -> Response:
    data: dict[str, Any] = {"name": text(form, "name"), "community_id": community_id, "owner": text(form, "owner")}
    capacity = integer(form, "capacity")
    if capacity is not None:
        data["capacity"] = capacity
    commands.create_group(w, parse(GroupIn, data))
    flash(request, N_("Group created."))
    return done(request, f"/communities/{community_id}#groups")
