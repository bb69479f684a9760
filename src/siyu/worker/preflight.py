"""What `siyu serve` / `worker` / `scheduler` check before they start, so a misconfigured host says what is wrong
instead of crashing later (`UndefinedTable` on a request) or failing quietly (sessions refused by the other serve).

- The schema: a process never migrates by itself (several processes starting at once must not race to migrate,
  and an upgrade is a step the operator takes, once, from one host: `siyu db upgrade`). A database without the
  schema, or with an older or newer one than this siyu, stops the process with the command to run.
- The secret key: every serve of one installation must sign sessions with the same key, or a login on one is
  refused by the next. The first process records a fingerprint of its key in the workspace (an HMAC, which does
  not reveal the key); a process with another key is refused with how to fix it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import create_engine, inspect, make_url, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from siyu.kit.db import transaction
from siyu.models import Workspace

KEY_CHECK = "secret_key_check"


class PreflightError(Exception):
    """A reason not to start, worded for the operator."""


def safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def check_schema(db_url: str, data_hint: str = "DIR") -> None:
    """Raise PreflightError unless the database has exactly the schema this siyu's migrations end at."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from siyu.kit import migrate

    script = ScriptDirectory.from_config(migrate.alembic_config(db_url))
    heads = set(script.get_heads())
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
            has_tables = bool(inspect(conn).get_table_names())
    except SQLAlchemyError as exc:
        raise PreflightError(f"cannot reach the database {safe_url(db_url)}: {exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()
    upgrade = f"siyu db upgrade --data {data_hint}"
    if not current:
        what = "has tables but no siyu schema version" if has_tables else "is empty (no siyu schema)"
        raise PreflightError(f"the database {safe_url(db_url)} {what}. Create the schema once, from one host, "
                             f"with `{upgrade}` (with the same SIYU_DATABASE_URL), then start siyu again.")
    if current == heads:
        return
    known = {rev.revision for rev in script.walk_revisions()}
    if current - known:
        raise PreflightError(f"the database {safe_url(db_url)} has schema {', '.join(sorted(current))}, made by a "
                             f"newer siyu than this one ({', '.join(sorted(heads))}): upgrade siyu on this host.")
    raise PreflightError(f"the database {safe_url(db_url)} has an older schema ({', '.join(sorted(current))}) "
                         f"than this siyu needs ({', '.join(sorted(heads))}): run `{upgrade}` once, then start "
                         "siyu again.")


def key_fingerprint(secret: str) -> str:
    return hmac.new(secret.encode(), b"siyu: the same secret key on every process", hashlib.sha256).hexdigest()[:24]


def recorded_fingerprint(factory: sessionmaker[Session], ws: int) -> str | None:
    """The fingerprint the installation recorded, or None (none yet, or no schema / workspace yet)."""
    try:
        with transaction(factory) as s:
            settings: dict[str, Any] | None = s.scalar(select(Workspace.settings).where(Workspace.id == ws))
    except SQLAlchemyError:
        return None
    value = (settings or {}).get(KEY_CHECK)
    return str(value) if value else None


def check_secret_key(factory: sessionmaker[Session], ws: int, secret: str) -> None:
    """Record this key's fingerprint if the installation has none; raise PreflightError if it has another."""
    mine = key_fingerprint(secret)
    with transaction(factory) as s:
        w = s.get(Workspace, ws, with_for_update=True)
        if w is None:
            return
        theirs = (w.settings or {}).get(KEY_CHECK)
        if theirs is None:
            w.settings = {**(w.settings or {}), KEY_CHECK: mine}
            return
    if theirs != mine:
        raise PreflightError(
            "this process's secret key is not the one the other siyu processes of this database use, so "
            "console logins would not carry over between them. Copy siyu.toml from the first host's workspace "
            "folder (or set SIYU_SECRET_KEY to the same value everywhere). If you changed the key on purpose on "
            "every host, run `siyu db forget-secret-key` once and start again.")


def forget_secret_key(factory: sessionmaker[Session], ws: int) -> bool:
    """Drop the recorded fingerprint (after a deliberate key change); the next process records its own."""
    with transaction(factory) as s:
        w = s.get(Workspace, ws, with_for_update=True)
        if w is None or KEY_CHECK not in (w.settings or {}):
            return False
        w.settings = {k: v for k, v in w.settings.items() if k != KEY_CHECK}
        return True
