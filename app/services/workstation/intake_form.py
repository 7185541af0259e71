"""来电/来访登记 behind the intake page: field-by-field checks in Chinese, registering, the duplicate hint."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.identity import InvalidIdNumber, InvalidPhone, normalise_id_number, normalise_phone
from app.domain.intake import MAX_ID
from app.domain.lights import LIGHT_LABELS, Light
from app.errors import Invalid, NotFound
from app.models import HumanTask
from app.services import attachments, calls, duplicates, intake
from app.services.actors import Actor, require
from app.services.attachments import Upload
from app.services.cases import task_light, worst_light
from app.services.platform import Platform
from app.services.scope import visible_cases
from app.services.workstation.display import format_time, status_labels


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


PAGE_FIELDS = ("kind", "channel", "category", "subject", "content", "duplicate_of", "call_id", "direct_reply",
               "location", "area", "lat", "lng", "knowledge_entry")
REQUESTER_FIELDS = ("name", "phone", "id_number", "address")


def register_from_form(platform: Platform, actor: Actor, form: dict[str, str], key: str | None,
                       files: Sequence[Upload] = ()) -> dict[str, Any]:
    """Register the intake form through the one intake validator (as the API does), with its attachments
    (checked by content); Invalid carries {field: Chinese message} with the page's field names (`phone`,
    not `requester.phone`)."""
    require(actor, "case.create")
    raw: dict[str, Any] = {k: form[k] for k in PAGE_FIELDS if form.get(k)}
    raw["requester"] = {k: form[k] for k in REQUESTER_FIELDS if form.get(k)}
    if form.get("anonymous"):
        raw["requester"]["anonymous"] = True
    for flag in ("screened", "confidential"):
        if form.get(flag):
            raw[flag] = True
    try:
        return intake.register(platform, actor, raw, key, files=attachments.checked(platform, files),
                               source="intake")
    except Invalid as e:
        raise Invalid(e.message, {_page_field(k): v for k, v in e.details.items()}) from e


def _page_field(name: str) -> str:
    return "__all__" if name == "Idempotency-Key" else name.removeprefix("requester.")


def duplicate_hint(platform: Platform, actor: Actor, typed: dict[str, str]) -> dict[str, Any]:
    """判重 as the agent types: earlier cases of the same requester or about the same matter (place and problem)
    within the window (setting dedupe.lookback_days), ranked with their reasons, those the actor may see."""
    require(actor, "case.create")
    phone, id_number = typed.get("phone", "").strip(), typed.get("id_number", "").strip()
    errors = check_requester("-", phone, id_number, platform.clock.now())
    draft = duplicates.Draft(content=typed.get("content", "").strip(), subject=typed.get("subject", "").strip(),
                             location=typed.get("location", "").strip() or None,
                             category=typed.get("category", "").strip() or None,
                             phone=None if "phone" in errors else phone or None,
                             id_number=None if "id_number" in errors else id_number or None)
    if not (draft.phone or draft.id_number or draft.content or draft.location):
        return {"items": [], "errors": errors, "days": 0, "is_duplicate": False}
    now = platform.clock.now()
    with platform.db.reading() as session:
        finding = duplicates.find(session, platform, draft, visible=visible_cases(actor), limit=HINT_ROWS)
        lights = _case_lights(session, [c.case_id for c in finding.candidates], now)
        words = status_labels(session)
        items = [{"id": c.case_id, "number": c.number, "subject": c.subject, "status": c.status,
                  "status_label": words.get(c.status, c.status), "created": format_time(c.created_at),
                  "light": lights.get(c.case_id), "light_label": LIGHT_LABELS.get(lights.get(c.case_id) or "", "无"),
                  "score": c.score, "reasons": list(c.reasons)}
                 for c in finding.candidates]
    return {"items": items, "errors": errors, "days": finding.days, "is_duplicate": finding.is_duplicate}


HINT_ROWS = 10


def _case_lights(session: Session, case_ids: Iterable[int], now: datetime) -> dict[int, Light | None]:
    ready = session.scalars(select(HumanTask).where(HumanTask.case_id.in_(list(case_ids)),
                                                    HumanTask.state == "ready")).all()
    by_case: dict[int, list[Light]] = {}
    for t in ready:
        by_case.setdefault(t.case_id, []).append(task_light(t, now))
    return {cid: worst_light(found) for cid, found in by_case.items()}


def intake_start(platform: Platform, actor: Actor, call_id: int | None) -> dict[str, str]:
    """What the empty intake form starts from; with `call_id`, prefilled from the call this agent answered."""
    require(actor, "case.create")
    values = {"channel": "phone", "kind": "complaint"}
    if call_id is not None:
        if call_id > MAX_ID:
            raise NotFound("来电不存在")
        prefill = calls.intake_prefill(platform, actor, call_id)
        values |= {"call_id": str(prefill["call_id"]), "phone": prefill["requester"]["phone"] or "",
                   "caller_location": prefill["caller_location"] or ""}
    return values
