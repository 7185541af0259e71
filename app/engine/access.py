"""Attribute, item and write access for restricted scripts, and the table of guards scripts run with.

Access is by allow-list on the exact type: plain data (str, list, dict, set, tuple, numbers, dates) and
named methods only. Methods that can build big results are wrapped with the size bound;
`str.format` / `format_map` are never reachable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from app.engine.guards import ScriptLimit, _allocate, binop, fstring_value, guarded_iter, inplacevar, tick


def _padded(method: str) -> Callable[..., Any]:
    def pad(s: Any, width: int, *args: Any) -> Any:
        _allocate(width)
        return getattr(s, method)(width, *args)

    return pad


def _expandtabs(s: Any, tabsize: int = 8) -> Any:
    _allocate(len(s) + s.count("\t") * tabsize)
    return s.expandtabs(tabsize)


def _strftime(d: Any, fmt: str) -> str:
    _allocate(len(fmt) * 4)
    return str(d.strftime(fmt))


_STR_BOUND: dict[str, Callable[..., Any]] = {
    "ljust": _padded("ljust"),
    "rjust": _padded("rjust"),
    "center": _padded("center"),
    "zfill": _padded("zfill"),
    "expandtabs": _expandtabs,
}


def _str_join(sep: Any, items: Iterable[Any]) -> Any:
    parts = list(guarded_iter(items))
    _allocate(sum(len(p) for p in parts if isinstance(p, (str, bytes))) + len(sep) * len(parts))
    return sep.join(parts)


def _str_replace(s: Any, old: Any, new: Any, count: int = -1) -> Any:
    hits = s.count(old) + (1 if not old else 0)
    if count >= 0:
        hits = min(hits, count)
    _allocate(len(s) + hits * len(new))
    return s.replace(old, new, count)


def _list_extend(target: list[Any], items: Iterable[Any]) -> None:
    new = list(guarded_iter(items))
    _allocate(len(target) + len(new))
    target.extend(new)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ALLOWED_ATTRS: dict[type, frozenset[str]] = {
    str: _words(
        "capitalize casefold center count endswith expandtabs find index isalnum isalpha isascii isdecimal "
        "isdigit islower isnumeric isspace istitle isupper join ljust lower lstrip partition removeprefix "
        "removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines startswith strip "
        "swapcase title upper zfill"
    ),
    list: _words("append clear copy count extend index insert pop remove reverse sort"),
    dict: _words("clear copy get items keys pop popitem setdefault update values"),
    set: _words(
        "add clear copy difference discard intersection isdisjoint issubset issuperset pop remove "
        "symmetric_difference union update"
    ),
    tuple: _words("count index"),
    int: _words("bit_length real imag"),
    float: _words("is_integer real imag"),
    date: _words("year month day weekday isoweekday isoformat replace strftime toordinal"),
    datetime: _words(
        "year month day hour minute second microsecond tzinfo weekday isoweekday isoformat replace "
        "strftime date time timestamp astimezone toordinal"
    ),
    timedelta: _words("days seconds microseconds total_seconds"),
}
_ALLOWED_ATTRS[frozenset] = _ALLOWED_ATTRS[set] - {"add", "clear", "discard", "pop", "remove", "update"}
_ALLOWED_ATTRS[bool] = _ALLOWED_ATTRS[int]


def _bind(func: Callable[..., Any], ob: Any) -> Callable[..., Any]:
    def bound(*args: Any, **kwargs: Any) -> Any:
        return func(ob, *args, **kwargs)

    return bound


def guarded_getattr(ob: Any, name: str, default: Any = None) -> Any:
    """`ob.name` for plain data types and whitelisted names only; str.format is never reachable."""
    allowed = _ALLOWED_ATTRS.get(type(ob))
    if allowed is None or name not in allowed:
        raise ScriptLimit(f"不允许访问属性 {name}（{type(ob).__name__}）")
    if isinstance(ob, str):
        if name in _STR_BOUND:
            return _bind(_STR_BOUND[name], ob)
        if name == "join":
            return _bind(_str_join, ob)
        if name == "replace":
            return _bind(_str_replace, ob)
    if isinstance(ob, list) and name == "extend":
        return _bind(_list_extend, ob)
    if isinstance(ob, datetime | date) and name == "strftime":
        return _bind(_strftime, ob)
    return getattr(ob, name)


def guarded_getitem(ob: Any, index: Any) -> Any:
    """`ob[index]` on plain data only."""
    if type(ob) not in _ALLOWED_ATTRS:
        raise ScriptLimit(f"不允许对 {type(ob).__name__} 取下标")
    return ob[index]


class _ListWriter:
    """What `_write_(a_list)` gives: item and slice assignment with the size bound."""

    __slots__ = ("_target",)

    def __init__(self, target: list[Any]) -> None:
        self._target = target

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            value = list(guarded_iter(value))
            _allocate(len(self._target) + len(value))
        self._target[index] = value

    def __delitem__(self, index: Any) -> None:
        del self._target[index]


def guarded_write(ob: Any) -> Any:
    """`ob[k] = v` / `del ob[k]` on dicts and lists only; no attribute writes."""
    if type(ob) is dict:
        return ob
    if type(ob) is list:
        return _ListWriter(ob)
    raise ScriptLimit(f"不允许修改 {type(ob).__name__} 对象")


def guarded_apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`f(*a, **k)`: one tick, then the call."""
    tick()
    return func(*args, **kwargs)


def iter_unpack_sequence(it: Any, spec: Any, getiter: Any) -> Any:
    """`for a, b in ...` with guarded iteration."""
    return guarded_iter_unpack_sequence(it, spec, getiter)


def unpack_sequence(it: Any, spec: Any, getiter: Any) -> Any:
    """`a, b = ...` with guarded iteration."""
    return guarded_unpack_sequence(it, spec, getiter)


GUARDS: dict[str, Any] = {
    "_getattr_": guarded_getattr,
    "_getitem_": guarded_getitem,
    "_getiter_": guarded_iter,
    "_write_": guarded_write,
    "_apply_": guarded_apply,
    "_inplacevar_": inplacevar,
    "_iter_unpack_sequence_": iter_unpack_sequence,
    "_unpack_sequence_": unpack_sequence,
    "_binop_": binop,
    "_tick_": tick,
    "_fstr_": fstring_value,
}
