"""REST endpoints of connectors (admin): the kinds and their settings schema, list, get, add, change, remove,
test. Secrets are write-only: answers say for each secret only whether it is set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from siyu.auth.roles import Perm
from siyu.connectors import describe, health, instances, kinds
from siyu.connectors.health import Status
from siyu.edge.work import Work, edge_router, work
from siyu.integrations import commands
from siyu.integrations.webhook_endpoints import router as callbacks
from siyu.kit.pagination import Cursor, Limit, Page, PageOut
from siyu.models import ConnectorInstance

router = APIRouter(tags=["connectors"])
api = edge_router(prefix="/api/v1")
#: Routes that call a platform: not units of work, so no transaction is held around the call.
platform = APIRouter(prefix="/api/v1")


class KindOut(BaseModel):
    name: str
    summary: str
    #: The settings' JSON Schema; secrets are `"writeOnly": true`.
    settings_schema: dict[str, Any]


class ConnectorIn(BaseModel):
    kind: str = Field(min_length=1, max_length=16, examples=["webhook"])
    name: str = Field(min_length=1, max_length=64, examples=["tg"])
    settings: dict[str, Any] = Field(default_factory=dict,
                                     examples=[{"secret": "whsec-0123456789abcdef",
                                                "outbound_url": "https://bot.example.com/siyu"}])


class ConnectorPatch(BaseModel):
    #: Fields left out keep their value; an empty or null secret keeps the stored one.
    settings: dict[str, Any] = Field(default_factory=dict)


class HealthOut(BaseModel):
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    calls_last_hour: int
    errors_last_hour: int
    error_rate_last_hour: float | None
    usable: bool


class ConnectorOut(BaseModel):
    name: str
    kind: str
    settings: dict[str, Any] = Field(description="public settings; never a secret")
    secrets: dict[str, bool] = Field(description="for each secret field: whether it is set")
    capabilities: dict[str, str]
    capabilities_text: str = Field(examples=["group posts: automatic; direct messages: automatic; …"])
    callback_url: str
    health: HealthOut
    created_at: datetime
    updated_at: datetime


class CheckOut(BaseModel):
    ok: bool
    outcome: str
    message: str
    detail: dict[str, Any]


def _out(st: Status) -> ConnectorOut:
    h = st.last_hour
    return ConnectorOut(
        name=st.name, kind=st.kind, settings={f.name: f.value for f in st.settings if not f.secret},
        secrets={f.name: bool(f.value) for f in st.settings if f.secret},
        capabilities=dict(describe.pairs(st.capabilities)), capabilities_text=describe.sentence(st.capabilities),
        callback_url=st.callback_url,
        health=HealthOut(last_inbound_at=st.last_inbound_at, last_outbound_at=st.last_outbound_at,
                         last_error=st.last_error, last_error_at=st.last_error_at, calls_last_hour=h.calls,
                         errors_last_hour=h.errors, error_rate_last_hour=h.error_rate, usable=st.usable),
        created_at=st.created_at, updated_at=st.updated_at)


def _statuses(w: Work, rows: list[ConnectorInstance]) -> list[Status]:
    return health.statuses(w.s, w.rt.connectors, rows, w.now, secret_key=w.rt.settings.secret_key.get_secret_value(),
                           base_url=w.rt.settings.base_url)


def _one(w: Work, inst: ConnectorInstance) -> ConnectorOut:
    return _out(_statuses(w, [inst])[0])


@api.get("/connector-kinds")
def list_kinds(w: Work = Depends(work(Perm.ADMIN))) -> list[KindOut]:
    """The kinds of connector that can be added, each with its settings schema (what the console's form shows)."""
    out = []
    for name in kinds.names():
        kind = kinds.get(name)
        assert kind is not None
        out.append(KindOut(name=name, summary=kind.summary, settings_schema=kind.config.model_json_schema()))
    return out


@api.get("/connectors")
def list_connectors(cursor: Cursor = None, limit: Limit = 50,
                    w: Work = Depends(work(Perm.ADMIN))) -> PageOut[ConnectorOut]:
    """By name, with capabilities and health."""
    page = instances.page(w.s, w.ws, cursor=cursor, limit=limit)
    return PageOut.of(Page(_statuses(w, page.items), page.next_cursor), _out)


@api.get("/connectors/{name}")
def get_connector(name: str, w: Work = Depends(work(Perm.ADMIN))) -> ConnectorOut:
    return _one(w, instances.get(w.s, w.ws, name))


@api.post("/connectors", status_code=201)
def add_connector(body: ConnectorIn, w: Work = Depends(work(Perm.ADMIN))) -> ConnectorOut:
    """422 `validation_error` names each bad setting; 409 `connector_name_taken`."""
    return _one(w, commands.add(w, body.kind, body.name, body.settings))


@api.patch("/connectors/{name}")
def change_connector(name: str, body: ConnectorPatch, w: Work = Depends(work(Perm.ADMIN))) -> ConnectorOut:
    return _one(w, commands.change(w, name, body.settings))


@api.delete("/connectors/{name}", status_code=204)
def remove_connector(name: str, w: Work = Depends(work(Perm.ADMIN))) -> Response:
    """409 `connector_busy` while the outbox still has actions waiting for it."""
    commands.remove(w, name)
    return Response(status_code=204)


@platform.post("/connectors/{name}/test")
def test_connector(name: str, w: Work = Depends(work(Perm.ADMIN))) -> CheckOut:
    """The connector's self-check (a webhook: a signed ping to its outbound URL); `ok` false says why."""
    check = commands.test(w, name)  # outside a unit of work on purpose: no transaction around the call
    return CheckOut(ok=check.ok, outcome=check.outcome, message=check.message, detail=check.detail)


router.include_router(api)
router.include_router(platform)
router.include_router(callbacks)  # POST /callbacks/webhook/NAME
