"""知识库 over the API: search (`GET /knowledge?q=`), suggestions for a draft case (`POST /knowledge/suggest`),
one entry by its stable id, and 答复不准确."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import knowledge_desk
from app.services.workstation import knowledge_pages
from app.web.api import bp
from app.web.api.schemas import json_object
from app.web.context import current_actor, platform


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return None
    if not (value.isdecimal() and value.isascii() and len(value) < 10):
        raise Invalid(f"{name} 应为整数", {name: "应为整数"})
    return int(value)


@bp.get("/knowledge")
def knowledge_search() -> ResponseReturnValue:
    """`q` the words; `category`, `unit`, `area` narrow; `limit` (≤ 50). Items: id, title, answer, unit, score."""
    return jsonify(knowledge_desk.search_entries(
        platform(), current_actor(), request.args.get("q", ""), category=request.args.get("category", "")[:80],
        unit=_int_arg("unit"), area=_int_arg("area"), limit=_int_arg("limit") or 10))


@bp.post("/knowledge/suggest")
def knowledge_suggest() -> ResponseReturnValue:
    """`content` of a draft case (and optionally its `category`, `area`) → the published entries ranked."""
    body = json_object()
    content, category, area = body.get("content", ""), body.get("category") or "", body.get("area")
    if not isinstance(content, str) or not isinstance(category, str):
        raise Invalid("content 与 category 应为文本", {"content": "应为文本"})
    if area is not None and (isinstance(area, bool) or not isinstance(area, int)):
        raise Invalid("area 应为单位编号", {"area": "应为整数"})
    return jsonify(knowledge_desk.suggest(platform(), current_actor(), content, category=category, area=area))


@bp.get("/knowledge/<int:entry_id>")
def knowledge_get(entry_id: int) -> ResponseReturnValue:
    return jsonify(knowledge_pages.entry_page(platform(), current_actor(), entry_id))


@bp.post("/knowledge/<int:entry_id>/feedback")
def knowledge_feedback(entry_id: int) -> ResponseReturnValue:
    body = json_object()
    return jsonify(knowledge_desk.report_inaccurate(platform(), current_actor(), entry_id,
                                                    str(body.get("note", "")))), 201
