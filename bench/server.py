"""A real `siyu serve` subprocess and the HTTP load that is pointed at it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

ENV_CLEAR = ("SIYU_DATABASE_URL", "SIYU_QUEUE_URL", "SIYU_DATA_DIR")


def siyu_executable() -> str:
    beside = Path(sys.executable).parent / "siyu"
    if beside.exists():
        return str(beside)
    found = shutil.which("siyu")
    if not found:
        raise RuntimeError("the `siyu` command is not installed in this environment")
    return found


def child_env(database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_CLEAR}
    if database_url:
        env["SIYU_DATABASE_URL"] = database_url
    env["SIYU_LOG_LEVEL"] = "WARNING"
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_token(folder: Path, env: dict[str, str]) -> str:
    out = subprocess.run(
        [siyu_executable(), "token", "create", "--role", "operator", "--name", "bench",
         "--data", str(folder)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"siyu token create failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    token = out.stdout.strip().splitlines()[-1].strip()
    if not token.startswith("siyu_"):
        raise RuntimeError(f"unexpected token output: {out.stdout!r}")
    return token


def peak_rss_kb(pid: int) -> int | None:
    """VmHWM: the resident set's high-water mark, from /proc (Linux)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far, from /proc/PID/stat (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Serve:
    """`siyu serve --workers 0` on a free port; always stopped by `stop()` (call it in `finally`)."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss_kb: int | None = None

    def start(self, timeout: float = 90.0) -> None:
        log = self.log_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                [siyu_executable(), "serve", "--data", str(self.folder), "--port", str(self.port),
                 "--workers", "0"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"siyu serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"siyu serve did not answer /healthz within {timeout:.0f}s:\n{self.log_tail()}")

    def sample_rss(self) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            rss = peak_rss_kb(self.proc.pid)
            if rss is not None:
                self.peak_rss_kb = max(self.peak_rss_kb or 0, rss)
        return self.peak_rss_kb

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.proc.pid) if self.proc is not None and self.proc.poll() is None else None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        self.sample_rss()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None


@dataclass
class HttpRun:
    seconds: float = 0.0
    events: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def post_batches(url: str, token: str, bodies: list[tuple[bytes, int]], *, concurrency: int) -> HttpRun:
    """POST every body from `concurrency` client threads (each its own keep-alive connection)."""
    run = HttpRun()
    lock = threading.Lock()
    next_index = iter(range(len(bodies)))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def worker() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                body, size = bodies[i]
                t0 = time.perf_counter()
                try:
                    resp = client.post("/api/v1/events", content=body)
                    dt = time.perf_counter() - t0
                    problem = _check(resp, size)
                except httpx.HTTPError as exc:
                    dt, problem = time.perf_counter() - t0, f"batch {i}: {type(exc).__name__}: {exc}"
                with lock:
                    run.latencies.append(dt)
                    if problem:
                        run.errors.append(f"batch {i}: {problem}")
                    else:
                        run.events += size

    threads = [threading.Thread(target=worker, name=f"bench-client-{n}") for n in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - t0
    return run


def _check(resp: httpx.Response, size: int) -> str | None:
    if resp.status_code != 200:
        return f"HTTP {resp.status_code}: {resp.text[:300]}"
    data: Any = orjson.loads(resp.content)
    if data.get("stored") != size:
        return f"stored {data.get('stored')} of {size} (duplicate {data.get('duplicate')}, " \
               f"rejected {data.get('rejected')})"
    return None
