"""Reading the legacy workbook: find each sheet by its name or, failing that, by its headers;
find the header row among the first rows; hand out each data row with the row number Excel
shows. One pass, read-only: fit for sheets of 100,000 rows."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO

import openpyxl
from django.utils import timezone
from django.utils.translation import gettext as _

from config.kit.spreadsheets import unescape_formula
from incidents.legacy.columns import COLUMNS, SHEET_NAMES, SHEET_ORDER, normalise

HEADER_SEARCH_ROWS = 10
# 2025-03-04 10:22, 2025/3/4, 2025.03.04, with or without a time of day (and seconds).
DATE_TEXT = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


class CellError(ValueError):
    """A cell whose value cannot be used; the message says what is wrong with it."""


@dataclass
class LegacyError:
    sheet: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.row}" if self.row else self.sheet
        return (
            f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


@dataclass
class Row:
    number: int  # as Excel shows it
    values: dict[str, object]


@dataclass
class Sheet:
    kind: str
    title: str
    header_row: int
    columns: dict[str, int]  # field → column index
    headers: dict[str, str] = field(default_factory=dict)  # field → header as written

    def column_name(self, field_name: str) -> str:
        return self.headers.get(field_name, field_name)


def _match_header(cells: tuple, kind: str) -> tuple[dict[str, int], dict[str, str]]:
    wanted = {
        normalise(name): field_name
        for field_name, (names, _required) in COLUMNS[kind].items()
        for name in names
    }
    columns, headers = {}, {}
    for index, cell in enumerate(cells):
        field_name = wanted.get(normalise(cell))
        if field_name and field_name not in columns:
            columns[field_name] = index
            headers[field_name] = str(cell).strip()
    return columns, headers


def _find_header(worksheet, kind: str) -> Sheet | None:
    required = {name for name, (_names, needed) in COLUMNS[kind].items() if needed}
    for number, cells in enumerate(
        worksheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True), start=1
    ):
        columns, headers = _match_header(cells, kind)
        if required <= columns.keys():
            return Sheet(kind, worksheet.title, number, columns, headers)
    return None


class LegacyWorkbook:
    """The four sheets of a legacy workbook, located; `errors` says which could not be found."""

    def __init__(self, source: str | Path | BinaryIO):
        # Formulas are read as their text, never as a value a spreadsheet computed from them.
        self.book = openpyxl.load_workbook(source, read_only=True, data_only=False)
        self.sheets: dict[str, Sheet] = {}
        self.errors: list[LegacyError] = []
        self._locate()

    def close(self) -> None:
        self.book.close()

    def _locate(self) -> None:
        by_name = {normalise(ws.title): ws for ws in self.book.worksheets}
        claimed = set()
        for kind in SHEET_ORDER:
            worksheet = next(
                (by_name[normalise(n)] for n in SHEET_NAMES[kind] if normalise(n) in by_name),
                None,
            )
            sheet = _find_header(worksheet, kind) if worksheet is not None else None
            if sheet is None:  # not by its name: any other sheet whose headers fit
                for candidate in self.book.worksheets:
                    if candidate.title in claimed:
                        continue
                    if sheet := _find_header(candidate, kind):
                        break
            if sheet is None:
                names = " / ".join(SHEET_NAMES[kind])
                if worksheet is not None:
                    message = _("no header row with the required columns in its first rows")
                    self.errors.append(LegacyError(worksheet.title, 0, "", message))
                else:
                    message = _("sheet not found (by name or by its headers)")
                    self.errors.append(LegacyError(names, 0, "", message))
                continue
            claimed.add(sheet.title)
            self.sheets[kind] = sheet

    def rows(self, kind: str) -> Iterator[Row]:
        """Data rows below the header, blank rows skipped, each cell keyed by field name."""
        sheet = self.sheets[kind]
        worksheet = self.book[sheet.title]
        for number, cells in enumerate(
            worksheet.iter_rows(min_row=sheet.header_row + 1, values_only=True),
            start=sheet.header_row + 1,
        ):
            if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
                continue
            values = {
                name: cells[index] if index < len(cells) else None
                for name, index in sheet.columns.items()
            }
            yield Row(number, values)

    def row_count(self, kind: str) -> int:
        """Rows below the header as the file declares them (blank ones included), for progress."""
        sheet = self.sheets[kind]
        return max((self.book[sheet.title].max_row or 0) - sheet.header_row, 0)


# --- cell values ------------------------------------------------------------------------------
def text(value) -> str:
    """A cell as text, stray spaces removed; 10001.0 typed as a number reads as 10001."""
    if value is None:
        return ""
    if type(value) is not str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        value = str(value)
    value = " ".join(value.split())
    # Only text exported with a leading apostrophe can be an escaped formula.
    return unescape_formula(value) if value.startswith("'") else value


def moment(value) -> datetime:
    """A cell as an aware datetime in the factory's time zone: a real Excel date or text."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime.combine(value, time())
    else:
        raw = text(value)
        if not raw:
            raise CellError(_("a date is needed"))
        match = DATE_TEXT.fullmatch(raw)
        try:
            if match is None:
                raise ValueError(raw)
            result = datetime(*(int(part) for part in match.groups(default="0")))
        except ValueError:
            raise CellError(
                _("'%(value)s' is not a date (use e.g. 2025-03-04 10:22, 2025/3/4 or 2025.03.04)")
                % {"value": raw}
            ) from None
    if timezone.is_naive(result):
        result = timezone.make_aware(result)
    return result
