"""The workstation's one blueprint (named `pages`, as its URLs have always been) and the words its
pages share."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)

CONFLICT_MESSAGE = "该任务已被他人处理，页面已刷新为最新状态，请查看后再操作。"
NOT_SUPERVISABLE = "该诉求件当前不在办理阶段，不能督办。"
