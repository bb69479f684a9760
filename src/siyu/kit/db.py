"""Database plumbing shared by every domain: declarative base, portable types, engines, dialect variants.

SQLite is the embedded default and must behave under concurrent writers (the API, the worker threads and the
scheduler share one file), so every SQLite write transaction starts with BEGIN IMMEDIATE: writers queue on the busy
timeout instead of failing on a read-to-write lock upgrade. Reads are separate, deferred transactions that take no
lock at all (WAL readers see the last commit), so a console page or a token check never waits behind ingest; a
read transaction that tries to write fails loudly (`PRAGMA query_only` on SQLite, READ ONLY on PostgreSQL) instead
of silently taking the write lock. PostgreSQL gets its native ON CONFLICT and SKIP LOCKED.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql import Insert
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# SQLite only aliases rowid for INTEGER PRIMARY KEY, so big ids are INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonType = JSON().with_variant(postgresql.JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored and returned as aware UTC whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; siyu stores aware UTC timestamps")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json_dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            json_serializer=_json_dumps,
            json_deserializer=json.loads,
            connect_args={"check_same_thread": False, "timeout": 60},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        json_serializer=_json_dumps,
        # psycopg prepares repeated statements; a generic plan for `external_id = ANY(...)` lookups is ~10x slower.
        connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
    )


SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    # FULL: a batch is acknowledged only once it survives power loss, not just a process crash.
    "synchronous=FULL",
    "foreign_keys=ON",
    "busy_timeout=60000",
    # Checkpoint the WAL every ~40 MB instead of ~4 MB: index pages dirtied again and again by random keys are
    # written back once per checkpoint, which made batch ingest ~24% faster (docs/bench.md).
    "wal_autocheckpoint=10000",
    # 32 MiB page cache per connection instead of 2 MiB: the event log's indexes stay in memory while a batch
    # inserts into random places of them (about 1.5x the raw insert rate at 100k events; docs/bench.md).
    "cache_size=-32768",
)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE below is the only BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = bool(conn.get_execution_options().get(READ_ONLY))
        info = conn.connection.info
        if info.get(READ_ONLY, False) != readonly:  # a pooled connection remembers its last mode
            conn.exec_driver_sql(f"PRAGMA query_only={int(readonly)}")
            info[READ_ONLY] = readonly
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


#: session.info key: callables `transaction()` runs once the session committed and was closed.
AFTER_CLOSE = "siyu_after_close"

#: Execution option that marks a read-only engine view (see `make_read_sessionmaker`).
READ_ONLY = "siyu_read_only"


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads: a deferred transaction on SQLite (no write lock, no wait behind writers), READ ONLY on
    PostgreSQL. Same pool as the writers."""
    opts: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        opts["postgresql_readonly"] = True
    return sessionmaker(engine.execution_options(**opts), expire_on_commit=False)


#: Whether `Runtime.tx()` without an explicit mode opens a read transaction: set per request by
#: `ReadOnlySafeMethods` (GET / HEAD read; anything else writes). Code that writes during a GET says so.
default_read_only: ContextVar[bool] = ContextVar("siyu_default_read_only", default=False)


class ReadOnlySafeMethods:
    """ASGI middleware: safe HTTP methods run their transactions as reads unless the code asks to write."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = default_read_only.set(scope.get("method") in ("GET", "HEAD"))
        try:
            await self.app(scope, receive, send)
        finally:
            default_read_only.reset(token)


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def _sqlite_lock(factory: sessionmaker[Session]) -> threading.RLock | None:
    bind = factory.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite" and not bind.get_execution_options().get(READ_ONLY):
        lock = _WRITE_LOCKS.get(bind)
        if lock is None:
            lock = _WRITE_LOCKS.setdefault(bind, threading.RLock())
        return lock
    return None


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The unit of work at a request / task edge: commit on success, roll back on error.

    On SQLite, writing threads of one process take turns through a lock instead of polling SQLite's busy timeout
    (which sleeps); other processes still wait on the busy timeout. Read sessions take no lock.
    """
    lock = _sqlite_lock(factory)
    if lock is not None:
        lock.acquire()
    session = factory()
    committed = False
    try:
        yield session
        session.commit()
        committed = True
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if lock is not None:
            lock.release()
    # After the connection is back in the pool and the lock is free: work queued here (jobs for what was just
    # committed) may open transactions of its own without holding a second connection or the writers' lock.
    callbacks = session.info.pop(AFTER_CLOSE, [])
    if committed:
        for callback in callbacks:
            callback()


