"""The combined query (内部查询) as plain data: which conditions exist, what each accepts, how a page is asked for.

`parse` turns query parameters (a multi-dict as lists of strings) into a `CaseQuery`, or raises `Invalid`
naming the offending key in Chinese — never SQL text. The SQL lives in app/services/case_query.py; this
module knows nothing of the database. A keyset cursor is `[sort value, case id]` in URL-safe base64 JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from app.domain import e_supervision as es
from app.errors import Invalid

Kind = Literal["text", "int", "date", "bool", "codes"]


@dataclass(frozen=True)
class Condition:
    label: str
    kind: Kind
    choices: tuple[str, ...] = ()  # for "codes" with a closed set (else the dictionary's codes, any word)


# The conditions in page order. Codes, never labels: kinds, channels, statuses are dictionary codes.
CONDITIONS: dict[str, Condition] = {
    "number": Condition("受理号", "text"),
    "created_from": Condition("登记时间起", "date"),
    "created_to": Condition("登记时间止", "date"),
    "dispatch_mode": Condition("转办结构/分流方向", "codes"),
    "reply": Condition("回复状态", "codes", ("replied", "unreplied", "on_time", "late")),
    "lead_unit": Condition("主办机构", "int"),
    "lead_user": Condition("主办人", "int"),
    "assisting_unit": Condition("协办机构", "int"),
    "assisting_user": Condition("协办人", "int"),
    "kind": Condition("诉求类型", "codes"),
    "channel": Condition("来源渠道", "codes"),
    "category": Condition("诉求分类", "text"),
    "status": Condition("办理状态", "codes"),
    "light": Condition("亮灯", "codes", ("green", "yellow", "red", "paused")),
    "overdue": Condition("超期", "bool"),
    "supervised": Condition("督办过", "bool"),
    "extended": Condition("延期过", "bool"),
    "returned": Condition("退回过", "bool"),
    "flag": Condition("电子监察", "codes", es.QUERYABLE),
    "satisfaction": Condition("满意度", "codes", ("satisfied", "basically_satisfied", "unsatisfied", "none")),
    "duplicate": Condition("重复件", "bool"),
    "q": Condition("标题/内容", "text"),
    "phone": Condition("诉求人电话", "text"),
    "id_number": Condition("诉求人证件号", "text"),
    "area": Condition("所属区域", "int"),
    "location": Condition("发生地点", "text"),
}

# Sortable columns (every column the results table shows), with the type of their cursor value.
SORTS: dict[str, tuple[str, Literal["text", "datetime", "int"]]] = {
    "number": ("受理号", "text"), "created_at": ("登记时间", "datetime"), "kind": ("诉求类型", "text"),
    "channel": ("来源渠道", "text"), "category": ("诉求分类", "text"), "subject": ("标题", "text"),
    "status": ("办理状态", "text"), "lead_unit": ("主办机构", "int"), "due_at": ("办理时限", "datetime"),
    "replied_at": ("答复时间", "datetime"), "closed_at": ("办结时间", "datetime"),
    "satisfaction": ("满意度", "text"),
}
DEFAULT_SORT = "-created_at"
PAGING = {"sort", "after", "before", "limit"}
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_TEXT = 100

Value = str | int | bool | date | tuple[str, ...]


@dataclass(frozen=True)
class CaseQuery:
    """The filters (key → parsed value), the sort column and direction, and where the page starts."""

    filters: dict[str, Value] = field(default_factory=dict)
    sort: str = "created_at"
    descending: bool = True
    after: tuple[Any, int] | None = None
    before: tuple[Any, int] | None = None
    limit: int = DEFAULT_LIMIT

    def as_params(self) -> dict[str, str]:
        """The filters and sort as query parameters again (for saved queries, exports and page links)."""
        out: dict[str, str] = {}
        for key, value in self.filters.items():
            if isinstance(value, tuple):
                out[key] = ",".join(value)
            elif isinstance(value, bool):
                out[key] = "1" if value else "0"
            else:
                out[key] = value.isoformat() if isinstance(value, date) else str(value)
        out["sort"] = ("-" if self.descending else "") + self.sort
        return out


def _fail(key: str, message: str) -> Invalid:
    return Invalid(message, {key: message})


def _value(key: str, raw: str) -> Value:
    condition = CONDITIONS[key]
    raw = raw.strip()
    if condition.kind == "text":
        if len(raw) > MAX_TEXT:
            raise _fail(key, f"查询条件「{condition.label}」({key})不能超过 {MAX_TEXT} 个字")
        return raw
    if condition.kind == "int":
        if not raw.isdigit() or len(raw) > 12:
            raise _fail(key, f"查询条件「{condition.label}」({key})应为编号(正整数)")
        return int(raw)
    if condition.kind == "date":
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise _fail(key, f"查询条件「{condition.label}」({key})应为日期,如 2026-11-25") from None
    if condition.kind == "bool":
        if raw not in ("1", "0", "true", "false"):
            raise _fail(key, f"查询条件「{condition.label}」({key})只能是 1(是)或 0(否)")
        return raw in ("1", "true")
    codes = tuple(sorted({c.strip() for c in raw.split(",") if c.strip()}))
    if len(codes) > 50 or any(len(c) > 60 for c in codes):
        raise _fail(key, f"查询条件「{condition.label}」({key})的取值过多或过长")
    unknown = [c for c in codes if condition.choices and c not in condition.choices]
    if key == "flag" and es.LATE_RETURN in unknown:
        raise _fail(key, f"查询条件「{condition.label}」({key}):退回超时须按工作日历逐件判断,不能作为查询条件,"
                         "请在电子监察表或诉求件页面查看")
    if unknown:
        raise _fail(key, f"查询条件「{condition.label}」({key})只能是 {'、'.join(condition.choices)}:"
                         f"{unknown[0]!r} 不是")
    return codes


def encode_cursor(value: Any, case_id: int) -> str:
    """The keyset position of a row: its sort value (datetimes as ISO text) and its id."""
    shown = value.isoformat() if isinstance(value, datetime) else value
    return base64.urlsafe_b64encode(json.dumps([shown, case_id], ensure_ascii=False).encode()).decode().rstrip("=")


def decode_cursor(key: str, text: str, sort: str) -> tuple[Any, int]:
    """A cursor read back and type-checked against the sort column; anything else is a 422 on `key`."""
    problem = _fail(key, f"翻页位置({key})无效,请从第一页重新查询")
    try:
        value, case_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise problem from None
    if not isinstance(case_id, int) or isinstance(case_id, bool):
        raise problem
    kind = SORTS[sort][1]
    if value is None:
        return None, case_id
    if kind == "datetime":
        try:
            return datetime.fromisoformat(value), case_id
        except (TypeError, ValueError):
            raise problem from None
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        raise problem
    if kind == "text" and not isinstance(value, str):
        raise problem
    return value, case_id


def parse(params: Mapping[str, Sequence[str]]) -> CaseQuery:
    """Query parameters → a CaseQuery. Unknown keys, bad values and bad cursors raise Invalid naming the key;
    an empty value means "no condition", as an untouched form field does."""
    unknown = sorted(set(params) - set(CONDITIONS) - PAGING - {"reveal"})
    if unknown:
        raise _fail(unknown[0], f"未知的查询条件:{unknown[0]}")
    filters: dict[str, Value] = {}
    for key in CONDITIONS:
        values = [v for v in params.get(key, ()) if v.strip()]
        if not values:
            continue
        if CONDITIONS[key].kind == "codes":
            filters[key] = _value(key, ",".join(values))
        else:
            filters[key] = _value(key, values[-1])
    sort_text = (list(params.get("sort", ())) or [DEFAULT_SORT])[-1].strip() or DEFAULT_SORT
    descending = sort_text.startswith("-")
    sort = sort_text.lstrip("-")
    if sort not in SORTS:
        raise _fail("sort", f"未知的排序字段:{sort}")
    limit_text = (list(params.get("limit", ())) or [str(DEFAULT_LIMIT)])[-1]
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise _fail("limit", f"每页条数(limit)应为 1 到 {MAX_LIMIT} 之间的整数")
    after = [v for v in params.get("after", ()) if v]
    before = [v for v in params.get("before", ()) if v]
    if after and before:
        raise _fail("before", "after 与 before 只能给一个")
    return CaseQuery(filters=filters, sort=sort, descending=descending, limit=int(limit_text),
                     after=decode_cursor("after", after[-1], sort) if after else None,
                     before=decode_cursor("before", before[-1], sort) if before else None)


def day_range(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """A from/to pair of days as [start of the first, start of the day after the last)."""
    return (datetime.combine(start, time()) if start else None,
            datetime.combine(end + timedelta(days=1), time()) if end else None)


def like_pattern(text: str) -> str:
    """`%text%` with `\\`, `%` and `_` escaped (ESCAPE '\\'): what a user types is matched literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def fts_phrase(text: str) -> str:
    """An FTS5 phrase matching the text literally (double quotes doubled)."""
    return '"' + text.replace('"', '""') + '"'
