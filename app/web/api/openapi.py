"""The OpenAPI description of /api/v1, built from the same marshmallow schemas that validate requests.

Every operation documents each status it may answer and the shape of each answer (errors are always
{code, message, details}); tests/integration/test_api_schema.py holds the running API to it.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from app.domain.case_query import CONDITIONS, MAX_LIMIT
from app.web.api import bp
from app.web.api.calls import CallEventSchema
from app.web.api.pauses import PauseDecision, PauseRequest
from app.web.api.schemas import (
    CaseCreate,
    ChannelCaseCreate,
    PortalLookup,
    Supervision,
    TaskComplete,
    TokenRequest,
)

_TYPES = {fields.String: "string", fields.Integer: "integer", fields.Dict: "object", fields.Boolean: "boolean"}
ERROR = {"$ref": "#/components/schemas/Error"}
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}  # ids are 32-bit columns
STATUS_TEXT = {"400": "请求有误(JSON 无法解析、嵌套过深等)", "401": "未登录或令牌无效", "403": "无权执行",
               "404": "不存在或无权查看", "409": "冲突(已被他人处理、状态已变)", "413": "请求内容过大",
               "422": "字段错误(details 按字段给出中文说明)", "423": "账号已锁定", "429": "请求过于频繁(Retry-After)"}
ALWAYS = ("400", "401", "403", "404", "413", "422", "429")


def _field(field: fields.Field) -> dict[str, Any]:
    if isinstance(field, fields.Nested):
        prop = _schema(field.schema)
    elif isinstance(field, fields.DateTime):
        prop = {"type": "string", "format": "date-time"}
    else:
        prop = {"type": next((t for cls, t in _TYPES.items() if isinstance(field, cls)), "string")}
    for rule in field.validators:
        if isinstance(rule, validate.Length):
            prop.update({k: v for k, v in (("minLength", rule.min), ("maxLength", rule.max)) if v is not None})
        elif isinstance(rule, validate.Range):
            prop.update({k: v for k, v in (("minimum", rule.min), ("maximum", rule.max)) if v is not None})
        elif isinstance(rule, validate.OneOf):
            prop["enum"] = list(rule.choices)
    if field.allow_none:
        prop["nullable"] = True
    return prop


def _schema(schema: Schema) -> dict[str, Any]:
    props = {name: _field(field) for name, field in schema.fields.items()}
    required = [n for n, f in schema.fields.items() if f.required]
    return {"type": "object", "properties": props, "required": required}


def _obj(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """An answer object: these keys always there, with these types; more keys may come."""
    return {"type": "object", "required": list(required), "properties": {**required, **optional}}


def _items(item: dict[str, Any], **more: Any) -> dict[str, Any]:
    return _obj({"items": {"type": "array", "items": item}, **more})



STR, INT, BOOL, OBJ = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "object"}
NS, NI = {"type": "string", "nullable": True}, {"type": "integer", "nullable": True}
LIGHT = {"type": "string", "enum": ["paused", "green", "yellow", "red"], "nullable": True}
CASE_TASK = _obj({"id": STR, "title": STR, "task": STR, "role": STR, "due_at": NS, "light": LIGHT}, unit_id=NI)
TASK_ROW = _obj({"id": STR, "case_id": INT, "title": STR, "task": STR, "due_at": NS, "light": LIGHT},
                case_due_at=NS)
CASE = _obj({"id": INT, "number": STR, "kind": STR, "channel": STR, "status": STR, "status_label": STR,
             "subject": STR, "content": STR,
             "requester": _obj({"name": STR, "phone": NS, "id_number": NS, "address": NS, "revealed": BOOL}),
             "tasks": {"type": "array", "items": CASE_TASK}, "timeline": {"type": "array", "items": OBJ},
             "light": LIGHT, "paused": BOOL, "due_at": NS, "created_at": STR, "flags": {"type": "array", "items": STR},
             "documents": {"type": "array", "items": _obj({"kind": STR, "number": STR, "issued_at": STR,
                                                          "served_at": NS, "served_by": NS})}})
PAUSE = _obj({"id": INT, "task_id": STR, "task": STR, "reason": STR, "reason_label": STR, "state": STR,
              "requested_at": STR, "started_at": NS, "ended_at": NS, "credited_days": NI, "due_before": NS,
              "due_after": NS})
ROUTING_RULE = _obj({"id": INT, "category": STR, "area_unit_id": NI, "lead_unit_id": INT,
                     "assisting_unit_ids": {"type": "array", "items": INT}, "mode": STR,
                     "directly_designated": BOOL, "valid_from": NS, "valid_to": NS, "active": BOOL, "text": STR})
KNOWLEDGE_ITEM = _obj({"id": INT, "title": STR, "answer": STR, "unit": STR, "score": {"type": "number"}},
                      category=NS, legal_basis=STR, state=STR, use_count=INT, answer_html=STR)
ISSUE = _obj({"element": STR, "message": STR, "line": NI, "column": NI})
DRY_STEP = _obj({"kind": {"type": "string", "enum": ["user", "timer"]}, "task": STR, "title": STR, "lane": STR,
                 "unit": NS, "unit_id": NI, "rule": NS, "due_at": NS, "no_due_reason": NS, "status": NS,
                 "status_label": STR, "at": STR, "answers": OBJ, "done": BOOL,
                 "timers": {"type": "array", "items": _obj({"element": STR, "fire_at": STR})}})
DUPLICATES = _obj({"candidates": {"type": "array", "items": _obj({
    "case_id": INT, "number": STR, "score": {"type": "number"}, "reasons": {"type": "array", "items": STR}})},
    "is_duplicate": BOOL}, days=INT)
# What a registration answers (POST /cases; a channel's adds its `token`).
RECEIPT = _obj({"id": INT, "number": STR, "query_code": STR, "status": STR, "status_label": STR, "due_at": NS,
                "light": LIGHT},
               guard={"type": "object", "nullable": True, "properties": {
                   "code": STR, "action": {"type": "string", "enum": ["emergency", "other_channel"]},
                   "answer": STR}}, duplicates=DUPLICATES)
RESPONSES: dict[str, dict[str, Any]] = {
    "token": _obj({"token": STR, "token_type": STR, "expires_in": INT}),
    "me": _obj({"staff_no": STR, "name": STR, "roles": {"type": "array", "items": STR}, "scope": STR}),
    "own_tokens": _items(_obj({"id": INT, "created_at": STR, "expires_at": NS, "last_used_at": NS, "ip": NS,
                               "active": BOOL, "revoked_at": NS, "revoked_reason": NS, "status": STR})),
    "signed_out": _obj({"tokens_revoked": INT}),
    "registered": RECEIPT,
    "channel_registered": {**RECEIPT, "required": [*RECEIPT["required"], "token"],
                           "properties": {**RECEIPT["properties"], "token": STR}},
    "portal_case": _obj({"number": STR, "status": STR, "status_label": STR, "subject": STR, "created_at": STR,
                         "due_at": NS, "lead_unit": NS,
                         "timeline": {"type": "array", "items": _obj({"at": STR, "what": STR})},
                         "reply": {"type": "object", "nullable": True}, "may_rate": BOOL,
                         "may_request_review": BOOL}, kind_label=STR, guard={"type": "object", "nullable": True}),
    "duplicates": DUPLICATES,
    "case": CASE,
    "case_query": _obj({"items": {"type": "array", "items": _obj({
        "id": INT, "number": STR, "created_at": STR, "kind": STR, "channel": STR, "subject": STR, "status": STR},
        category=NS, lead_unit_id=NI, lead_unit=NS, due_at=NS, replied_at=NS, closed_at=NS, satisfaction=NS,
        requester=STR, dispatch_mode=NS)}, "next": NS}, prev=NS),
    "export": _obj({"id": INT, "state": STR, "progress": INT, "rows_done": INT, "rows_total": INT, "url": NS}),
    "case_status": _obj({"case_id": INT, "status": STR}),
    "pause": PAUSE,
    "pauses": _items(PAUSE),
    "pause_reasons": _items(_obj({"code": STR, "label": STR, "max_days": INT, "needs_approval": BOOL,
                                  "steps": {"type": "array", "items": STR}, "legal_basis": STR})),
    "worklist": _obj({"items": {"type": "array", "items": TASK_ROW}, "total": INT, "page": INT, "counts": OBJ}),
    "task": _obj({"id": STR, "case_id": INT, "title": STR, "form": OBJ}),
    "completed": _obj({"case_id": INT, "status": STR, "tasks": {"type": "array", "items": STR}}),
    "call_event": _obj({"call_id": INT, "kind": STR, "duplicate": BOOL, "created": {"type": "array", "items": STR}}),
    "calls": _items(_obj({"id": INT, "linkedid": STR, "outcome": NS}), total=INT, page=INT, per_page=INT),
    "call_stats": _obj({"by": STR, "rows": {"type": "array", "items": OBJ}, "total": OBJ}),
    "monthly_report": _obj({"period": OBJ, "rates": OBJ, "counts": OBJ, "definitions": {"type": "array", "items": OBJ},
                            "as_of": STR, "balance": _obj({
                                "carried_over": INT, "new": INT, "closed": INT, "returned": INT, "terminated": INT,
                                "open_at_end": INT, "ok": BOOL})}, unit={"type": "object", "nullable": True}),
    "incidents": _items(_obj({"case_id": INT, "number": STR, "incident": STR, "since": STR})),
    "rule": _obj({"key": STR, "name": STR, "amount": INT, "unit": STR}),
    "calendar": _obj({"year": INT, "entries": INT, "repair": _obj({"cause": OBJ, "count": INT, "turning_red": INT})}),
    "local_holiday": _obj({"days": INT, "repair": OBJ}),
    "repair": _obj({"cause": OBJ, "count": INT, "turning_red": INT, "tasks": {"type": "array", "items": _obj({
        "task_id": STR, "case_id": INT, "case_number": STR, "title": STR, "task": STR, "rule": STR, "rule_name": STR,
        "unit_id": NI, "old_due_at": NS, "new_due_at": STR, "old_warn_at": NS, "new_warn_at": STR,
        "turns_red": BOOL})}}),
    "setting": _obj({"key": STR, "value": {}}),
    "dictionary": _items(_obj({"code": STR, "label": STR, "parent": NS, "active": BOOL, "sort": INT})),
    "routing_try": _obj({"unit_id": NI, "mode": {"type": "string", "enum": ["direct", "via_district"],
                                                  "nullable": True}, "rule": NS, "rule_id": NI},
                        final_unit_id=NI, final_unit_name=NS, note=STR),
    "routing_rule": ROUTING_RULE,
    "routing_rules": _items(ROUTING_RULE),
    "dictionary_entry": _obj({"kind": STR, "code": STR, "label": STR}),
    "units": _items(_obj({"id": INT, "code": STR, "name": STR, "kind": STR, "parent_id": NI, "active": BOOL})),
    "definitions": _items(_obj({"key": STR, "version": INT, "checksum": STR}, note=STR)),
    "deployed": _obj({"key": STR, "version": INT, "checksum": STR}, note=STR),
    "versions": _items(_obj({"version": INT, "deployed_at": STR, "deployed_by": STR, "note": STR, "cases": INT,
                             "cases_total": INT, "checksum": STR, "name": STR}, deployed_by_name=STR), key=STR),
    "version_files": _obj({"key": STR, "version": INT, "bpmn": STR, "forms": OBJ, "library": OBJ}),
    "imported": _obj({"key": NS, "bpmn": STR, "forms": OBJ, "library": OBJ, "dropped": {"type": "array", "items": _obj(
        {"element": STR, "part": STR, "modeler": STR})}}),
    "checked": _obj({"ok": BOOL, "key": NS, "name": NS, "errors": {"type": "array", "items": ISSUE},
                     "warnings": {"type": "array", "items": ISSUE}, "taken": {"type": "array", "items": STR}}),
    "dry_run": _obj({"key": NS, "steps": {"type": "array", "items": DRY_STEP}, "path": {"type": "array", "items": STR},
                     "errors": {"type": "array", "items": _obj({"element": STR, "message": STR}, fields=OBJ)},
                     "taken": {"type": "array", "items": STR},
                     "stopped_at": _obj({"reason": {"type": "string", "enum": [
                         "end", "message", "timer", "waiting", "error", "max_steps", "stop_at", "invalid"]},
                         "elements": {"type": "array", "items": STR}, "label": STR})}),
    "script_checked": _obj({"ok": BOOL, "errors": {"type": "array", "items": _obj({"line": NI, "column": NI,
                                                                                  "message": STR})}}),
    "timer_preview": _obj({"words": STR, "at": NS, "expression": STR}),
    "choices": _obj({"roles": {"type": "array", "items": _obj({"code": STR, "label": STR})},
                     "rules": {"type": "array", "items": _obj({"key": STR, "name": STR, "limit": STR,
                                                               "counted_from": STR, "legal_basis": STR, "text": STR})},
                     "statuses": {"type": "array", "items": _obj({"code": STR, "label": STR})},
                     "messages": {"type": "array", "items": _obj({"name": STR, "label": STR, "variable": STR})},
                     "unit_variables": {"type": "array", "items": STR},
                     "start_variables": {"type": "array", "items": STR},
                     "forms": {"type": "array", "items": _obj({"name": STR, "title": STR})}}),
    "definition_diff": _obj({"key": STR, "from": INT, "to": INT, "added": {"type": "array", "items": STR},
                             "removed": {"type": "array", "items": STR}, "changed": {"type": "array", "items": STR},
                             "changes": OBJ}),
    "migration_groups": _obj({"key": STR, "to": INT, "groups": {"type": "array", "items": _obj({
        "from_version": INT, "standing": {"type": "array", "items": STR}, "titles": {"type": "array", "items": STR},
        "can_migrate": BOOL, "reason": STR, "case_ids": {"type": "array", "items": INT}, "count": INT})}}),
    "migrated": _obj({"key": STR, "to": INT, "items": {"type": "array", "items": _obj(
        {"case_id": INT, "migrated": BOOL, "reason": STR}, migration_id=INT, status=STR)}}),
    "migration_undone": _obj({"case_id": INT, "version": INT, "status": STR, "undone": BOOL}),
    "draft": _obj({"key": STR, "bpmn": STR, "forms": OBJ, "updated_at": STR}),
    "messages": _items(_obj({"id": INT, "status": STR, "phone": STR})),
    "audit_events": _obj({"items": {"type": "array", "items": _obj({
        "id": INT, "at": STR, "actor": STR, "action": STR, "case_id": NI, "case_number": NS, "detail": OBJ, "ip": NS})},
        "next_before_id": NI}),
    "served": _obj({"kind": STR, "number": STR, "issued_at": STR, "served_at": STR, "served_by": STR}),
    "supervision": _obj({"month": STR, "flags": OBJ, "units": {"type": "array", "items": _obj({
        "unit_id": INT, "unit": STR, "counts": OBJ, "total": INT})}}),
    "knowledge": _items(KNOWLEDGE_ITEM),
    "knowledge_entry": _obj({"id": INT, "title": STR, "questions": {"type": "array", "items": STR}, "answer": STR,
                             "unit": STR, "state": STR, "state_label": STR, "use_count": INT},
                            answer_html=STR, attachments={"type": "array", "items": OBJ}),
    "knowledge_feedback": _obj({"id": INT, "entry": INT}),
    "sheet_imported": _obj({"rows": INT, "added": INT, "changed": INT, "unchanged": INT}),
    "users_imported": _obj({"rows": INT, "changed": INT, "unchanged": INT, "created": {
        "type": "array", "items": _obj({"staff_no": STR, "one_time_password": STR})}}),
    "audit_verified": _obj({"intact": BOOL, "checked": INT, "problems": {"type": "array", "items": STR}}),
}


def _param(name: str, where: str, schema: dict[str, Any], description: str = "",
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            **({"description": description} if description else {})}


def _query(*names: str, **typed: dict[str, Any]) -> list[dict[str, Any]]:
    return [_param(n, "query", STR) for n in names] + [_param(n, "query", s) for n, s in typed.items()]


def _op(summary: str, answer: str, *, body: dict[str, Any] | None = None, ok: str = "200",
        params: list[dict[str, Any]] | None = None, errors: tuple[str, ...] = (), also_ok: tuple[str, ...] = (),
        **extra: Any) -> dict[str, Any]:
    """One operation: its success answer, every error status it may give (with the Error shape)."""
    json_of = {"application/json": {"schema": RESPONSES[answer]}} if answer else extra.pop("responses_content", None)
    responses: dict[str, Any] = {status: {"description": "成功", **({"content": json_of} if json_of else {})}
                                 for status in (ok, *also_ok)}
    for status in sorted({*ALWAYS, *errors}):
        responses[status] = {"description": STATUS_TEXT[status], "content": {"application/json": {"schema": ERROR}}}
    # Rate-limited answers say how many seconds to wait (docs/security.md).
    responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, "content": body}
    if params:
        op["parameters"] = params
    op.update(extra)
    return op


def _file_op(summary: str, mimetype: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    """An operation answering a file (BPMN, zip) rather than JSON."""
    op = _op(summary, "", params=params)
    op["responses"]["200"]["content"] = {mimetype: {"schema": {"type": "string", "format": "binary"}}}
    return op


def _json(schema: dict[str, Any] | Schema) -> dict[str, Any]:
    return {"application/json": {"schema": _schema(schema) if isinstance(schema, Schema) else schema}}


def _paths() -> dict[str, Any]:
    idem = _param("Idempotency-Key", "header", {"type": "string", "maxLength": 128},
                  "重试时使用同一个键,不会重复登记")
    case_id = [_param("id", "path", ID)]
    rule_body = _obj({}, name=STR, amount=INT, unit=STR, count_start_day=BOOL, roll_forward=BOOL, max_extension=NI,
                     legal_basis=STR)
    day = _obj({"day": {"type": "string", "format": "date"}, "is_workday": BOOL}, note=STR)
    calendar_body = _obj({"entries": {"type": "array", "items": day}}, source=STR)
    cause = _obj({"kind": {"type": "string", "enum": ["calendar_year", "calendar_day", "rule", "local_holiday"]}},
                 year=INT, day={"type": "string", "format": "date"}, rule=STR,
                 region=INT, until={"type": "string", "format": "date"})
    local_body = _json(_obj({"region": ID, "first": {"type": "string", "format": "date"}},
                            last={"type": "string", "format": "date"},
                            note={"type": "string", "nullable": True, "maxLength": 40}))
    repair_body = _json(_obj({"cause": cause}))
    binary = {"type": "string", "format": "binary"}
    files = {"forms": {"type": "array", "items": binary}, "library": {"type": "array", "items": binary}}
    upload = {"multipart/form-data": {"schema": _obj({"file": binary}, note={"type": "string", "maxLength": 500},
                                                     **files)}}
    draft_upload = {"multipart/form-data": {"schema": _obj({"file": binary}, **files)}}
    dry_upload = {"multipart/form-data": {"schema": _obj(
        {"file": binary}, **files,
        answers={"type": "string", "description": "JSON:任务编号 → 表单答案(或按次序的列表)"},
        start={"type": "string", "description": "JSON:启动变量(kind、channel…)"},
        fire_timers={"type": "string", "enum": ["0", "1"]}, stop_at=STR)}}
    key = _param("key", "path", STR)
    version = [key, _param("version", "path", {"type": "integer", "minimum": 1, "maximum": 10**6})]
    to = _param("to", "query", {"type": "integer", "minimum": 1, "maximum": 10**6}, "目标版本", required=True)
    dates: dict[str, dict[str, Any]] = {
        "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
        "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1, "maximum": 200}}
    call_filter = _query("linkedid", "outcome", "queue", "agent", **dates)
    audit_filter = _query("actor", "case_id", "action", since={"type": "string", "format": "date"},
                          until={"type": "string", "format": "date"}, before_id=ID,
                          limit={"type": "integer", "minimum": 1, "maximum": 200})
    sheet_upload = {"multipart/form-data": {"schema": _obj({"file": binary})}}
    export_params = [_param("format", "query", {"type": "string", "enum": ["csv", "xlsx"]}, "缺省 csv")]
    sheet_answer = {"text/csv": {"schema": binary},
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": binary}}
    return {
        "/api/v1/auth/token": {"post": _op("以工号和密码换取令牌(按地址、按工号限流,429 + Retry-After)", "token",
                                           body=_json(TokenRequest()), ok="201", errors=("423",), security=[])},
        "/api/v1/me": {"get": _op("当前令牌代表的用户", "me")},
        "/api/v1/portal/lookup": {"post": _op(
            "公众查询(无需令牌):受理号 + 查询码 → 状态与公开的办理过程;受理号不存在与查询码错误同为 404",
            "portal_case", body=_json(PortalLookup()), security=[])},
        "/api/v1/me/tokens": {"get": _op("本人的令牌(含已失效的,从不含令牌本身),新的在前", "own_tokens")},
        "/api/v1/me/tokens/{id}": {"delete": _op("撤销本人的一个令牌(他人的令牌答 404)", "", ok="204",
                                                 params=[_param("id", "path", ID)])},
        "/api/v1/me/sign-out-everywhere": {"post": _op("退出所有设备:结束本人全部会话、撤销全部令牌(含本令牌)",
                                                       "signed_out")},
        "/api/v1/cases": {"post": _op("登记诉求件", "registered", body=_json(CaseCreate()), ok="201",
                                      params=[idem], errors=("409",)),
                          "get": _op("组合查询(本人可见范围内):各查询条件为查询参数,sort 排序(前加 - 为倒序),"
                                     "after/before 为键集翻页位置;未知的条件或排序字段答 422", "case_query",
                                     params=[*_query(*CONDITIONS), *_query("sort", "after", "before"),
                                             _param("limit", "query", {"type": "integer", "minimum": 1,
                                                                       "maximum": MAX_LIMIT})])},
        "/api/v1/exports": {"post": _op(
            "导出组合查询结果:query 为查询参数对象,format 为 csv 或 xlsx,reveal 为 true 时在有权查看处显示完整个人信息;"
            "超过后台阈值的在后台生成(轮询 GET /api/v1/exports/{id} 的 progress)", "export", ok="201",
            body=_json(_obj({"query": OBJ, "format": {"type": "string", "enum": ["csv", "xlsx"]}}, reveal=BOOL)))},
        "/api/v1/exports/{id}": {"get": _op("导出进度:progress 0–100,完成后 url 为下载地址(仅导出人可见)", "export",
                                            params=[_param("id", "path", ID)])},
        "/api/v1/exports/{id}/file": {"get": _file_op("下载导出文件(仅导出人)", "application/octet-stream",
                                                      [_param("id", "path", ID)])},
        "/api/v1/channel/cases": {"post": _op(
            "渠道接入登记诉求件(微信小程序、APP、市长信箱、网站等):以系统管理员发放的渠道密钥(请求头 X-Channel-Key)"
            "代替令牌;来源渠道由密钥确定,请求体中的 channel 可省略,写了别的渠道答 422;吊销的密钥下一次请求即答 403;"
            "按地址、按密钥限流(429 + Retry-After);校验、Idempotency-Key 与 POST /api/v1/cases 相同",
            "channel_registered",
            body=_json(ChannelCaseCreate()), ok="201", security=[], params=[
                _param("X-Channel-Key", "header", {"type": "string", "minLength": 1, "maxLength": 200},
                       "渠道密钥(flask --app wsgi channels create 生成)", required=True), idem],
            errors=("409",))},
        "/api/v1/duplicates": {"post": _op(
            "判重:草稿的疑似重复件(同一诉求人,或同一地点同一问题),按得分排序并附理由;只列调用者可见的诉求件",
            "duplicates", body=_json(_obj({"content": STR}, subject=STR, location=STR, category=STR,
                                          requester=_obj({}, phone=STR, id_number=STR)))),
        },
        "/api/v1/cases/{id}": {"get": _op("诉求件详情:状态、灯、到期时间、当前任务、时间线", "case", params=[
            *case_id, _param("reveal", "query", {"type": "string", "enum": ["0", "1"]}, "1 = 显示完整信息")])},
        "/api/v1/cases/{id}/supervise": {"post": _op("督办", "case_status", body=_json(Supervision()),
                                                     params=case_id, errors=("409",))},
        "/api/v1/cases/{id}/pauses": {"get": _op("诉求件的暂停计时记录", "pauses", params=case_id)},
        "/api/v1/pause-reasons": {"get": _op("暂停计时的原因及其规则(最长工作日、是否需领导审批、适用步骤、依据)",
                                             "pause_reasons")},
        "/api/v1/tasks/{id}/pause": {"post": _op("申请暂停计时(不需审批的原因立即暂停)", "pause", ok="201",
                                                 body=_json(PauseRequest()), params=[_param("id", "path", STR)],
                                                 errors=("409",))},
        "/api/v1/pauses/{id}/approve": {"post": _op("领导批准暂停(申请人本人不能审批)", "pause",
                                                    body=_json(PauseDecision()), params=[_param("id", "path", ID)],
                                                    errors=("409",))},
        "/api/v1/pauses/{id}/refuse": {"post": _op("领导不批准暂停", "pause", body=_json(PauseDecision()),
                                                   params=[_param("id", "path", ID)], errors=("409",))},
        "/api/v1/pauses/{id}/resume": {"post": _op("恢复计时:到期时间顺延暂停的工作日(不超过该原因的上限)", "pause",
                                                   params=[_param("id", "path", ID)], errors=("409",))},
        "/api/v1/tasks": {"get": _op("我的待办(筛选 light、kind、task)", "worklist", params=_query(
            "kind", "task", light={"type": "string", "enum": ["paused", "green", "yellow", "red"]},
            page={"type": "integer", "minimum": 1}))},
        "/api/v1/tasks/{id}": {"get": _op("任务及其表单(JSON Schema)", "task", params=[_param("id", "path", STR)])},
        "/api/v1/tasks/{id}/complete": {"post": _op("办理任务(409 = 已被他人处理)", "completed",
                                                    body=_json(TaskComplete()), params=[_param("id", "path", STR)],
                                                    errors=("409",))},
        "/api/v1/calls/events": {"post": _op("电话网关上报通话结果(scope calls 令牌;重复上报答 200)", "call_event",
                                             body=_json(CallEventSchema()), ok="201", also_ok=("200",))},
        "/api/v1/calls": {"get": _op("通话记录(筛选 linkedid、outcome、from、to、queue、agent)", "calls",
                                     params=call_filter)},
        "/api/v1/calls/stats": {"get": _op("通话统计(by=day|queue|agent):接通率、15秒接通率、平均等待、平均通话",
                                           "call_stats", params=[*call_filter, _param(
                                               "by", "query", {"type": "string", "enum": ["day", "queue", "agent"]})])},
        "/api/v1/reports/monthly": {"get": _op(
            "月报(领导、派单员):及时受理率、按期办结率、重复信访、参评率、满意率、响应率、解决率、综合得分与平衡校验",
            "monthly_report", errors=("404",), params=[
                _param("month", "query", {"type": "string", "pattern": r"^\d{4}-\d{2}$"}, "月份 YYYY-MM", True),
                _param("unit", "query", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "单位(含下级)")])},
        "/api/v1/incidents": {"get": _op("异常件列表(系统管理员)", "incidents")},
        "/api/v1/incidents/{case_id}/retry": {"post": _op("重试异常件(系统管理员)", "case_status",
                                                          params=[_param("case_id", "path", ID)],
                                                          errors=("409",))},
        "/api/v1/deadline-rules/{key}": {"patch": _op("修改时限规则(系统管理员)", "rule", body=_json(rule_body),
                                                      params=[_param("key", "path", STR)])},
        "/api/v1/calendar/{year}": {"put": _op("录入并确认某年工作日历(系统管理员)", "calendar",
                                               body=_json(calendar_body), params=[_param("year", "path", {
                                                   "type": "integer", "minimum": 1900, "maximum": 2200})])},
        "/api/v1/calendar/local/preview": {"post": _op(
            "预览地方节假日(区县或街道,note 为 null 表示取消)会让该地区单位的哪些待办期限改变,不写入(系统管理员)",
            "repair", body=local_body)},
        "/api/v1/calendar/local": {"post": _op(
            "设置或取消某区县/街道的地方节假日(只计入该地区及下级单位承办事项的期限),并同时执行时限修复(系统管理员)",
            "local_holiday", body=local_body)},
        "/api/v1/deadline-repair/preview": {"post": _op(
            "预览时限修复:规则或日历变更后,哪些未办结任务的到期时间会变(旧→新、将变红灯),不写入(系统管理员)",
            "repair", body=repair_body)},
        "/api/v1/deadline-repair/apply": {"post": _op(
            "执行时限修复:按当前规则与日历重算这些任务的到期与预警时间,逐条审计并记录原因(系统管理员)",
            "repair", body=repair_body)},
        "/api/v1/settings/{key}": {"put": _op("修改参数配置,立即生效(系统管理员)", "setting",
                                              body=_json(_obj({"value": {}})), params=[_param("key", "path", STR)])},
        "/api/v1/units": {"get": _op("组织机构树(id、name、parent_id、kind;active=1 只要启用的)", "units",
                                     params=_query(active={"type": "string", "enum": ["0", "1", "true", "false"]}))},
        "/api/v1/dictionary/{kind}": {"get": _op("数据字典一类的编码与名称(kind、channel、case_status…)", "dictionary",
                                                 params=[_param("kind", "path", STR)])},
        "/api/v1/dictionary/{kind}/{code}": {"patch": _op(
            "修改数据字典条目的名称,立即生效(系统管理员)", "dictionary_entry",
            body=_json(_obj({"label": {"type": "string", "minLength": 1, "maxLength": 100}})),
            params=[_param("kind", "path", STR), _param("code", "path", STR)])},
        "/api/v1/routing/try": {"post": _op(
            "试派:事项分类 category(编码)+ 区域 area(区县/街道单位编号,可空)命中的派单目录规则;经区县转派时 unit_id"
            " 为所在区县,final_unit_id 为规则的承办单位", "routing_try",
            body=_json(_obj({"category": STR}, area=NI)))},
        "/api/v1/routing/rules": {
            "get": _op("派单目录(含各规则被改派次数)", "routing_rules"),
            "post": _op("新增派单目录规则(系统管理员)", "routing_rule", ok="201", body=_json(_obj(
                {"category": STR, "lead_unit_id": ID}, area_unit_id=NI, assisting_unit_ids={
                    "type": "array", "items": ID}, mode={"type": "string", "enum": ["direct", "via_district"]},
                directly_designated=BOOL, valid_from={"type": "string", "format": "date", "nullable": True},
                valid_to={"type": "string", "format": "date", "nullable": True})))},
        "/api/v1/definitions": {"get": _op("流程定义版本", "definitions"),
                                "post": _op("部署流程定义(multipart: file = .bpmn 或 zip, forms, library, "
                                            "note 变更说明;未给出的表单、子流程取自同一流程的最新版本)", "deployed",
                                            body=upload,
                                            ok="201")},
        "/api/v1/definitions/{key}/versions": {"get": _op(
            "某流程的各版本(新的在前):部署人、时间、变更说明、运行中的诉求件数 cases", "versions", params=[key])},
        "/api/v1/definitions/{key}/versions/{version}": {"get": _op(
            "某版本的 BPMN、表单、子流程文件(供建模器打开)", "version_files", params=version)},
        "/api/v1/definitions/{key}/versions/{version}/bpmn": {"get": _file_op(
            "某版本的 BPMN 文件", "application/xml", version)},
        "/api/v1/definitions/{key}/versions/{version}/zip": {"get": _file_op(
            "某版本的 BPMN、表单、子流程打包下载(zip,可原样上传部署)", "application/zip", version)},
        "/api/v1/definitions/import": {"post": _op(
            "导入 .bpmn 或 zip(含其他建模工具所建):去掉并列出外来扩展,无法执行的拒绝并说明原因;不部署", "imported",
            body=draft_upload)},
        "/api/v1/definitions/check": {"post": _op(
            "草稿的完整部署检查(不部署):每个错误、警告的元素、中文说明,脚本给出行列", "checked", body=draft_upload)},
        "/api/v1/definitions/dry-run": {"post": _op(
            "试运行草稿(内存中运行,不建件、不写库):各步骤的泳道、单位、按工作日历的到期时间、状态,停在何处",
            "dry_run", body=dry_upload)},
        "/api/v1/definitions/choices": {"get": _op(
            "建模器属性面板的选项:泳道角色、时限规则(含说明与依据)、状态编码与名称、平台发送的消息、单位变量、表单",
            "choices", params=_query("key"))},
        "/api/v1/definitions/check-script": {"post": _op(
            "受限 Python 脚本(exec)或条件表达式(eval)的编译检查,错误给出行列", "script_checked",
            body=_json(_obj({"source": STR}, mode={"type": "string", "enum": ["exec", "eval"]})))},
        "/api/v1/definitions/timer-preview": {"post": _op(
            "定时器的值(ISO 8601 时长、日期时间、循环)用白话说明,及现在开始等待时的触发时间", "timer_preview",
            body=_json(_obj({"kind": {"type": "string", "enum": ["duration", "date", "cycle"]},
                             "value": {"type": "string", "minLength": 1, "maxLength": 200}})))},
        "/api/v1/definitions/{key}/diff": {"get": _op(
            "两个版本的差异:新增、删除、改变的元素(改变的属性:form、rule、role、name、conditions…)", "definition_diff",
            params=[key, _param("from", "query", {"type": "integer", "minimum": 1, "maximum": 10**6}, required=True),
                    _param("to", "query", {"type": "integer", "minimum": 1, "maximum": 10**6}, required=True)])},
        "/api/v1/definitions/{key}/migrations": {
            "get": _op("较早版本上运行中的诉求件,按版本和所处步骤分组:能否迁移到目标版本及原因", "migration_groups",
                       params=[key, to]),
            "post": _op("把诉求件迁移到目标版本(逐件、各自事务、行锁;不能迁移的说明原因)", "migrated",
                        params=[key, to], body=_json(_obj({"case_ids": {"type": "array", "items": ID,
                                                                        "minItems": 1, "maxItems": 500}})))},
        "/api/v1/definitions/migrations/{id}/undo": {"post": _op(
            "撤销一次迁移(迁移后尚无办理时),诉求件回到原版本和原状态", "migration_undone",
            params=[_param("id", "path", ID)], errors=("409",))},
        "/api/v1/definitions/{key}/draft": {
            "get": _op("本人的草稿(未部署)", "draft", params=[key]),
            "put": _op("保存本人的草稿(自动保存;不部署)", "draft", params=[key],
                       body=_json(_obj({"bpmn": STR}, forms=OBJ))),
            "delete": _op("放弃本人的草稿", "", ok="204", params=[key])},
        "/api/v1/messages": {"get": _op("短信记录(系统管理员;status 筛选,before_id 翻页)", "messages", params=_query(
            status={"type": "string", "enum": ["pending", "sent", "failed"]}, before_id=ID))},
        "/api/v1/cases/{id}/documents/{kind}/served": {"post": _op(
            "登记告知书、意见书的送达(method: sms|post|in_person|portal;served_at 缺省为现在)", "served",
            body=_json(_obj({"method": {"type": "string", "enum": ["sms", "post", "in_person", "portal"]}},
                            served_at=NS)),
            params=[*case_id, _param("kind", "path", {"type": "string", "enum": [
                "acceptance-notice", "rejection-notice", "extension-notice", "handling-opinion", "review-opinion",
                "re-review-opinion"]})], errors=("409",))},
        "/api/v1/supervision": {"get": _op("电子监察:各单位当月各类预警数(领导;month=YYYY-MM,缺省为本月)",
                                           "supervision", params=_query(month={"type": "string",
                                                                               "pattern": "^[0-9]{4}-[0-9]{2}$"}))},
        "/api/v1/audit": {"get": _op("审计日志(审计员;新的在前,before_id 翻页)", "audit_events", params=audit_filter)},
        "/api/v1/audit-events": {"get": _op("同 /api/v1/audit(旧路径,保留)", "audit_events", params=audit_filter)},
        "/api/v1/dictionary/import": {"post": _op(
            "导入数据字典(系统管理员;CSV/XLSX,表头 kind,code,label,parent,sort,active):先逐行检查,任何一行有误答 422"
            "(details 按「row 行号 列」给出)且不写入;否则一次全部导入。按类别+编码更新,再次导入不重复,从不删除",
            "sheet_imported", body=sheet_upload)},
        "/api/v1/dictionary/export": {"get": _op(
            "导出数据字典(系统管理员;kind 缺省为全部;format=csv|xlsx),可原样再导入", "", params=export_params + [
                _param("kind", "query", STR)], responses_content=sheet_answer)},
        "/api/v1/units/import": {"post": _op(
            "批量导入组织机构(系统管理员;CSV/XLSX:编码,名称,类型,上级编码):全部检查后一次写入,已有编码的单位按文件更新",
            "sheet_imported", body=sheet_upload)},
        "/api/v1/units/export": {"get": _op("导出组织机构(系统管理员;format=csv|xlsx)", "", params=export_params,
                                            responses_content=sheet_answer)},
        "/api/v1/users/import": {"post": _op(
            "批量导入用户(安全管理员;CSV/XLSX:工号,姓名,单位编码,角色 以 | 分隔):全部检查(含三权分立)后一次写入;"
            "新工号的一次性密码只在此答复中出现一次,已有工号按文件更新并保留密码", "users_imported",
            body=sheet_upload)},
        "/api/v1/users/export": {"get": _op("导出用户清单(安全管理员;不含密码;format=csv|xlsx)", "",
                                            params=export_params, responses_content=sheet_answer)},
        "/api/v1/knowledge": {"get": _op(
            "检索知识库(分词、同义词、繁简;按匹配度、分类与新鲜度排序;category、unit、area 筛选)", "knowledge",
            params=[_param("q", "query", {"type": "string", "maxLength": 2000}, "检索词", required=True),
                    *_query("category", unit=ID, area=ID, limit={"type": "integer", "minimum": 1, "maximum": 50})])},
        "/api/v1/knowledge/suggest": {"post": _op(
            "为正在登记的诉求推荐知识条目(只含已发布且在有效期内的)", "knowledge",
            body=_json(_obj({"content": {"type": "string", "maxLength": 20000}}, category=STR, area=NI)))},
        "/api/v1/knowledge/{id}": {"get": _op("知识条目(稳定编号)", "knowledge_entry",
                                              params=[_param("id", "path", ID)])},
        "/api/v1/knowledge/{id}/feedback": {"post": _op(
            "答复不准确:反馈给条目的所属单位", "knowledge_feedback", ok="201",
            body=_json(_obj({"note": {"type": "string", "minLength": 1, "maxLength": 1000}})),
            params=[_param("id", "path", ID)])},
        "/api/v1/audit-events/verify": {"post": _op("校验审计链(审计员;可带已记录的链头 head = 记录号:校验码)",
                                                    "audit_verified", body=_json(_obj({}, head=NS)))},
    }


def spec() -> dict[str, Any]:
    error = _obj({"code": STR, "message": STR}, details=OBJ)
    return {
        "openapi": "3.0.3",
        "info": {"title": "回音 Huiyin API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Error": error}},
        "security": [{"bearer": []}],
        "paths": _paths(),
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(spec())
