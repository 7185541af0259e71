"""The streaming XLSX writer of exports, read back with openpyxl: text stays text (never a formula), numbers
numbers, times times, empty cells empty, characters XML cannot carry dropped, and a sheet of many rows whole."""

from __future__ import annotations

import warnings
from datetime import date, datetime
from pathlib import Path

import openpyxl

from app.services import xlsx
from app.services.tabular import inert


def read(path: Path) -> list[list[object]]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a malformed part shows as an openpyxl warning
        book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None and sheet.title == "导出"
    for row in sheet.iter_rows():
        assert all(cell.data_type != "f" for cell in row)
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_cells_read_back_as_the_values_written(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    when = datetime(2026, 11, 25, 9, 30, 15)
    rows = [["城管 & <噪声> \"扰民\"", 42, 2.5, when, date(2026, 1, 2), None, True],
            [inert("=HYPERLINK(\"http://x\")"), "  空格  ", "行\n二", "铃\x07声", "", -1, False]]
    assert xlsx.write(path, ["标题", "数", "小数", "时间", "日期", "空", "是否"], rows, sheet="导出") == 2
    header, first, second = read(path)
    assert header == ["标题", "数", "小数", "时间", "日期", "空", "是否"]
    assert first == ["城管 & <噪声> \"扰民\"", 42, 2.5, when, datetime(2026, 1, 2), None, True]
    assert second == ["'=HYPERLINK(\"http://x\")", "  空格  ", "行\n二", "铃声", None, -1, False]


def test_many_rows_stream_into_one_sheet(tmp_path: Path) -> None:
    path = tmp_path / "many.xlsx"
    count = xlsx.write(path, ["n", "text"], ([i, f"第{i}件"] for i in range(5_000)), sheet="导出")
    rows = read(path)
    assert count == 5_000 and len(rows) == 5_001
    assert rows[-1] == [4_999, "第4999件"]
