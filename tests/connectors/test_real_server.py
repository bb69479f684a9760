"""The bridge behind a real `siyu serve` (uvicorn, its thread pool, the edge middleware), reached over real HTTP
from several threads at once: copies of one signed request store its events once, and an unsigned one nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from siyu.connectors.webhook import signing
from tests.browser import Server, clean_env, siyu_command
from tests.racing import race

KEY = "whsec-serve-0123456789abcdef"


def test_racing_copies_over_http_store_once(server: Server, db_url: str) -> None:
    added = subprocess.run([*siyu_command(), "connector", "add", "webhook", "shop", "--secret", KEY,
                            "--data", str(server.data)], env=clean_env(db_url), capture_output=True, text=True,
                           timeout=120)
    assert added.returncode == 0, added.stderr
    url = f"{server.url}/callbacks/webhook/shop"
    raw = json.dumps({"events": [{"type": "order.paid", "contact": {"external_id": "buyer-1"},
                                  "payload": {"order_id": "A-1", "amount": 99}}]}).encode()
    headers = {"Content-Type": "application/json", **signing.sign(KEY, int(time.time()), raw)}
    assert httpx.post(url, content=raw, headers={"Content-Type": "application/json"}).status_code == 401
    statuses: list[int] = []
    assert race(6, lambda n: statuses.append(httpx.post(url, content=raw, headers=headers, timeout=30)
                                             .status_code)) == []
    assert sorted(statuses) == [200] + [409] * 5
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM events WHERE type = 'order.paid'").scalar() == 1
    finally:
        engine.dispose()


DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors" / "webhook.md"


def _block(lang: str, marker: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return next(b for b in blocks if marker in b)


def test_the_documented_curl_and_python_senders_work(server: Server, db_url: str) -> None:
    added = subprocess.run([*siyu_command(), "connector", "add", "webhook", "tg", "--secret", KEY,
                            "--data", str(server.data)], env=clean_env(db_url), capture_output=True, text=True,
                           timeout=120)
    assert added.returncode == 0, added.stderr
    curl = re.sub(r"^SIYU=\S+", f"SIYU={server.url}", _block("sh", "BODY="), flags=re.M)
    curl = re.sub(r"^SECRET=\S+", f"SECRET={KEY}", curl, flags=re.M)
    done = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and json.loads(done.stdout)["stored"] == 1, done.stdout + done.stderr
    sender = _block("python", "def send").replace('"https://siyu.example.com"', repr(server.url))
    sender = sender.replace('"the-connectors-signing-secret"', repr(KEY))
    assert len(sender.strip().splitlines()) <= 24
    done = subprocess.run([sys.executable, "-c", sender], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "'stored': 1" in done.stdout, done.stdout + done.stderr
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            types = dict(conn.exec_driver_sql("SELECT type, count(*) FROM events GROUP BY type").fetchall())
    finally:
        engine.dispose()
    assert types.get("message.posted") == 1 and types.get("group.member_joined") == 1
