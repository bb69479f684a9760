"""Helpers for the durability tests: real `siyu` processes, killed and restarted, with bounded waits.

Every process started here is tracked by the `procs` fixture and ended by its own pid at teardown (SIGTERM, then
SIGKILL), so a failing test never leaves a server or a worker behind.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn

import httpx
import pytest
import redis

VENV_BIN = Path(sys.executable).parent
SIYU = str(VENV_BIN / "siyu")
HERE = Path(__file__).parent

# Runs the real `siyu` command line, with huey's own INFO log ("Executing delivery.deliver: …", "Enqueueing
# periodic task …") let through, and one line per delivery job with the action and what became of it
# ("siyu-test deliver 17 -> sent", "-> None" when the job found nothing to claim), so a test can tell which process
# executed which jobs. What siyu does is not changed by this.
SIYU_WITH_TASK_LOG = (
    "import logging, sys\n"
    "import siyu.delivery.tasks as _tasks\n"
    "from siyu.cli import main\n"
    "logging.getLogger('huey').setLevel(logging.INFO)\n"
    "_log = logging.getLogger('huey.siyu-test')\n"
    "_deliver = _tasks.deliver\n"
    "def _logged(runtime, action_id):\n"
    "    state = _deliver(runtime, action_id)\n"
    "    _log.info('siyu-test deliver %s -> %s', action_id, state)\n"
    "    return state\n"
    "_tasks.deliver = _logged\n"
    "sys.argv[0] = 'siyu'\n"
    "main()\n"
)
DELIVERED = re.compile(r"siyu-test deliver (\d+) -> (\S+)")
ENQUEUED_PERIODIC = re.compile(r"Enqueueing periodic task (\S+?)[:\s]")

# Redis databases of the process tests (the unit tests' queue is SIYU_TEST_REDIS_URL, db 15 by default); each
# test empties its own database before and after.
SCALE_REDIS_URL = os.environ.get("SIYU_TEST_REDIS_SCALE_URL", "redis://127.0.0.1:6379/11")
TOPOLOGY_REDIS_URL = os.environ.get("SIYU_TEST_REDIS_TOPOLOGY_URL", "redis://127.0.0.1:6379/12")


def service_missing(what: str) -> NoReturn:
    """A service a test needs is not there: skip on a laptop, but fail in CI (CI=…), where a skipped scale-out
    test would pass silently without proving anything."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI is set, so this fails instead of skipping)")
    pytest.skip(what)


def redis_or_skip(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {url} is not reachable: {exc}")
    return client


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(pred: Callable[[], Any], *, timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll `pred` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = pred()
            if value:
                return value
        except Exception as exc:  # a probe that fails (server not up yet) just means "not yet"
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


def siyu_env(db_url: str, *, queue_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a child process: no SIYU_* leaking from outside, the test's database and queue."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    env["SIYU_DATABASE_URL"] = db_url
    if queue_url:
        env["SIYU_QUEUE_URL"] = queue_url
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_siyu(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    res = subprocess.run([SIYU, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        pytest.fail(f"siyu {' '.join(args)} exited {res.returncode}\n{res.stdout}\n{res.stderr}")
    return res.stdout


def init_workspace(folder: Path, env: dict[str, str]) -> Path:
    run_siyu(["init", str(folder)], env)
    assert (folder / "siyu.toml").exists()
    return folder


def create_token(folder: Path, env: dict[str, str], role: str = "operator") -> str:
    out = run_siyu(["token", "create", "--role", role, "--data", str(folder)], env)
    token = out.strip().splitlines()[-1].strip()
    assert token, out
    return token


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill9(self) -> int:
        os.kill(self.pid, signal.SIGKILL)
        return self.popen.wait(timeout=30)

    def stop(self, grace: float = 15) -> int:
        """SIGTERM, then SIGKILL if it has not exited within `grace` seconds."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=30)
        if not self._log.closed:
            self._log.close()
        return int(self.popen.returncode)


class Procs:
    """Starts child processes (stdout and stderr to one log file each) and ends them by pid."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.started: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        self.logdir.mkdir(parents=True, exist_ok=True)
        path = self.logdir / f"{name}-{len(self.started)}.log"
        fh = path.open("wb")
        popen = subprocess.Popen(argv, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        proc = Proc(name, popen, path, fh)
        self.started.append(proc)
        return proc

    def serve(self, folder: Path, port: int, env: dict[str, str], *, workers: int = 0,
              scheduler: bool = True) -> Proc:
        proc = self.start("serve", [SIYU, "serve", "--data", str(folder), "--port", str(port),
                                    "--workers", str(workers), "--scheduler" if scheduler else "--no-scheduler"],
                          env)

        def healthy() -> bool:
            if not proc.alive():
                pytest.fail(f"siyu serve exited {proc.popen.returncode}:\n{proc.log()}")
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200

        wait_until(healthy, timeout=60, interval=0.1, what=f"siyu serve on port {port}")
        return proc

    def worker(self, folder: Path, env: dict[str, str], *, threads: int = 4) -> Proc:
        return self.start("worker", [sys.executable, "-c", SIYU_WITH_TASK_LOG, "worker", "--data", str(folder),
                                     "--threads", str(threads)], env)

    def scheduler(self, folder: Path, env: dict[str, str]) -> Proc:
        return self.start("scheduler", [sys.executable, "-c", SIYU_WITH_TASK_LOG, "scheduler", "--data",
                                        str(folder)], env)

    def stop_all(self) -> None:
        for proc in self.started:
            proc.stop(grace=10)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path / "logs")
    try:
        yield p
    finally:
        p.stop_all()
