"""/admin/backups: the backup folder as the 系统管理员 sees it — when, how big, under which key, verified or not."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from app.services import backups
from app.web.context import current_actor, platform

bp = Blueprint("admin_backups", __name__, url_prefix="/admin")


@bp.get("/backups")
def backup_list() -> ResponseReturnValue:
    p = platform()
    items = backups.list_backups(p, current_actor())
    return render_template("admin/backups.html", items=items, schedule=backups.schedule(p))
