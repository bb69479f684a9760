"""Connectors (admin): each connector's health (last callback, last error, error rate over the last hour), what it
can do in words, and its settings form — generated from the kind's config schema, secrets as write-only fields —
with a Test button and remove. The same commands as the REST API (`integrations/commands.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from siyu.auth.roles import Perm
from siyu.connectors import describe, health, instances, kinds
from siyu.connectors.base import Check
from siyu.connectors.kinds import Kind
from siyu.console.render import N_, done, flash, gettext, render
from siyu.console.views.common import form_data
from siyu.edge.work import Work, edge_router, work
from siyu.integrations import commands
from siyu.kit.errors import NotFound

router = edge_router()
#: The Test button calls the platform: no transaction may be open around it (`integrations/commands.test`).
platform = APIRouter()

#: Capabilities and their modes in the console's words (the same pairs `describe` words in English).
CAPABILITY_LABELS = {
    "post_to_group": N_("Group posts"), "direct_message": N_("Direct messages"),
    "receive_messages": N_("Incoming messages"), "remove_member": N_("Removing members"),
}
MODE_LABELS = {
    ("post_to_group", "auto"): N_("automatic"), ("post_to_group", "staff_task"): N_("owner confirms"),
    ("post_to_group", "none"): N_("not supported"), ("direct_message", "auto"): N_("automatic"),
    ("direct_message", "welcome_only"): N_("welcome message only"), ("direct_message", "staff_task"): N_("staff sends"),
    ("direct_message", "none"): N_("not supported"), ("receive_messages", "realtime"): N_("in real time"),
    ("receive_messages", "delayed"): N_("with a delay"), ("receive_messages", "none"): N_("not received"),
    ("remove_member", "auto"): N_("automatic"), ("remove_member", "staff_task"): N_("owner removes"),
    ("remove_member", "none"): N_("not supported"),
}
KIND_LABELS = {"webhook": N_("Webhook bridge")}
KIND_SUMMARIES = {"webhook": N_("Any platform (a Telegram, Feishu or DingTalk bot, a shop) sends its events in, "
                                "signed; siyu sends group posts and direct messages out to your URL, signed.")}
#: The Test button's outcome (`Check.outcome`), as a sentence; `ok` picks the alert's colour.
CHECKS = {
    "reachable": N_("Test passed: the outbound URL answered."),
    "inbound_only": N_("Nothing to call: this bridge only receives events. Its callback URL is ready."),
    "unreachable": N_("Test failed: the outbound URL cannot be reached. Check the address and that the receiver "
                      "is running."),
    "refused": N_("Test failed: the outbound URL answered with an error (HTTP %(status)s)."),
    "unusable": N_("This connector cannot be used: its secrets were saved under another secret key. Enter them "
                   "again."),
    "no_self_test": N_("This kind of connector has no test."),
}
#: Form fields of the page itself, which a kind's settings may not use.
OWN_FIELDS = frozenset({"name", "csrf_token", "submission"})


@dataclass(frozen=True)
class FormField:
    """One input of a kind's settings form, from its JSON Schema."""

    name: str
    label: str
    help: str
    input: str  # text | password | url | number | checkbox | select
    value: Any
    required: bool
    secret: bool
    is_set: bool
    attrs: dict[str, Any]
    options: list[str]


def _kind(name: str) -> Kind:
    kind = kinds.get(name)
    if kind is None:
        raise NotFound(f"no connector kind {name!r}", code="unknown_connector_kind")
    return kind


def form_fields(kind: Kind, current: dict[str, Any] | None = None, secrets_set: set[str] | None = None
                ) -> list[FormField]:
    """The kind's settings as inputs, in the model's order: secrets are password inputs that never carry a value
    (on an edit, empty keeps the stored one), URLs `type=url`, numbers with their bounds, enums a select."""
    schema = kind.config.model_json_schema()
    required = set(schema.get("required", []))
    secret_names = set(kind.config.secret_fields())
    out: list[FormField] = []
    for name, prop in schema.get("properties", {}).items():
        branch = prop
        for option in prop.get("anyOf", []):
            if option.get("type") != "null":
                branch = {**prop, **option}
                break
        kind_of = branch.get("type", "string")
        secret = name in secret_names
        attrs: dict[str, Any] = {}
        options: list[str] = [str(v) for v in branch.get("enum", [])]
        if secret:
            widget = "password"
        elif options:
            widget = "select"
        elif kind_of == "boolean":
            widget = "checkbox"
        elif kind_of in ("integer", "number"):
            widget = "number"
            attrs["step"] = "1" if kind_of == "integer" else "any"
            for key, html in (("minimum", "min"), ("maximum", "max"), ("exclusiveMinimum", "min"),
                              ("exclusiveMaximum", "max")):
                if key in branch:
                    attrs[html] = branch[key]
        elif branch.get("format") == "uri":
            widget = "url"
        else:
            widget = "text"
        if "maxLength" in branch and widget in ("text", "url", "password"):
            attrs["maxlength"] = branch["maxLength"]
        value = None if secret else (current or {}).get(name, prop.get("default"))
        is_set = bool(secrets_set and name in secrets_set)
        out.append(FormField(name=name, label=str(prop.get("title", name)), help=str(prop.get("description", "")),
                             input=widget, value=value, required=name in required and not (secret and is_set),
                             secret=secret, is_set=is_set, attrs=attrs, options=options))
    return out


