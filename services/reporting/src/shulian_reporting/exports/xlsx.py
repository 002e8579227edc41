"""XLSX workbooks in the style of a provincial department's tables (openpyxl).

A merged, bold title in 方正小标宋-like weight, a subtitle line, a shaded header row, thin borders
on every cell, SimSun body text, widths fitted to Chinese text, the header frozen for scrolling.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from shulian_reporting.exports.tables import Table

TITLE_FONT = Font(name="黑体", size=16, bold=True)
BODY_FONT = Font(name="宋体", size=11)
HEADER_FONT = Font(name="黑体", size=11, bold=True)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)


def workbook(tables: Sequence[tuple[str, Table]]) -> bytes:
    """A workbook with one sheet per (sheet name, table)."""
    book = Workbook()
    book.remove(book.active)
    for sheet_name, table in tables:
        _sheet(book, sheet_name, table)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _sheet(book: Workbook, name: str, table: Table) -> None:
    sheet = book.create_sheet(name[:31])
    columns = len(table.header)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=columns)
    sheet.cell(1, 1, table.title).font = TITLE_FONT
    sheet.cell(1, 1).alignment = CENTRE
    sheet.row_dimensions[1].height = 32
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=columns)
    sheet.cell(2, 1, table.subtitle).font = BODY_FONT
    sheet.cell(2, 1).alignment = Alignment(horizontal="right")
    for col, heading in enumerate(table.header, start=1):
        cell = sheet.cell(3, col, heading)
        cell.font, cell.fill, cell.border, cell.alignment = HEADER_FONT, HEADER_FILL, BORDER, CENTRE
    for r, row in enumerate(table.rows, start=4):
        for col, value in enumerate(row, start=1):
            cell = sheet.cell(r, col, value)
            cell.font, cell.border = BODY_FONT, BORDER
            cell.alignment = LEFT if isinstance(value, str) and len(value) > 6 else CENTRE
    for col in range(1, columns + 1):
        widest = max([_width(table.header[col - 1])] + [_width(row[col - 1]) for row in table.rows])
        sheet.column_dimensions[get_column_letter(col)].width = min(max(8, widest + 2), 48)
    sheet.freeze_panes = "A4"
    sheet.print_title_rows = "3:3"
    sheet.page_setup.orientation = "landscape"
