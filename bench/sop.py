"""The SOP planning benchmark: one week of a five-item calendar for 5,000 groups, per backend, beside a raw
DB-API `executemany` of the very same occurrence rows into a mirror table (same columns, keys, indexes and
foreign keys), measured in the same run.

`python -m bench sop [--json] [--groups 5000] [--days 7] [--pg-url URL] [--only sqlite|postgresql] [--workdir DIR]`
Target: planning the week takes ≤ 2 s (`<backend>.plan_week.seconds`). See docs/bench.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select

from bench import raw
from bench.ingest import Progress, _env

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/siyu_sop"
WORKSPACE = 1
TARGET_SECONDS = 2.0
RAW_TABLE = "bench_raw_sop_occurrences"
COLUMNS = ["workspace_id", "item_id", "group_id", "contact_id", "key", "due_at", "status", "reason", "variant",
           "action_id", "created_at"]
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # Monday 08:00 in Asia/Shanghai
#: The knowledge community's week: daily morning report; Tue dry goods, Thu course, Fri discussion + quiz.
CALENDAR = [
    ("每日早报", "FREQ=DAILY", "08:00", False),
    ("干货分享", "FREQ=WEEKLY;BYDAY=TU", "20:00", False),
    ("直播课", "FREQ=WEEKLY;BYDAY=TH", "20:00", True),
    ("话题讨论", "FREQ=WEEKLY;BYDAY=FR", "20:00", True),
    ("周五小测验", "FREQ=WEEKLY;BYDAY=FR", "20:30", True),
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    p.add_argument("--groups", type=int, default=5000, help="groups in the community (default 5,000)")
    p.add_argument("--days", type=int, default=7, help="days planned (default 7)")
    p.add_argument("--pg-url", default=os.environ.get("SIYU_BENCH_SOP_PG_URL", DEFAULT_PG_URL),
                   help="PostgreSQL database; its public schema is DROPPED (name must contain 'sop' or 'bench')")
    p.add_argument("--only", choices=["sqlite", "postgresql"], default=None, help="run one backend only")
    p.add_argument("--workdir", type=Path, default=None, help="keep the workspaces here instead of a temp dir")


def _setup(rt: Any, groups: int) -> list[int]:
    from siyu.communities import service as communities
    from siyu.communities.schemas import CommunityIn
    from siyu.engagement.sop import service
    from siyu.engagement.sop.schemas import SopItemIn
    from siyu.models import Group

    with rt.tx() as s:
        c = communities.create(s, WORKSPACE, CommunityIn(name="bench 知识社群"))
        s.execute(insert(Group), [{"workspace_id": WORKSPACE, "community_id": c.id, "platform": "sandbox",
                                   "external_id": f"bench-g{i}", "name": f"知识 {i} 群", "owner": "",
                                   "capacity": 200, "status": "active", "settings": {}, "created_at": START}
                                  for i in range(groups)])
        return [service.create_item(s, WORKSPACE, SopItemIn(
            title=title, text=f"{title}：bench", community_id=c.id, rrule=rule, time_of_day=at, activity=act),
            now=START).id for title, rule, at, act in CALENDAR]


def _raw_rows(rt: Any, dialect: str) -> list[tuple[Any, ...]]:
    from siyu.models import SopOccurrence

    with rt.tx() as s:
        rows = s.execute(select(*[SopOccurrence.__table__.c[c] for c in COLUMNS])).all()
    out = []
    for r in rows:
        vals = list(r)
        if dialect == "sqlite":
            for i in (COLUMNS.index("due_at"), COLUMNS.index("created_at")):
                vals[i] = raw._sqlite_ts(vals[i])
        out.append(tuple(vals))
    return out


def _raw_sqlite(db_path: str, rows: list[tuple[Any, ...]]) -> float:
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=60)
    try:
        cur = conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=60000"):
            cur.execute(f"PRAGMA {pragma}")
        cur.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        ddl = [sql for (sql,) in cur.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'sop_occurrences' AND sql IS NOT NULL "
            "ORDER BY type = 'index'")]
        for sql in ddl:
            cur.execute(sql.replace("sop_occurrences", RAW_TABLE))
        sql = f"INSERT INTO {RAW_TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        t0 = time.perf_counter()
        cur.execute("BEGIN IMMEDIATE")
        cur.executemany(sql, rows)
        cur.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        conn.close()


def _raw_postgresql(url: str, rows: list[tuple[Any, ...]]) -> float:
    with psycopg.connect(raw.psycopg_dsn(url)) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        conn.execute(f"CREATE TABLE {RAW_TABLE} (LIKE sop_occurrences INCLUDING ALL EXCLUDING DEFAULTS)")
        conn.execute(f"CREATE SEQUENCE {RAW_TABLE}_id_seq OWNED BY {RAW_TABLE}.id")
        conn.execute(f"ALTER TABLE {RAW_TABLE} ALTER COLUMN id SET DEFAULT nextval('{RAW_TABLE}_id_seq')")
        # LIKE leaves the foreign keys out; SQLite's copied DDL keeps them, so add them back to compare alike.
        for col, ref in (("workspace_id", "workspaces"), ("item_id", "sop_items"), ("group_id", "groups"),
                         ("action_id", "actions")):
            conn.execute(f"ALTER TABLE {RAW_TABLE} ADD CONSTRAINT fk_{RAW_TABLE}_{col} FOREIGN KEY ({col}) "
                         f"REFERENCES {ref} (id)")
        conn.commit()
        sql = f"INSERT INTO {RAW_TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(sql, rows)
        conn.commit()
        return time.perf_counter() - t0


def _run_backend(name: str, db_url: str | None, folder: Path, args: argparse.Namespace, say: Progress,
                 out: raw.Prefixed, errors: list[str]) -> None:
    from siyu import config, workspace
    from siyu.engagement.sop import planner
    from siyu.kit.clock import FrozenClock
    from siyu.models import SopOccurrence
    from siyu.runtime import Runtime

    with _env(SIYU_DATABASE_URL=db_url, SIYU_QUEUE_URL=None):
        workspace.init(folder)
        settings = config.load(folder)
    rt = Runtime(settings, clock=FrozenClock(START), immediate=True)
    try:
        _setup(rt, args.groups)
        say.say(f"[bold]{name}[/]: {args.groups:,} groups, {len(CALENDAR)} items")
        end = START + timedelta(days=args.days)
        with rt.tx() as s:  # warm-up: expansion only, nothing written (imports, caches, connection)
            planner.preview_detail(s, WORKSPACE, None, START, START + timedelta(days=1), now=START)

        t0, c0 = time.perf_counter(), time.process_time()
        with rt.tx() as s:
            res = planner.plan_window(s, WORKSPACE, START, end, START)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = res["inserted"]
        out["plan_week.occurrences"] = n
        out["plan_week.seconds"] = round(secs, 3)
        out["plan_week.occurrences_per_s"] = round(n / secs) if secs else 0
        out["plan_week.cpu_seconds"] = round(cpu, 3)
        out["plan_week.skipped_cap"] = res["skipped_cap"]
        say.say(f"{name}: planned {n:,} occurrences in {secs:.2f}s = {n / secs:,.0f}/s")

        t0 = time.perf_counter()
        with rt.tx() as s:
            again = planner.plan_window(s, WORKSPACE, START, end, START)
        out["replan_week.seconds"] = round(time.perf_counter() - t0, 3)
        if again["inserted"] != 0:
            errors.append(f"re-planning inserted {again['inserted']} rows; it must be idempotent")

        with rt.tx() as s:
            stored = int(s.scalar(select(func.count()).select_from(SopOccurrence)) or 0)
        expected = args.groups * sum(_per_week(rule) for _, rule, _, _ in CALENDAR) * args.days // 7
        out["rows.occurrences"] = stored
        if args.days % 7 == 0 and stored != expected:
            errors.append(f"{stored} occurrences stored, expected {expected}")
        rows = _raw_rows(rt, "sqlite" if db_url is None else "postgresql")
    finally:
        rt.close()

    raw_secs = _raw_sqlite(str(folder / "siyu.db"), rows) if db_url is None else _raw_postgresql(db_url, rows)
    out["raw.rows"] = len(rows)
    out["raw.seconds"] = round(raw_secs, 3)
    out["raw.rows_per_s"] = round(len(rows) / raw_secs) if raw_secs else 0
    out["plan_week.ratio_to_raw"] = (round(out["plan_week.occurrences_per_s"] / out["raw.rows_per_s"], 3)
                                     if out["raw.rows_per_s"] else None)
    say.say(f"{name}: raw executemany {len(rows):,} rows in {raw_secs:.2f}s = {len(rows) / raw_secs:,.0f}/s")


def _per_week(rule: str) -> int:
    return 7 if rule == "FREQ=DAILY" else 1


def _table(result: dict[str, Any], args: argparse.Namespace) -> Table:
    t = Table(title=f"siyu SOP planning — {args.groups:,} groups × {len(CALENDAR)} items × {args.days} days")
    for col in ("backend", "path", "rows", "seconds", "rows/s", "ratio_to_raw", "target", ""):
        t.add_column(col, justify="left" if col in ("backend", "path", "") else "right")
    for b in ("sqlite", "postgresql"):
        if f"{b}.skipped" in result:
            t.add_row(b, "[yellow]skipped[/]", "", "", "", "", "", "")
            continue
        if f"{b}.plan_week.seconds" not in result:
            continue
        t.add_row(b, "raw executemany", f"{result.get(f'{b}.raw.rows', 0):,}", f"{result.get(f'{b}.raw.seconds', 0)}",
                  f"{result.get(f'{b}.raw.rows_per_s', 0):,}", "1", "", "")
        secs = result[f"{b}.plan_week.seconds"]
        verdict = "[green]met[/]" if secs <= TARGET_SECONDS else "[bold red]MISSED[/]"
        ratio = result.get(f"{b}.plan_week.ratio_to_raw")
        t.add_row(b, "planner.plan_window (1 week)", f"{result[f'{b}.plan_week.occurrences']:,}", f"{secs:.2f}",
                  f"{result[f'{b}.plan_week.occurrences_per_s']:,}", f"{ratio:.3f}" if ratio else "",
                  f"≤ {TARGET_SECONDS:.0f} s", verdict)
        t.add_row(b, "re-plan (idempotent, 0 new)", "0", f"{result.get(f'{b}.replan_week.seconds', 0):.2f}", "", "",
                  "", "")
    return t


def main(args: argparse.Namespace) -> int:
    say = Progress(quiet_stdout=args.json)
    result: dict[str, Any] = {
        "meta.started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "meta.cpus": os.cpu_count(),
        "meta.loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "meta.python": platform.python_version(),
        "meta.sqlite": sqlite3.sqlite_version,
        "meta.groups": args.groups,
        "meta.items": len(CALENDAR),
        "meta.days": args.days,
    }
    failures: list[str] = []
    raw.run_backends(args, result, say, _run_backend, "siyu-bench-sop-")
    result["meta.loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    targets = {f"{b}.plan_week.seconds": {"target": TARGET_SECONDS, "measured": result[f"{b}.plan_week.seconds"],
                                          "met": result[f"{b}.plan_week.seconds"] <= TARGET_SECONDS}
               for b in ("sqlite", "postgresql") if f"{b}.plan_week.seconds" in result}
    raw.conclude(result, targets, failures)
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        console = Console(width=None if sys.stdout.isatty() else 150)
        console.print(_table(result, args))
        for b in ("sqlite", "postgresql"):
            if f"{b}.skipped" in result:
                console.print(f"[yellow]{b} skipped[/]: {result[f'{b}.skipped']}")
        console.print(f"Load average {result['meta.loadavg_start']} → {result['meta.loadavg_end']} on "
                      f"{result['meta.cpus']} CPUs.")
        for f in failures:
            console.print(f"[bold red]failure[/]: {f}")
    return 0 if not failures else 1
