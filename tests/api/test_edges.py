"""The hardened edge: bodies limited while they stream (413 in the error shape, never a truncation), security
headers on every answer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from siyu.app import create_app
from siyu.runtime import Runtime
from tests.conftest import make_token


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b" " * n


def test_a_declared_content_length_over_the_limit_is_refused_before_reading(api: Any, settings: Any) -> None:
    c = api("admin")
    big = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    r = c.post("/api/v1/communities", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"code": "body_too_large", "message": f"request body larger than {settings.max_body_bytes} "
                        "bytes", "detail": {"limit": settings.max_body_bytes}}


def test_a_streamed_body_is_cut_off_once_over_the_limit(rt: Runtime, settings: Any) -> None:
    """No Content-Length (chunked): the bytes are counted as they arrive; the endpoint never sees the body."""
    token = make_token(rt, "admin")
    seen: list[int] = []

    def counting() -> Iterator[bytes]:
        for chunk in _chunks(settings.max_body_bytes * 3):
            seen.append(len(chunk))
            yield chunk

    with TestClient(create_app(runtime=rt)) as c:
        r = c.post("/api/v1/communities", content=counting(),
                   headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"
    with rt.tx() as s:
        from sqlalchemy import func, select

        from siyu.models import Community

        assert s.scalar(select(func.count()).select_from(Community)) == 0


def test_uploads_have_the_larger_limit_and_an_oversized_file_is_an_error(api: Any, console: Any,
                                                                         settings: Any) -> None:
    c = api("admin")
    # 2 MB: over the default body limit, within the upload limit; a CSV header row and blank lines.
    csv = ("title,time,content,recurrence,targets\n" + "\n" * 2_000_000).encode()
    assert len(csv) > settings.max_body_bytes
    r = c.post("/api/v1/sop/import", files={"file": ("sop.csv", io.BytesIO(csv), "text/csv")})
    assert r.status_code in (201, 422) and r.json().get("code") != "body_too_large", r.text
    # Over the file's own 5 MB: refused as a whole, not imported from its first 5 MB.
    r = c.post("/api/v1/sop/import", files={"file": ("sop.csv", io.BytesIO(b"x" * 5_000_001), "text/csv")})
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"
    # The console's word-list upload used to keep the first 4 MB of a larger file without a word.
    c.headers.pop("Authorization")
    op = console("admin")
    lst = op.client.post("/api/v1/moderation/word-lists", json={"name": "广告"},
                         headers={"X-CSRF-Token": op.csrf})
    assert lst.status_code == 201, lst.text
    r = op.post(f"/moderation/word-lists/{lst.json()['id']}/words", {"mode": "append"},
                files={"file": ("words.txt", io.BytesIO(("加微信\n" * 800_000).encode()), "text/plain")})
    assert r.status_code == 413 and "file_too_large" in r.text
    assert op.client.get(f"/api/v1/moderation/word-lists/{lst.json()['id']}").json()["word_count"] == 0


def test_security_headers_on_console_and_api(app_client: TestClient) -> None:
    for path in ("/login", "/api/v1/me", "/static/console.css"):
        r = app_client.get(path)
        h = r.headers
        assert h["x-content-type-options"] == "nosniff", path
        assert h["x-frame-options"] == "DENY", path
        assert h["referrer-policy"] == "same-origin", path
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp, path
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], path
    # The console pages carry no inline script for that policy to block (data blocks are not scripts).
    import re
    from pathlib import Path

    import siyu.console

    templates = Path(siyu.console.__file__).parent / "templates"
    for tpl in templates.rglob("*.html"):
        text = tpl.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", text), tpl
        assert not re.search(r"\son[a-z]+\s*=", text), tpl
        assert "javascript:" not in text, tpl
    docs = app_client.get("/api/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
