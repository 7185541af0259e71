"""The SMS outbox: messages are rows first, sent later with retries; a failure never blocks a case."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.db import conflict_insert
from app.models import Case, HumanTask, SmsMessage, Unit, User, user_role
from app.services.platform import Platform
from app.services.settings import get_setting
from app.sms import SmsError, SmsGateway

MAX_ATTEMPTS = 8
log = logging.getLogger("huiyin.sms")


def enqueue(session: Session, platform: Platform, *, dedupe_key: str, template: str, phone: str,
            values: dict[str, str], case_id: int | None = None) -> None:
    """Queue one message from its template; the dedupe key (a unique column) makes a repeat a no-op."""
    template_text = str(get_setting(session, f"sms.template.{template}"))
    _insert(session, [_message(platform, dedupe_key, template, template_text, values, phone, case_id)])


def _message(platform: Platform, dedupe_key: str, template: str, template_text: str, values: dict[str, str],
             phone: str, case_id: int | None) -> dict[str, object]:
    """One outbox row: the body filled in from the template's text, the phone encrypted."""
    now = platform.clock.now()
    return {"dedupe_key": dedupe_key, "template": template, "body": template_text.format_map(_Blank(values)),
            "case_id": case_id, "phone_enc": platform.cipher.encrypt(phone, "sms.phone") or b"",
            "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}


def _insert(session: Session, messages: list[dict[str, object]]) -> None:
    """The messages in one statement; a dedupe key already queued is skipped."""
    session.execute(conflict_insert(session)(SmsMessage).on_conflict_do_nothing(
        index_elements=[SmsMessage.dedupe_key]), messages)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def enqueue_warnings(session: Session, platform: Platform, task_ids: list[str], colour: str) -> None:
    """Tell each task's handlers and their unit's leaders that it turned yellow or red, in a few statements:
    tasks, cases and units in one query, the people once per unit and role, the messages in one insert (a
    sweep raises hundreds at a time)."""
    if not task_ids:
        return
    rows = session.execute(select(HumanTask.id, HumanTask.title, HumanTask.role, HumanTask.unit_id, HumanTask.due_at,
                                  Case.id, Case.number, Unit.name)
                           .join(Case, Case.id == HumanTask.case_id).outerjoin(Unit, Unit.id == HumanTask.unit_id)
                           .where(HumanTask.id.in_(task_ids))).all()
    template = str(get_setting(session, f"sms.template.warning_{colour}"))
    people: dict[tuple[int | None, str], list[tuple[int, str]]] = {}
    messages = []
    for task_id, title, role, unit_id, due_at, case_id, number, unit_name in rows:
        if (unit_id, role) not in people:
            people[(unit_id, role)] = reachable_people(session, unit_id, {role, "leader"})
        values = {"number": number, "task": title, "unit": unit_name or "",
                  "due_at": f"{due_at:%m月%d日%H:%M}" if due_at else ""}
        messages += [_message(platform, f"warn:{task_id}:{colour}:{user_id}", f"warning_{colour}", template, values,
                              phone, case_id) for user_id, phone in people[(unit_id, role)]]
    if messages:
        _insert(session, messages)


def reachable_people(session: Session, unit_id: int | None, roles: set[str]) -> list[tuple[int, str]]:
    """(user id, work phone) of the active people at the unit holding any of the roles, each once."""
    if unit_id is None:
        return []
    rows = session.execute(select(User.id, User.phone).join(user_role, user_role.c.user_id == User.id).where(
        User.unit_id == unit_id, User.active, User.phone.is_not(None), user_role.c.role_code.in_(sorted(roles)))
        .distinct().order_by(User.id)).all()
    return [(user_id, phone) for user_id, phone in rows if phone]


SENDING_LEASE = timedelta(minutes=5)  # SQLite: a claimed message another scheduler may retake if we die mid-send


def send_pending(platform: Platform, gateway: SmsGateway, limit: int = 100) -> int:
    """Send what is due; a failure is retried later with exponential backoff, up to MAX_ATTEMPTS.

    PostgreSQL: each message stays row-locked (`FOR UPDATE SKIP LOCKED`) from claim to record, so however slow
    the gateway no other scheduler takes it, and a scheduler that dies releases it at once. SQLite, where a
    writer holds the whole database: claim, send, record are three steps, the claim a lease (SENDING_LEASE)
    another scheduler may retake only once it ran out."""
    send_one = _send_one_sqlite if platform.db.is_sqlite else _send_one_locked
    sent = 0
    for _ in range(limit):
        outcome = send_one(platform, gateway)
        if outcome is None:
            return sent
        sent += outcome
    return sent


def _due(now: datetime) -> Select[SmsMessage]:
    return (select(SmsMessage).where(SmsMessage.status == "pending", SmsMessage.next_attempt_at <= now)
            .order_by(SmsMessage.next_attempt_at, SmsMessage.id).limit(1).with_for_update(skip_locked=True))


def _send_one_locked(platform: Platform, gateway: SmsGateway) -> bool | None:
    """One due message claimed, sent and recorded in one transaction (PostgreSQL); None when none is due."""
    with platform.db.unit_of_work() as session:
        message = session.scalar(_due(platform.clock.now()))
        if message is None:
            return None
        message.attempts += 1
        error = _send(gateway, message.id, platform.cipher.decrypt(message.phone_enc, "sms.phone") or "",
                      message.body, message.template)
        _apply(message, message.attempts, error, platform.clock.now())
        session.commit()
        return error is None


def _send_one_sqlite(platform: Platform, gateway: SmsGateway) -> bool | None:
    claimed = _claim(platform)
    if claimed is None:
        return None
    message_id, attempts, phone, body, template = claimed
    error = _send(gateway, message_id, phone, body, template)
    with platform.db.unit_of_work() as session:
        _apply(session.get_one(SmsMessage, message_id), attempts, error, platform.clock.now())
        session.commit()
    return error is None


def _send(gateway: SmsGateway, message_id: int, phone: str, body: str, template: str) -> Exception | None:
    try:
        gateway.send(phone, body, template)
    except Exception as e:  # any failure is retried later: sending must never raise to the scheduler
        if not isinstance(e, SmsError):
            log.exception("SMS gateway failed unexpectedly on message %s", message_id)
        return e
    return None


def _claim(platform: Platform) -> tuple[int, int, str, str, str] | None:
    with platform.db.unit_of_work() as session:
        now = platform.clock.now()
        message = session.scalar(_due(now))
        if message is None:
            return None
        message.attempts += 1
        message.next_attempt_at = now + SENDING_LEASE
        claimed = (message.id, message.attempts, platform.cipher.decrypt(message.phone_enc, "sms.phone") or "",
                   message.body, message.template)
        session.commit()
        return claimed


def _apply(message: SmsMessage, attempts: int, error: Exception | None, now: datetime) -> None:
    if error is None:
        message.status, message.sent_at = "sent", now
    else:
        message.last_error = (str(error) or type(error).__name__)[:500]
        message.status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
        message.next_attempt_at = now + timedelta(minutes=2 ** attempts)
