"""来电/来访登记 behind the intake page: field-by-field checks in Chinese, registering, the duplicate hint."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.identity import InvalidIdNumber, InvalidPhone, normalise_id_number, normalise_phone
from app.domain.lights import LIGHT_LABELS, Light
from app.errors import Invalid
from app.models import Case, HumanTask
from app.services import intake
from app.services.actors import Actor
from app.services.cases import RequesterInput, task_light, worst_light
from app.services.platform import Platform
from app.services.scope import visible_cases
from app.services.settings import get_setting
from app.services.workstation.display import category_tree, fmt, labels


def check_requester(name: str, phone: str, id_number: str, today: datetime) -> dict[str, str]:
    """Chinese messages keyed by field for a requester's name, phone and 身份证号 (empty when all fit)."""
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "请填写诉求人姓名"
    if phone.strip():
        try:
            normalise_phone(phone)
        except InvalidPhone as e:
            errors["phone"] = str(e)
    if id_number.strip():
        try:
            normalise_id_number(id_number, today=today.date())
        except InvalidIdNumber as e:
            errors["id_number"] = str(e)
    return errors


def register_from_form(platform: Platform, actor: Actor, form: dict[str, str], key: str | None) -> dict[str, Any]:
    """Check the intake form field by field, then register; Invalid carries {field: Chinese message}."""
    text = {k: (form.get(k) or "").strip() for k in ("kind", "channel", "category", "name", "phone", "id_number",
                                                     "address", "subject", "content", "duplicate_of", "call_id")}
    with platform.db.reading() as session:
        kinds, channels = labels(session, "kind"), labels(session, "channel")
        leaves = {leaf["code"] for group in category_tree(session) for leaf in group["children"]}
    errors = check_requester(text["name"], text["phone"], text["id_number"], platform.clock.now())
    if text["kind"] not in kinds:
        errors["kind"] = "请选择诉求类型"
    if text["channel"] not in channels:
        errors["channel"] = "请选择来源渠道"
    if text["category"] and text["category"] not in leaves:
        errors["category"] = "请从事项分类中选择"
    for field, title, most in (("subject", "诉求标题", 200), ("content", "诉求内容", 20000), ("name", "姓名", 60),
                               ("address", "地址", 200)):
        if field in ("subject", "content") and not text[field]:
            errors[field] = f"请填写{title}"
        elif len(text[field]) > most:
            errors[field] = f"{title}最多 {most} 个字"
    if text["duplicate_of"] and not text["duplicate_of"].isdigit():
        errors["duplicate_of"] = "重复件关联无效"
    if text["call_id"] and not text["call_id"].isdigit():
        errors["call_id"] = "来电关联无效"
    if errors:
        raise Invalid("登记信息有误，请按提示修改", errors)
    data = intake.CaseInput(
        kind=text["kind"], channel=text["channel"], category=text["category"] or None, subject=text["subject"],
        content=text["content"], duplicate_of=int(text["duplicate_of"]) if text["duplicate_of"] else None,
        call_id=int(text["call_id"]) if text["call_id"] else None,
        requester=RequesterInput(name=text["name"], phone=text["phone"] or None,
                                 id_number=text["id_number"] or None, address=text["address"] or None))
    try:
        return intake.register_case(platform, actor, data, key)
    except Invalid as e:
        raise Invalid(e.message, {k.removeprefix("requester."): v for k, v in e.details.items()}) from e


def duplicate_hint(platform: Platform, actor: Actor, phone: str, id_number: str) -> dict[str, Any]:
    """The same requester's cases of the last N days (setting dedupe.lookback_days) the actor may see."""
    errors = check_requester("-", phone, id_number, platform.clock.now())
    if errors or not (phone.strip() or id_number.strip()):
        return {"items": [], "errors": errors, "days": 0}
    now = platform.clock.now()
    with platform.db.reading() as session:
        days = int(get_setting(session, "dedupe.lookback_days"))
        earlier = intake.earlier_cases_of(session, platform, RequesterInput(name="-", phone=phone.strip() or None,
                                                                            id_number=id_number.strip() or None), days)
        visible = set(session.scalars(select(Case.id).where(Case.id.in_([c.id for c in earlier]),
                                                            visible_cases(actor))))
        lights = _case_lights(session, visible, now)
        items = [{"id": c.id, "number": c.number, "subject": c.subject, "status": c.status,
                  "created": fmt(c.created_at), "light": lights.get(c.id),
                  "light_label": LIGHT_LABELS.get(lights.get(c.id) or "", "无")}
                 for c in earlier if c.id in visible]
    return {"items": items, "errors": {}, "days": days}


def _case_lights(session: Session, case_ids: Iterable[int], now: datetime) -> dict[int, Light | None]:
    ready = session.scalars(select(HumanTask).where(HumanTask.case_id.in_(list(case_ids)),
                                                    HumanTask.state == "ready")).all()
    by_case: dict[int, list[Light]] = {}
    for t in ready:
        by_case.setdefault(t.case_id, []).append(task_light(t, now))
    return {cid: worst_light(found) for cid, found in by_case.items()}
