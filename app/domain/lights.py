"""Traffic lights (绿灯/黄灯/红灯) for a step with a due time: when it turns yellow, and what colour it is now;
a step whose clock is paused (time the law does not count) shows 暂停 instead, whatever its times say.

The one home of the light rule and its labels. ``app.services.tasks.light_expr`` is its SQL twin (for
worklist filters and counts); tests/unit/test_lights.py checks the two agree at every boundary.

All datetimes must be alike — all naive Asia/Shanghai local time (the platform's convention) or all
aware; mixing them raises ``TypeError`` from the comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Literal

from app.domain.calendar import WorkCalendar

__all__ = ["LIGHT_LABELS", "SEVERITY", "Light", "light", "light_label", "warn_at", "worst_light"]

Light = Literal["paused", "green", "yellow", "red"]
LIGHT_LABELS: dict[str, str] = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", "paused": "暂停"}  # in page order
# Mildest first: a paused step's clock stands still, so it is the least urgent of all.
SEVERITY: tuple[Light, ...] = ("paused", "green", "yellow", "red")


def _start_of_last_working_day(due: datetime, calendar: WorkCalendar) -> datetime:
    """Midnight starting the last working day that begins before ``due`` (the due day itself, if working)."""
    day: date = due.date()
    if datetime.combine(day, time(), tzinfo=due.tzinfo) >= due:
        day -= timedelta(days=1)
    if not calendar.is_working_day(day):
        day = calendar.previous_working_day(day)
    return datetime.combine(day, time(), tzinfo=due.tzinfo)


def warn_at(start: datetime, due: datetime, calendar: WorkCalendar, fraction: float = 0.2) -> datetime:
    """When the light turns yellow: the earlier of the start of the last working day before ``due``
    and the moment when ``1 - fraction`` of the period has elapsed — never before ``start``.
    """
    if due < start:
        raise ValueError(f"due {due} is before start {start}")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must lie between 0 and 1, got {fraction}")
    elapsed_mark = start + (due - start) * (1 - fraction)
    return max(start, min(_start_of_last_working_day(due, calendar), elapsed_mark))


def light(now: datetime, warn_at: datetime | None, due_at: datetime | None, paused: bool = False) -> Light:
    """Paused while the step's clock stands still; else red strictly after ``due_at``, yellow from ``warn_at``
    on, green before — and green with no deadline.

    A missing time never fires, each on its own (as NULL compares in the SQL twin)."""
    if paused:
        return "paused"
    if due_at is not None and now > due_at:
        return "red"
    if warn_at is not None and now >= warn_at:
        return "yellow"
    return "green"


def worst_light(lights: Iterable[Light]) -> Light | None:
    """The most urgent of several lights (red over yellow over green over paused); None when there are none."""
    return max(lights, key=SEVERITY.index, default=None)


def light_label(value: Light) -> str:
    """The Chinese label of a light: 暂停, 绿灯, 黄灯 or 红灯."""
    return LIGHT_LABELS[value]
