"""One request, one unit of work (`edge/work.py`): what a request wrote, audit entry included, commits before the
answer is sent, or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.app import create_app
from siyu.auth.roles import Perm
from siyu.contacts import service as contacts
from siyu.edge.work import Work, WorkRoute, edge_router, work
from siyu.kit.errors import Conflict
from siyu.models import AuditEntry, Tag
from siyu.runtime import Runtime
from tests.conftest import make_token

probe = edge_router(prefix="/probe")


@probe.post("/tag-then-fail")
def tag_then_fail(w: Work = Depends(work(Perm.WRITE))) -> dict[str, int]:
    t = contacts.ensure_tag(w.s, w.ws, "探针", "失败")
    w.audit("probe.tag", "tag", t.id)
    raise Conflict("changed my mind", code="probe_conflict")


@probe.post("/tag-twice-at-commit", status_code=201)
def tag_twice_at_commit(w: Work = Depends(work(Perm.WRITE))) -> dict[str, int]:
    """The second row breaks the unique constraint only when the unit of work flushes at commit."""
    t = contacts.ensure_tag(w.s, w.ws, "探针", "重复")
    w.s.add(Tag(workspace_id=w.ws, group_id=t.group_id, name=t.name))
    w.audit("probe.tag", "tag", t.id)
    return {"id": t.id}


@probe.post("/tag", status_code=201)
def tag(w: Work = Depends(work(Perm.WRITE))) -> dict[str, int]:
    t = contacts.ensure_tag(w.s, w.ws, "探针", "成功")
    w.audit("probe.tag", "tag", t.id, {"name": t.name})
    return {"id": t.id}


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime=rt)
    app.include_router(probe)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {make_token(rt, 'operator')}"
        yield c


def _stored(rt: Runtime) -> tuple[int, int]:
    with rt.read() as s:
        tags = s.scalar(select(func.count()).select_from(Tag).where(Tag.group_id.is_not(None))) or 0
        audits = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "probe.tag")) or 0
        return int(tags), int(audits)


def test_a_request_that_fails_leaves_nothing_not_even_its_audit_entry(client: TestClient, rt: Runtime) -> None:
    r = client.post("/probe/tag-then-fail")
    assert r.status_code == 409 and r.json()["code"] == "probe_conflict"
    assert _stored(rt) == (0, 0)


def test_a_commit_that_fails_is_never_answered_as_a_success(client: TestClient, rt: Runtime) -> None:
    r = client.post("/probe/tag-twice-at-commit")
    assert r.status_code == 500 and r.json()["code"] == "internal_error"   # not the endpoint's 201
    assert _stored(rt) == (0, 0)


def test_a_success_commits_the_change_and_its_audit_together(client: TestClient, rt: Runtime) -> None:
    r = client.post("/probe/tag")
    assert r.status_code == 201
    assert _stored(rt) == (1, 1)
    with rt.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "probe.tag")).one()
        assert entry.actor == "token:test-operator" and entry.object_id == str(r.json()["id"])


def test_an_async_endpoint_cannot_take_a_unit_of_work() -> None:
    router = edge_router()
    with pytest.raises(TypeError, match="plain def"):
        @router.get("/x")
        async def nope(w: Work = Depends(work(Perm.READ))) -> None:
            return None


def test_every_api_and_console_route_that_reads_or_writes_data_runs_as_a_unit_of_work(rt: Runtime) -> None:
    """No edge opens transactions by hand, except the few that must not hold one for the whole request."""
    app = create_app(runtime=rt)
    by_hand = sorted(
        f"{sorted(r.methods)[0]} {r.path}" for r in _routes(app.routes)
        if hasattr(r, "endpoint") and not isinstance(r, WorkRoute) and r.path not in NOT_A_UNIT_OF_WORK
        and not r.path.startswith(FRAMEWORK)
    )
    assert by_hand == []


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, through included routers (FastAPI keeps an included router as one entry)."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield r


#: Routes of the framework itself (API docs, the schema, static files, the health check): no data.
FRAMEWORK = ("/api/docs", "/api/openapi", "/redoc", "/docs", "/openapi", "/static", "/healthz")

#: Requests that run several short transactions on purpose: they call a connector or hash a password between
#: them, or await the body (ingest), so one request-long transaction would hold the database across the wait.
NOT_A_UNIT_OF_WORK: set[str] = {
    "/api/v1/sop/broadcasts", "/calendar/broadcast",  # a broadcast commits chunk by chunk (resumable)
    "/s/{token}",  # the public share redirect: nobody signed in, one write transaction for the click
    "/s/{token}/opened",  # the share link's page for the visitor: public, one read
    # a channel code's landing page and its forms (acquisition/pages.py): public, one read or one write each
    "/c/{state}", "/c/{state}/join", "/c/{state}/answer",
    # a sandbox member's act commits before the panel is read (it shows what the commit set off, e.g. the welcome)
    "/sandbox/members/{member_id:int}/scan", "/sandbox/members/{member_id:int}/post",
    "/sandbox/members/{member_id:int}/leave", "/sandbox/members/{member_id:int}/answer",
    "/sandbox/tasks/{action_id:int}/done",  # completes an owner task: calls the platform
    "/api/v1/actions/{action_id}/complete",  # the same over REST
    # a connector's Test button and its REST twin call the platform (connectors/commands.test)
    "/connectors/{name}/test", "/api/v1/connectors/{name}/test",
    "/callbacks/webhook/{name}",  # signed, not logged in; awaits its body and ingests like the events API
}
