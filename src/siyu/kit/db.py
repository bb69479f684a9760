"""Database plumbing shared by every domain: declarative base, portable types, engines, dialect variants.

SQLite is the embedded default and must behave under concurrent writers (the API, the worker threads and the
scheduler share one file), so every SQLite transaction starts with BEGIN IMMEDIATE: writers queue on the busy
timeout instead of failing on a read-to-write lock upgrade. PostgreSQL gets its native ON CONFLICT and SKIP LOCKED.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
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


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE below is the only BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a batch is acknowledged only once it survives power loss, not just a process crash.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        # Checkpoint the WAL every ~40 MB instead of ~4 MB: index pages dirtied again and again by random keys are
        # written back once per checkpoint, which made batch ingest ~24% faster (docs/bench.md).
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def _sqlite_lock(factory: sessionmaker[Session]) -> threading.RLock | None:
    bind = factory.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
        lock = _WRITE_LOCKS.get(bind)
        if lock is None:
            lock = _WRITE_LOCKS.setdefault(bind, threading.RLock())
        return lock
    return None


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The unit of work at a request / task edge: commit on success, roll back on error.

    On SQLite, threads of one process take turns through a lock instead of polling SQLite's busy timeout (which
    sleeps); other processes still wait on the busy timeout.
    """
    lock = _sqlite_lock(factory)
    if lock is not None:
        lock.acquire()
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if lock is not None:
            lock.release()


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


def _placeholder(dialect: Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _sqlite_utc(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format, always with microseconds so comparisons stay textual-exact.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


def _bind_processors(dialect: Dialect, columns: list[Any]) -> list[Any]:
    """The processors SQLAlchemy itself would apply to each column, per dialect (cached)."""
    key = (dialect.name, tuple(c.key for c in columns), id(columns[0].table))
    procs = _PROC_CACHE.get(key)
    if procs is None:
        procs = []
        for c in columns:
            if dialect.name == "sqlite" and isinstance(c.type, UTCDateTime):
                procs.append(_sqlite_utc)
            else:
                procs.append(c.type.dialect_impl(dialect).bind_processor(dialect))
        _PROC_CACHE[key] = procs
    return procs


_PROC_CACHE: dict[tuple[Any, ...], list[Any]] = {}


def bulk_insert_ignore_returning(
    session: Session, table: Any, rows: list[dict[str, Any]], *, conflict: list[str], returning: list[str],
    chunk: int = 1000,
) -> list[tuple[Any, ...]]:
    """Multi-row INSERT … ON CONFLICT DO NOTHING RETURNING at the driver, for the ingest hot path.

    Values go through each column type's own bind processor, so rows are stored exactly as the ORM would store
    them; skipping SQLAlchemy's per-statement machinery is what makes 1,000-row batches cheap.
    """
    if not rows:
        return []
    conn = session.connection()
    dialect = conn.dialect
    cols = [table.c[k] for k in rows[0]]
    procs = _bind_processors(dialect, cols)
    ph = _placeholder(dialect)
    marks = []
    for c in cols:
        if dialect.name == "postgresql" and isinstance(c.type, JSON | postgresql.JSONB):
            marks.append(f"CAST({ph} AS JSONB)")
        else:
            marks.append(ph)
    row_sql = "(" + ", ".join(marks) + ")"
    head = (f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) VALUES ")
    tail = (f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(returning)}")
    keys = [c.key for c in cols]
    if dialect.name == "postgresql":
        return _pg_unnest_insert(conn, table, cols, keys, procs, rows, tail)
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        params: list[Any] = []
        for r in part:
            for k, proc in zip(keys, procs, strict=True):
                v = r[k]
                params.append(proc(v) if proc is not None and v is not None else v)
        sql = head + ", ".join([row_sql] * len(part)) + tail
        out.extend(tuple(x) for x in conn.exec_driver_sql(sql, tuple(params)).fetchall())
    return out


def _pg_unnest_insert(conn: Any, table: Any, cols: list[Any], keys: list[str], procs: list[Any],
                      rows: list[dict[str, Any]], tail: str) -> list[tuple[Any, ...]]:
    """One parameter per column (arrays + unnest): a short statement psycopg can prepare, whatever the batch size."""
    is_json = [isinstance(c.type, JSON | postgresql.JSONB) for c in cols]
    # JSON goes in as text and is cast in SQL; the driver's own JSON wrapper cannot sit inside an array.
    procs = [_json_dumps if j else p for j, p in zip(is_json, procs, strict=True)]
    arrays: list[list[Any]] = [[] for _ in cols]
    for r in rows:
        for i, (k, proc) in enumerate(zip(keys, procs, strict=True)):
            v = r[k]
            arrays[i].append(proc(v) if proc is not None and v is not None else v)
    casts = [
        "CAST(%s AS TEXT[])::JSONB[]" if j else f"CAST(%s AS {c.type.compile(dialect=conn.dialect)}[])"
        for c, j in zip(cols, is_json, strict=True)
    ]
    sql = (f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) "
           f"SELECT * FROM unnest({', '.join(casts)}){tail}")
    return [tuple(x) for x in conn.exec_driver_sql(sql, tuple(arrays)).fetchall()]


def select_in(session: Session, sql: str, fixed: tuple[Any, ...], values: list[Any],
              chunk: int = 500) -> list[tuple[Any, ...]]:
    """Run `sql` (ending in `IN ({in})`, with `{ph}` for fixed parameters) over `values` in chunks, at the driver."""
    conn = session.connection()
    ph = _placeholder(conn.dialect)
    if conn.dialect.name == "postgresql":  # one array parameter instead of a list of placeholders
        q = sql.replace("IN ({in})", "= ANY({ph})").format(ph=ph)
        return [tuple(x) for x in conn.exec_driver_sql(q, (*fixed, list(values))).fetchall()]
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(values), chunk):
        part = values[start:start + chunk]
        q = sql.format(ph=ph, **{"in": ", ".join([ph] * len(part))})
        out.extend(tuple(x) for x in conn.exec_driver_sql(q, (*fixed, *part)).fetchall())
    return out


def allocate_ids(session: Session, table: Any, n: int) -> list[int]:
    """Reserve n primary keys so related rows can be inserted in bulk without RETURNING order guarantees.

    PostgreSQL draws from the column's sequence; SQLite counts on from the current maximum, which is safe because
    every SQLite transaction here holds the write lock from its first statement (BEGIN IMMEDIATE).
    """
    if n <= 0:
        return []
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table.name, n)
        ).fetchall()
        return [int(r[0]) for r in rows]
    top = conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}").scalar() or 0
    return list(range(int(top) + 1, int(top) + 1 + n))
