"""What one case adds to the report summary (`report_day`), per day of each of its events, as plain arithmetic.

A report's counts are sums of events, each on its own day: registered (created_at) → 新登记, 重复件; 受理
(accepted_at) → 受理, 及时受理, 交办, 响应; 答复 (replied_at) → 答复, 按期答复; 回访 (followed_up_at, with a
satisfaction) → 有效回访 and its answers; finished (closed_at) → 办结/退回/终结 and the case's extensions,
returns, reopens and supervisions. The summary keeps these sums per day and per value of one dimension (a
*grain*); any period is then a sum over its days, and the balance's two stocks are sums too:
carried over = Σ before the period (new − finished), open at the end = carried over + new − finished.
So the balance fails exactly when a case finished in the period in a status that is none of 办结, 退回, 终结.

The same function folds the summary (app/services/report_summary.py, by the scheduler) and the days whose
summary is not yet refreshed (read live from the cases): the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.domain.statuses import ARCHIVED, CLOSED, REDIRECTED, REJECTED, TERMINATED, TRANSFERRED

__all__ = ["CLOSED_STATUSES", "RETURNED_STATUSES", "TERMINATED"]

CLOSED_STATUSES = (CLOSED, ARCHIVED)
RETURNED_STATUSES = (REJECTED, TRANSFERRED, REDIRECTED)

# every summed column of report_day, in order
FIELDS = ("new", "repeat", "accepted", "accepted_on_time", "dispatched", "responded", "replied",
          "replied_on_time", "rated", "satisfied", "basically_satisfied", "unsatisfied", "resolved",
          "extensions", "returns", "reopens", "supervisions", "closed", "returned", "terminated", "finished")

# grain → what its key is: "all" (one key, ""), the case's lead unit ("u<id>", or "r<registering unit id>"
# before a lead unit is given: the unit whose case it is), kind, channel, category, area ("" when unset)
GRAINS = ("all", "unit", "kind", "channel", "category", "area")


@dataclass(frozen=True)
class CaseEvents:
    """The columns of a case the summary reads (app/models Case)."""

    created_at: datetime
    accepted_at: datetime | None
    replied_at: datetime | None
    followed_up_at: datetime | None
    closed_at: datetime | None
    status: str
    lead_unit_id: int | None
    registering_unit_id: int | None
    kind: str
    channel: str
    category: str | None
    area_unit_id: int | None
    duplicate_of_id: int | None
    accepted_on_time: bool | None
    responded_at: datetime | None
    replied_on_time: bool | None
    satisfaction: str | None
    resolved: bool | None
    extension_count: int
    return_count: int
    reopen_count: int
    supervision_count: int


COLUMNS = tuple(CaseEvents.__dataclass_fields__)
EVENT_COLUMNS = ("created_at", "accepted_at", "replied_at", "followed_up_at", "closed_at")


def unit_key(lead_unit_id: int | None, registering_unit_id: int | None) -> str:
    return f"u{lead_unit_id}" if lead_unit_id is not None else f"r{registering_unit_id}"


def keys(c: CaseEvents) -> dict[str, str]:
    """The case's key in each grain."""
    return {"all": "", "unit": unit_key(c.lead_unit_id, c.registering_unit_id), "kind": c.kind,
            "channel": c.channel, "category": c.category or "",
            "area": "" if c.area_unit_id is None else str(c.area_unit_id)}


def event_days(c: CaseEvents) -> set[date]:
    """The days the case adds to (a change to the case makes these days' summary stale)."""
    return {getattr(c, name).date() for name in EVENT_COLUMNS if getattr(c, name) is not None}


def contributions(c: CaseEvents) -> Iterable[tuple[date, str, int]]:
    """(day, field, amount) for each event of the case."""
    day = c.created_at.date()
    yield day, "new", 1
    if c.duplicate_of_id is not None:
        yield day, "repeat", 1
    if c.accepted_at is not None:
        day = c.accepted_at.date()
        yield day, "accepted", 1
        if c.accepted_on_time:
            yield day, "accepted_on_time", 1
        if c.lead_unit_id is not None:
            yield day, "dispatched", 1
            if c.responded_at is not None:
                yield day, "responded", 1
    if c.replied_at is not None:
        yield c.replied_at.date(), "replied", 1
        if c.replied_on_time:
            yield c.replied_at.date(), "replied_on_time", 1
    if c.followed_up_at is not None and c.satisfaction is not None:
        day = c.followed_up_at.date()
        yield day, "rated", 1
        if c.satisfaction in ("satisfied", "basically_satisfied", "unsatisfied"):
            yield day, c.satisfaction, 1
        if c.resolved:
            yield day, "resolved", 1
    if c.closed_at is not None:
        yield from _finished(c, c.closed_at.date())


def _finished(c: CaseEvents, day: date) -> Iterable[tuple[date, str, int]]:
    """The day a case finished: its status class and the counts it finished with."""
    yield day, "finished", 1
    for name, count in (("extensions", c.extension_count), ("returns", c.return_count),
                        ("reopens", c.reopen_count), ("supervisions", c.supervision_count)):
        if count:
            yield day, name, count
    if c.status in CLOSED_STATUSES:
        yield day, "closed", 1
    elif c.status in RETURNED_STATUSES:
        yield day, "returned", 1
    elif c.status == TERMINATED:
        yield day, "terminated", 1


Cells = dict[tuple[str, date, str], dict[str, int]]


def fold(cases: Iterable[CaseEvents], days: set[date] | None = None,
         grains: Iterable[str] = GRAINS) -> Cells:
    """(grain, day, key) → sums, over the events that fall on `days` (every day when None)."""
    grains = tuple(grains)
    out: Cells = {}
    for c in cases:
        k = keys(c)
        for day, name, amount in contributions(c):
            if days is not None and day not in days:
                continue
            for grain in grains:
                cell = out.setdefault((grain, day, k[grain]), dict.fromkeys(FIELDS, 0))
                cell[name] += amount
    return out


@dataclass
class Totals:
    """One key's sums over a period, and the stock carried into it."""

    sums: dict[str, int]
    carried_over: int = 0

    def add(self, cell: dict[str, Any], in_period: bool) -> None:
        if in_period:
            for name in FIELDS:
                self.sums[name] += int(cell.get(name) or 0)
        else:
            self.carried_over += int(cell.get("new") or 0) - int(cell.get("finished") or 0)

    def merge(self, other: Totals) -> None:
        for name in FIELDS:
            self.sums[name] += other.sums[name]
        self.carried_over += other.carried_over

    @property
    def balance(self) -> dict[str, int]:
        s = self.sums
        return {"carried_over": self.carried_over, "new": s["new"], "closed": s["closed"],
                "returned": s["returned"], "terminated": s["terminated"],
                "open_at_end": self.carried_over + s["new"] - s["finished"]}


def empty_totals() -> Totals:
    return Totals(dict.fromkeys(FIELDS, 0))
