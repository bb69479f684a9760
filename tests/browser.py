"""What every browser test needs, once: Debian's Chromium launched the way the CI can run it, and a real
`siyu serve` process on a free port (delivery and the scheduler in it, as an operator runs siyu)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Debian's Chromium is not installed at /usr/bin/chromium")


def launch(playwright: Any) -> Any:
    """A headless Chromium (the system one: nothing is downloaded)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def siyu_command() -> list[str]:
    script = Path(sys.executable).parent / "siyu"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from siyu.cli import main; main()"]


def clean_env(db_url: str, **extra: str) -> dict[str, str]:
    """The environment of a child siyu: this process's, without its SIYU_ settings, on `db_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    env.update({"SIYU_DATABASE_URL": db_url, "SIYU_LOG_LEVEL": "WARNING", **extra})
    return env


@contextmanager
def serving(data: Path, env: dict[str, str], log_path: Path, *args: str) -> Iterator[str]:
    """`siyu serve --data DATA` until the block ends; yields its URL once /healthz answers."""
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen([*siyu_command(), "serve", "--data", str(data), "--port", str(port), *args],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("siyu serve did not start:\n" + log_path.read_text())
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Server:
    url: str
    data: Path
    admin_password: str


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    """A fresh workspace (`siyu init`) served by `siyu serve`."""
    data = tmp_path / "workspace"
    env = clean_env(db_url)
    subprocess.run([*siyu_command(), "init", str(data)], env=env, check=True, capture_output=True, timeout=120)
    text = (data / "initial-admin-password.txt").read_text()
    password = re.search(r"password: (\S+)", text).group(1)  # type: ignore[union-attr]
    with serving(data, env, tmp_path / "serve.log") as url:
        yield Server(url, data, password)
