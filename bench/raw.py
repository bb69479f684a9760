"""The raw baseline: the same rows through a plain DB-API `executemany` INSERT, committed per batch.

The table `bench_raw_events` mirrors `events` exactly (columns, primary key, unique key, foreign key,
indexes) in the same database, and the connection uses the engine's settings (SQLite: siyu's own PRAGMAs, i.e.
WAL + synchronous=FULL + foreign keys + checkpoint interval + page cache; PostgreSQL: defaults, i.e.
synchronous_commit=on), so the ratio path ÷ raw prices what siyu adds on top of the database: validation,
contact resolution, ORM/Core, the ON CONFLICT … RETURNING bookkeeping and, for HTTP, the web stack.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from sqlalchemy import make_url

from siyu.events.keys import source_hash
from siyu.kit.db import SQLITE_PRAGMAS

TABLE = "bench_raw_events"
COLUMNS = ("workspace_id, type, contact_id, group_id, occurred_at, received_at, source_key, source_hash, payload, "
           "live")
SQLITE_INSERT = f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
PG_INSERT = f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def _sqlite_ts(value: datetime) -> str:
    # What siyu's UTCDateTime + SQLAlchemy's SQLite DateTime store: naive UTC, microseconds always present.
    v = value.astimezone(UTC)
    return v.strftime("%Y-%m-%d %H:%M:%S.") + f"{v.microsecond:06d}"


def to_rows(events: list[dict[str, Any]], contacts: dict[str, int], *, workspace_id: int, now: datetime,
            dialect: str) -> list[tuple[Any, ...]]:
    """The rows siyu would write for these events (contact ids already resolved), in DB-API parameter form."""
    rows = []
    for ev in events:
        occurred = datetime.fromisoformat(ev["occurred_at"])
        if dialect == "sqlite":
            occ: Any = _sqlite_ts(occurred)
            rec: Any = _sqlite_ts(now)
        else:
            occ, rec = occurred, now
        rows.append((workspace_id, ev["type"], contacts[ev["contact"]["external_id"]], None, occ, rec,
                     ev["source_key"], source_hash(workspace_id, ev["source_key"]),
                     orjson.dumps(ev["payload"]).decode(), 1 if dialect == "sqlite" else True))
    return rows


def psycopg_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def workdir(base: Path | None, prefix: str) -> Path:
    """A fresh temporary folder for one run (under `base` when given, e.g. to keep it for inspection)."""
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
        base = base.resolve()
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


class Prefixed(dict[str, Any]):
    """A view that stores `key` as `prefix.key` in the shared result."""

    def __init__(self, target: dict[str, Any], prefix: str) -> None:
        super().__init__()
        self.target, self.prefix = target, prefix

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.target[f"{self.prefix}.{key}"] = value


def run_backends(args: Any, result: dict[str, Any], say: Any, run_backend: Any, prefix: str) -> None:
    """Run the bench on SQLite and on PostgreSQL (reset first, skipped with a reason when it cannot be), each in
    its own folder of one work dir that is removed afterwards unless `--workdir` asked to keep it.

    `run_backend(name, db_url, folder, args, say, out, errors)` adds `name.*` figures to `out` as they are
    measured, so a later failure (caught here, into `name.errors`) keeps the earlier ones."""

    def guarded(name: str, db_url: str | None, folder: Path) -> None:
        errors: list[str] = result.setdefault(f"{name}.errors", [])
        try:
            run_backend(name, db_url, folder, args, say, Prefixed(result, name), errors)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    tmp = workdir(args.workdir, prefix)
    try:
        if args.only in (None, "sqlite"):
            guarded("sqlite", None, tmp / "sqlite")
        if args.only in (None, "postgresql"):
            skip = reset_postgresql(args.pg_url)
            if skip:
                result["postgresql.skipped"] = skip
                say.say(f"postgresql: [yellow]skipped[/] ({skip})")
            else:
                guarded("postgresql", args.pg_url, tmp / "postgresql")
    finally:
        if args.workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            result["meta.workdir"] = str(tmp)


def conclude(result: dict[str, Any], targets: dict[str, Any], failures: list[str]) -> None:
    """Put targets, correctness failures (every `<backend>.errors` list) and the verdict into a bench result."""
    result["targets"] = targets
    result["targets_met"] = bool(targets) and all(t["met"] for t in targets.values())
    for k in [k for k in result if k.endswith(".errors") and isinstance(result[k], list)]:
        failures += [f"{k.split('.')[0]}: {e}" for e in result.pop(k)]
    result["failures"] = failures
    result["ok"] = not failures


def reset_postgresql(url: str) -> str | None:
    """Give the bench an empty database: create it if missing, else drop and recreate its public schema.
    None when ready, else why PostgreSQL is skipped. Only databases named like *bench* or *sop* are touched."""
    parsed = make_url(url)
    name = parsed.database or ""
    if "bench" not in name and "sop" not in name:
        return f"refusing database {name!r}: its schema is dropped, use one named *bench* (or *sop*)"
    try:
        conn = psycopg.connect(psycopg_dsn(url), connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        if f'database "{name}" does not exist' not in str(exc):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"unreachable: {first}"
        try:
            admin = psycopg.connect(psycopg_dsn(parsed.set(database="postgres").render_as_string(False)),
                                    connect_timeout=3, autocommit=True)
        except psycopg.Error as exc2:
            return f"unreachable: {type(exc2).__name__}"
        with admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return None
    with conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return None


Timing = tuple[float, int, list[float], float]  # seconds, rows, seconds per batch, CPU seconds


def _timed_batches(conn_insert: Any, batches: Iterable[list[tuple[Any, ...]]]) -> Timing:
    total = cpu = 0.0
    count = 0
    per_batch: list[float] = []
    for rows in batches:
        t0, c0 = time.perf_counter(), time.process_time()
        conn_insert(rows)
        dt = time.perf_counter() - t0
        cpu += time.process_time() - c0
        total += dt
        per_batch.append(dt)
        count += len(rows)
    return total, count, per_batch, cpu


def sqlite_baseline(db_path: str, batches: Iterable[list[tuple[Any, ...]]]) -> Timing:
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=60, check_same_thread=False)
    try:
        cur = conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cur.execute(f"PRAGMA {pragma}")
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        ddl = [sql for (sql,) in cur.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND sql IS NOT NULL "
            "ORDER BY type = 'index'")]
        if not ddl:
            raise RuntimeError("no events table to mirror")
        for sql in ddl:
            cur.execute(sql.replace("events", TABLE))

        def insert(rows: list[tuple[Any, ...]]) -> None:
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(SQLITE_INSERT, rows)
            cur.execute("COMMIT")

        return _timed_batches(insert, batches)
    finally:
        conn.close()


def postgresql_baseline(url: str, batches: Iterable[list[tuple[Any, ...]]]) -> Timing:
    with psycopg.connect(psycopg_dsn(url)) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        # LIKE copies columns, NOT NULLs, the primary key, the unique key and the indexes; not the foreign key
        # and (EXCLUDING DEFAULTS) not the events id sequence: both are added back as the table's own.
        conn.execute(f"CREATE TABLE {TABLE} (LIKE events INCLUDING ALL EXCLUDING DEFAULTS)")
        conn.execute(f"CREATE SEQUENCE {TABLE}_id_seq OWNED BY {TABLE}.id")
        conn.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')")
        conn.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT fk_{TABLE}_workspace_id_workspaces "
                     "FOREIGN KEY (workspace_id) REFERENCES workspaces (id)")
        conn.commit()

        def insert(rows: list[tuple[Any, ...]]) -> None:
            with conn.cursor() as cur:
                cur.executemany(PG_INSERT, rows)
            conn.commit()

        return _timed_batches(insert, batches)
