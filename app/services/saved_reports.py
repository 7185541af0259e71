"""Saved custom reports: private to their owner, or shared with the owner's unit. The question (dimensions,
measure, filters, period kind) is checked as `reports.custom` checks it before it is kept, so a saved report
always runs — for whoever opens it, over their own cases (a shared report never widens anyone's scope)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, func, or_, select

from app.errors import Invalid, NotFound
from app.models import SavedReport
from app.services import audit, reports
from app.services.actors import Actor
from app.services.platform import Platform

MAX_PER_USER = 50
PARAMS = ("period", "rows", "columns", "measure", "kind", "channel", "category")


def question(params: dict[str, str]) -> dict[str, str]:
    """The parameters a saved report keeps, checked (422 naming the field when one is wrong)."""
    kept = {k: str(params[k]).strip() for k in PARAMS if str(params.get(k) or "").strip()}
    if kept.get("period", "month") not in reports.PERIODS or kept.get("period") == "range":
        raise Invalid("报表周期有误", {"period": "保存的报表周期只能是 day、week、month、quarter 或 year"})
    reports.check(reports.CustomQuery(rows=kept.get("rows", ""), measure=kept.get("measure", ""),
                                      columns=kept.get("columns"), kind=kept.get("kind"),
                                      channel=kept.get("channel"), category=kept.get("category")))
    return kept


def listed(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """The actor's own saved reports and those shared with their unit, by name."""
    if actor.user_id is None:
        return []
    with platform.db.reading() as session:
        seen = or_(SavedReport.owner_id == actor.user_id,
                   SavedReport.unit_id == actor.unit_id if actor.unit_id is not None else false())
        return [{"id": r.id, "name": r.name, "params": r.params, "shared": r.unit_id is not None,
                 "mine": r.owner_id == actor.user_id}
                for r in session.scalars(select(SavedReport).where(seen).order_by(SavedReport.name, SavedReport.id))]


def save(platform: Platform, actor: Actor, name: str, params: dict[str, str], *, shared: bool) -> int:
    reports.require_reader(actor)
    name = name.strip()
    if not 1 <= len(name) <= 60:
        raise Invalid("报表名称应为 1–60 个字", {"name": "报表名称应为 1–60 个字"})
    if actor.user_id is None:
        raise Invalid("保存报表需以用户身份登录", {"name": "需以用户身份登录"})
    kept = question(params)
    with platform.db.unit_of_work() as session:
        count = session.scalar(select(func.count()).select_from(SavedReport)
                               .where(SavedReport.owner_id == actor.user_id)) or 0
        if count >= MAX_PER_USER:
            raise Invalid(f"每人最多保存 {MAX_PER_USER} 个报表", {"name": f"最多 {MAX_PER_USER} 个"})
        row = SavedReport(owner_id=actor.user_id, unit_id=actor.unit_id if shared else None, name=name,
                          params=kept, created_at=platform.clock.now())
        session.add(row)
        session.flush()
        audit.record(session, platform, actor, "report.saved",
                     detail={"report": row.id, "name": name, "params": kept, "shared": shared})
        session.commit()
        return row.id


def delete(platform: Platform, actor: Actor, report_id: int) -> None:
    """Only its owner deletes a saved report (a shared one too)."""
    with platform.db.unit_of_work() as session:
        row = session.get(SavedReport, report_id)
        if row is None or row.owner_id != actor.user_id:
            raise NotFound("保存的报表不存在")
        audit.record(session, platform, actor, "report.deleted", detail={"report": row.id, "name": row.name})
        session.delete(row)
        session.commit()
