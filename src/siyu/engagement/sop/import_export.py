"""The SOP table as a spreadsheet (.xlsx or .csv): export, and import with row-level errors.

Columns (header row, any order; the first six are the practitioners' template, C2):
  time        HH:MM in the workspace time zone
  content     the text
  owner, notes
  recurrence  daily | weekly:TU,TH | FREQ=…(an RRULE) | after_join+3 | after_group_created+7 | once 2026-11-10
  targets     community:<name> | community#<id> | group#<id> | group:<name>
  optional: title, kind, activity (1/0, yes/no, 是/否), variants, attachments, gate, chain (JSON),
            missed_policy (late|skip), starts, ends (ISO date-times), active, playbook

Import is all-or-nothing: if any row is bad, nothing is stored and every bad row is reported (row number as the
spreadsheet shows it, column, message). `partial=True` stores the good rows and reports the bad ones.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.engagement.sop import service
from siyu.engagement.sop.schemas import RowError, SopItemIn
from siyu.kit.errors import Invalid, SiyuError
from siyu.models import Community, Group, SopItem

COLUMNS = ["time", "content", "owner", "notes", "recurrence", "targets", "title", "kind", "activity", "variants",
           "attachments", "missed_policy", "gate", "chain", "starts", "ends", "active", "playbook"]
REQUIRED = ("time", "content", "recurrence", "targets")
FIELD_COLUMN = {"time_of_day": "time", "text": "content", "rrule": "recurrence", "timing": "recurrence",
                "offset_days": "recurrence", "once_at": "recurrence", "community_id": "targets",
                "group_id": "targets", "starts_at": "starts", "ends_at": "ends"}
TRUE = {"1", "true", "yes", "y", "是", "x", "✓"}
FALSE = {"", "0", "false", "no", "n", "否"}
MAX_ROWS = 2000
WEEKDAY = re.compile(r"^(MO|TU|WE|TH|FR|SA|SU)$")


# ---------------------------------------------------------------------------------------------- export


def recurrence_of(item: SopItem, tz: Any) -> tuple[str, str]:
    """(recurrence, time) cells for an item."""
    if item.timing == "after_join":
        return f"after_join+{item.offset_days}", item.time_of_day
    if item.timing == "after_group_created":
        return f"after_group_created+{item.offset_days}", item.time_of_day
    if item.timing == "once" and item.once_at is not None:
        local = item.once_at.astimezone(tz)
        return f"once {local:%Y-%m-%d}", f"{local:%H:%M}"
    return item.rrule, item.time_of_day


def _json(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False) if v else ""


def rows_for_export(session: Session, ws: int) -> list[dict[str, str]]:
    tz = service.zone(session, ws)
    names = dict(session.execute(select(Community.id, Community.name).where(Community.workspace_id == ws)).all())
    out = []
    for item in service.list_items(session, ws):
        rec, at = recurrence_of(item, tz)
        target = f"community:{names[item.community_id]}" if item.community_id is not None else f"group#{item.group_id}"
        out.append({
            "time": at, "content": item.text, "owner": item.owner, "notes": item.notes, "recurrence": rec,
            "targets": target, "title": item.title, "kind": item.kind, "activity": "1" if item.activity else "0",
            "variants": _json(item.variants), "attachments": _json(item.attachments),
            "missed_policy": item.missed_policy, "gate": _json(item.gate), "chain": _json(item.chain),
            "starts": item.starts_at.isoformat() if item.starts_at else "",
            "ends": item.ends_at.isoformat() if item.ends_at else "",
            "active": "1" if item.active else "0", "playbook": item.playbook or "",
        })
    return out


def export_csv(session: Session, ws: int) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    w.writeheader()
    for row in rows_for_export(session, ws):
        w.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def export_xlsx(session: Session, ws: int) -> bytes:
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "SOP"
    sheet.append(COLUMNS)
    for row in rows_for_export(session, ws):
        # Control characters (pasted from chat apps) are not allowed in a worksheet cell; dropped from the copy.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in (row[c] for c in COLUMNS)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- import


def read_table(data: bytes, filename: str = "") -> list[dict[str, str]]:
    """Rows as dicts of stripped strings keyed by lower-case header; .xlsx is recognised by its zip signature."""
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise Invalid(f"not a readable .xlsx file: {type(exc).__name__}", code="unreadable_file") from None
        sheet = wb.worksheets[0]
        cells = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid("a .csv file must be UTF-8", code="unreadable_file") from None
        try:
            cells = list(csv.reader(io.StringIO(text)))
        except csv.Error as exc:  # a stray quote, a NUL, a field over the csv module's limit
            raise Invalid(f"not a readable .csv file: {exc}", code="unreadable_file") from None
    if not cells:
        raise Invalid("the file is empty", code="empty_file")
    header = [h.strip().lower() for h in cells[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise Invalid(f"missing columns: {', '.join(missing)}", code="missing_columns",
                      detail=[RowError(row=1, column=c, message="column missing").model_dump() for c in missing])
    rows = []
    for raw in cells[1:]:
        row = {h: (raw[i].strip() if i < len(raw) and raw[i] is not None else "") for i, h in enumerate(header) if h}
        rows.append(row)
    if len(rows) > MAX_ROWS:
        raise Invalid(f"at most {MAX_ROWS} rows per import", code="too_many_rows")
    return rows


class _RowFail(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column, self.message = column, message


def _parse_recurrence(rec: str, at: str, values: dict[str, Any]) -> None:
    r = rec.strip()
    low = r.lower()
    if low in ("", "daily", "每天"):
        values.update(timing="rrule", rrule="FREQ=DAILY")
    elif low.startswith("weekly:"):
        days = [d.strip().upper() for d in r.split(":", 1)[1].replace("，", ",").split(",") if d.strip()]
        if not days or not all(WEEKDAY.match(d) for d in days):
            raise _RowFail("recurrence", "weekly:<days> takes MO,TU,WE,TH,FR,SA,SU")
        values.update(timing="rrule", rrule=f"FREQ=WEEKLY;BYDAY={','.join(days)}")
    elif low.startswith(("freq=", "rrule:")):
        values.update(timing="rrule", rrule=r)
    elif m := re.match(r"^(after_join|after_group_created)\s*\+\s*(\d+)$", low):
        values.update(timing=m.group(1), offset_days=int(m.group(2)))
    elif m := re.match(r"^once\s+(\d{4}-\d{2}-\d{2})$", low):
        try:
            values.update(timing="once", once_at=datetime.fromisoformat(f"{m.group(1)}T{at or '00:00'}"))
        except ValueError:
            raise _RowFail("recurrence", "once needs a date YYYY-MM-DD and a time HH:MM") from None
    else:
        raise _RowFail("recurrence", f"unknown recurrence {r!r} (daily, weekly:TU, FREQ=…, after_join+N, "
                                     "after_group_created+N, once YYYY-MM-DD)")


def _parse_targets(session: Session, ws: int, target: str, values: dict[str, Any]) -> None:
    t = target.strip()
    if m := re.match(r"^(community|group)\s*#\s*(\d+)$", t):
        kind, ident = m.group(1), int(m.group(2))
        model: Any = Community if kind == "community" else Group
        row = session.get(model, ident)
        if row is None or row.workspace_id != ws:
            raise _RowFail("targets", f"no {kind} #{ident}")
        values[f"{kind}_id"] = ident
        return
    if m := re.match(r"^(community|group)\s*[:：]\s*(.+)$", t):
        kind, name = m.group(1), m.group(2).strip()
        model = Community if kind == "community" else Group
        ids = list(session.scalars(select(model.id).where(model.workspace_id == ws, model.name == name).limit(2)))
        if not ids:
            raise _RowFail("targets", f"no {kind} named {name!r}")
        if len(ids) > 1:
            raise _RowFail("targets", f"several groups are named {name!r}: use group#<id>")
        values[f"{kind}_id"] = ids[0]
        return
    raise _RowFail("targets", "targets is community:<name>, community#<id>, group#<id> or group:<name>")


def _bool(v: str, column: str) -> bool:
    low = v.strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise _RowFail(column, f"{v!r} is not yes/no")


def _parse_row(session: Session, ws: int, row: dict[str, str]) -> SopItemIn:
    values: dict[str, Any] = {}
    at = row.get("time", "")
    if not re.match(r"^\d{1,2}:\d{2}$", at):
        raise _RowFail("time", "time is HH:MM")
    at = at.zfill(5)
    values["time_of_day"] = at
    _parse_recurrence(row.get("recurrence", ""), at, values)
    _parse_targets(session, ws, row.get("targets", ""), values)
    text = row.get("content", "")
    values["text"] = text
    values["title"] = row.get("title") or (text.splitlines()[0][:30] if text.strip() else "")
    for col in ("owner", "notes", "kind", "missed_policy", "playbook"):
        if row.get(col):
            values[col] = row[col]
    for col in ("activity", "active"):
        if col in row and (row[col] or col == "activity"):
            values[col] = _bool(row[col], col)
    for col in ("variants", "attachments", "gate", "chain"):
        if row.get(col):
            try:
                values[col] = json.loads(row[col])
            except json.JSONDecodeError as exc:
                raise _RowFail(col, f"not valid JSON: {exc.msg}") from None
    for col, field in (("starts", "starts_at"), ("ends", "ends_at")):
        if row.get(col):
            values[field] = row[col]
    try:
        return SopItemIn.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err.get("loc", ())]
        column = FIELD_COLUMN.get(loc[0], loc[0]) if loc else "content"
        raise _RowFail(column, str(err.get("msg", "")).removeprefix("Value error, ")) from None


def import_rows(session: Session, ws: int, rows: list[dict[str, str]], *, now: datetime,
                partial: bool = False) -> tuple[list[SopItem], list[RowError]]:
    """Validate every row; store all (or, with `partial`, the good ones). Raises Invalid(code=import_rejected)
    listing the row errors when anything is bad and `partial` is off — the caller's transaction then stores
    nothing."""
    parsed: list[SopItemIn] = []
    errors: list[RowError] = []
    for n, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue
        try:
            parsed.append(_parse_row(session, ws, row))
        except _RowFail as fail:
            errors.append(RowError(row=n, column=fail.column, message=fail.message))
        except SiyuError as exc:
            errors.append(RowError(row=n, column="targets", message=exc.message))
    if errors and not partial:
        raise Invalid(f"{len(errors)} row(s) have errors; nothing was imported", code="import_rejected",
                      detail=[e.model_dump() for e in errors])
    created = []
    for data in parsed:
        try:
            created.append(service.create_item(session, ws, data, now=now))
        except SiyuError as exc:
            if not partial:
                raise
            errors.append(RowError(row=0, column="targets", message=exc.message))
    return created, errors
