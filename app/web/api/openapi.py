"""The OpenAPI description of /api/v1, built from the same marshmallow schemas that validate requests."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from app.web.api import bp
from app.web.api.schemas import CaseCreate, Supervision, TaskComplete, TokenRequest

_TYPES = {fields.String: "string", fields.Integer: "integer", fields.Dict: "object", fields.Boolean: "boolean"}


def _schema(schema: Schema) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, field in schema.fields.items():
        if isinstance(field, fields.Nested):
            props[name] = _schema(field.schema)
        else:
            props[name] = {"type": next((t for cls, t in _TYPES.items() if isinstance(field, cls)), "string")}
    required = [n for n, f in schema.fields.items() if f.required]
    return {"type": "object", "properties": props, "required": required}


def _op(summary: str, body: Schema | None = None, ok: str = "200", **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok: {"description": "成功"},
                                                            "401": {"description": "未登录或令牌无效"},
                                                            "404": {"description": "不存在或无权查看"},
                                                            "422": {"description": "字段错误(details)"}}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _schema(body)}}}
    op.update(extra)
    return op


def spec() -> dict[str, Any]:
    idem = [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"},
             "description": "重试时使用同一个键,不会重复登记"}]
    return {
        "openapi": "3.0.3",
        "info": {"title": "回音 Huiyin API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/auth/token": {"post": _op("以工号和密码换取令牌", TokenRequest(), "201", security=[])},
            "/api/v1/cases": {"post": _op("登记诉求件", CaseCreate(), "201", parameters=idem)},
            "/api/v1/cases/{id}": {"get": _op("诉求件详情:状态、灯、到期时间、当前任务、时间线")},
            "/api/v1/cases/{id}/supervise": {"post": _op("督办", Supervision())},
            "/api/v1/tasks": {"get": _op("我的待办(筛选 light、kind、task)")},
            "/api/v1/tasks/{id}": {"get": _op("任务及其表单(JSON Schema)")},
            "/api/v1/tasks/{id}/complete": {"post": _op("办理任务", TaskComplete(),
                                                        **{"x-conflict": "409 已被他人处理"})},
            "/api/v1/calls/events": {"post": _op("电话网关上报通话结果(scope calls 令牌)", None, "201")},
            "/api/v1/calls": {"get": _op("通话记录(筛选 linkedid、outcome、from、to、queue、agent)")},
            "/api/v1/calls/stats": {"get": _op("通话统计(by=day|queue|agent):接通率、15秒接通率、平均等待、平均通话")},
            "/api/v1/incidents": {"get": _op("异常件列表(系统管理员)")},
            "/api/v1/incidents/{case_id}/retry": {"post": _op("重试异常件(系统管理员)")},
            "/api/v1/deadline-rules/{key}": {"patch": _op("修改时限规则(系统管理员)")},
            "/api/v1/calendar/{year}": {"put": _op("录入并确认某年工作日历(系统管理员)")},
            "/api/v1/settings/{key}": {"put": _op("修改参数配置,立即生效(系统管理员)")},
            "/api/v1/audit-events": {"get": _op("审计日志(审计员;筛选 actor、case_id、action、since、until)")},
            "/api/v1/audit-events/verify": {"post": _op("校验审计链(审计员;可带已记录的链头 head)")},
            "/api/v1/definitions": {"get": _op("流程定义版本"),
                                    "post": _op("部署流程定义(multipart: file, forms)", None, "201")},
        },
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(spec())
