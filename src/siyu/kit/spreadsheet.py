"""Cells for .xlsx files siyu writes (exports of contacts, of the SOP table): what members or operators typed is
always written as text.

openpyxl writes any string that starts with "=" as a formula, so a nickname such as `=HYPERLINK("http://…")` in an
export would become a live link (or worse) in the spreadsheet of whoever opens it — CSV / formula injection. Control
characters that chat apps let through cannot be held by a worksheet cell at all and are dropped from the copy.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet


def clean(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def text_cell(sheet: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=clean(value))
    cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """A value for `sheet.append`: numbers and dates as they are (a datetime gets a date format), text as text."""
    if value is None:
        return None
    if isinstance(value, datetime | date | int | float) and not isinstance(value, bool):
        return value
    text = clean(str(value))
    # Only text that would read as a formula needs the (slower) explicit text cell.
    return text_cell(sheet, text) if text.startswith("=") else text
