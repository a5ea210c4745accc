"""CSV cells a spreadsheet cannot mistake for a formula (CSV injection).

Every CSV Chairside writes (the exports, the capacity pages' downloads, the import template)
writes its rows through `SafeWriter`, so every cell passes `safe_cell`.
"""

from __future__ import annotations

import csv
import re

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value) -> str:
    """The value as text; one that a spreadsheet would run as a formula gets a leading apostrophe.

    A plain negative number ("-3.5") stays a number.
    """
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeWriter:
    """csv.writer whose every cell goes through `safe_cell`."""

    def __init__(self, out) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row) -> None:
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)
