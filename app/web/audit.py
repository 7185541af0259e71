"""The auditor's pages (审计员): the audit log read-only, filtered, paged, and the chain verified on request."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import audit
from app.services.workstation.case_page import ACTION_LABELS as CASE_ACTION_LABELS
from app.services.workstation.display import format_time
from app.web.context import current_actor, platform

bp = Blueprint("audit", __name__, url_prefix="/audit")

ACTION_LABELS = {
    **CASE_ACTION_LABELS,
    "login.ok": "登录成功", "login.failed": "登录失败", "login.locked": "账号锁定",
    "login.refused_locked": "锁定期间登录",
    "logout": "退出", "session.expired": "会话过期", "password.changed": "修改密码", "token.issued": "签发令牌",
    "token.created": "创建机器令牌", "token.revoked": "吊销令牌", "permission.changed": "角色变更",
    "user.created": "创建用户", "definition.deployed": "部署流程定义", "deadline_rule.changed": "修改时限规则",
    "calendar.confirmed": "确认工作日历", "setting.changed": "修改参数配置", "document.issued": "出具文书",
    "calendar.local_holiday": "修改地方节假日", "deadline.repair_applied": "修复期限", "deadline.repaired": "期限调整",
    "document.downloaded": "下载文书", "call.case_linked": "来电关联诉求件", "call.recording_played": "播放录音",
    "call.recording_refused": "拒绝播放录音(路径越界)",
    "callback.attempted": "回呼", "deadline.calendar_missing": "日历缺失", "seed.demo": "初始化演示数据",
    "audit.verified": "校验审计链",
}


def _filters() -> dict[str, str]:
    return {k: request.args.get(k, "") for k in ("actor", "case", "action", "since", "until")}


def _render(verified: dict[str, Any] | None = None, head: str = "", status: int = 200) -> ResponseReturnValue:
    actor = current_actor()
    raw = _filters()
    try:
        found = audit.parse_filter({**raw, "before_id": request.args.get("before_id")})
        error: dict[str, str] = {}
    except Invalid as e:
        found, error, status = audit.EventFilter(), e.details, 422
    page = audit.list_events(platform(), actor, found)
    for item in page["items"]:
        item["when"] = format_time(item["at"])
        item["label"] = ACTION_LABELS.get(item["action"], item["action"])
        item["detail_text"] = json.dumps(item["detail"], ensure_ascii=False, sort_keys=True) if item["detail"] else ""
    codes = audit.actions(platform(), actor)
    return render_template("audit/log.html", page=page, filters=raw, error=error, verified=verified, head=head,
                           actions=[(c, ACTION_LABELS.get(c, c)) for c in codes]), status


@bp.get("")
def log() -> ResponseReturnValue:
    return _render()


@bp.post("/verify")
def verify() -> ResponseReturnValue:
    """校验审计链: every row's HMAC and link, and optionally a head recorded earlier."""
    head_text = request.form.get("head", "")
    try:
        head = audit.parse_head(head_text)
    except Invalid as e:
        return _render({"intact": False, "checked": 0, "problems": [e.details["head"]], "refused": True},
                       head_text, 422)
    return _render(audit.verify_for(platform(), current_actor(), head), head_text)
