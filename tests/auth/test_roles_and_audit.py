from __future__ import annotations

from typing import Any

import pytest

from siyu.auth import service as auth


def test_viewer_can_read_but_not_write(api: Any) -> None:
    c = api("viewer")
    assert c.get("/api/v1/communities").status_code == 200
    for method, url, body in [
        ("post", "/api/v1/communities", {"name": "X"}),
        ("post", "/api/v1/groups", {"name": "G"}),
        ("post", "/api/v1/tags", {"group": "a", "name": "b"}),
        ("post", "/api/v1/sandbox/members", {"nickname": "n"}),
    ]:
        r = getattr(c, method)(url, json=body)
        assert r.status_code == 403, url
        assert r.json()["code"] == "forbidden"


def test_sales_sees_contacts_but_not_setup_or_admin(api: Any) -> None:
    c = api("sales")
    assert c.get("/api/v1/contacts").status_code == 200
    for url in ("/api/v1/users", "/api/v1/tokens", "/api/v1/audit", "/api/v1/communities", "/api/v1/actions"):
        assert c.get(url).status_code == 403, url


def test_operator_cannot_manage_users_or_tokens(api: Any) -> None:
    c = api("operator")
    assert c.post("/api/v1/users", json={"username": "x", "password": "12345678", "role": "admin"}).status_code == 403
    assert c.post("/api/v1/tokens", json={"name": "t", "role": "admin"}).status_code == 403


def test_admin_token_lifecycle_and_audit_trail(api: Any, app_client: Any) -> None:
    c = api("admin")
    r = c.post("/api/v1/tokens", json={"name": "crm-sync", "role": "operator"})
    assert r.status_code == 201
    token, token_id = r.json()["token"], r.json()["id"]
    assert token.startswith("siyu_")
    assert all(t.get("token") is None for t in c.get("/api/v1/tokens").json()["items"])  # shown once only
    headers = {"Authorization": f"Bearer {token}"}
    assert app_client.post("/api/v1/communities", json={"name": "审计"}, headers=headers).status_code == 201
    assert c.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert app_client.get("/api/v1/communities", headers=headers).status_code == 401
    log = c.get("/api/v1/audit").json()["items"]
    actions = [(e["actor"], e["action"]) for e in log]
    assert ("token:crm-sync", "community.create") in actions
    assert ("token:test-admin", "token.create") in actions
    assert ("token:test-admin", "token.revoke") in actions


def test_users_passwords_and_last_admin(rt: Any, api: Any) -> None:
    from siyu.kit.errors import Conflict, Invalid

    with rt.tx() as s:
        with pytest.raises(Invalid):
            auth.create_user(s, 1, "weak", "short", "operator")
        with pytest.raises(Invalid):
            auth.create_user(s, 1, "x", "longenough", "superuser")
        admin = auth.create_user(s, 1, "boss", "correct horse", "admin")
        assert admin.password_hash.startswith("$argon2")
    with rt.tx() as s:
        assert auth.authenticate(s, "boss", "correct horse") is not None
        assert auth.authenticate(s, "boss", "wrong password") is None
        assert auth.authenticate(s, "nobody", "correct horse") is None
        with pytest.raises(Conflict):
            auth.update_user(s, 1, admin.id, role="viewer")


def test_the_audit_log_pages_back_by_cursor(rt: Any, api: Any, console: Any) -> None:
    """REST and the console's Users & settings page walk the whole log, newest first, without repeats."""
    import html
    import re

    from siyu.models import AuditEntry

    with rt.tx() as s:
        s.add_all(AuditEntry(workspace_id=1, actor="token:seed", action=f"seed.{i}", object_type="probe",
                             object_id=str(i), detail={}, at=rt.clock.now()) for i in range(130))
    c = api("admin")
    seen, cursor = [], None
    while True:
        page = c.get("/api/v1/audit", params={"limit": 40, **({"cursor": cursor} if cursor else {})}).json()
        seen += [e["id"] for e in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) >= 130

    admin = console("admin")
    first = admin.get("/admin").text
    assert "seed.129" in first and "seed.0<" not in first and "First page" not in first and "第一页" not in first
    link = re.search(r'href="(/admin\?cursor=[^"]+)"', first)
    assert link is not None
    older = admin.get(html.unescape(link.group(1))).text
    assert "seed.0<" in older and "seed.129" not in older and ("First page" in older or "第一页" in older)
