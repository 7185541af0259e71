"""Timer event definitions that read the run's injected clock instead of `datetime.now()`.

SpiffWorkflow 3.2 evaluates timers against `datetime.now(timezone.utc)` inside
`SpiffWorkflow.bpmn.specs.event_definitions.timer`. These subclasses keep the same class names (so the
serialized spec stays plain SpiffWorkflow) and are registered last in our serializer, so every spec we
load gets them. They take "now" from `workflow.script_engine.now` — the `now` the service passed.
Naive timer datetimes are read in the timezone of that `now`.
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition as SpiffCycle,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition as SpiffDuration,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimeDateEventDefinition as SpiffTimeDate,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition as SpiffTimer,
)
from SpiffWorkflow.util.task import TaskState

from app.engine.errors import ScriptFailed


def engine_now(my_task: Any) -> datetime:
    """The clock of the run this task is part of (aware, UTC if the service passed a naive time)."""
    now: datetime = my_task.workflow.script_engine.now
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def to_instant(value: Any, now: datetime) -> datetime:
    """A timer value (ISO text, date or datetime) as an aware datetime; naive ones take `now`'s zone."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    return moment


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def _unrunnable(my_task: Any, value: Any) -> ScriptFailed:
    """A timer value from task data that the timer cannot run on: the run stops naming the timer."""
    spec = my_task.task_spec
    element = str(getattr(spec, "bpmn_id", None) or spec.name)
    return ScriptFailed(element, f"定时表达式的值 {value!r} 不是有效的{timer_kind(spec.event_definition)}")


