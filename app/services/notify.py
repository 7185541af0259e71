"""Which events send an SMS: the receipt, a new task, a supervision, the reply. Queued in the outbox in the
same transaction as the event; sending happens later, so a failing gateway never blocks a case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from app.domain.statuses import ANSWERED
from app.models import Case, HumanTask
from app.services import outbox
from app.services.dictionary import status_label
from app.services.platform import Platform

if TYPE_CHECKING:
    from app.services.process import RunChange


def _requester_phone(platform: Platform, case: Case) -> str | None:
    return platform.cipher.decrypt(case.requester.phone_enc, "requester.phone")


def case_registered(session: Session, platform: Platform, case: Case) -> None:
    """The requester's receipt: 受理号 and 查询码."""
    phone = _requester_phone(platform, case)
    if phone and phone.startswith("1"):  # mobiles only
        outbox.enqueue(session, platform, dedupe_key=f"receipt:{case.id}", template="receipt", phone=phone,
                       case_id=case.id, values={"number": case.number, "query_code": case.query_code})


def duplicate_linked(session: Session, platform: Platform, case: Case, original: Case) -> None:
    """A 重复件's requester is told the original's progress, with this case's own numbers (instead of the receipt)."""
    phone = _requester_phone(platform, case)
    if phone and phone.startswith("1"):  # mobiles only
        outbox.enqueue(session, platform, dedupe_key=f"receipt:{case.id}", template="duplicate", phone=phone,
                       case_id=case.id, values={"number": case.number, "query_code": case.query_code,
                                                "original": original.number,
                                                "status": status_label(session, original.status)})


def status_changed(session: Session, platform: Platform, case: Case, before: str) -> None:
    """The reply notice, the first time the case reaches a replied status."""
    phone = _requester_phone(platform, case)
    if case.status in ANSWERED and before not in ANSWERED and phone and phone.startswith("1"):
        outbox.enqueue(session, platform, dedupe_key=f"reply:{case.id}:{case.status}", template="reply",
                       phone=phone, case_id=case.id, values={"number": case.number})


def directly_replied(session: Session, platform: Platform, case: Case) -> None:
    """The reply notice for a case answered and closed at intake (直接答复): the same message as any reply."""
    phone = _requester_phone(platform, case)
    if phone and phone.startswith("1"):
        outbox.enqueue(session, platform, dedupe_key=f"reply:{case.id}:direct", template="reply",
                       phone=phone, case_id=case.id, values={"number": case.number})


def process_ran(session: Session, platform: Platform, case: Case, change: RunChange) -> None:
    """What a stored process run tells people: the reply notice on a status change, each new task."""
    if change.status_before != change.status_after:
        status_changed(session, platform, case, change.status_before)
    for task in change.new_tasks:
        task_created(session, platform, case, task)


def task_created(session: Session, platform: Platform, case: Case, task: HumanTask) -> None:
    """Tell a unit's handlers of their new task (those with a work phone on file); the centre's desks
    (agents, dispatchers) watch their worklists all day and get no SMS."""
    if task.role != "handler":
        return
    for user_id, phone in outbox.reachable_people(session, task.unit_id, {task.role}):
        outbox.enqueue(session, platform, dedupe_key=f"task:{task.id}:{user_id}", template="new_task",
                       phone=phone, case_id=case.id,
                       values={"number": case.number, "task": task.title,
                               "due_at": f"{task.due_at:%m月%d日%H:%M}" if task.due_at else "尽快"})


def supervised(session: Session, platform: Platform, case: Case, serial: int) -> None:
    """The supervision notice to the lead unit's handlers and leaders."""
    for user_id, phone in outbox.reachable_people(session, case.lead_unit_id, {"handler", "leader"}):
        outbox.enqueue(session, platform, dedupe_key=f"supervise:{case.id}:{serial}:{user_id}",
                       template="supervision", phone=phone, case_id=case.id,
                       values={"number": case.number})

