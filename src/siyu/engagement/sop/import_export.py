"""The SOP table as a spreadsheet (.xlsx or .csv): export, a preview of what an import changes, and the import.

Columns (header row, any order, in English or Chinese — `HEADERS`; the first six are the practitioners' template,
C2):
  time        HH:MM in the workspace time zone
  content     the text
  owner, notes
  recurrence  daily | weekly:TU,TH | FREQ=…(an RRULE) | after_join+3 | after_group_created+7 | once 2026-11-10
  targets     community:<name> | community#<id> | group#<id> | group:<name>
  optional: title, kind, activity (1/0, yes/no, 是/否), variants, attachments, gate, chain (JSON),
            missed_policy (late|skip), starts, ends (ISO date-times), active, playbook,
  id          the item's number, written by the export

A row with an id updates that item (only the columns the sheet has; an empty cell clears the field), a row
without one (or whose item was deleted since) creates an item, so export → edit → import changes the calendar in
place instead of doubling it.
`plan_import` tells, row by row, what the import would do (new / changed with the columns / unchanged / errors)
and writes nothing; `apply_plan` does it. All-or-nothing: if any row is bad, nothing is stored and every bad row is
reported (row number as the spreadsheet shows it, column, message). `partial=True` stores the good rows.

Every message is an English template with named parameters (`Problem`, `TableError`): the API sends it filled
in, the console translates the template first, so an operator reads what is wrong in their language.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from openpyxl import Workbook, load_workbook
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.engagement.sop import service
from siyu.engagement.sop.schemas import RowError, SopItemIn
from siyu.kit import spreadsheet
from siyu.kit.errors import Invalid, SiyuError
from siyu.models import Community, Group, SopItem

COLUMNS = ["time", "content", "owner", "notes", "recurrence", "targets", "title", "kind", "activity", "variants",
           "attachments", "missed_policy", "gate", "chain", "starts", "ends", "active", "playbook", "id"]
REQUIRED = ("time", "content", "recurrence", "targets")
#: Header row per console language. Import reads either (and the aliases below), whatever the console's language.
HEADERS: dict[str, dict[str, str]] = {
    "en": {c: c for c in COLUMNS},
    "zh_CN": {"time": "时间", "content": "内容", "owner": "负责人", "notes": "备注", "recurrence": "重复规则",
              "targets": "发送对象", "title": "标题", "kind": "类型", "activity": "活动相关", "variants": "A/B 版本",
              "attachments": "附件", "missed_policy": "错过时间后", "gate": "分享解锁", "chain": "课程复用链",
              "starts": "开始时间", "ends": "结束时间", "active": "启用", "playbook": "剧本", "id": "编号"},
}
_ALIASES = {"发送时间": "time", "文案": "content", "正文": "content", "责任人": "owner", "重复": "recurrence",
            "周期": "recurrence", "目标": "targets", "目标群": "targets", "发送群": "targets", "活动": "activity",
            "编号（勿改）": "id", "条目编号": "id"}
FIELD_COLUMN = {"time_of_day": "time", "text": "content", "rrule": "recurrence", "timing": "recurrence",
                "offset_days": "recurrence", "once_at": "recurrence", "community_id": "targets",
                "group_id": "targets", "starts_at": "starts", "ends_at": "ends"}
TRUE = {"1", "true", "yes", "y", "是", "x", "✓"}
FALSE = {"", "0", "false", "no", "n", "否"}
MAX_ROWS = 2000
WEEKDAY = re.compile(r"^(MO|TU|WE|TH|FR|SA|SU)$")
ACCEPTED = (".xlsx", ".csv")


def _key(header: str) -> str:
    return re.sub(r"\s+", " ", header.strip().lower().rstrip("*＊").strip())


#: Normalised header text (either language, or an alias) → column.
COLUMN_OF_HEADER = {_key(h): c for names in HEADERS.values() for c, h in names.items()} | {
    _key(h): c for h, c in _ALIASES.items()}


def column_label(column: str, locale: str) -> str:
    """A column as the sheet of that language names it (what the console shows next to a problem)."""
    return HEADERS.get(locale, HEADERS["en"]).get(column, column)


# ---------------------------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Problem:
    """What is wrong with one cell: an English template (the console's msgid) and its parameters."""

    row: int
    column: str
    template: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template % self.params if self.params else self.template

    def out(self) -> RowError:
        return RowError(row=self.row, column=self.column, message=self.message)


class TableError(Invalid):
    """The file as a whole cannot be read (not a spreadsheet, a damaged workbook, no header, too many rows)."""

    def __init__(self, template: str, *, code: str, detail: Any = None, **params: str) -> None:
        super().__init__(template % params if params else template, code=code, detail=detail)
        self.template, self.params = template, params


#: What a file that is not a table starts with, and how to name it to the operator.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"), (b"%PDF", "a PDF document"), (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"), (b"\x1f\x8b", "a gzip archive"),
)
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .xls (and .doc): Excel 97–2003
NOT_A_SPREADSHEET = ("%(file)s is %(kind)s, not a spreadsheet. Choose an Excel workbook (.xlsx) or a CSV file "
                     "(.csv).")
