"""派单 (dispatchers) and 领导审批 (leaders): queues over the same task forms, with what each choice means."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.lights import LIGHT_LABELS
from app.errors import Conflict, Invalid
from app.services import workstation
from app.web import forms_render
from app.web.context import current_actor, platform
from app.web.workstation.blueprint import NOT_SUPERVISABLE, bp


def render_dispatch(task_id: str | None, *, failed: dict[str, Any] | None = None, conflict: str | None = None,
                    status: int = 200) -> ResponseReturnValue:
    desk = workstation.dispatch_desk(platform(), current_actor(), None if conflict else task_id)
    failed = failed or {}
    values = failed.get("values") or workstation.proposal_values(desk.get("proposal"))
    fields = forms_render.fields_of(desk["task"]["form"], values, failed.get("errors")) \
        if desk["task"] else []
    return render_template("dispatch.html", d=desk, fields=fields, refs=desk["refs"],
                           form_error=(failed.get("errors") or {}).get("__all__", ""), conflict=conflict), status


@bp.get("/dispatch")
def dispatch() -> ResponseReturnValue:
    return render_dispatch(request.args.get("task") or None)


def _leader(errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
            status: int = 200) -> ResponseReturnValue:
    desk = workstation.leader_desk(platform(), current_actor())
    return render_template("leader.html", d=desk, errors=errors or {}, v=values or {},
                           light_labels=LIGHT_LABELS), status


@bp.get("/leader")
def leader() -> ResponseReturnValue:
    return _leader()


@bp.post("/leader/supervise")
def leader_supervise() -> ResponseReturnValue:
    values = {"number": request.form.get("number", ""), "note": request.form.get("note", "")}
    try:
        done = workstation.supervise_by_number(platform(), current_actor(), values["number"], values["note"])
    except Invalid as e:
        return _leader(e.details or {"note": e.message}, values, 422)
    except Conflict:
        return _leader({"number": NOT_SUPERVISABLE}, values, 409)
    flash(f"已督办 {done['number']}，承办单位待办中已生成督办反馈任务。", "ok")
    return redirect(url_for("pages.leader"))
