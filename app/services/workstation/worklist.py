"""我的待办: the actor's ready tasks, filtered, counted per light and paged; also the task rows the
leader's desk lists."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from app.domain.calendar import CalendarYearMissing, WorkCalendar
from app.domain.lights import LIGHT_LABELS
from app.domain.masking import mask_name
from app.models import Case, HumanTask, Requester, Unit
from app.services import tasks
from app.services.actors import Actor
from app.services.calendar import load_calendar
from app.services.platform import Platform
from app.services.workstation.display import fmt, labels
from app.services.workstation.workflow_tables import PINNED_TASK


def remaining(calendar: WorkCalendar, now: datetime, due: datetime | None) -> str:
    """'剩余 3 个工作日', '今日到期' or '已逾期 2 个工作日' (working days, from the calendar)."""
    if due is None:
        return "无时限"
    try:
        if due < now:
            late = calendar.working_days_between(due.date(), now.date())
            return f"已逾期 {late} 个工作日" if late else "已逾期"
        left = calendar.working_days_between(now.date(), due.date())
    except CalendarYearMissing:
        return "日历未确认"
    return f"剩余 {left} 个工作日" if left else "今日到期"


def task_rows(session: Session, platform: Platform, where: list[Any], order: list[Any], *,
              limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """Task rows ready to render: case, masked requester, unit, light with its label, time left."""
    now = platform.clock.now()
    lit = tasks.light_expr(now).label("light")
    kinds = labels(session, "kind")
    calendar = load_calendar(session)
    rows = session.execute(select(HumanTask, Case, Requester.name, Unit.name, lit)
                           .join(Case, HumanTask.case_id == Case.id)
                           .join(Requester, Case.requester_id == Requester.id)
                           .outerjoin(Unit, HumanTask.unit_id == Unit.id)
                           .where(*where).order_by(*order).limit(limit).offset(offset)
                           .options(lazyload(Case.requester))).all()  # the name is selected above
    return [{"id": t.id, "case_id": c.id, "case_number": c.number, "title": t.title, "task": t.spec_name,
             "kind": kinds.get(c.kind, c.kind), "subject": c.subject, "status": c.status,
             "requester": mask_name(name or ""), "unit": unit or "", "light": light,
             "light_label": LIGHT_LABELS[light], "due_at": fmt(t.due_at),
             "remaining": remaining(calendar, now, t.due_at), "pinned": t.spec_name == PINNED_TASK}
            for t, c, name, unit, light in rows]


def _page_of(session: Session, platform: Platform, where: list[Any], descending: bool, start: int,
             size: int) -> list[dict[str, Any]]:
    """督办反馈 first, then the rest by due time: two ordered reads, so the second walks the ready-task
    index instead of sorting every task of the unit."""
    pinned_where = [*where, HumanTask.spec_name == PINNED_TASK]
    pinned_count = session.scalar(select(func.count()).select_from(HumanTask).join(Case).where(*pinned_where)) or 0
    due = HumanTask.due_at.desc().nulls_last() if descending else HumanTask.due_at.asc().nulls_last()
    order = [due, HumanTask.created_at, HumanTask.id]
    rows: list[dict[str, Any]] = []
    if start < pinned_count:
        rows = task_rows(session, platform, pinned_where, order, limit=size, offset=start)
    if len(rows) < size:
        rows += task_rows(session, platform, [*where, HumanTask.spec_name != PINNED_TASK], order,
                          limit=size - len(rows), offset=max(0, start - pinned_count))
    return rows


def worklist_page(platform: Platform, actor: Actor, *, light: str | None = None, kind: str | None = None,
                  task: str | None = None, page: int = 1, per_page: int = 20,
                  descending: bool = False) -> dict[str, Any]:
    """我的待办:督办反馈 pinned first, then by due time; counts per light over all of the actor's tasks."""
    now = platform.clock.now()
    lit = tasks.light_expr(now).label("light")
    with platform.db.reading() as session:
        where = tasks.workable_by(actor)
        # One pass over the actor's ready tasks gives the light counts, the task choices and, unless a
        # kind is asked for (which needs the case), the filtered total.
        groups = session.execute(select(HumanTask.spec_name, func.min(HumanTask.title), lit, func.count())
                                 .where(*where).group_by(HumanTask.spec_name, lit)).all()
        counts = {k: sum(n for _, _, lt, n in groups if lt == k) for k in LIGHT_LABELS}
        choices = {spec: title for spec, title, _, _ in groups}
        if task:
            where.append(HumanTask.spec_name == task)
        if light in LIGHT_LABELS:
            where.append(tasks.light_expr(now) == light)
        if kind:
            where.append(Case.kind == kind)
            total = session.scalar(select(func.count()).select_from(HumanTask).join(Case).where(*where)) or 0
        else:
            total = sum(n for spec, _, lt, n in groups if (not task or spec == task)
                        and (light not in LIGHT_LABELS or lt == light))
        pages = max(1, math.ceil(total / per_page))
        page = min(max(page, 1), pages)
        items = _page_of(session, platform, where, descending, (page - 1) * per_page, per_page)
        return {"items": items, "total": total, "page": page, "pages": pages,
                "counts": counts, "kinds": labels(session, "kind"),
                "tasks": dict(sorted(choices.items()))}
