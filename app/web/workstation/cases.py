"""The workstation pages: worklist, case page, task forms. Intake, dispatch and the leader's
desk, pauses and 电子监察 are its siblings; all register on blueprint.bp."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.lights import LIGHT_LABELS
from app.domain.roles import CASE_ROLES, ROLES
from app.errors import Conflict, Invalid
from app.services import tasks, workstation
from app.services.deadlines import CalendarNotConfirmed
from app.web import forms_render
from app.web.context import current_actor, local_path, platform
from app.web.workstation.blueprint import CONFLICT_MESSAGE, NOT_SUPERVISABLE, bp


@bp.get("/")
def home() -> ResponseReturnValue:
    """Case roles start at their worklist (rendered here, so a bookmark of / keeps working); others see home."""
    actor = current_actor()
    if actor.roles & CASE_ROLES and actor.can("case.read"):
        return worklist()
    return render_template("home.html", actor=actor, role_names=[ROLES[r] for r in sorted(actor.roles)])


MAX_PAGE = 10**6  # an offset beyond is no page anyone reads, and an int the databases may not hold


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) <= MAX_PAGE else 1


@bp.get("/worklist")
def worklist() -> ResponseReturnValue:
    args = request.args
    filters = {k: args.get(k) or None for k in ("light", "kind", "task")}
    descending = args.get("sort") == "-due"
    result = workstation.worklist_page(platform(), current_actor(), light=filters["light"], kind=filters["kind"],
                                       task=filters["task"], page=_page_number(args.get("page")),
                                       descending=descending)
    return render_template("worklist.html", w=result, filters=filters, descending=descending,
                           light_labels=LIGHT_LABELS)


def render_case(case_id: int, *, reveal: bool = False, failed: dict[str, Any] | None = None,
                conflict: str | None = None, status: int = 200) -> ResponseReturnValue:
    """The case page; `failed` = {task_id, errors, values} re-shows a refused form with its messages."""
    data = workstation.case_page(platform(), current_actor(), case_id, reveal=reveal)
    failed = failed or {}
    known = {"kind": data["kind"], "category": data["category"]}  # the accept form starts from what was registered
    for task in data["tasks"]:
        mine = task["id"] == failed.get("task_id")
        task["fields"] = forms_render.fields_of(task["form"], failed.get("values") if mine else known,
                                                failed.get("errors") if mine else None)
        task["form_error"] = (failed.get("errors") or {}).get("__all__", "") if mine else ""
    refs = data.pop("refs")
    return render_template("case.html", c=data, refs=refs, conflict=conflict), status


@bp.get("/cases/<int:case_id>")
def case_page(case_id: int) -> ResponseReturnValue:
    return render_case(case_id)


@bp.post("/cases/<int:case_id>/reveal")
def reveal(case_id: int) -> ResponseReturnValue:
    """显示完整信息: shown once in this answer and audited; reloading the page masks it again."""
    return render_case(case_id, reveal=True)


@bp.get("/cases/<int:case_id>/diagram")
def diagram(case_id: int) -> ResponseReturnValue:
    """The BPMN XML of the case's process version and the elements of its current steps (JSON)."""
    return jsonify(workstation.case_diagram(platform(), current_actor(), case_id))


@bp.post("/tasks/<task_id>")
def complete_task(task_id: str) -> ResponseReturnValue:
    """Submit a task form; a stale form (done by someone else) gets the page back with a clear message."""
    actor = current_actor()
    task = tasks.get_task(platform(), actor, task_id)
    data = forms_render.parse(task["form"], request.form)
    origin = request.form.get("origin", "")
    try:
        tasks.complete_task(platform(), actor, task_id, data)
    except CalendarNotConfirmed as e:
        return _after_failure(origin, task, conflict=e.message, status=409)
    except Conflict:
        return _after_failure(origin, task, conflict=CONFLICT_MESSAGE, status=409)
    except Invalid as e:
        errors = e.details or {"__all__": e.message}
        return _after_failure(origin, task, failed={"task_id": task_id, "errors": errors, "values": data},
                              status=422)
    flash(f"「{task['title']}」已提交。", "ok")
    return redirect(local_path(request.form.get("next"), url_for("pages.case_page", case_id=task["case_id"])))


def _after_failure(origin: str, task: dict[str, Any], **kwargs: Any) -> ResponseReturnValue:
    if origin == "dispatch":
        from app.web.workstation.desk import render_dispatch

        return render_dispatch(task["id"], **kwargs)
    return render_case(task["case_id"], **kwargs)


@bp.post("/cases/<int:case_id>/supervise")
def supervise(case_id: int) -> ResponseReturnValue:
    note = (request.form.get("note") or "").strip()
    if not note:
        flash("请填写督办意见。", "error")
    else:
        try:
            tasks.supervise(platform(), current_actor(), case_id, note)
        except Conflict:
            flash(NOT_SUPERVISABLE, "error")
        else:
            flash("已督办，承办单位待办中已生成督办反馈任务。", "ok")
    return redirect(url_for("pages.case_page", case_id=case_id))
