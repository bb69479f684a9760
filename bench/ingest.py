"""The ingest benchmark: in-process batches, the HTTP batch endpoint and a raw DB-API baseline, per backend.

Every figure and every ratio comes from the same run on the same database, so `ratio_to_raw` stays
meaningful on a noisy machine even when the absolute numbers move. See docs/bench.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text

from bench import raw, server
from bench.workload import Workload

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/siyu_bench"
WORKSPACE = 1
# Targets, events per second. In-process applies to the embedded default (SQLite); HTTP to every backend.
TARGETS = {
    "sqlite.inprocess.events_per_s": 20_000,
    "sqlite.http.events_per_s": 5_000,
    "postgresql.http.events_per_s": 5_000,
}
REFERENCE = "RudderStack gateway: ~1,700 events/s on 2 cores"
PREFIXES = {"warmup": "wu", "inprocess": "ip", "raw": "raw", "http_warmup": "hw", "http": "http"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    p.add_argument("--events", type=int, default=100_000, help="timed events per path (default 100,000)")
    p.add_argument("--http-events", type=int, default=None, help="timed events for HTTP (default: --events)")
    p.add_argument("--batch", type=int, default=1000, help="events per batch / request / commit (≤1,000)")
    p.add_argument("--people", type=int, default=5000, help="size of the identity pool (default 5,000)")
    p.add_argument("--concurrency", type=int, default=4, help="HTTP requests in flight (default 4)")
    p.add_argument("--pg-url", default=os.environ.get("SIYU_BENCH_PG_URL", DEFAULT_PG_URL),
                   help="PostgreSQL database; its public schema is DROPPED (name must contain 'bench')")
    p.add_argument("--only", choices=["sqlite", "postgresql"], default=None, help="run one backend only")
    p.add_argument("--workdir", type=Path, default=None,
                   help="keep the workspaces here instead of a temp dir that is removed afterwards")
    p.add_argument("--seed", type=int, default=20261102)


# ---------------------------------------------------------------------------------------------------- helpers


@contextmanager
def _env(**values: str | None) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def _rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else 0.0


class Progress:
    def __init__(self, quiet_stdout: bool) -> None:
        self.console = Console(stderr=quiet_stdout)

    def say(self, msg: str) -> None:
        self.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {msg}", highlight=False)


# ---------------------------------------------------------------------------------------------------- phases


@dataclass
class Timed:
    seconds: float = 0.0
    events: int = 0
    per_batch: list[float] = field(default_factory=list)
    cpu_seconds: float | None = None
    errors: list[str] = field(default_factory=list)


def _inprocess(rt: Any, batches: Iterator[list[dict[str, Any]]]) -> Timed:
    """Time only `with rt.tx(): ingest(...)` (validation, resolution, insert, commit); not the generation."""
    from siyu.events.service import ingest

    t = Timed(cpu_seconds=0.0)
    for batch in batches:
        t0, c0 = time.perf_counter(), time.process_time()
        with rt.tx() as s:
            results = ingest(s, WORKSPACE, batch, now=datetime.now(UTC))
        dt = time.perf_counter() - t0
        t.cpu_seconds = (t.cpu_seconds or 0.0) + time.process_time() - c0
        t.seconds += dt
        t.per_batch.append(dt)
        stored = sum(1 for r in results if r.status == "stored")
        t.events += stored
        if stored != len(batch):
            bad = next(r for r in results if r.status != "stored")
            t.errors.append(f"stored {stored} of {len(batch)}; first: {bad.as_dict()}")
    return t


def _contact_map(rt: Any) -> dict[str, int]:
    from siyu.models import Identity

    with rt.tx() as s:
        return dict(s.execute(select(Identity.external_id, Identity.contact_id).where(
            Identity.workspace_id == WORKSPACE, Identity.platform == "email")).tuples().all())


def _count_rows(rt: Any) -> dict[str, int]:
    from siyu.models import Event

    counts: dict[str, int] = {}
    with rt.tx() as s:
        for name, prefix in PREFIXES.items():
            if name == "raw":
                continue
            counts[name] = int(s.scalar(select(func.count()).select_from(Event).where(
                Event.workspace_id == WORKSPACE, Event.source_key.like(f"{prefix}-%"))) or 0)
        counts["raw"] = int(s.scalar(text(f"SELECT count(*) FROM {raw.TABLE}")) or 0)
    return counts


def _run_backend(name: str, db_url: str | None, folder: Path, args: argparse.Namespace, say: Progress,
                 out: raw.Prefixed, errors: list[str]) -> None:
    from siyu import config, workspace
    from siyu.runtime import Runtime

    http_events = args.http_events if args.http_events is not None else args.events
    with _env(SIYU_DATABASE_URL=db_url, SIYU_QUEUE_URL=None):
        workspace.init(folder)
        settings = config.load(folder)
    say.say(f"[bold]{name}[/]: workspace ready in {folder} ({settings.db_url.split('://')[0]})")

    rt = Runtime(settings, immediate=True)
    try:
        t = _inprocess(rt, Workload(PREFIXES["warmup"], people=args.people, seed=args.seed)
                       .warmup_batches(args.batch))
        errors += [f"warm-up: {e}" for e in t.errors]
        out["warmup.events"] = t.events
        out["warmup.events_per_s"] = round(_rate(t.events, t.seconds))
        say.say(f"{name}: warm-up {t.events:,} events (creates {args.people:,} contacts) "
                f"{_rate(t.events, t.seconds):,.0f}/s")

        wl = Workload(PREFIXES["inprocess"], people=args.people, seed=args.seed)
        t = _inprocess(rt, wl.batches(args.events, args.batch))
        errors += [f"in-process: {e}" for e in t.errors]
        _put(out, _figures("inprocess", t))
        say.say(f"{name}: in-process {t.events:,} events in {t.seconds:.2f}s = {_rate(t.events, t.seconds):,.0f}/s")
        contacts = _contact_map(rt)
    finally:
        rt.close()

    # Raw baseline: same database, same rows (contact ids as siyu resolved them), same commit size.
    wl = Workload(PREFIXES["raw"], people=args.people, seed=args.seed)
    dialect = "sqlite" if db_url is None else "postgresql"

    def raw_batches() -> Iterator[list[tuple[Any, ...]]]:
        for batch in wl.batches(args.events, args.batch):
            yield raw.to_rows(batch, contacts, workspace_id=WORKSPACE, now=datetime.now(UTC), dialect=dialect)

    if db_url is None:
        secs, n, per_batch, cpu = raw.sqlite_baseline(str(folder / "siyu.db"), raw_batches())
    else:
        secs, n, per_batch, cpu = raw.postgresql_baseline(db_url, raw_batches())
    t = Timed(secs, n, per_batch, cpu)
    _put(out, _figures("raw", t))
    say.say(f"{name}: raw executemany {n:,} rows in {secs:.2f}s = {_rate(n, secs):,.0f}/s")
    _ratio(out, "inprocess")

    # HTTP: a real `siyu serve` on the same workspace.
    env = server.child_env(db_url)
    token = server.create_token(folder, env)
    wl = Workload(PREFIXES["http"], people=args.people, seed=args.seed)
    bodies = [(orjson.dumps({"events": b}), len(b)) for b in wl.batches(http_events, args.batch)]
    warm = [(orjson.dumps({"events": b}), len(b))
            for b in Workload(PREFIXES["http_warmup"], people=args.people, seed=args.seed)
            .batches(args.batch * args.concurrency, args.batch)]
    srv = server.Serve(folder, env)
    try:
        srv.start()
        w = server.post_batches(srv.url, token, warm, concurrency=args.concurrency)
        errors += [f"http warm-up: {e}" for e in w.errors]
        cpu0 = srv.cpu_seconds()
        run = server.post_batches(srv.url, token, bodies, concurrency=args.concurrency)
        cpu1 = srv.cpu_seconds()
        errors += [f"http: {e}" for e in run.errors[:20]]
        srv.sample_rss()
    finally:
        srv.stop()
    serve_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    _put(out, _figures("http", Timed(run.seconds, run.events, run.latencies, serve_cpu)))
    out["http.concurrency"] = args.concurrency
    out["http.errors"] = len(run.errors) + len(w.errors)
    out["http.serve_peak_rss_mb"] = round(srv.peak_rss_kb / 1024, 1) if srv.peak_rss_kb else None
    say.say(f"{name}: HTTP {run.events:,} events in {run.seconds:.2f}s = "
            f"{_rate(run.events, run.seconds):,.0f}/s ({args.concurrency} in flight), "
            f"serve peak RSS {out['http.serve_peak_rss_mb']} MB")

    _ratio(out, "http")

    # Did the events really land? Count them, by phase, in the database.
    rt = Runtime(settings, immediate=True)
    try:
        rows = _count_rows(rt)
    finally:
        rt.close()
    expected = {"warmup": args.people, "inprocess": args.events, "raw": args.events,
                "http_warmup": args.batch * args.concurrency, "http": http_events}
    for phase, want in expected.items():
        out[f"rows.{phase}"] = rows[phase]
        if rows[phase] != want:
            errors.append(f"{phase}: {rows[phase]} rows in the database, expected {want}")


def _ratio(out: dict[str, Any], path: str) -> None:
    raw_rate = out["raw.events_per_s"]
    out[f"{path}.ratio_to_raw"] = round(out[f"{path}.events_per_s"] / raw_rate, 3) if raw_rate else None


def _put(out: dict[str, Any], values: dict[str, Any]) -> None:
    for k, v in values.items():
        out[k] = v


def _figures(path: str, t: Timed) -> dict[str, Any]:
    return {
        f"{path}.events": t.events,
        f"{path}.seconds": round(t.seconds, 3),
        f"{path}.events_per_s": round(_rate(t.events, t.seconds)),
        f"{path}.batch_ms_p50": round(_pct(t.per_batch, 0.5) * 1000, 1),
        f"{path}.batch_ms_p95": round(_pct(t.per_batch, 0.95) * 1000, 1),
        # CPU time per 1,000 events: far steadier than events/s on a busy machine (see docs/bench.md).
        f"{path}.cpu_ms_per_1k": round(t.cpu_seconds / t.events * 1e6, 1) if t.cpu_seconds and t.events else None,
    }


# ---------------------------------------------------------------------------------------------------- report


def _targets(result: dict[str, Any]) -> dict[str, Any]:
    targets: dict[str, Any] = {}
    for key, target in TARGETS.items():
        if key in result:
            targets[key] = {"target": target, "measured": result[key], "met": result[key] >= target}
    return targets


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f}"


def _table(result: dict[str, Any], args: argparse.Namespace) -> Table:
    t = Table(title=f"siyu ingest — batches of {args.batch:,}, HTTP {args.concurrency} in flight")
    for col, just in (("backend", "left"), ("path", "left"), ("events", "right"), ("seconds", "right"),
                      ("events/s", "right"), ("ratio_to_raw", "right"), ("batch p50/p95 ms", "right"),
                      ("CPU ms/1k", "right"),
                      ("target", "right"), ("", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    labels = {"raw": "raw executemany", "inprocess": "in-process ingest()",
              "http": "HTTP POST /api/v1/events"}
    for backend in ("sqlite", "postgresql"):
        if f"{backend}.skipped" in result:
            t.add_row(backend, "[yellow]skipped[/] (see below)", "", "", "", "", "", "", "", "")
            continue
        if f"{backend}.raw.events_per_s" not in result:
            continue
        for path in ("raw", "inprocess", "http"):
            k = f"{backend}.{path}"
            if f"{k}.events_per_s" not in result:
                t.add_row(backend, labels[path], "", "", "", "", "", "", "", "[bold red]not measured[/]")
                continue
            target = TARGETS.get(f"{k}.events_per_s")
            verdict = ""
            if target is not None:
                verdict = "[green]met[/]" if result[f"{k}.events_per_s"] >= target else "[bold red]MISSED[/]"
            ratio = result.get(f"{k}.ratio_to_raw")
            ratio_text = "1" if path == "raw" else (f"{ratio:.3f}" if ratio is not None else "")
            t.add_row(backend, labels[path], f"{result[f'{k}.events']:,}", f"{result[f'{k}.seconds']:.2f}",
                      f"{result[f'{k}.events_per_s']:,}", ratio_text,
                      f"{result[f'{k}.batch_ms_p50']:.0f} / {result[f'{k}.batch_ms_p95']:.0f}",
                      _num(result.get(f"{k}.cpu_ms_per_1k")),
                      f"≥ {target:,}" if target else "", verdict)
    return t


def main(args: argparse.Namespace) -> int:
    if not 1 <= args.batch <= 1000:
        raise SystemExit("--batch must be between 1 and 1000")
    say = Progress(quiet_stdout=args.json)
    load_start = os.getloadavg()
    result: dict[str, Any] = {
        "meta.started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "meta.cpus": os.cpu_count(),
        "meta.loadavg_start": [round(x, 2) for x in load_start],
        "meta.python": platform.python_version(),
        "meta.sqlite": sqlite3.sqlite_version,
        "meta.batch": args.batch,
        "meta.people": args.people,
    }
    failures: list[str] = []
    raw.run_backends(args, result, say, _run_backend, "siyu-bench-")

    result["meta.loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    targets = _targets(result)
    raw.conclude(result, targets, failures)

    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        console = Console(width=None if sys.stdout.isatty() else 150)
        console.print(_table(result, args))
        for backend in ("sqlite", "postgresql"):
            rss = result.get(f"{backend}.http.serve_peak_rss_mb")
            if rss is not None:
                console.print(f"{backend}: `siyu serve` peak RSS (VmHWM) {rss} MB; warm-up (new contacts) "
                              f"{result[f'{backend}.warmup.events_per_s']:,} events/s")
        for backend in ("sqlite", "postgresql"):
            if f"{backend}.skipped" in result:
                console.print(f"[yellow]{backend} skipped[/]: {result[f'{backend}.skipped']}")
        console.print(f"Reference: {REFERENCE}. Load average {result['meta.loadavg_start']} → "
                      f"{result['meta.loadavg_end']} on {result['meta.cpus']} CPUs.")
        for key, t in targets.items():
            state = "[green]met[/]" if t["met"] else "[bold red]MISSED[/]"
            console.print(f"  {key} ≥ {t['target']:,}: measured {t['measured']:,} — {state}")
        if not targets:
            console.print("[yellow]No target was measured.[/]")
        else:
            console.print("[green]All targets met.[/]" if result["targets_met"]
                          else "[bold red]Targets MISSED.[/]")
        for f in failures:
            console.print(f"[bold red]FAILED[/] {f}")
    return 0 if not failures else 1