OLD_EXCEL = ("%(file)s is an old Excel workbook (.xls). Open it in Excel or WPS, save it as .xlsx (or as CSV "
             "UTF-8) and import that file.")
DAMAGED_XLSX = ("%(file)s cannot be opened as an Excel workbook: it is damaged, or another kind of file renamed "
                "to .xlsx. Open it in Excel or WPS and save it again as .xlsx, or save it as CSV UTF-8.")
NOT_TEXT = ("%(file)s is not a text table. Save the sheet as CSV UTF-8 (or as .xlsx) and import that file.")
BAD_CSV = ("%(file)s is not a readable CSV file (a quote is not closed, or a cell is far too long). Save it again "
           "as CSV UTF-8 or as .xlsx.")
EMPTY = "the file is empty"
MISSING = "the first row must name the columns; missing: %(columns)s"
TOO_MANY = "at most %(n)s rows per import: split the file"
REJECTED = "%(n)s row(s) have errors; nothing was imported"


def _kind_of(data: bytes) -> str | None:
    for magic, kind in SIGNATURES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    return None


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


def rows_for_export(session: Session, ws: int, *, locale: str = "en") -> list[dict[str, Any]]:
    """One dict per item keyed by column; yes / no cells as 是 / 否 in a Chinese sheet."""
    tz = service.zone(session, ws)
    names = dict(session.execute(select(Community.id, Community.name).where(Community.workspace_id == ws)).all())
    yes, no = ("是", "否") if locale == "zh_CN" else ("1", "0")
    out = []
    for item in service.list_items(session, ws):
        rec, at = recurrence_of(item, tz)
        target = f"community:{names[item.community_id]}" if item.community_id is not None else f"group#{item.group_id}"
        out.append({
            "time": at, "content": item.text, "owner": item.owner, "notes": item.notes, "recurrence": rec,
            "targets": target, "title": item.title, "kind": item.kind, "activity": yes if item.activity else no,
            "variants": _json(item.variants), "attachments": _json(item.attachments),
            "missed_policy": item.missed_policy, "gate": _json(item.gate), "chain": _json(item.chain),
            "starts": item.starts_at.isoformat() if item.starts_at else "",
            "ends": item.ends_at.isoformat() if item.ends_at else "",
            "active": yes if item.active else no, "playbook": item.playbook or "", "id": item.id,
        })
    return out


def _header(locale: str) -> list[str]:
    return [column_label(c, locale) for c in COLUMNS]


