"""CSV exports: UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese right."""

from __future__ import annotations

import csv
from io import StringIO

from shulian_reporting.exports.tables import Table


def csv_bytes(table: Table) -> bytes:
    """The table's header and rows as CSV (the title is the file's name, not a row)."""
    buffer = StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.header)
    writer.writerows(["" if value is None else value for value in row] for row in table.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
