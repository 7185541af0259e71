"""The clock is an argument: the system clock in production, a frozen one in tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Naive local wall-clock time in Asia/Shanghai, which is what deadlines are counted in."""

    def now(self) -> datetime:
        return datetime.now(LOCAL_TZ).replace(tzinfo=None, microsecond=0)


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)
