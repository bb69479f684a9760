"""`siyu wecom-fake` runs the fake as its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_siyu_wecom_fake_serves_the_api_in_its_own_process() -> None:
    port = _free_port()
    siyu = Path(sys.executable).with_name("siyu")
    proc = subprocess.Popen([str(siyu), "wecom-fake", "--port", str(port), "--corp-id", "wwprocesstest",
                             "--secret", "s1", "--secret", "s2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/_fake/state", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        tokens = [httpx.get(f"{base}/cgi-bin/gettoken", params={"corpid": "wwprocesstest", "corpsecret": s}).json()
                  for s in ("s1", "s2", "s3")]
        assert [t["errcode"] for t in tokens] == [0, 0, 40001]
        assert httpx.get(f"{base}/_fake/state").json()["corp_id"] == "wwprocesstest"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert b"wecom-fake: corp wwprocesstest" in out