def export_csv(session: Session, ws: int, *, locale: str = "en") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(_header(locale))
    for row in rows_for_export(session, ws, locale=locale):
        w.writerow([row[c] for c in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def export_xlsx(session: Session, ws: int, *, locale: str = "en") -> bytes:
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("SOP")
    sheet.append([spreadsheet.text_cell(sheet, h) for h in _header(locale)])
    for row in rows_for_export(session, ws, locale=locale):
        # Text as text cells (never a formula: `kit/spreadsheet`), control characters dropped from the copy.
        sheet.append([spreadsheet.cell(sheet, row[c]) for c in COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv; charset=utf-8"}


def export(session: Session, ws: int, format: str, *, locale: str = "en") -> tuple[bytes, str, str]:
    """(content, media type, file name) of the export as `format` (xlsx | csv), for either edge to send."""
    if format not in MEDIA:
        raise Invalid("format is xlsx or csv", code="invalid_format")
    data = export_csv(session, ws, locale=locale) if format == "csv" else export_xlsx(session, ws, locale=locale)
    return data, MEDIA[format], f"sop.{format}"


# ---------------------------------------------------------------------------------------------- reading a file


def _cells_of_xlsx(data: bytes, file: str) -> list[list[str]]:
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = wb.worksheets[0]
        return [["" if v is None else _cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    except Exception:  # BadZipFile, KeyError (a zip without a workbook), XML errors: all "cannot be opened"
        raise TableError(DAMAGED_XLSX, code="damaged_xlsx", file=file, detail={"accepted": ACCEPTED}) from None


def _cell(v: Any) -> str:
    """A cell as text; Excel turns a typed 08:00 into a time and an id into a float."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, time):
        return f"{v:%H:%M}"
    return str(v)


def _text_of(data: bytes, file: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" (UTF-16, tab separated)
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise TableError(NOT_TEXT, code="not_a_spreadsheet", file=file, detail={"accepted": ACCEPTED}) from None
    if b"\x00" in data[:8192]:
        raise TableError(NOT_A_SPREADSHEET, code="not_a_spreadsheet", file=file, kind="a binary file",
                         detail={"accepted": ACCEPTED})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:  # "CSV" saved by Excel on a Chinese Windows is GBK
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise TableError(NOT_TEXT, code="not_a_spreadsheet", file=file, detail={"accepted": ACCEPTED}) from None


def read_table(data: bytes, filename: str = "") -> list[dict[str, str]]:
    """Rows as dicts of stripped strings keyed by column (`COLUMNS`; unknown headers keep their own text).

    What the file is comes from its first bytes, not its name: .xlsx is a zip, an image or a PDF is named as such,
    an old .xls is told apart, a .csv may be UTF-8 (with or without BOM), GBK or UTF-16."""
    file = f"“{filename}”" if filename else "the file"
    if not data:
        raise TableError(EMPTY, code="empty_file")
    kind = _kind_of(data)
    if kind is not None:
        raise TableError(NOT_A_SPREADSHEET, code="not_a_spreadsheet", file=file, kind=kind,
                         detail={"found": kind, "accepted": ACCEPTED})
    if data.startswith(OLE):
        raise TableError(OLD_EXCEL, code="old_excel_format", file=file, detail={"accepted": ACCEPTED})
    if data[:2] == b"PK" or filename.lower().endswith((".xlsx", ".xlsm")):
        cells = _cells_of_xlsx(data, file)
    else:
        text = _text_of(data, file)
        first = text.split("\n", 1)[0]
        delimiter = "\t" if "\t" in first and "," not in first else ","
        try:
            cells = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        except csv.Error:  # a stray quote, a NUL, a field over the csv module's limit
            raise TableError(BAD_CSV, code="unreadable_file", file=file, detail={"accepted": ACCEPTED}) from None
    cells = [r for r in cells if any((c or "").strip() for c in r)] if cells else []
    if not cells:
        raise TableError(EMPTY, code="empty_file")
    header = [COLUMN_OF_HEADER.get(_key(h or ""), _key(h or "")) for h in cells[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise TableError(MISSING, code="missing_columns", columns=", ".join(missing),
                         detail=[RowError(row=1, column=c, message="column missing").model_dump() for c in missing])
    rows = []
    for raw in cells[1:]:
        rows.append({h: (raw[i].strip() if i < len(raw) and raw[i] is not None else "")
                     for i, h in enumerate(header) if h})
    if len(rows) > MAX_ROWS:
        raise TableError(TOO_MANY, code="too_many_rows", n=str(MAX_ROWS))
    return rows


# ---------------------------------------------------------------------------------------------- rows → values


class _RowFail(Exception):
    def __init__(self, column: str, template: str, **params: Any) -> None:
        super().__init__(template)
        self.column, self.template = column, template
        self.params = {k: str(v) for k, v in params.items()}


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
        raise _RowFail("recurrence", "unknown recurrence %(value)s (daily, weekly:TU, FREQ=…, after_join+N, "
                                     "after_group_created+N, once YYYY-MM-DD)", value=repr(r))


class _Names:
    """Community and group ids by name, looked up once per import."""

    def __init__(self, session: Session, ws: int) -> None:
        self.session, self.ws = session, ws
        self.cache: dict[tuple[str, str], list[int]] = {}

    def ids(self, kind: str, name: str) -> list[int]:
        hit = self.cache.get((kind, name))
        if hit is None:
            model: Any = Community if kind == "community" else Group
            hit = self.cache[(kind, name)] = list(self.session.scalars(
                select(model.id).where(model.workspace_id == self.ws, model.name == name).limit(2)))
        return hit

    def exists(self, kind: str, ident: int) -> bool:
        row = self.session.get(Community, ident) if kind == "community" else self.session.get(Group, ident)
        return row is not None and row.workspace_id == self.ws


def _parse_targets(names: _Names, target: str, values: dict[str, Any]) -> None:
    t = target.strip()
    if m := re.match(r"^(community|group)\s*#\s*(\d+)$", t):
        kind, ident = m.group(1), int(m.group(2))
        if not names.exists(kind, ident):
            raise _RowFail("targets", f"no {kind} #%(id)s", id=ident)
        values.update(community_id=None, group_id=None)
        values[f"{kind}_id"] = ident
        return
    if m := re.match(r"^(community|group)\s*[:：]\s*(.+)$", t):
        kind, name = m.group(1), m.group(2).strip()
        ids = names.ids(kind, name)
        if not ids:
            raise _RowFail("targets", f"no {kind} named %(name)s", name=repr(name))
        if len(ids) > 1:
            raise _RowFail("targets", "several groups are named %(name)s: use group#<id>", name=repr(name))
        values.update(community_id=None, group_id=None)
        values[f"{kind}_id"] = ids[0]
        return
    raise _RowFail("targets", "targets is community:<name>, community#<id>, group#<id> or group:<name>")


def _bool(v: str, column: str) -> bool:
    low = v.strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise _RowFail(column, "%(value)s is not yes/no", value=repr(v))


def _time(at: str) -> str:
    m = re.match(r"^(\d{1,2}):(\d{2})(?::00)?$", at)
    if not m:
        raise _RowFail("time", "time is HH:MM (e.g. 08:00)")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _values(names: _Names, row: dict[str, str], *, new: bool) -> dict[str, Any]:
    """SopItemIn input from the row's columns: a column the sheet has sets its field (an empty cell clears it),
    a column it lacks is left out, so an update keeps the item's value there (a new item gets the default, and
    its title from the first line of the content)."""
    values: dict[str, Any] = {}
    at = _time(row.get("time", ""))
    values["time_of_day"] = at
    _parse_recurrence(row.get("recurrence", ""), at, values)
    _parse_targets(names, row.get("targets", ""), values)
    text = row.get("content", "")
    values["text"] = text
    if new or "title" in row:
        values["title"] = row.get("title") or (text.splitlines()[0][:30] if text.strip() else "")
    defaults: dict[str, Any] = {"owner": "", "notes": "", "kind": "content", "missed_policy": "late",
                                "playbook": None}
    for col, default in defaults.items():
        if col in row:
            values[col] = row[col] or default
    if "activity" in row:
        values["activity"] = _bool(row["activity"], "activity")
    if "active" in row:
        values["active"] = _bool(row["active"], "active") if row["active"] else True
    for col, empty in (("variants", []), ("attachments", []), ("gate", None), ("chain", None)):
        if col in row:
            try:
                values[col] = json.loads(row[col]) if row[col] else empty
            except json.JSONDecodeError as exc:
                raise _RowFail(col, "not valid JSON: %(detail)s", detail=exc.msg) from None
    gate = values.get("gate")
    if isinstance(gate, dict) and isinstance(gate.get("home_group_ids"), list):
        wanted = [g for g in gate["home_group_ids"] if isinstance(g, int)]
        missing = [g for g in wanted if not names.exists("group", g)]
        if missing:
            raise _RowFail("gate", "no group %(ids)s for the home groups", ids=", ".join(f"#{g}" for g in missing))
    for col, fld in (("starts", "starts_at"), ("ends", "ends_at")):
        if col in row:
            values[fld] = row[col] or None
    return values


#: Our own validation messages (schemas.py) that carry no value: translated as they are.
_FIXED = ("give exactly one target: community_id (all its groups) or group_id",
          "timing 'rrule' needs an rrule, e.g. FREQ=DAILY", "timing 'once' needs once_at",
          "an item needs text, attachments or variants", "variant names must be unique",
          "starts_at must be before ends_at", "time of day must be HH:MM (00:00–23:59)",
          "an rrule item needs a rule, e.g. FREQ=WEEKLY;BYDAY=TU",
          "give only the RRULE part (no DTSTART): the start comes from the item",
          "FREQ must be one of DAILY, WEEKLY, MONTHLY, YEARLY")


def _invalid(err: ErrorDetails) -> _RowFail:
    """One pydantic error as a translatable problem of a column."""
    loc = [str(p) for p in err.get("loc", ())]
    column = FIELD_COLUMN.get(loc[0], loc[0]) if loc else "content"
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "value_error" and msg in _FIXED:
        return _RowFail(column, msg)
    if kind == "value_error" and msg.startswith("not a valid RRULE: "):
        return _RowFail(column, "not a valid RRULE: %(detail)s", detail=msg.removeprefix("not a valid RRULE: "))
    if kind == "string_too_long":
        return _RowFail(column, "at most %(max)s characters", max=ctx.get("max_length", ""))
    if kind == "string_too_short":
        return _RowFail(column, "must not be empty")
    if kind == "too_long":
        return _RowFail(column, "at most %(max)s entries", max=ctx.get("max_length", ""))
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "url":
        return _RowFail(column, "a link must start with http:// or https://")
    if kind in ("literal_error", "enum"):
        return _RowFail(column, "must be one of %(expected)s", expected=str(ctx.get("expected", "")))
    where = ".".join(loc[1:])
    return _RowFail(column, "not accepted: %(detail)s", detail=f"{where}: {msg}" if where else msg)


def _validate(values: dict[str, Any]) -> SopItemIn:
    try:
        return SopItemIn.model_validate(values)
    except ValidationError as exc:
        raise _invalid(exc.errors()[0]) from None


def _item_id(raw: str) -> int:
    m = re.match(r"^#?\s*(\d{1,12})(?:\.0+)?$", raw.strip())
    if not m:
        raise _RowFail("id", "the id is the item's number from the export (leave it empty for a new item)")
    return int(m.group(1))


# ---------------------------------------------------------------------------------------------- the plan


@dataclass
class RowPlan:
    """What importing one row does: `new`, `changed` (with the columns that change), `unchanged`, or `error`."""

    row: int
    action: str
    item_id: int | None = None
    title: str = ""
    changes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    data: SopItemIn | None = None
    item: SopItem | None = None
    #: The row's id names no item of the workspace (deleted since the export): the row creates a new one.
    gone: int | None = None


@dataclass
class ImportPlan:
    rows: list[RowPlan]

    def of(self, action: str) -> list[RowPlan]:
        return [r for r in self.rows if r.action == action]

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.rows for p in r.problems]

    @property
    def counts(self) -> dict[str, int]:
        return {a: len(self.of(a)) for a in ("new", "changed", "unchanged", "error")}

    def digest(self) -> str:
        """What the plan would do, and the state of the items it changes: applying a preview checks it first, so
        an item edited in between is noticed instead of overwritten unseen."""
        parts = [(r.row, r.action, r.item_id, r.changes, r.item.updated_at.isoformat() if r.item else "")
                 for r in self.rows]
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def _changes(session: Session, ws: int, item: SopItem, data: SopItemIn) -> list[str]:
    stored = service.columns(session, ws, data)
    fields = [k for k, v in stored.items() if getattr(item, k) != v]
    return sorted({FIELD_COLUMN.get(f, f) for f in fields},
                  key=lambda c: COLUMNS.index(c) if c in COLUMNS else len(COLUMNS))


def plan_import(session: Session, ws: int, rows: Iterable[dict[str, str]]) -> ImportPlan:
    """Row by row, what the import would do. Writes nothing."""
    rows = list(rows)
    names = _Names(session, ws)
    wanted: set[int] = set()
    for row in rows:
        try:
            if row.get("id"):
                wanted.add(_item_id(row["id"]))
        except _RowFail:
            pass
    items: dict[int, SopItem] = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 500):
        items.update({i.id: i for i in session.scalars(select(SopItem).where(
            SopItem.workspace_id == ws, SopItem.id.in_(ordered[start:start + 500])))})
    seen: dict[int, int] = {}
    out: list[RowPlan] = []
    for n, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue
        plan = RowPlan(row=n, action="new", title=row.get("title") or row.get("content", "").split("\n")[0][:30])
        try:
            if row.get("id"):
                iid = _item_id(row["id"])
                plan.item_id = iid
                if iid in seen:
                    raise _RowFail("id", "item #%(id)s is already on row %(other)s: each item may appear once",
                                   id=iid, other=seen[iid])
                seen[iid] = n
                plan.item = items.get(iid)
                if plan.item is None:  # deleted since the export (or another workspace's): created again
                    plan.gone, plan.item_id = iid, None
            values = _values(names, row, new=plan.item is None)
            if plan.item is not None:
                plan.data = _validate({**service.item_in(plan.item), **values})
                plan.changes = _changes(session, ws, plan.item, plan.data)
                plan.action = "changed" if plan.changes else "unchanged"
            else:
                plan.data = _validate(values)
            plan.title = plan.data.title
        except _RowFail as fail:
            plan.action = "error"
            plan.problems.append(Problem(n, fail.column, fail.template, fail.params))
        out.append(plan)
    return ImportPlan(out)


def apply_plan(session: Session, ws: int, plan: ImportPlan, *, now: datetime,
               partial: bool = False) -> tuple[list[SopItem], list[SopItem]]:
    """(created, updated). With errors and not `partial`, raises Invalid(`import_rejected`) listing them and
    stores nothing (the caller's transaction is rolled back)."""
    problems = plan.problems
    if problems and not partial:
        raise Invalid(REJECTED % {"n": len(plan.of("error"))}, code="import_rejected",
                      detail=[p.out().model_dump() for p in problems])
    created: list[SopItem] = []
    updated: list[SopItem] = []
    for r in plan.rows:
        if r.data is None:
            continue
        try:
            if r.action == "new":
                created.append(service.create_item(session, ws, r.data, now=now))
            elif r.action == "changed" and r.item is not None:
                updated.append(service.replace_item(session, ws, r.item, r.data, now=now))
        except SiyuError as exc:  # a target deleted between the plan and now
            if not partial:
                raise
            r.action = "error"
            r.problems.append(Problem(r.row, "targets", "%(detail)s", {"detail": exc.message}))
    return created, updated