def insert_ignore(session: Session, table: Any, conflict_cols: list[str]) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING in the session's dialect."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict_cols)
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict_cols)
    raise NotImplementedError(f"unsupported dialect {name}")


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


def placeholder(dialect: Dialect) -> str:
    """The DB-API parameter marker of the driver (qmark for sqlite3, %s for psycopg)."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def sqlite_utc(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format, always with microseconds so comparisons stay textual-exact.
    # Shifting by the offset and cutting the "+00:00" is ~2x faster than astimezone + replace on the hot path.
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime given; siyu stores aware UTC timestamps")
    if offset:
        value = value - offset
    return value.isoformat(" ", timespec="microseconds")[:26]


def _bind_processors(dialect: Dialect, columns: list[Any]) -> list[Any]:
    """The processors SQLAlchemy itself would apply to each column, per dialect (cached)."""
    key = (dialect.name, tuple(c.key for c in columns), id(columns[0].table))
    procs = _PROC_CACHE.get(key)
    if procs is None:
        procs = []
        for c in columns:
            if dialect.name == "sqlite" and isinstance(c.type, UTCDateTime):
                procs.append(sqlite_utc)
            else:
                procs.append(c.type.dialect_impl(dialect).bind_processor(dialect))
        _PROC_CACHE[key] = procs
    return procs


_PROC_CACHE: dict[tuple[Any, ...], list[Any]] = {}


def bulk_insert_ignore(
    session: Session, table: Any, values: dict[str, list[Any]], *, conflict: list[str]
) -> list[int | None]:
    """INSERT … ON CONFLICT DO NOTHING of many rows, given column by column, at the driver, for the ingest hot
    path: the new id of each row, or None where the row conflicted (it was already there, or an earlier row took
    its key).

    Values go through each column type's own bind processor, so rows are stored exactly as the ORM would store
    them; skipping SQLAlchemy's per-statement machinery is what makes 1,000-row batches cheap.
    """
    if not values or not next(iter(values.values())):
        return []
    conn = session.connection()
    cols = [table.c[k] for k in values]
    procs = _bind_processors(conn.dialect, cols)
    pg = conn.dialect.name == "postgresql"
    # JSON goes in as text (None as SQL NULL): straight to orjson, and on PostgreSQL cast in SQL, because the
    # driver's own JSON wrapper cannot sit inside an array.
    procs = [_json_dumps if _is_json(c) else p for c, p in zip(cols, procs, strict=True)]
    columns = [_processed(values[c.key], proc) for c, proc in zip(cols, procs, strict=True)]
    if pg:
        return _pg_unnest_insert(conn, table, cols, columns, conflict)
    return _sqlite_insert(conn, table, cols, columns, conflict)


def _is_json(column: Any) -> bool:
    return isinstance(column.type, JSON | postgresql.JSONB)


def _sqlite_insert(conn: Any, table: Any, cols: list[Any], columns: list[list[Any]],
                   conflict: list[str]) -> list[int | None]:
    """executemany with ids chosen up front: SQLite runs one compiled statement per row, about twice as fast as
    a 1,000-row VALUES list with RETURNING (docs/bench.md). Choosing ids is safe because the transaction holds
    the database's write lock from BEGIN IMMEDIATE; rowcount then tells whether any row was left out."""
    n = len(columns[0])
    ids = allocate_ids_for(conn, table, n)
    sql = (f"INSERT INTO {table.name} (id, {', '.join(c.name for c in cols)}) "
           f"VALUES ({', '.join(['?'] * (len(cols) + 1))}) ON CONFLICT ({', '.join(conflict)}) DO NOTHING")
    cur = driver_cursor(conn)
    try:
        cur.executemany(sql, zip(ids, *columns, strict=True))
        if cur.rowcount == n:
            return list(ids)
        kept = {i for (i,) in cur.execute(f"SELECT id FROM {table.name} WHERE id BETWEEN ? AND ?",
                                          (ids[0], ids[-1])).fetchall()}
    finally:
        cur.close()
    return [i if i in kept else None for i in ids]


