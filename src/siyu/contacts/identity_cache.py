"""Identity → contact ids remembered across transactions, so a steady stream of events from known people skips
most of the identity lookup (about a tenth of in-process ingest CPU in `python -m bench ingest`; docs/bench.md).

Two rules keep it correct, across processes too:
- an entry is remembered only after its transaction committed, so a rollback never leaves an id behind;
- whatever changes which contact owns an identity (today: a merge) calls `bump()` in the same transaction, which
  moves `workspaces.identity_epoch`; every lookup reads the epoch first and forgets the workspace's entries when
  it moved, whichever process moved it. Deleting contacts or identities must bump it too.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from siyu.kit.db import placeholder

Key = tuple[str, str]
MAX_ENTRIES = 100_000  # per workspace and database: ~20 MB at most
_PENDING = "siyu.identity_cache.pending"
_BUMPED = "siyu.identity_cache.bumped"


@dataclass
class _Entries:
    epoch: int
    ids: dict[Key, int] = field(default_factory=dict)


_CACHES: weakref.WeakKeyDictionary[Engine, dict[int, _Entries]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _cache(session: Session) -> dict[int, _Entries] | None:
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return None
    with _LOCK:
        found = _CACHES.get(bind)
        if found is None:
            found = _CACHES.setdefault(bind, {})
        return found


def _epoch(session: Session, ws: int) -> int:
    conn = session.connection()
    row = conn.exec_driver_sql(f"SELECT identity_epoch FROM workspaces WHERE id = {placeholder(conn.dialect)}",
                               (ws,)).first()
    return int(row[0]) if row is not None else 0


def lookup(session: Session, ws: int, keys: list[Key],
           fetch: Callable[[list[Key]], dict[Key, int]]) -> dict[Key, int]:
    """Contact id per known identity: remembered ones from the cache, the rest from `fetch` (the database)."""
    cache = _cache(session)
    if cache is None or session.info.get(_BUMPED):
        return fetch(keys)
    epoch = _epoch(session, ws)
    with _LOCK:
        entries = cache.get(ws)
        if entries is None or entries.epoch != epoch:
            entries = cache[ws] = _Entries(epoch)
        ids = entries.ids
        hits = {k: c for k in keys if (c := ids.get(k)) is not None}
    if len(hits) < len(keys):
        found = fetch([k for k in keys if k not in hits])
        remember(session, ws, epoch, found)
        hits.update(found)
    return hits


def remember(session: Session, ws: int, epoch: int, ids: dict[Key, int]) -> None:
    """Keep these for the cache once (and only if) this transaction commits."""
    if ids:
        session.info.setdefault(_PENDING, []).append((ws, epoch, ids))


def bump(session: Session, ws: int) -> None:
    """Identities changed owner in this transaction: every process must forget the workspace's entries."""
    conn = session.connection()
    conn.exec_driver_sql("UPDATE workspaces SET identity_epoch = identity_epoch + 1 "
                         f"WHERE id = {placeholder(conn.dialect)}", (ws,))
    session.info[_BUMPED] = True
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # SQLAlchemy fires after_commit for a released savepoint too (routing and the automations use them): an entry
    # remembered then would name a contact that other transactions cannot see yet — or ever, if the outer
    # transaction rolls back (a concurrent scan of the same person found no contact: tests/engine/
    # test_concurrent_joins.py under load). Only the real commit counts.
    if session.in_nested_transaction():
        return
    pending: list[tuple[int, int, dict[Key, int]]] = session.info.pop(_PENDING, [])
    bumped = session.info.pop(_BUMPED, False)
    if not pending and not bumped:
        return
    cache = _cache(session)
    if cache is None:
        return
    with _LOCK:
        if bumped:
            cache.clear()
            return
        for ws, epoch, ids in pending:
            entries = cache.get(ws)
            if entries is None or entries.epoch != epoch:
                continue
            if len(entries.ids) + len(ids) > MAX_ENTRIES:
                entries.ids.clear()
            entries.ids.update(ids)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_BUMPED, None)
