"""Sign-in, sign-out and password change pages; the user's own tokens and "sign out everywhere"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from app.errors import Invalid, Locked
from app.services import auth, sign_ins
from app.web.context import client_ip, current_actor, local_path, platform

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    error = None
    staff_no = ""
    if request.method == "POST":
        staff_no = request.form.get("staff_no", "").strip()
        password = request.form.get("password", "")
        if not staff_no or not password:
            error = "请输入工号和密码"
        else:
            try:
                token, actor = auth.sign_in(platform(), staff_no, password, client_ip())
            except (Invalid, Locked) as e:
                error = e.message
            else:
                session.clear()  # a fresh cookie: nothing from before sign-in carries over
                session["sid"] = token
                if actor.must_change_password:
                    return redirect(url_for("auth.change_password"))
                return redirect(local_path(request.args.get("next"), url_for("pages.home")))
    status = 200 if error is None else 401
    return render_template("login.html", error=error, staff_no=staff_no), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    auth.sign_out(platform(), current_actor())
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    actor = current_actor()
    errors: dict[str, object] = {}
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            errors = {"confirm_password": "两次输入的新密码不一致"}
        else:
            try:
                auth.change_password(platform(), actor, request.form.get("old_password", ""), new)
            except Invalid as e:
                errors = e.details or {"new_password": e.message}
            else:
                return redirect(url_for("pages.home"))
    forced = actor.must_change_password
    tokens = [] if forced else sign_ins.list_own_tokens(platform(), actor)
    return render_template("password.html", errors=errors, forced=forced, tokens=tokens,
                           now=platform().clock.now()), 422 if errors else 200


@bp.post("/password/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> ResponseReturnValue:
    sign_ins.revoke_own_token(platform(), current_actor(), token_id)
    flash("令牌已撤销。", "ok")
    return redirect(url_for("auth.change_password"))


@bp.post("/password/sign-out-everywhere")
def sign_out_everywhere() -> ResponseReturnValue:
    """End every session and token of the user, this browser's session included."""
    sign_ins.sign_out_everywhere(platform(), current_actor())
    session.clear()
    return redirect(url_for("auth.login"))
