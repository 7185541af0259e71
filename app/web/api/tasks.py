"""The caller's worklist and task completion."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import tasks
from app.web.api import bp
from app.web.api.schemas import TaskComplete, load
from app.web.context import current_actor, platform

MAX_PAGE = 10**6  # beyond, the offset is no page anyone reads and may not fit a database integer


@bp.get("/tasks")
def list_tasks() -> ResponseReturnValue:
    light = request.args.get("light")
    if light and light not in tasks.LIGHTS:
        raise Invalid("提交的内容有误", {"light": "只能是 paused、green、yellow 或 red"})
    page = request.args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
        raise Invalid("提交的内容有误", {"page": f"页码应为 1 到 {MAX_PAGE} 之间的整数"})
    return jsonify(tasks.worklist(platform(), current_actor(), light=light, kind=request.args.get("kind"),
                                  task=request.args.get("task"), page=int(page)))


@bp.get("/tasks/<task_id>")
def get_task(task_id: str) -> ResponseReturnValue:
    return jsonify(tasks.get_task(platform(), current_actor(), task_id))


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str) -> ResponseReturnValue:
    data = load(TaskComplete())
    return jsonify(tasks.complete_task(platform(), current_actor(), task_id, data["data"]))
