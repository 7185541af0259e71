"""The SMS outbox as administrators see it: every message, its state and retries, phone numbers masked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.domain.masking import mask_phone
from app.errors import Invalid, NotPermitted
from app.models import Case, SmsMessage
from app.services.actors import Actor
from app.services.platform import Platform

ADMIN_ROLE = "sysadmin"
STATUSES = frozenset({"pending", "sent", "failed"})
MAX_LIMIT = 500


def list_messages(platform: Platform, actor: Actor, *, status: str | None = None, limit: int = 100,
                  before_id: int | None = None) -> list[dict[str, Any]]:
    """Messages newest first (page with `before_id`); system administrators only.

    The phone is masked, and the case's 查询码 is blanked out of the body: with it anyone can look the
    case up, and the administrator needs to see that a receipt went out, not the code itself.
    """
    if ADMIN_ROLE not in actor.roles:
        raise NotPermitted("只有系统管理员可以查看短信记录")
    if status is not None and status not in STATUSES:
        raise Invalid("短信状态无效", {"status": "短信状态无效"})
    query = (select(SmsMessage, Case.number, Case.query_code).outerjoin(Case, Case.id == SmsMessage.case_id)
             .order_by(SmsMessage.id.desc()).limit(max(1, min(limit, MAX_LIMIT))))
    if status is not None:
        query = query.where(SmsMessage.status == status)
    if before_id is not None:
        query = query.where(SmsMessage.id < before_id)
    with platform.db.reading() as session:
        return [_item(platform, m, number, code) for m, number, code in session.execute(query)]


def _item(platform: Platform, m: SmsMessage, case_number: str | None, query_code: str | None) -> dict[str, Any]:
    phone = platform.cipher.decrypt(m.phone_enc, "sms.phone") or ""
    body = m.body.replace(query_code, "*" * len(query_code)) if query_code else m.body
    return {"id": m.id, "template": m.template, "phone": mask_phone(phone) if phone else "", "body": body,
            "case_id": m.case_id, "case_number": case_number, "status": m.status, "attempts": m.attempts,
            "next_attempt_at": m.next_attempt_at.isoformat(), "last_error": m.last_error,
            "created_at": m.created_at.isoformat(), "sent_at": m.sent_at.isoformat() if m.sent_at else None}
