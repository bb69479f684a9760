"""Export → edit → import changes the SOP calendar in place: rows carry their item id, a preview (dry run) says
row by row what the import will do, headers follow the console's language, and a file that is not a table is named
for what it is in the operator's language."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from siyu.engagement.sop import tasks
from siyu.kit.clock import FrozenClock
from siyu.models import AuditEntry, SopItem
from siyu.runtime import Runtime
from tests.console.conftest import Console
from tests.sop.helpers import add_items, make_groups

EXTRA: list[dict[str, Any]] = [
    dict(title="午间答疑", text="中午 12 点答疑", rrule="FREQ=WEEKLY;BYDAY=MO,WE", time_of_day="12:00"),
    dict(title="周末福利", text="周末福利来啦", rrule="FREQ=WEEKLY;BYDAY=SA", time_of_day="10:00", activity=True),
]


def _seven(rt: Runtime) -> int:
    """Seven items on two groups, planned by the scheduler as in a running workspace."""
    cid, _gids = make_groups(rt, 2, name="知识社群")
    add_items(rt, cid, owner="小李")
    add_items(rt, cid, EXTRA)
    tasks.tick(rt)
    return cid


def _count(rt: Runtime) -> int:
    with rt.tx() as s:
        return int(s.scalar(select(func.count()).select_from(SopItem)) or 0)


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def _upload(c: Any, data: bytes, name: str = "sop.csv", **params: Any) -> Any:
    return c.post("/api/v1/sop/import", params=params, files={"file": (name, data, "application/octet-stream")})


def _per_item(items: list[dict[str, Any]]) -> Counter[int]:
    return Counter(i["item_id"] for i in items if i["status"] == "planned")


def test_export_then_import_updates_in_place_and_creates_only_the_new_rows(rt: Runtime, api: Callable[..., Any],
                                                                          clock: FrozenClock) -> None:
    _seven(rt)
    c = api("operator")
    exported = c.get("/api/v1/sop/export?format=csv")
    assert exported.status_code == 200
    table = _csv_rows(exported.content)
    assert table[0][:6] == ["time", "content", "owner", "notes", "recurrence", "targets"] and table[0][-1] == "id"

    again = _upload(c, exported.content)  # the same file back: nothing to do (it used to double: 7 → 14)
    assert again.status_code == 201, again.text
    assert again.json()["counts"] == {"new": 0, "changed": 0, "unchanged": 7, "error": 0}
    assert _count(rt) == 7

    # Edit one row's content and time, add a row without an id.
    header = table[0]
    col = {h: i for i, h in enumerate(header)}
    edited = [list(r) for r in table]
    target = next(r for r in edited[1:] if r[col["title"]] == "干货分享")
    target[col["content"]], target[col["time"]] = "本周干货：汇算清缴", "19:30"
    new_row = [""] * len(header)
    new_row[col["time"]], new_row[col["content"]] = "21:00", "晚安分享"
    new_row[col["recurrence"]], new_row[col["targets"]] = "daily", "community:知识社群"
    edited.append(new_row)

    preview = _upload(c, _csv(edited), dry_run="true")
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["dry_run"] is True
    assert body["counts"] == {"new": 1, "changed": 1, "unchanged": 6, "error": 0}
    changed = [r for r in body["rows"] if r["action"] == "changed"]
    assert [(r["title"], r["changes"]) for r in changed] == [("干货分享", ["time", "content"])]
    assert changed[0]["item_id"] == int(target[col["id"]])
    with rt.tx() as s:  # a preview writes nothing, and audits nothing
        assert s.scalar(select(func.count()).select_from(SopItem)) == 7
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "sop.import")) == 1

    done = _upload(c, _csv(edited))
    assert done.status_code == 201, done.text
    assert (len(done.json()["created"]), done.json()["updated"]) == (1, [int(target[col["id"]])])
    assert _count(rt) == 8
    item = c.get(f"/api/v1/sop/items/{target[col['id']]}").json()
    assert (item["text"], item["time_of_day"], item["owner"]) == ("本周干货：汇算清缴", "19:30", "小李")

    # The week (stored occurrences) and the preview / daily cap (computed) see the same items, the new one included,
    # before any scheduler tick.
    window = {"from": (clock.now() + timedelta(hours=1)).isoformat(),
              "to": (clock.now() + timedelta(days=7, hours=1)).isoformat(), "limit": 200}
    week = _per_item(c.get("/api/v1/sop/occurrences", params=window).json()["items"])
    computed = _per_item(c.get("/api/v1/sop/preview", params=window).json()["items"])
    assert week == computed
    assert week[done.json()["created"][0]] == 2 * 6  # daily on two groups, but Friday's is over the cap of 3


def test_a_preview_names_every_bad_row_and_the_import_stores_nothing(rt: Runtime, api: Callable[..., Any]) -> None:
    _seven(rt)
    c = api("operator")
    table = _csv_rows(c.get("/api/v1/sop/export?format=csv").content)
    col = {h: i for i, h in enumerate(table[0])}
    rows = [table[0], table[1], list(table[1]), list(table[2]), list(table[3])]
    rows[3][col["time"]] = "8点"
    rows[4][col["id"]] = "abc"
    preview = _upload(c, _csv(rows), dry_run="true").json()
    assert [(r["row"], r["action"]) for r in preview["rows"]] == [(2, "unchanged"), (3, "error"), (4, "error"),
                                                                  (5, "error")]
    assert [(e["row"], e["column"]) for e in preview["errors"]] == [(3, "id"), (4, "time"), (5, "id")]
    assert "already on row 2" in preview["errors"][0]["message"]
    r = _upload(c, _csv(rows))
    assert (r.status_code, r.json()["code"]) == (422, "import_rejected")
    assert _count(rt) == 7


def test_headers_follow_the_console_language_and_import_reads_both(rt: Runtime, console: Callable[[str], Console],
                                                                   api: Callable[..., Any]) -> None:
    _seven(rt)
    c = console("operator")
    zh = c.get("/calendar/export?format=xlsx")
    assert zh.status_code == 200
    sheet = load_workbook(io.BytesIO(zh.content)).worksheets[0]
    assert [cell.value for cell in sheet[1]][:6] == ["时间", "内容", "负责人", "备注", "重复规则", "发送对象"]
    en = c.get("/calendar/export?format=csv", headers={"Accept-Language": "en"})
    assert _csv_rows(en.content)[0][:3] == ["time", "content", "owner"]

    # A Chinese sheet with one new row: read by the same import, whatever language the caller speaks.
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["时间", "内容", "重复规则", "发送对象", "活动相关"])
    ws.append(["20:00", "周三夜读", "weekly:WE", "community:知识社群", "是"])
    buf = io.BytesIO()
    wb.save(buf)
    r = _upload(api("operator"), buf.getvalue(), "新增.xlsx")
    assert r.status_code == 201, r.text
    with rt.tx() as s:
        item = s.scalars(select(SopItem).where(SopItem.text == "周三夜读")).one()
        assert (item.rrule, item.activity, item.title) == ("FREQ=WEEKLY;BYDAY=WE", True, "周三夜读")


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256))


def test_a_png_or_a_fake_xlsx_is_named_for_what_it_is(rt: Runtime, api: Callable[..., Any],
                                                      console: Callable[[str], Console]) -> None:
    make_groups(rt, 1, name="知识社群")
    c = api("operator")
    png = _upload(c, PNG, "poster.png")
    assert (png.status_code, png.json()["code"]) == (422, "not_a_spreadsheet")
    assert "PNG image" in png.json()["message"] and "UTF-8" not in png.json()["message"]
    fake = _upload(c, b"this is not a workbook at all", "sop.xlsx")
    assert (fake.status_code, fake.json()["code"]) == (422, "damaged_xlsx")
    assert "BadZipFile" not in fake.json()["message"]
    xls = _upload(c, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "old.xls")
    assert xls.json()["code"] == "old_excel_format"
    # A CSV saved by Excel on a Chinese Windows (GBK) is read, not refused.
    gbk = "时间,内容,重复规则,发送对象\n08:00,早安,daily,community:知识社群\n".encode("gb18030")
    assert _upload(c, gbk, "gbk.csv").status_code == 201

    page = console("operator")
    for name, data, expected in (
            ("poster.png", PNG, "是一张 PNG 图片，不是表格"),
            ("sop.xlsx", b"PK\x03\x04 broken zip", "无法作为 Excel 表格打开"),
    ):
        r = page.client.post("/calendar/import", data={"csrf_token": page.csrf},
                             files={"file": (name, data, "application/octet-stream")}, headers={"Accept": "text/html"})
        assert r.status_code == 422
        assert expected in r.text and name in r.text
        assert ".xlsx" in r.text and ".csv" in r.text  # which file types work
        assert "BadZipFile" not in r.text and "must be UTF-8" not in r.text
    en = page.client.post("/calendar/import", data={"csrf_token": page.csrf},
                          files={"file": ("poster.png", PNG, "image/png")},
                          headers={"Accept": "text/html", "Accept-Language": "en"})
    assert "is a PNG image, not a spreadsheet" in en.text


def test_console_import_previews_then_applies(rt: Runtime, console: Callable[[str], Console]) -> None:
    _seven(rt)
    c = console("operator")
    table = _csv_rows(c.get("/calendar/export?format=csv", headers={"Accept-Language": "en"}).content)
    col = {h: i for i, h in enumerate(table[0])}
    table[1][col["notes"]] = "改到周会"
    table.append(["21:00", "晚安", "", "", "daily", "community:知识社群"] + [""] * (len(table[0]) - 6))
    table.append(["99:00", "坏时间", "", "", "daily", "community:知识社群"] + [""] * (len(table[0]) - 6))
    r = c.client.post("/calendar/import", data={"csrf_token": c.csrf},
                      files={"file": ("sop.csv", _csv(table), "text/csv")}, headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text
    html = r.text
    assert _count(rt) == 7, "a preview stores nothing"
    for label in ("新增", "修改", "不变", "有错误"):
        assert label in html
    assert "备注" in html  # the changed column, named as the Chinese sheet names it
    assert "时间格式为 HH:MM" in html  # the bad row's problem, in Chinese
    form = dict(re.findall(r'name="(rows|digest|submission)" value="([^"]*)"', html))
    assert form.keys() == {"rows", "digest", "submission"}
    import html as html_lib

    fields = {k: html_lib.unescape(v) for k, v in form.items()}
    # Applying with a bad row and without "good rows only" stores nothing and says so.
    refused = c.post("/calendar/import/apply", fields)
    assert refused.status_code == 422 and _count(rt) == 7
    fields = {k: html_lib.unescape(v) for k, v in
              re.findall(r'name="(rows|digest|submission)" value="([^"]*)"', refused.text)}
    ok = c.post("/calendar/import/apply", {**fields, "partial": "1"})
    assert ok.status_code == 303, ok.text
    assert _count(rt) == 8
    with rt.tx() as s:
        assert s.scalars(select(SopItem).where(SopItem.id == int(table[1][col["id"]]))).one().notes == "改到周会"
    flash = c.get("/calendar").text
    assert "新增 1 条" in flash and "修改 1 条" in flash


def test_applying_a_stale_preview_shows_it_again(rt: Runtime, console: Callable[[str], Console],
                                                 api: Callable[..., Any]) -> None:
    _seven(rt)
    c = console("operator")
    table = _csv_rows(c.get("/calendar/export?format=csv").content)
    table[1][1] = "新的内容"
    r = c.client.post("/calendar/import", data={"csrf_token": c.csrf},
                      files={"file": ("sop.csv", _csv(table), "text/csv")}, headers={"Accept": "text/html"})
    import html as html_lib

    fields = {k: html_lib.unescape(v) for k, v in re.findall(r'name="(rows|digest|submission)" value="([^"]*)"',
                                                              r.text)}
    item_id = int(table[1][-1])
    # Someone else edits that item between the preview and the apply.
    c.client.headers.pop("Authorization", None)
    api_client = api("operator")
    assert api_client.patch(f"/api/v1/sop/items/{item_id}", json={"notes": "别人改过"}).status_code == 200
    api_client.headers.pop("Authorization", None)
    stale = c.post("/calendar/import/apply", fields)
    assert stale.status_code == 409 and "日历在预览之后有改动" in stale.text
    with rt.tx() as s:
        item = s.get(SopItem, item_id)
        assert item is not None and item.text != "新的内容" and item.notes == "别人改过"


def test_a_long_chinese_table_survives_the_preview(rt: Runtime, console: Callable[[str], Console]) -> None:
    """1,200 rows of Chinese text are over a form field's 1 MB once URL-encoded; the preview carries them packed."""
    make_groups(rt, 1, name="知识社群")
    words = "早安今日政策速递财税新规发票管理常见误区社群福利直播课报名通道已开启汇算清缴个税专项附加扣除"
    rows = [["时间", "内容", "重复规则", "发送对象"]]
    for i in range(1200):
        text = "".join(words[(i * 7 + k * 3) % len(words)] for k in range(120))
        rows.append([f"{8 + i % 12:02d}:{i % 60:02d}", f"第{i}条 {text}", "weekly:SU", "community:知识社群"])
    data = _csv(rows)
    c = console("operator")
    r = c.client.post("/calendar/import", data={"csrf_token": c.csrf}, files={"file": ("big.csv", data, "text/csv")},
                      headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text[-500:]
    fields = dict(re.findall(r'name="(rows|digest|submission)" value="([^"]*)"', r.text))
    assert len(fields["rows"]) < 1_000_000 < len(data) * 3  # the URL-encoded table alone would be over
    ok = c.post("/calendar/import/apply", fields)
    assert ok.status_code == 303, ok.text[-500:]
    assert _count(rt) == 1200


def test_the_exported_table_never_turns_an_item_into_a_formula(api: Any, rt: Any) -> None:
    """Text an operator typed that starts with "=" stays text in the .xlsx (no formula injection)."""
    import io

    from openpyxl import load_workbook

    c = api()
    cid = c.post("/api/v1/communities", json={"name": "公式测试"}).json()["id"]
    c.post("/api/v1/groups", json={"name": "公式测试 1", "community_id": cid})
    r = c.post("/api/v1/sop/items", json={"community_id": cid, "title": "t", "text": '=HYPERLINK("http://x.cn","点我")',
                                          "time_of_day": "09:00", "rrule": "FREQ=DAILY"})
    assert r.status_code == 201, r.text
    book = load_workbook(io.BytesIO(c.get("/api/v1/sop/export?format=xlsx").content))
    cells = [cell for row in book.active.iter_rows() for cell in row if str(cell.value or "").startswith("=")]
    assert cells and all(cell.data_type == "s" for cell in cells)
