"""Reading and writing the spreadsheets a city loads its catalogue, units and users from: CSV and XLSX.

CSV is read and written as UTF-8 with a BOM (Excel opens it in UTF-8); XLSX is read with openpyxl's
read-only mode and written with its write-only mode, so a large file streams. Every cell comes back as
stripped text. Cells written out that a spreadsheet would run as a formula (starting with = + - @, a tab
or a carriage return) are made inert with a leading apostrophe, which reading strips again, so an export
imports back unchanged.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from app.errors import Invalid

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"
FORMATS = {"csv": CSV_MIME, "xlsx": XLSX_MIME}
ACTIVE = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as the start of a formula
MAX_COLUMNS = 12  # no sheet of ours is wider; cells further right are ignored
MAX_UNPACKED = 64 * 1024 * 1024  # an XLSX of 20,000 rows unpacks to a few MB; more is a zip bomb


def _refuse(message: str) -> Invalid:
    return Invalid(message, {"file": message})


def inert(value: Any) -> Any:
    """A cell that no spreadsheet will run: text starting like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(ACTIVE):
        return "'" + value
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).strip()
    if text.startswith("'") and text[1:2] and text[1:].startswith(ACTIVE):
        return text[1:]  # made inert by an export of ours (or by hand in Excel): the value itself
    return text


def read_rows(data: bytes, filename: str = "", *, max_rows: int = 20_000) -> list[list[str]]:
    """The non-empty rows of an uploaded CSV (UTF-8, BOM or not) or XLSX (its first sheet), as text cells.

    The format is told by the content (an XLSX is a zip), not the name. A file that is neither, or has more
    than `max_rows` rows, is Invalid naming `file`."""
    if not data:
        raise _refuse("请上传文件(CSV 或 XLSX);所传文件是空的")
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        rows = _xlsx_rows(data, max_rows)
    else:
        rows = _csv_rows(data, max_rows)
    if not rows:
        raise _refuse("文件中没有数据行")
    return rows


def _csv_rows(data: bytes, max_rows: int) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("CSV 文件应为 UTF-8 编码(Excel 中另存为「CSV UTF-8」)") from None
    rows: list[list[str]] = []
    try:
        for cells in csv.reader(io.StringIO(text, newline="")):
            if any(c.strip() for c in cells):
                rows.append([_text(c) for c in cells[:MAX_COLUMNS]])
                if len(rows) > max_rows:
                    raise _refuse(f"一次最多导入 {max_rows} 行")
    except csv.Error as e:
        raise _refuse(f"CSV 格式有误:{e}") from None
    return rows


def _xlsx_rows(data: bytes, max_rows: int) -> list[list[str]]:
    from openpyxl import load_workbook  # imported on use: only imports and exports need it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            unpacked = sum(item.file_size for item in packed.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse("无法读取 XLSX 文件(不是有效的 zip),请确认是 Excel 2007 及以后的 .xlsx 格式") from None
    if unpacked > MAX_UNPACKED:
        raise _refuse("XLSX 文件解压后过大,请拆分后再导入")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as e:
        raise _refuse(f"无法读取 XLSX 文件({type(e).__name__}),请确认是 Excel 2007 及以后的 .xlsx 格式") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise _refuse("XLSX 文件中没有工作表")
        rows: list[list[str]] = []
        for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            cells = [_text(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                rows.append(cells)
                if len(rows) > max_rows:
                    raise _refuse(f"一次最多导入 {max_rows} 行")
        return rows
    except Invalid:
        raise
    except Exception as e:  # a damaged sheet part: the user's file, not our fault
        raise _refuse(f"无法读取 XLSX 文件({type(e).__name__})") from None
    finally:
        book.close()


def without_header(rows: list[list[str]], *first: str) -> list[tuple[int, list[str]]]:
    """The data rows with their row numbers in the file (1-based), a header row (first cell one of `first`)
    left out: errors name the row as the user sees it in Excel."""
    numbered = list(enumerate(rows, start=1))
    if numbered and numbered[0][1] and numbered[0][1][0] in first:
        numbered = numbered[1:]
    return numbered


def write(fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "Sheet1") -> bytes:
    """`rows` under `header` as CSV (UTF-8 with BOM) or XLSX (write-only), every cell made inert."""
    if fmt == "xlsx":
        return _xlsx(header, rows, sheet)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([inert("" if v is None else v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], title: str) -> bytes:
    return workbook([(title, header, rows)])


def workbook(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """Several sheets (title, header, rows) in one write-only XLSX, every cell made inert."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(list(header))
        for row in rows:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=inert(value))
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
