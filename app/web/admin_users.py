"""The 安全管理员's pages for accounts (/admin/users): create, import, roles, deactivate, reset, unlock,
end sign-ins. The 系统管理员 is refused (403, 三权分立); the 审计员 may read the list, change nothing."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.roles import ROLES
from app.errors import Invalid, NotPermitted
from app.services import units, users
from app.web.context import current_actor, platform, requires
from app.web.downloads import spreadsheet, uploaded

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")


def _page(status: int = 200, *, error: Invalid | None = None, issued: dict[str, str] | None = None,
          form: Mapping[str, object] | None = None) -> ResponseReturnValue:
    actor = current_actor()
    if not (actor.can("user.manage") or actor.can("audit.read")):
        raise NotPermitted("只有安全管理员可以管理用户")
    return render_template("admin/users.html", items=users.list_users(platform(), actor), roles=ROLES,
                           units=units.list_units(platform(), active_only=True), error=error,
                           issued=issued or {}, form=form or {}, editable=actor.can("user.manage")), status


@bp.get("")
def user_list() -> ResponseReturnValue:
    return _page()


@bp.post("")
@requires("user.manage")
def create_user() -> ResponseReturnValue:
    form = {"staff_no": request.form.get("staff_no", "").strip(), "name": request.form.get("name", "").strip(),
            "unit": request.form.get("unit", ""), "roles": request.form.getlist("roles")}
    new = users.NewUser(str(form["staff_no"]), str(form["name"]), str(form["unit"]), set(request.form.getlist("roles")))
    try:
        password = users.create_user(platform(), current_actor(), new)
    except Invalid as e:
        return _page(422, error=e, form=form)
    return _page(issued={new.staff_no: password})


@bp.post("/import")
@requires("user.manage")
def import_users() -> ResponseReturnValue:
    data, filename = uploaded()
    try:
        done = users.import_users(platform(), current_actor(), data, filename)
    except Invalid as e:
        return _page(422, error=e)
    flash(f"已导入:共 {done.rows} 行,新建 {len(done.issued)} 个账号,修改 {done.changed} 个,未变 {done.unchanged} 个",
          "ok")
    return _page(issued=done.issued)


@bp.get("/export.<any(csv, xlsx):fmt>")
@requires("user.manage")
def export_users(fmt: str) -> ResponseReturnValue:
    return spreadsheet(users.export_users(platform(), current_actor(), fmt), "users", fmt)


@bp.post("/<int:user_id>/roles")
@requires("user.manage")
def assign_roles(user_id: int) -> ResponseReturnValue:
    try:
        users.assign_roles(platform(), current_actor(), user_id, set(request.form.getlist("roles")))
    except Invalid as e:
        return _page(422, error=e)
    flash("已修改角色", "ok")
    return redirect(url_for("admin_users.user_list"))


@bp.post("/<int:user_id>/deactivate")
@requires("user.manage")
def deactivate(user_id: int) -> ResponseReturnValue:
    users.set_active(platform(), current_actor(), user_id, False)
    flash("已停用账号,其登录与令牌已全部失效", "ok")
    return redirect(url_for("admin_users.user_list"))


@bp.post("/<int:user_id>/activate")
@requires("user.manage")
def activate(user_id: int) -> ResponseReturnValue:
    users.set_active(platform(), current_actor(), user_id, True)
    flash("已启用账号", "ok")
    return redirect(url_for("admin_users.user_list"))


@bp.post("/<int:user_id>/reset-password")
@requires("user.manage")
def reset_password(user_id: int) -> ResponseReturnValue:
    password = users.reset_password(platform(), current_actor(), user_id)
    staff_no = next(u.staff_no for u in users.list_users(platform(), current_actor()) if u.id == user_id)
    return _page(issued={staff_no: password})


@bp.post("/<int:user_id>/unlock")
@requires("user.manage")
def unlock(user_id: int) -> ResponseReturnValue:
    users.unlock(platform(), current_actor(), user_id)
    flash("已解锁账号", "ok")
    return redirect(url_for("admin_users.user_list"))


@bp.post("/<int:user_id>/end-sign-ins")
@requires("user.manage")
def end_sign_ins(user_id: int) -> ResponseReturnValue:
    tokens = users.end_user_sign_ins(platform(), current_actor(), user_id)
    flash(f"已结束该用户的全部会话,撤销令牌 {tokens} 个", "ok")
    return redirect(url_for("admin_users.user_list"))
