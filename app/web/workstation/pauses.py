"""The case page's pause buttons: ask to stop a task's clock, approve or refuse, resume."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from app.errors import Conflict, Invalid, NotPermitted
from app.services import pauses
from app.web.context import current_actor, platform
from app.web.workstation.blueprint import bp


def _back(case_id: int) -> ResponseReturnValue:
    return redirect(url_for("pages.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/tasks/<task_id>/pause")
def pause_task(case_id: int, task_id: str) -> ResponseReturnValue:
    reason, note = request.form.get("reason", ""), (request.form.get("note") or "").strip()[:2000]
    try:
        done = pauses.request_pause(platform(), current_actor(), task_id, reason, note)
    except (Invalid, Conflict, NotPermitted) as e:
        flash(next(iter(e.details.values()), e.message) if isinstance(e, Invalid) else e.message, "error")
    else:
        flash("已暂停计时。" if done["state"] == "running" else "已提交暂停申请，待领导审批。", "ok")
    return _back(case_id)


@bp.post("/cases/<int:case_id>/pauses/<int:pause_id>/<any(approve, refuse):decision>")
def decide_pause(case_id: int, pause_id: int, decision: str) -> ResponseReturnValue:
    opinion = (request.form.get("opinion") or "").strip()[:2000]
    try:
        pauses.decide_pause(platform(), current_actor(), pause_id, decision == "approve", opinion)
    except (Conflict, NotPermitted) as e:
        flash(e.message, "error")
    else:
        flash("已批准暂停计时。" if decision == "approve" else "已不批准暂停。", "ok")
    return _back(case_id)


@bp.post("/cases/<int:case_id>/pauses/<int:pause_id>/resume")
def resume_pause(case_id: int, pause_id: int) -> ResponseReturnValue:
    try:
        done = pauses.resume(platform(), current_actor(), pause_id)
    except (Conflict, NotPermitted) as e:
        flash(e.message, "error")
    else:
        flash(f"已恢复计时，到期时间顺延 {done['credited_days']} 个工作日。", "ok")
    return _back(case_id)
