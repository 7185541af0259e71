"""/admin/channels: the 系统管理员's channel keys — create (the key shown once), see last use, revoke."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import channels
from app.web.context import current_actor, platform

bp = Blueprint("admin_channels", __name__, url_prefix="/admin")


@bp.get("/channels")
def channel_list() -> ResponseReturnValue:
    return render_template("admin/channels.html", view=channels.overview(platform(), current_actor()),
                           new_key=None, errors={}, values={})


@bp.post("/channels")
def channel_create() -> ResponseReturnValue:
    """The new key is on this answer only (never stored in plain, never in a redirect or the flash)."""
    values = {"name": request.form.get("name", ""), "channel": request.form.get("channel", "")}
    try:
        key = channels.create_key(platform(), current_actor(), values["name"], values["channel"])
    except Invalid as e:
        view = channels.overview(platform(), current_actor())
        return render_template("admin/channels.html", view=view, new_key=None, values=values,
                               errors=e.details or {"__all__": e.message}), 422
    view = channels.overview(platform(), current_actor())
    return render_template("admin/channels.html", view=view, new_key={"name": values["name"].strip(), "key": key},
                           errors={}, values={})


@bp.post("/channels/<int:key_id>/revoke")
def channel_revoke(key_id: int) -> ResponseReturnValue:
    name = channels.revoke_key_by_id(platform(), current_actor(), key_id)
    flash(f"已吊销渠道密钥 {name}:它的下一次请求即被拒绝", "ok")
    return redirect(url_for("admin_channels.channel_list"))
