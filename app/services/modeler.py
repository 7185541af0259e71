"""What the browser modeler asks while an administrator edits: the draft (per administrator and key,
autosaved, never live), the restricted-Python check of one script as it is typed, and a timer's value in
plain words. Sysadmin only, like deploying."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from app import engine
from app.clock import LOCAL_TZ
from app.domain.deadlines import COUNTED_FROM, UNIT_LABELS
from app.domain.roles import ROLES
from app.errors import Invalid, NotFound, NotPermitted
from app.models import DeadlineRule, DefinitionDraft, ProcessDefinition
from app.services import audit, dictionary
from app.services.actors import Actor
from app.services.definition_files import MAX_BPMN_BYTES, MAX_FORM_BYTES
from app.services.definitions import START_VARIABLES, TASK_ROLES
from app.services.platform import Platform

MAX_DRAFT_FORMS = 100
MAX_SCRIPT = 20_000
# The messages the platform sends into a running case (services/tasks.py `supervise`), with the variable the
# payload lands in: a process may wait only for these (a message nobody sends would stop it for ever).
MESSAGES = ({"name": "supervise", "label": "督办", "variable": "supervision",
             "payload": ["supervision_note", "supervised_by"]},)


def _require(actor: Actor) -> int:
    if not actor.can("definition.deploy") or actor.user_id is None:
        raise NotPermitted("只有系统管理员可以编辑流程定义")
    return actor.user_id


def _key(key: str) -> str:
    if not key or len(key) > 60 or not key.replace("_", "").replace("-", "").isalnum():
        raise Invalid("流程编号无效", {"key": "流程编号只能由字母、数字、下划线组成，最长 60 个字符"})
    return key


def _draft_json(draft: DefinitionDraft) -> dict[str, Any]:
    return {"key": draft.key, "bpmn": draft.bpmn_xml, "forms": json.loads(draft.forms_json),
            "updated_at": draft.updated_at.isoformat()}


def get_draft(platform: Platform, actor: Actor, key: str) -> dict[str, Any]:
    """The caller's own draft of `key` (404 when there is none)."""
    user_id = _require(actor)
    with platform.db.reading() as session:
        draft = session.scalar(select(DefinitionDraft).where(DefinitionDraft.key == _key(key),
                                                             DefinitionDraft.user_id == user_id))
        if draft is None:
            raise NotFound("没有该流程的草稿")
        return _draft_json(draft)


def _checked_forms(forms: Any) -> dict[str, Any]:
    if not isinstance(forms, dict) or len(forms) > MAX_DRAFT_FORMS:
        message = f"表单必须是以文件名为键的对象（最多 {MAX_DRAFT_FORMS} 个）"
        raise Invalid(message, {"forms": message})
    for name, schema in forms.items():
        if not name.endswith(".json") or "/" in name or "\\" in name or len(name) > 80:
            raise Invalid(f"表单文件名 {name} 无效", {"forms": f"表单文件名 {name} 无效（须以 .json 结尾，不含路径）"})
        size = len(json.dumps(schema, ensure_ascii=False).encode("utf-8")) if not isinstance(schema, str) else len(
            schema.encode("utf-8"))
        if size > MAX_FORM_BYTES:
            raise Invalid(f"表单 {name} 过大", {"forms": f"表单 {name} 超过 {MAX_FORM_BYTES // 1024} KiB"})
    return forms


def save_draft(platform: Platform, actor: Actor, key: str, bpmn: Any, forms: Any) -> dict[str, Any]:
    """Store (replace) the caller's draft of `key`: not deployed, not checked beyond the upload rules
    (size, no DOCTYPE); the first save of a draft is audited, autosaves after it are not."""
    user_id = _require(actor)
    if not isinstance(bpmn, str) or not bpmn.strip():
        raise Invalid("草稿必须包含 BPMN", {"bpmn": "请提供 BPMN 文本"})
    data = bpmn.encode("utf-8")
    if len(data) > MAX_BPMN_BYTES:
        raise Invalid("BPMN 过大", {"bpmn": f"流程定义文件超过 {MAX_BPMN_BYTES // 1024 // 1024} MiB"})
    try:
        engine.outline(data)
    except engine.DefinitionInvalid as e:
        raise Invalid(f"草稿无法保存:{e.message}", {"bpmn": e.message}) from e
    text = json.dumps(_checked_forms(forms), ensure_ascii=False)
    with platform.db.unit_of_work() as session:
        draft = session.scalar(select(DefinitionDraft).where(DefinitionDraft.key == _key(key),
                                                             DefinitionDraft.user_id == user_id))
        if draft is None:
            draft = DefinitionDraft(key=key, user_id=user_id, bpmn_xml=bpmn, forms_json=text,
                                    updated_at=platform.clock.now())
            session.add(draft)
            audit.record(session, platform, actor, "definition.draft_started", detail={"key": key})
        else:
            draft.bpmn_xml, draft.forms_json, draft.updated_at = bpmn, text, platform.clock.now()
        session.flush()
        answer = _draft_json(draft)
        session.commit()
        return answer


