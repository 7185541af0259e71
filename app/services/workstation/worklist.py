"""我的待办: the actor's ready tasks, filtered, counted per light and paged; also the task rows the
leader's desk lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.domain.calendar import CalendarYearMissing, WorkCalendar
from app.domain.lights import LIGHT_LABELS
from app.domain.masking import mask_name
from app.domain.statuses import DICTIONARY_KIND as STATUS_KIND
from app.services import escalation, knowledge, steps, tasks
from app.services.actors import Actor, require
from app.services.calendar import load_calendar, unit_calendar
from app.services.dictionary import preload
from app.services.platform import Platform
from app.services.workstation.display import format_time, labels, status_labels


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
    """Task rows ready to render (the leader's desk lists): see `display_rows`."""
    return display_rows(session, platform, tasks.select_rows(session, platform.clock.now(), where, order, limit=limit,
                                                      offset=offset))


def display_rows(session: Session, platform: Platform, rows: list[tasks.TaskRow]) -> list[dict[str, Any]]:
    """Rows as the page shows them: masked requester, Chinese kind, light with its label, time left."""
    now = platform.clock.now()
    pinned = steps.pinned_steps(session)
    preload(session, "kind", STATUS_KIND)
    kinds, words = labels(session, "kind"), status_labels(session)
    calendar = load_calendar(session)
    rungs = escalation.marks(session, [t.id for t, *_ in rows])
    return [{"id": t.id, "case_id": c.id, "case_number": c.number, "title": t.title, "task": t.spec_name,
             "kind": kinds.get(c.kind, c.kind), "subject": c.subject, "status": c.status,
             "status_label": words.get(c.status, c.status),
             "requester": mask_name(name or ""), "unit": unit or "", "light": light,
             "light_label": LIGHT_LABELS[light], "due_at": format_time(t.due_at), "case_due_at": format_time(c.due_at),
             "remaining": "暂停计时" if light == "paused" else remaining(unit_calendar(session, calendar, t.unit_id),
                                                                       now, t.due_at),
             "pinned": t.spec_name in pinned, "escalations": rungs.get(t.id, [])}
            for t, c, name, unit, light in rows]


def worklist_page(platform: Platform, actor: Actor, *, light: str | None = None, kind: str | None = None,
                  task: str | None = None, page: int = 1, per_page: int = 20,
                  descending: bool = False) -> dict[str, Any]:
    """我的待办:督办反馈 pinned first, then by due time; counts per light over all of the actor's tasks."""
    require(actor, "case.read")
    with platform.db.reading() as session:
        return worklist_of(session, platform, actor, light=light, kind=kind, task=task, page=page,
                           per_page=per_page, descending=descending)


def worklist_of(session: Session, platform: Platform, actor: Actor, *, light: str | None = None,
                kind: str | None = None, task: str | None = None, page: int = 1, per_page: int = 20,
                descending: bool = False) -> dict[str, Any]:
    """worklist_page in the caller's session (the dispatch desk's queue is one)."""
    found = tasks.load_worklist(session, platform.clock.now(), actor, light=light, kind=kind, task=task,
                                page=page, per_page=per_page, descending=descending,
                                pinned=steps.pinned_steps(session))
    reviews = [r | {"reviewed_at": format_time(r["reviewed_at"]), "due": format_time(r["due"])}
               for r in knowledge.review_tasks(session, platform, actor)]  # 知识复核 owed by the actor's unit
    return {"items": display_rows(session, platform, found.rows), "total": found.total, "page": found.page,
            "pages": found.pages, "counts": found.counts, "kinds": labels(session, "kind"),
            "tasks": found.choices, "knowledge_reviews": reviews}