def _values(form: FormData, kind: Kind) -> dict[str, Any]:
    """The posted settings: every field of the kind (an unticked checkbox is false), nothing else."""
    out: dict[str, Any] = {}
    schema = kind.config.model_json_schema().get("properties", {})
    for name in kind.config.model_fields:
        if name in OWN_FIELDS:
            continue
        raw = form.get(name)
        types = {schema.get(name, {}).get("type")} | {o.get("type") for o in schema.get(name, {}).get("anyOf", [])}
        if "boolean" in types:
            out[name] = raw is not None and raw != "0"
        else:
            out[name] = raw.strip() if isinstance(raw, str) else None
    return out


def _capabilities(st: health.Status) -> list[tuple[str, str]]:
    return [(CAPABILITY_LABELS[c], MODE_LABELS.get((c, m), m)) for c, m in describe.pairs(st.capabilities)]


def _statuses(w: Work, rows: list[Any]) -> list[health.Status]:
    return health.statuses(w.s, w.rt.connectors, rows, w.now, secret_key=w.rt.settings.secret_key.get_secret_value(),
                           base_url=w.rt.settings.base_url)


# Two-segment routes of a connector come before `/connectors/new/{kind}`, so a connector named "new" can be
# tested and removed too (no kind is named "test" or "remove").
def check_sentence(request: Request, check: Check) -> str:
    msgid = CHECKS.get(check.outcome)
    if msgid is None:
        return gettext(request, CHECKS["reachable"] if check.ok else CHECKS["unreachable"])
    text = gettext(request, msgid)
    try:
        return text % {"status": check.detail.get("status", "?")} if "%(" in text else text
    except (KeyError, TypeError, ValueError):
        return text


@platform.post("/connectors/{name}/test")
def test(request: Request, name: str, w: Work = Depends(work(Perm.ADMIN))) -> Response:
    """Not a unit of work: the check waits on the network with no transaction open."""
    check = commands.test(w, name)
    flash(request, check_sentence(request, check), "ok" if check.ok else "error")
    return done(request, f"/connectors/{name}")


router.include_router(platform)


@router.post("/connectors/{name}/remove")
def remove(request: Request, name: str, w: Work = Depends(work(Perm.ADMIN))) -> Response:
    commands.remove(w, name)
    flash(request, N_("Connector removed."))
    return done(request, "/connectors")


@router.get("/connectors", response_class=HTMLResponse)
def list_page(request: Request, w: Work = Depends(work(Perm.ADMIN))) -> HTMLResponse:
    rows = instances.page(w.s, w.ws, limit=200).items
    items = [(st, _capabilities(st)) for st in _statuses(w, rows)]
    return render(request, "connectors/list.html", nav="connectors", items=items, kinds=kinds.names(),
                  kind_labels=KIND_LABELS, kind_summaries=KIND_SUMMARIES)


@router.get("/connectors/new/{kind}", response_class=HTMLResponse)
def new_page(request: Request, kind: str, w: Work = Depends(work(Perm.ADMIN))) -> HTMLResponse:
    k = _kind(kind)
    return render(request, "connectors/form.html", nav="connectors", kind=k.name, kind_labels=KIND_LABELS,
                  kind_summaries=KIND_SUMMARIES, fields=form_fields(k), status=None, capabilities=[])


@router.post("/connectors/new/{kind}")
def create(request: Request, kind: str, form: FormData = Depends(form_data),
           w: Work = Depends(work(Perm.ADMIN))) -> Response:
    k = _kind(kind)
    name = str(form.get("name") or "").strip()
    commands.add(w, k.name, name, _values(form, k))
    flash(request, N_("Connector added. Give its callback URL and signing secret to the platform that sends the "
                      "events."))
    return done(request, f"/connectors/{name}")


@router.get("/connectors/{name}", response_class=HTMLResponse)
def edit_page(request: Request, name: str, w: Work = Depends(work(Perm.ADMIN))) -> HTMLResponse:
    inst = instances.get(w.s, w.ws, name)
    (st,) = _statuses(w, [inst])
    k = _kind(inst.kind)
    secrets_set = {f.name for f in st.settings if f.secret and f.value}
    return render(request, "connectors/form.html", nav="connectors", kind=k.name, kind_labels=KIND_LABELS,
                  kind_summaries=KIND_SUMMARIES, fields=form_fields(k, inst.settings, secrets_set), status=st,
                  capabilities=_capabilities(st))


@router.post("/connectors/{name}")
def change(request: Request, name: str, form: FormData = Depends(form_data),
           w: Work = Depends(work(Perm.ADMIN))) -> Response:
    inst = instances.get(w.s, w.ws, name)
    commands.change(w, name, _values(form, _kind(inst.kind)))
    flash(request, N_("Connector settings saved."))
    return done(request, f"/connectors/{name}")