def delete_draft(platform: Platform, actor: Actor, key: str) -> None:
    """Throw the caller's draft of `key` away (after a deploy, or on 放弃); audited."""
    user_id = _require(actor)
    with platform.db.unit_of_work() as session:
        draft = session.scalar(select(DefinitionDraft).where(DefinitionDraft.key == _key(key),
                                                             DefinitionDraft.user_id == user_id))
        if draft is None:
            raise NotFound("没有该流程的草稿")
        session.delete(draft)
        audit.record(session, platform, actor, "definition.draft_discarded", detail={"key": key})
        session.commit()


def check_script(actor: Actor, source: Any, mode: str) -> dict[str, Any]:
    """The restricted-Python compile check of one script (`exec`) or condition / expression (`eval`)."""
    _require(actor)
    if mode not in ("exec", "eval"):
        raise Invalid("mode 只能是 exec（脚本）或 eval（条件、表达式）", {"mode": "只能是 exec 或 eval"})
    if not isinstance(source, str) or len(source) > MAX_SCRIPT:
        raise Invalid("脚本必须是文字", {"source": f"脚本必须是不超过 {MAX_SCRIPT} 个字符的文字"})
    kind: Literal["exec", "eval"] = "exec" if mode == "exec" else "eval"
    problems = engine.script_problems(source, kind)
    return {"ok": not problems,
            "errors": [{"line": p.line, "column": p.column, "message": p.message} for p in problems]}


def timer_preview(platform: Platform, actor: Actor, kind: str, value: Any) -> dict[str, Any]:
    """A timer's value in plain words ("3 天后（…）", "2026-12-31 17:00") and when it would fire if it
    started waiting now; the quoted expression to write into the BPMN."""
    _require(actor)
    if kind not in ("duration", "date", "cycle"):
        raise Invalid("定时类型只能是 duration、date 或 cycle", {"kind": "只能是 duration、date 或 cycle"})
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise Invalid("请填写定时值", {"value": "请填写 ISO 8601 时长、日期时间或循环（如 P3D）"})
    now = platform.clock.now().replace(tzinfo=LOCAL_TZ)
    try:
        words, at, expression = engine.preview_timer(kind, value, now)
    except ValueError as e:
        raise Invalid(str(e), {"value": str(e)}) from e
    return {"words": words, "at": _local(at), "expression": expression}


def _local(at: datetime | None) -> str | None:
    return at.astimezone(LOCAL_TZ).replace(tzinfo=None).isoformat() if at is not None else None


def choices(platform: Platform, actor: Actor, key: str | None = None) -> dict[str, Any]:
    """What the properties panel offers instead of typed XML: lanes' roles, deadline rules with their text
    and legal basis, status codes with their words, the messages the platform sends, the unit variables and
    the forms of `key`'s latest version."""
    _require(actor)
    with platform.db.reading() as session:
        rules = session.scalars(select(DeadlineRule).order_by(DeadlineRule.key)).all()
        statuses = dictionary.status_labels(session)
        latest = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                .order_by(ProcessDefinition.version.desc()).limit(1)) if key else None
        forms: dict[str, Any] = json.loads(latest.forms_json) if latest is not None else {}
    fields = sorted({name for schema in forms.values() for name in (schema.get("properties") or {})
                     if name.endswith("_unit_id")})
    return {
        "roles": [{"code": code, "label": ROLES[code]} for code in ROLES if code in TASK_ROLES],
        "rules": [{"key": r.key, "name": r.name, "limit": f"{r.amount}{UNIT_LABELS.get(r.unit, r.unit)}",
                   "counted_from": r.counted_from, "legal_basis": r.legal_basis,
                   "text": f"{r.name}：{r.amount}{UNIT_LABELS.get(r.unit, r.unit)}，"
                           f"自{COUNTED_FROM.get(r.counted_from, r.counted_from)}起算"} for r in rules],
        "statuses": [{"code": code, "label": label} for code, label in statuses.items()],
        "messages": list(MESSAGES),
        "unit_variables": sorted({*(v for v in START_VARIABLES if v.endswith("_unit_id")), *fields}),
        "start_variables": list(START_VARIABLES),
        "forms": [{"name": name, "title": schema.get("title") or name} for name, schema in sorted(forms.items())],
    }