def _processed(values: list[Any], proc: Any) -> list[Any]:
    """One column through its bind processor; a value repeated down the column (a batch's received_at, its
    workspace) is converted once."""
    if proc is None:
        return values
    out: list[Any] = []
    last: Any = _MISSING
    done: Any = None
    for v in values:
        if v is not last:
            last, done = v, (proc(v) if v is not None else None)
        out.append(done)
    return out


_MISSING = object()


def driver_cursor(conn: Any) -> Any:
    """A DB-API cursor on the session's own connection (same transaction): no SQLAlchemy result wrapping."""
    return conn.connection.driver_connection.cursor()


def _pg_unnest_insert(conn: Any, table: Any, cols: list[Any], columns: list[list[Any]],
                      conflict: list[str]) -> list[int | None]:
    """One parameter per column (arrays + unnest): a short statement psycopg can prepare, whatever the batch size.
    RETURNING names each new row by its conflict columns, which are unique, so it maps back to the input."""
    casts = [
        "CAST(%s AS TEXT[])::JSONB[]" if _is_json(c) else f"CAST(%s AS {c.type.compile(dialect=conn.dialect)}[])"
        for c in cols
    ]
    sql = (f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) "
           f"SELECT * FROM unnest({', '.join(casts)}) "
           f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING id, {', '.join(conflict)}")
    names = [c.name for c in cols]
    key_cols = [columns[names.index(k)] for k in conflict]
    cur = driver_cursor(conn)
    try:
        cur.execute(sql, tuple(columns))
        new_ids = {tuple(r[1:]): r[0] for r in cur.fetchall()}
    finally:
        cur.close()
    out: list[int | None] = []
    for key in zip(*key_cols, strict=True):
        out.append(new_ids.pop(key, None))  # pop: a repeated key in the input was not inserted twice
    return out


def select_in(session: Session, sql: str, fixed: tuple[Any, ...], values: list[Any],
              chunk: int = 500) -> list[tuple[Any, ...]]:
    """Run `sql` (ending in `IN ({in})`, with `{ph}` for fixed parameters) over `values` in chunks, at the driver."""
    conn = session.connection()
    ph = placeholder(conn.dialect)
    cur = driver_cursor(conn)
    try:
        if conn.dialect.name == "postgresql":  # one array parameter instead of a list of placeholders
            q = sql.replace("IN ({in})", "= ANY({ph})").format(ph=ph)
            cur.execute(q, (*fixed, list(values)))
            return [tuple(x) for x in cur.fetchall()]
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(values), chunk):
            part = values[start:start + chunk]
            q = sql.format(ph=ph, **{"in": ", ".join([ph] * len(part))})
            out.extend(cur.execute(q, (*fixed, *part)).fetchall())
        return out
    finally:
        cur.close()


def allocate_ids(session: Session, table: Any, n: int) -> list[int]:
    """Reserve n primary keys so related rows can be inserted in bulk without RETURNING order guarantees.

    PostgreSQL draws from the column's sequence; SQLite counts on from the current maximum, which is safe because
    every SQLite transaction here holds the write lock from its first statement (BEGIN IMMEDIATE).
    """
    return allocate_ids_for(session.connection(), table, n)


def allocate_ids_for(conn: Any, table: Any, n: int) -> list[int]:
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table.name, n)
        ).fetchall()
        return [int(r[0]) for r in rows]
    top = conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}").scalar() or 0
    return list(range(int(top) + 1, int(top) + 1 + n))
