"""The whitelist of plain functions a restricted script sees: small builtins and date helpers.

No module, class or type object is ever handed to a script: `date(...)` here is a function that
returns a date, so `date.__subclasses__` or `date.today` have nothing to reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.engine.guards import (
    MAX_SEQUENCE,
    ScriptLimit,
    _allocate,
    current_budget,
    guarded_iter,
    guarded_repr,
    guarded_str,
)


def safe_range(*args: int) -> range:
    """`range()` no longer than the sequence bound."""
    result = range(*args)
    if len(result) > MAX_SEQUENCE:
        raise ScriptLimit(f"range 过长（{len(result)} > {MAX_SEQUENCE}）")
    return result


def safe_sorted(iterable: Iterable[Any], key: Any = None, reverse: bool = False) -> list[Any]:
    """`sorted()` over a guarded iteration."""
    items = list(guarded_iter(iterable))
    _allocate(len(items))
    return sorted(items, key=key, reverse=reverse)


def safe_list(iterable: Iterable[Any] = ()) -> list[Any]:
    """`list()` over a guarded iteration."""
    items = list(guarded_iter(iterable))
    _allocate(len(items))
    return items


def safe_tuple(iterable: Iterable[Any] = ()) -> tuple[Any, ...]:
    """`tuple()` over a guarded iteration."""
    return tuple(safe_list(iterable))


def safe_set(iterable: Iterable[Any] = ()) -> set[Any]:
    """`set()` over a guarded iteration."""
    return set(safe_list(iterable))


def safe_sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    """`sum()` of numbers only (summing lists or strings is quadratic)."""
    total = start
    for item in guarded_iter(iterable):
        if not isinstance(item, (int, float)) or not isinstance(total, (int, float)):
            raise ScriptLimit("sum 只能对数字求和")
        total += item
    return total


def safe_zip(*iterables: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """`zip()` whose items each cost a tick."""
    return zip(*(guarded_iter(i) for i in iterables), strict=False)


def safe_enumerate(iterable: Iterable[Any], start: int = 0) -> Iterator[tuple[int, Any]]:
    """`enumerate()` whose items each cost a tick."""
    return enumerate(guarded_iter(iterable), start)


def safe_reversed(sequence: Any) -> list[Any]:
    """`reversed()` as a new, counted list."""
    return list(reversed(safe_list(sequence)))


def safe_dict(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """`dict()` whose source items each cost a tick."""
    if args and not isinstance(args[0], dict):
        args = (safe_list(args[0]), *args[1:])
    return dict(*args, **kwargs)


def now() -> datetime:
    """The engine's clock for this run (the `now` the service passed), never the wall clock."""
    return current_budget().now


def today() -> date:
    """The date of `now()`."""
    return now().date()


def make_date(year: int, month: int, day: int) -> date:
    """A date."""
    return date(year, month, day)


def make_datetime(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A datetime in the timezone of `now()` (UTC if the engine was given a naive time)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=now().tzinfo or UTC)


def make_timedelta(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> timedelta:
    """A duration."""
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_date(text: str) -> date:
    """`'2026-01-31'` → a date."""
    return date.fromisoformat(text)


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 timestamp → a datetime."""
    return datetime.fromisoformat(text)


def add_days(day: date, days: int) -> date:
    """`day` plus `days` calendar days (working days are the deadline rules' business, not scripts')."""
    return day + timedelta(days=days)


def days_between(start: date, end: date) -> int:
    """Whole calendar days from `start` to `end`."""
    return (end - start).days


def iso(value: date) -> str:
    """A date or datetime as ISO 8601 text (handy for timer expressions)."""
    return value.isoformat()


SCRIPT_FUNCTIONS: dict[str, Any] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "any": any,
    "all": all,
    "sum": safe_sum,
    "sorted": safe_sorted,
    "str": guarded_str,
    "repr": guarded_repr,
    "int": int,
    "float": float,
    "bool": bool,
    "list": safe_list,
    "tuple": safe_tuple,
    "set": safe_set,
    "dict": safe_dict,
    "range": safe_range,
    "enumerate": safe_enumerate,
    "zip": safe_zip,
    "reversed": safe_reversed,
    "divmod": divmod,
    "now": now,
    "today": today,
    "date": make_date,
    "datetime": make_datetime,
    "timedelta": make_timedelta,
    "parse_date": parse_date,
    "parse_datetime": parse_datetime,
    "add_days": add_days,
    "days_between": days_between,
    "iso": iso,
}

SAFE_BUILTINS: dict[str, Any] = {"None": None, "True": True, "False": False, **SCRIPT_FUNCTIONS}
