"""The contact list as an .xlsx workbook: what the list shows with its filters, every matching row, for the
spreadsheet operators hand on to sales or import into a CRM.

The headers come from the caller in the reader's language (the console translates them); times are the workspace's
local wall time, as real spreadsheet dates (sortable, filterable). Everything members wrote (nicknames, tags) is
written as text cells, so a nickname such as `=HYPERLINK(...)` is never a formula in Excel; control characters
chat apps let through, which a worksheet cannot hold, are dropped from the copy. Rows are read a page at a time
and the workbook is written in openpyxl's write-only mode, so memory stays flat however long the list is.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy.orm import Session

from siyu.contacts import owners, service
from siyu.contacts.service import Filters
from siyu.kit import spreadsheet
from siyu.models import Contact

#: Column keys in order; the caller maps each to its header text.
COLUMNS = ("id", "name", "identities", "tags", "groups", "owner", "last_active", "created_at", "blacklisted")
WIDTHS = {"id": 10, "name": 24, "identities": 30, "tags": 30, "groups": 30, "owner": 14, "last_active": 18,
          "created_at": 18, "blacklisted": 10}
PAGE = 200
#: A guard, not a quota: beyond this an export is a job for the API's pages, not one request.
MAX_ROWS = 100_000


def rows(session: Session, ws: int, where: Filters, *, owner: int | None, now: datetime, tz: ZoneInfo,
         yes: str = "yes") -> Iterator[dict[str, Any]]:
    """Every contact the filters keep, newest first, as the export's cells (by `COLUMNS` key)."""
    cursor: str | None = None
    done = 0
    while done < MAX_ROWS:
        page = service.search(session, ws, where=where, owner=owner, now=now, cursor=cursor, limit=PAGE)
        yield from _cells(session, page.items, tz, yes)
        done += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return


def _cells(session: Session, contacts: list[Contact], tz: ZoneInfo, yes: str) -> Iterator[dict[str, Any]]:
    ids = [c.id for c in contacts]
    tags = service.tags_by_contact(session, ids)
    groups = service.groups_by_contact(session, ids)
    idents = service.identities_by_contact(session, ids)
    active = service.last_active(session, ids)
    names = owners.owner_names(session, {c.owner_user_id for c in contacts if c.owner_user_id})
    for c in contacts:
        yield {
            "id": c.id, "name": c.display_name, "identities": "; ".join(idents[c.id]), "tags": "; ".join(tags[c.id]),
            "groups": "; ".join(groups[c.id]), "owner": names.get(c.owner_user_id, "") if c.owner_user_id else "",
            "last_active": _local(active.get(c.id), tz), "created_at": _local(c.created_at, tz),
            "blacklisted": yes if c.blacklisted else "",
        }


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz).replace(tzinfo=None, microsecond=0) if value is not None else None


def xlsx(records: Iterator[Mapping[str, Any]], headers: Mapping[str, str], *, sheet_title: str) -> bytes:
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(title=spreadsheet.clean(sheet_title)[:31] or "Contacts")
    for i, key in enumerate(COLUMNS):
        sheet.column_dimensions[chr(ord("A") + i)].width = WIDTHS[key]
    sheet.freeze_panes = "A2"
    sheet.append([spreadsheet.text_cell(sheet, headers.get(k, k)) for k in COLUMNS])
    for rec in records:
        sheet.append([spreadsheet.cell(sheet, rec.get(k)) for k in COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