class TimeDateEventDefinition(SpiffTimeDate):
    """A timer at a fixed date/time, compared with the injected clock."""

    def has_fired(self, my_task: Any) -> bool:
        now = engine_now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            try:
                event_value = to_instant(value, now).isoformat()
            except (TypeError, ValueError):
                raise _unrunnable(my_task, value) from None
            my_task._set_internal_data(event_value=event_value)
        if to_instant(event_value, now) <= now:
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class DurationTimerEventDefinition(SpiffDuration):
    """A timer a duration after it started waiting, on the injected clock."""

    def has_fired(self, my_task: Any) -> bool:
        now = engine_now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = _text(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            try:
                parsed = SpiffTimer.parse_iso_duration(expression)
            except Exception:  # SpiffWorkflow raises a bare Exception("Invalid duration")
                raise _unrunnable(my_task, expression) from None
            event_value = (now + SpiffTimer.get_timedelta_from_start(parsed, now)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if to_instant(event_value, now) <= now:
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class CycleTimerEventDefinition(SpiffCycle):
    """A repeating timer (`R3/PT1H`), on the injected clock; a start without one begins at `now`."""

    def cycle_complete(self, my_task: Any) -> bool:
        now = engine_now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = _text(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            try:
                event_value = _parse_cycle(expression, now)
            except Exception:  # ValueError, IndexError, SpiffWorkflow's bare Exception
                raise _unrunnable(my_task, expression) from None

        ready = False
        if event_value["cycles"] != 0:
            next_event = to_instant(event_value["next"], now)
            if next_event <= now:
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False

        my_task._set_internal_data(event_value=event_value)
        return ready

    def update_task(self, my_task: Any) -> None:
        if self.cycle_complete(my_task):
            for output in my_task.task_spec.outputs:
                child = my_task._add_child(output, TaskState.FUTURE)
                child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
                child.task_spec._update(child)


def _parse_cycle(expression: str, now: datetime) -> dict[str, Any]:
    components = expression.upper().replace("--", "/").strip("R").split("/")
    cycles = int(components[0]) if components[0] else -1
    first = SpiffTimer.parse_time_or_duration(components[1])
    second = SpiffTimer.parse_time_or_duration(components[2]) if len(components) == 3 else None
    if isinstance(first, datetime) and isinstance(second, dict):
        start, duration = first, SpiffTimer.get_timedelta_from_start(second, first)
    elif isinstance(first, dict) and isinstance(second, datetime):
        duration = SpiffTimer.get_timedelta_from_end(first, second)
        start = second - duration
    elif isinstance(first, dict) and second is None:
        duration = SpiffTimer.get_timedelta_from_start(first, now)
        start = now + duration
    else:
        raise ValueError("无效的循环定时表达式")
    return {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}


TIMER_CLASSES = (TimeDateEventDefinition, DurationTimerEventDefinition, CycleTimerEventDefinition)


TIMER_TYPENAMES = tuple(f'"{cls.__name__}"' for cls in TIMER_CLASSES)  # as the spec JSON names them


@lru_cache(maxsize=64)
def may_have_timers(spec_json: str) -> bool:
    """Whether a deployed definition (call activities included) has any timer event: one without can never
    leave a waiting timer, so a run of it need not look for stored ones. Conservative: a match on the text."""
    return any(name in spec_json for name in TIMER_TYPENAMES)


def fire_at(my_task: Any) -> datetime | None:
    """When a waiting timer task will fire, or None if it is not a timer (or has not been evaluated)."""
    definition = my_task.task_spec.event_definition
    if not isinstance(definition, SpiffTimer):
        return None
    event_value = my_task._get_internal_data("event_value")
    if event_value is None:
        return None
    now = engine_now(my_task)
    if isinstance(event_value, dict):
        return to_instant(event_value["next"], now) if event_value.get("cycles", 0) != 0 else None
    return to_instant(event_value, now)


def check_timer_value(definition: Any, value: Any, now: datetime) -> None:
    """Raise (ValueError or SpiffWorkflow's Exception) unless a timer of this kind can run on `value`:
    the same parse `has_fired` / `cycle_complete` will make."""
    if isinstance(definition, SpiffCycle):
        _parse_cycle(_text(value), now)
    elif isinstance(definition, SpiffTimeDate):
        to_instant(value, now)
    elif isinstance(definition, SpiffDuration):
        SpiffTimer.get_timedelta_from_start(SpiffTimer.parse_iso_duration(_text(value)), now)


def timer_kind(definition: Any) -> str:
    """The Chinese name of a timer's kind, for messages."""
    if isinstance(definition, SpiffCycle):
        return timer_kind_named("cycle")
    if isinstance(definition, SpiffTimeDate):
        return timer_kind_named("date")
    return timer_kind_named("duration")


_UNITS = (("years", "年"), ("months", "个月"), ("weeks", "周"), ("days", "天"), ("hours", "小时"),
          ("minutes", "分钟"), ("seconds", "秒"))


def _duration_words(parsed: dict[str, Any]) -> str:
    parts = []
    for key, word in _UNITS:
        amount = parsed.get(key) or 0
        if amount:
            parts.append(f"{amount:g} {word}")
    return " ".join(parts) or "0 秒"


def _minute(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def describe_timer(kind: str, value: str, now: datetime) -> tuple[str, datetime | None]:
    """Plain Chinese words for a timer value, and when it would fire if it started waiting at `now`
    (None for a cycle that never fires). Durations are calendar time, as the engine counts them.
    Raises ValueError with a Chinese message when the value is not a valid timer of that kind."""
    text = value.strip()
    try:
        if kind == "date":
            at = to_instant(text, now)
            return _minute(at), at
        if kind == "duration":
            parsed = SpiffTimer.parse_iso_duration(text)
            at = now + SpiffTimer.get_timedelta_from_start(parsed, now)
            return f"{_duration_words(parsed)}后（按日历时间，{_minute(at)}）", at
        if kind == "cycle":
            cycle = _parse_cycle(text, now)
            components = text.upper().replace("--", "/").strip("R").split("/")
            times = "不限次数" if cycle["cycles"] < 0 else f"共 {cycle['cycles']} 次"
            every = _duration_words(SpiffTimer.parse_iso_duration(components[-1])) if components[-1].startswith(
                "P") else f"{timedelta(seconds=cycle['duration'])}"
            first = to_instant(cycle["next"], now)
            return f"每 {every}一次，{times}，首次 {_minute(first)}", first if cycle["cycles"] != 0 else None
    except Exception:  # SpiffWorkflow raises a bare Exception("Invalid duration"); fromisoformat ValueError
        raise ValueError(f"{text} 不是有效的{timer_kind_named(kind)}") from None
    raise ValueError(f"定时类型 {kind} 未知（duration、date 或 cycle）")


def timer_kind_named(kind: str) -> str:
    """The Chinese name of a timer kind given by its word (duration, date, cycle)."""
    return {"date": "日期时间（如 2026-01-31T09:00:00）", "cycle": "循环定时（如 R3/PT1H）"}.get(
        kind, "时长（如 PT1H、P2D）")


def preview_timer(kind: str, text: str, now: datetime) -> tuple[str, datetime | None, str]:
    """The words and time of a timer as the modeler shows it, and the expression to write into the BPMN.
    `text` is either plain ISO text (P3D) or the quoted expression the BPMN holds ("P3D"); an expression
    that reads process data is known only when a case runs. Raises ValueError (Chinese) when invalid."""
    text = text.strip()
    try:
        literal = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        literal = None
    if isinstance(literal, str):
        value = literal
    elif text and (text[0].isdigit() or text[0] in "PRpr"):
        value = text
    else:
        return "运行时由流程数据决定（表达式读取流程变量）", None, text
    words, at = describe_timer(kind, value, now)
    return words, at, '"' + value.replace('"', "") + '"'
