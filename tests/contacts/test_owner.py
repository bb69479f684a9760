"""Sales see only the contacts assigned to them — in the API and the console, list, search, detail and
timeline; everyone else's contact is a 404. Admins and operators assign the owner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.app import create_app
from siyu.models import User
from siyu.runtime import Runtime
from tests.console.conftest import HTML, Console, console, make_user  # noqa: F401


def _user_id(rt: Runtime, name: str) -> int:
    with rt.tx() as s:
        uid = s.scalar(select(User.id).where(User.username == name))
    assert uid is not None
    return int(uid)


def _contact(c: TestClient, name: str, phone: str) -> int:
    r = c.post("/api/v1/contacts", json={"display_name": name, "identities": [{"platform": "phone",
                                                                               "external_id": phone}]})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_sales_see_only_their_own_contacts(rt: Runtime, api: Any,
                                           make_user: Callable[[str, str], str]) -> None:  # noqa: F811
    make_user("xiao", "sales")
    make_user("li", "sales")
    admin = api("admin")
    mine, theirs, nobody = (_contact(admin, n, p) for n, p in (("张三", "13900000001"), ("李四", "13900000002"),
                                                               ("王五", "13900000003")))
    r = admin.patch(f"/api/v1/contacts/{mine}", json={"owner_user_id": _user_id(rt, "xiao")})
    assert r.status_code == 200 and r.json()["owner_user_id"] == _user_id(rt, "xiao")
    assert admin.patch(f"/api/v1/contacts/{theirs}", json={"owner_user_id": _user_id(rt, "li")}).status_code == 200
    assert admin.patch(f"/api/v1/contacts/{nobody}", json={"owner_user_id": 999}).json()["code"] == "unknown_owner"

    sales = Console(TestClient(create_app(runtime=rt)))
    assert sales.login("xiao").status_code == 303
    # The API with the console session.
    listed = sales.client.get("/api/v1/contacts").json()
    assert [c["id"] for c in listed["items"]] == [mine] and listed["next_cursor"] is None
    assert sales.client.get("/api/v1/contacts?q=李四").json()["items"] == []
    assert sales.client.get(f"/api/v1/contacts/{mine}").status_code == 200
    for other in (theirs, nobody):
        r = sales.client.get(f"/api/v1/contacts/{other}")
        assert r.status_code == 404 and r.json()["code"] == "contact_not_found"
        assert sales.client.get(f"/api/v1/contacts/{other}/timeline").status_code == 404
    assert sales.client.get(f"/api/v1/contacts/{mine}/timeline").status_code == 200
    # The console.
    page = sales.get("/contacts")
    assert page.status_code == 200 and "张三" in page.text and "李四" not in page.text and "王五" not in page.text
    assert sales.get(f"/contacts/{theirs}").status_code == 404
    assert "张三" in sales.get(f"/contacts/{mine}").text
    assert "李四" not in sales.get("/contacts/pick?q=李").text

    # Everyone else sees every contact.
    assert len(api("viewer").get("/api/v1/contacts").json()["items"]) == 3
    # A sales *token* belongs to no user: it sees no contact at all.
    assert api("sales").get("/api/v1/contacts").json()["items"] == []

    # Unassigning takes the contact away from the sales user.
    admin = api("admin")
    assert admin.patch(f"/api/v1/contacts/{mine}", json={"owner_user_id": None}).json()["owner_user_id"] is None
    assert sales.client.get(f"/api/v1/contacts/{mine}").status_code == 404


def test_sales_cannot_assign_and_operators_assign_in_the_console(
        rt: Runtime, api: Any, console: Any, make_user: Callable[[str, str], str]) -> None:  # noqa: F811
    make_user("xiao", "sales")
    cid = _contact(api("admin"), "张三", "13900000009")
    api("admin").headers.pop("Authorization")
    op = console("operator")
    page = op.get(f"/contacts/{cid}")
    assert 'name="owner_user_id"' in page.text and "xiao" in page.text
    r = op.post(f"/contacts/{cid}/owner", {"owner_user_id": str(_user_id(rt, "xiao"))})
    assert r.status_code == 303
    assert op.get("/contacts").text.count("xiao") >= 1
    assert api("admin").get(f"/api/v1/contacts/{cid}").json()["owner_user_id"] == _user_id(rt, "xiao")

    sales = Console(TestClient(create_app(runtime=rt)))
    sales.login("xiao")
    detail = sales.get(f"/contacts/{cid}")
    assert detail.status_code == 200 and 'name="owner_user_id"' not in detail.text  # shown, not editable
    assert sales.post(f"/contacts/{cid}/owner", {"owner_user_id": ""}).status_code == 403
    r = sales.client.patch(f"/api/v1/contacts/{cid}", json={"owner_user_id": None},
                           headers={"X-CSRF-Token": sales.csrf, **HTML})
    assert r.status_code == 403
