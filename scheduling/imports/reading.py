"""Reading an import file (CSV or XLSX) into rows of text, numbered as a spreadsheet numbers them."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import load_workbook

from scheduling.imports.columns import NAMES, REQUIRED

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000


class FileError(Exception):
    """The file as a whole cannot be read: a sentence saying what to do."""


@dataclass(frozen=True)
class Row:
    number: int  # the spreadsheet's row number: the header is row 1
    values: dict[str, str]


def _header(cells) -> list[str]:
    return [str(cell or "").strip().lower().replace(" ", "_").replace("-", "_") for cell in cells]


def _check_header(header: list[str]) -> None:
    unknown = [name for name in header if name and name not in NAMES]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise FileError(
            f"Row 1 (the header) has no column {', '.join(missing)}. Download the template and keep its first row."
        )
    if unknown:
        raise FileError(
            f"Row 1 (the header) has columns Chairside does not know: {', '.join(unknown)}. "
            f"Remove them or rename them to one of the template's columns ({', '.join(NAMES)})."
        )


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(header: list[str], records) -> list[Row]:
    rows = []
    for number, record in enumerate(records, start=2):
        values = {
            name: _text(record[index]) if index < len(record) else "" for index, name in enumerate(header) if name
        }
        if not any(values.values()):
            continue  # an empty line between patients
        rows.append(Row(number, values))
        if len(rows) > MAX_ROWS:
            raise FileError(f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files.")
    return rows


def read_csv(content: bytes) -> list[Row]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileError("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.") from None
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    records = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not records:
        raise FileError("The file is empty. Download the template, fill it in and upload it again.")
    header = _header(records[0])
    _check_header(header)
    return _rows(header, records[1:])


def read_xlsx(content: bytes) -> list[Row]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise FileError(
            "The file could not be read as an Excel workbook (.xlsx). Save it as .xlsx or CSV and upload it again."
        ) from None
    try:
        records = [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()
    if not records:
        raise FileError("The workbook's first sheet is empty. Put the patients on the first sheet.")
    header = _header(records[0])
    _check_header(header)
    return _rows(header, records[1:])


def read_file(name: str, content: bytes) -> list[Row]:
    """The file's rows; raises FileError with a sentence when the file itself cannot be read."""
    if len(content) > MAX_BYTES:
        raise FileError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files.")
    if name.lower().endswith(".xlsx"):
        return read_xlsx(content)
    if name.lower().endswith((".csv", ".txt")):
        return read_csv(content)
    raise FileError("Upload a .csv or .xlsx file (the template is one).")
