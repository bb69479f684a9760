"""One request, one unit of work: the transaction is opened for the endpoint, committed at the edge, and the audit
entries the request wrote go into that same transaction.

REST endpoints and console views used to open `with rt.tx()` by hand and call `audit(...)` after the fact, ~200
times, each edge with its own copy of the glue. Now an endpoint asks for a `Work`:

    @router.post("/contacts/{contact_id}/tags")
    def add_tag(contact_id: Id64, body: TagIn, w: Work = Depends(work(Perm.WRITE))) -> ContactOut:
        contacts.commands.tag(w, contact_id, body)   # the same call the console view makes
        ...

and its router is an `edge_router()`, whose routes wrap the endpoint so that, in the worker thread that runs it,
the transaction opens before the body and commits after it (SQLite's writer lock and the session stay in one
thread), before the response is sent: a client never sees 201 for a write that did not commit, and an error
rolls the whole request back, audit entries included. GET / HEAD requests read (`kit.db.ReadOnlySafeMethods`).

What a person does is written once, in `<domain>/commands.py`: a function of `(w, ...)` that calls the domain's
services with `w.s` and records `w.audit(...)`. Requests that must not hold a transaction (ingest, login, an
owner completing a platform task — work that calls a connector or hashes a password) open their own short ones.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from siyu.auth import service as auth
from siyu.auth.roles import Perm
from siyu.auth.service import Principal
from siyu.auth.web import require, require_any, runtime
from siyu.edge import submissions
from siyu.kit.db import default_read_only

if TYPE_CHECKING:
    from siyu.runtime import Runtime


@dataclass
class Work:
    """A request's unit of work: who asks, the moment it happens (one clock reading for the whole request), and the
    session the edge opened for it."""

    rt: Runtime
    who: Principal
    request: Request
    now: datetime
    #: The console form's one-time key (`submission`), when the request is a form post that carries one.
    submission: str | None = None
    _session: Session | None = field(default=None, repr=False)
    _claimed: bool = field(default=False, repr=False)

    @property
    def s(self) -> Session:
        if self._session is None:
            raise RuntimeError("Work used outside its unit of work: the router must be an `edge_router()`")
        return self._session

    @property
    def ws(self) -> int:
        return self.who.workspace_id

    def audit(self, action: str, object_type: str, object_id: Any = "", detail: dict[str, Any] | None = None) -> None:
        """Record what the caller did; it commits with the request's changes or not at all."""
        auth.audit(self.s, self.who, action, object_type, object_id, detail, now=self.now)

    @contextmanager
    def unit(self, *, write: bool | None = None) -> Iterator[Session]:
        with self.rt.tx(write=write) as s:
            self._session = s
            try:
                if self.submission and not self._claimed and write is not False and not default_read_only.get():
                    submissions.claim(s, self.ws, self.submission, self.who.actor, now=self.now)
                    self._claimed = True
                yield s
            finally:
                self._session = None


def work(*perms: Perm) -> Callable[[Request], Coroutine[Any, Any, Work]]:
    """The dependency: the caller must hold `perms[0]` (or, given several, any of them)."""
    guard = require(perms[0]) if len(perms) == 1 else require_any(*perms)

    async def dependency(request: Request) -> Work:
        who = await guard(request)
        rt = runtime(request)
        return Work(rt=rt, who=who, request=request, now=rt.clock.now(), submission=await submissions.key_of(request))

    dependency.__name__ = f"work_{'_'.join(p.value for p in perms)}"
    return dependency


def in_unit_of_work(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Run a sync endpoint that takes a `Work` inside its transaction, in the endpoint's own thread."""
    if not any(_is_work(p.annotation) for p in inspect.signature(endpoint).parameters.values()):
        return endpoint
    if inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__qualname__}: an endpoint taking Work must be a plain def (it runs in a worker "
                        f"thread, where the database may block)")

    @functools.wraps(endpoint)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        units = [v for v in kwargs.values() if isinstance(v, Work)]
        if not units:
            return endpoint(*args, **kwargs)
        (w,) = units
        with w.unit() as s:
            result = endpoint(*args, **kwargs)
            if w.submission and w._claimed:
                submissions.remember(s, w.ws, w.submission, result)
            return result

    return wrapper


def _is_work(annotation: Any) -> bool:
    return annotation is Work or annotation == "Work"


class WorkRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_unit_of_work(endpoint), **kwargs)


def edge_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose endpoints run as units of work."""
    return APIRouter(route_class=WorkRoute, **kwargs)
