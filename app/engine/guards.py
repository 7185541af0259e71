"""Run-time guards for restricted scripts: a budget per run, size-bounded operators, safe attribute access.

Every guard raises `ScriptLimit` (a Chinese message) when a script tries something refused or too big.
The budget is per script run and lives in a thread-local, so the guard functions are plain module
functions and one globals template serves every run.
"""

from __future__ import annotations

import operator
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

MAX_SEQUENCE = 1_000_000  # longest str / list / tuple one operation may build
MAX_INT_BITS = 65_536  # biggest integer one operation may build
MAX_TICKS = 2_000_000  # loop iterations + function calls per script run
MAX_SECONDS = 1.0  # wall time per script run
MAX_ALLOCATED = 20_000_000  # total elements built through guarded operations per run
MAX_DATA = 2_000_000  # size of the task data a script may leave behind (chars / items)
MAX_FORMAT_WIDTH = 10_000  # widths and precisions in % formatting and f-string specs


class ScriptLimit(Exception):
    """A restricted script was refused at run time; the message is Chinese."""


class Budget:
    """Ticks, wall time and allocation left to one script run; once spent it stays spent."""

    __slots__ = ("ticks", "deadline", "seconds", "allocated", "now", "spent")

    def __init__(self, now: datetime, seconds: float = MAX_SECONDS) -> None:
        self.ticks = 0
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.allocated = 0
        self.now = now
        self.spent = ""


_local = threading.local()


def current_budget() -> Budget:
    """The budget of the script running on this thread."""
    budget: Budget | None = getattr(_local, "budget", None)
    if budget is None:
        raise ScriptLimit("脚本只能在流程引擎中运行")
    return budget


def set_budget(budget: Budget | None) -> Budget | None:
    """Install a budget on this thread and return the previous one."""
    previous: Budget | None = getattr(_local, "budget", None)
    _local.budget = budget
    return previous


def tick(value: Any = None) -> Any:
    """Count one step of a loop or call; stop the script when its budget is spent."""
    budget = current_budget()
    if budget.spent:
        raise ScriptLimit(budget.spent)
    budget.ticks += 1
    if budget.ticks > MAX_TICKS:
        budget.spent = f"脚本执行步数超过上限（{MAX_TICKS}），已被终止"
        raise ScriptLimit(budget.spent)
    if budget.ticks & 63 == 0 and time.monotonic() > budget.deadline:
        budget.spent = f"脚本执行时间超过上限（{budget.seconds:g} 秒），已被终止"
        raise ScriptLimit(budget.spent)
    return value


def _allocate(size: int) -> None:
    if size > MAX_SEQUENCE:
        raise ScriptLimit(f"脚本试图生成过大的数据（{size} > {MAX_SEQUENCE}）")
    budget = current_budget()
    budget.allocated += size
    if budget.allocated > MAX_ALLOCATED:
        budget.spent = "脚本生成的数据总量超过上限，已被终止"
        raise ScriptLimit(budget.spent)


def guarded_iter(ob: Any) -> Iterator[Any]:
    """`for x in ob` and comprehensions: every item costs one tick."""
    for item in iter(ob):
        tick()
        yield item


_SEQUENCES = (str, bytes, list, tuple)


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _check_int(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise ScriptLimit(f"脚本试图计算过大的整数（约 {bits} 位）")


def _mult(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, int):
        _allocate(len(a) * max(b, 0))
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        _allocate(len(b) * max(a, 0))
    elif isinstance(a, int) and isinstance(b, int):
        _check_int(_int_bits(a) + _int_bits(b))
    return a * b


def _pow(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and _int_bits(a) > 1:
        _check_int(_int_bits(a) * b)
    return a**b


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a:
        _check_int(_int_bits(a) + max(b, 0))
    return a << b


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _allocate(len(a) + len(b))
    return a + b


_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def check_format_widths(template: str) -> None:
    """Refuse `*` and huge widths / precisions in a %-format or a format spec."""
    for width, precision in _PERCENT.findall(template):
        for part in (width, precision):
            if part == "*" or (part and int(part) > MAX_FORMAT_WIDTH):
                raise ScriptLimit("格式化宽度或精度过大")


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        check_format_widths(a)
        args = b if isinstance(b, tuple) else (b,)
        _allocate(len(a) + sum(data_size(x, MAX_SEQUENCE) for x in args))
    return a % b


BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": _add,
    "*": _mult,
    "**": _pow,
    "<<": _lshift,
    "%": _mod,
}


def binop(op: str, a: Any, b: Any) -> Any:
    """Guarded `+ * ** << %`."""
    return BINOPS[op](a, b)


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": _add,
    "*=": _mult,
    "**=": _pow,
    "<<=": _lshift,
    "%=": _mod,
    "-=": operator.sub,
    "/=": operator.truediv,
    "//=": operator.floordiv,
    ">>=": operator.rshift,
    "&=": operator.and_,
    "|=": operator.or_,
    "^=": operator.xor,
}


def inplacevar(op: str, x: Any, y: Any) -> Any:
    """`x op= y` on a name; returns the new value (lists get a fresh list)."""
    if op in ("|=", "&=", "^=") and isinstance(x, (set, dict)):
        _allocate(len(x) + (len(y) if hasattr(y, "__len__") else 0))
    if op not in _INPLACE:
        raise ScriptLimit(f"不支持的运算 {op}")
    return _INPLACE[op](x, y)


def data_size(value: Any, limit: int) -> int:
    """Rough size of a value as it would be written out; stops counting past `limit`."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, dict):
            total += 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 1
            stack.extend(item)
        elif isinstance(item, int):
            total += 1 + item.bit_length() // 3
        else:
            total += 8
        if total > limit:
            return total
    return total


def guarded_str(value: Any = "") -> str:
    """`str()` that refuses to render a structure too big to print."""
    size = data_size(value, MAX_SEQUENCE)
    _allocate(size)
    return str(value)


def guarded_repr(value: Any) -> str:
    """`repr()` bounded like `str()`."""
    _allocate(data_size(value, MAX_SEQUENCE))
    return repr(value)


def fstring_value(value: Any) -> Any:
    """Wraps every f-string replacement field so big structures are refused before rendering."""
    if not isinstance(value, (int, float, bool, type(None))):
        _allocate(data_size(value, MAX_SEQUENCE))
    return value
