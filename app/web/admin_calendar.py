"""The 系统管理员's calendar page (/admin/calendar): the year view (working days, holidays, 调休 workdays, each
region's local holidays, office hours); a year entered by pasting the State Council notice ("2027-01-01 休"
/ "2027-02-07 班") or uploading it (text, CSV or XLSX), compared with chinese-calendar when it knows the year
and shown with the deadline repair it would make, then confirmed (year and repair in one transaction); local
holidays of a 区县/街道 previewed and set the same way."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.calendar import CalendarYearMissing, official_calendar_entries
from app.errors import Invalid
from app.services import admin, tabular
from app.web.context import current_actor, platform, requires

bp = Blueprint("admin_calendar", __name__, url_prefix="/admin/calendar")
MARKS = {"休": False, "班": True, "holiday": False, "workday": True}
MAX_FILE = 64 * 1024  # a year's notice is a few hundred lines


def parse(year: int, text: str) -> list[admin.DayEntry]:
    """One day a line: date, 休 or 班, an optional note (spaces or commas between); 422 naming the line."""
    entries = []
    for n, line in enumerate(text.splitlines(), start=1):
        cells = [c for c in line.replace(",", " ").replace(",", " ").replace("\t", " ").split() if c]
        if not cells:
            continue
        try:
            day = date.fromisoformat(cells[0])
            is_workday = MARKS[cells[1]]
        except (ValueError, KeyError, IndexError) as e:
            message = f"第 {n} 行应为「YYYY-MM-DD 休」或「YYYY-MM-DD 班」"
            raise Invalid(message, {"entries": message}) from e
        entries.append(admin.DayEntry(day, is_workday, " ".join(cells[2:])[:40]))
    return entries


def _uploaded_text() -> str | None:
    """The uploaded notice as lines: an XLSX's first sheet (日期 | 休/班 | 说明, a header row skipped), or a
    text/CSV file (UTF-8, with or without BOM, or GB18030 as Chinese Windows saves it)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    data = upload.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise Invalid("文件过大(最多 64 KB)", {"file": "文件过大(最多 64 KB)"})
    if data[:4] == b"PK\x03\x04" or upload.filename.lower().endswith((".xlsx", ".xlsm")):
        rows = tabular.without_header(tabular.read_rows(data, upload.filename, max_rows=400), "日期", "date")
        # a date cell comes back as a date-time at midnight: the day is what the notice means
        return "\n".join(" ".join([cells[0].removesuffix("T00:00:00"), *cells[1:]]) for _, cells in rows)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid("文件编码无法识别,请保存为 UTF-8", {"file": "文件编码无法识别"})


def fingerprint(year: int, entries: list[admin.DayEntry]) -> str:
    """What was previewed: confirming needs the same year and days (an edit after the preview is previewed again)."""
    shown = f"{year}|" + ";".join(f"{e.day}:{int(e.is_workday)}:{e.note}" for e in sorted(entries, key=lambda e: e.day))
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


def _year(raw: int | None) -> int:
    return raw if raw is not None and admin.FIRST_YEAR <= raw <= admin.LAST_YEAR else platform().clock.now().year


def _page(year: int, status: int = 200, **more: Any) -> ResponseReturnValue:
    view = admin.year_view(platform(), current_actor(), year, request.values.get("region", type=int))
    blank: dict[str, Any] = {"error": None, "diff": None, "text": "", "repair": None, "local_repair": None,
                             "local_form": {}}
    return render_template("admin/calendar.html", **view, **{**blank, **more}), status


@bp.get("")
@requires("calendar.edit")
def year_view() -> ResponseReturnValue:
    return _page(_year(request.args.get("year", type=int)))


def _compare(year: int, entries: list[admin.DayEntry]) -> tuple[bool, list[tuple[str, bool | None, bool | None]]]:
    """Whether chinese-calendar knows the year, and the days where the entered notice and it differ."""
    try:
        official = {e.day: e.is_workday for e in official_calendar_entries(year)}
    except CalendarYearMissing:
        return False, []
    mine = {e.day: e.is_workday for e in entries}
    return True, sorted((d.isoformat(), mine.get(d), official.get(d)) for d in mine.keys() | official.keys()
                        if mine.get(d) != official.get(d))


@bp.post("")
@requires("calendar.edit")
def enter_year() -> ResponseReturnValue:
    year = request.form.get("year", type=int) or 0
    text = request.form.get("entries", "")
    try:
        text = _uploaded_text() or text
        entries = parse(year, text)
        seen = fingerprint(year, entries)
        if request.form.get("confirm") != "1" or request.form.get("previewed") != seen:
            preview = admin.preview_year(platform(), current_actor(), year, entries)
            known, diff = _compare(year, entries)
            stale = request.form.get("confirm") == "1"  # confirming what was never previewed: preview it first
            return _page(_year(year), 409 if stale else 200, diff=diff, text=text, compared=True, known=known,
                         repair=preview, entered=year, previewed=seen,
                         error=Invalid("录入内容与预览不一致,请核对下方的比对与期限调整后再确认") if stale else None)
        done = admin.enter_year(platform(), current_actor(), year, entries, "国务院办公厅通知(管理员录入)")
    except Invalid as e:
        return _page(_year(year), 422, error=e, text=text)
    flash(f"已确认 {year} 年工作日历({done['entries']} 个特殊日期),调整了 {done['repair']['count']} 项待办的期限",
          "ok")
    return redirect(url_for("admin_calendar.year_view", year=year))


def _local_change() -> admin.LocalChange:
    form = request.form
    try:
        first = date.fromisoformat(form.get("first", ""))
    except ValueError as e:
        raise Invalid("开始日期应为 YYYY-MM-DD", {"first": "开始日期应为 YYYY-MM-DD"}) from e
    try:
        last = date.fromisoformat(form.get("last") or first.isoformat())
    except ValueError as e:
        raise Invalid("结束日期应为 YYYY-MM-DD", {"last": "结束日期应为 YYYY-MM-DD"}) from e
    region = form.get("region", type=int)
    if region is None:
        raise Invalid("请选择区县或街道", {"region": "请选择区县或街道"})
    note = None if form.get("action") == "clear" else form.get("note", "")
    return admin.LocalChange(region, first, last, note)


@bp.post("/local")
@requires("calendar.edit")
def change_local() -> ResponseReturnValue:
    """A region's local holidays: previewed first (which tasks of its units move), then set or cleared."""
    form = {k: request.form.get(k, "") for k in ("region", "first", "last", "note", "action")}
    try:
        change = _local_change()
        if request.form.get("confirm") != "1":
            preview = admin.preview_local(platform(), current_actor(), change)
            return _page(_year(change.first.year), local_repair=preview, local_form=form)
        done = admin.change_local(platform(), current_actor(), change)
    except Invalid as e:
        return _page(_year(request.args.get("year", type=int)), 422, error=e, local_form=form)
    what = "取消" if change.note is None else "设置"
    flash(f"已{what}地方节假日 {done['days']} 天,调整了 {done['repair']['count']} 项待办的期限", "ok")
    return redirect(url_for("admin_calendar.year_view", year=change.first.year, region=change.region))
