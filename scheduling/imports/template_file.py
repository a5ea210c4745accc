"""The downloadable import template, as CSV or XLSX: the header row and two example patients."""

from __future__ import annotations

import io

from openpyxl import Workbook

from scheduling.csv_cells import SafeWriter
from scheduling.imports.columns import COLUMNS, EXAMPLE_ROWS, NAMES


def template_csv() -> bytes:
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(NAMES)
    writer.writerows(EXAMPLE_ROWS)
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Patients"
    sheet.append(NAMES)
    for row in EXAMPLE_ROWS:
        sheet.append(list(row))
    notes = workbook.create_sheet("Columns")
    notes.append(["column", "required", "meaning", "example"])
    for column in COLUMNS:
        notes.append([column.name, "yes" if column.required else "no", column.meaning, column.example])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
